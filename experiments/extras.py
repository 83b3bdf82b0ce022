"""The optional features and their extras: which argument needs which package, and the one
line, naming the pip command, when it is not installed (before any work)."""

import importlib.util
import re

from reducers.errors import ConfigError

SEARCH = re.compile(r"hparams_search=|hydra/sweeper=search\b")  # an Optuna search
# optional features: the arguments that need them, the module, its package and its extra
EXTRAS = ((SEARCH, "optuna", "optuna", "optuna"),
          (re.compile(r"hydra/launcher=(local|slurm|submitit_\w+)$"),
           "hydra_plugins.hydra_submitit_launcher", "hydra-submitit-launcher", "cluster"),
          (re.compile(r"hydra/launcher=ray"), "hydra_plugins.hydra_ray_launcher",
           "hydra-ray-launcher", "ray"),
          (re.compile(r"tracking=mlflow$"), "mlflow", "mlflow", "mlflow"),
          (re.compile(r"tracking=tensorboard$"), "tensorboard", "tensorboard", "tensorboard"),
          (re.compile(r"model=(.*,)?umap(,|$)"), "umap", "umap-learn", "umap"))
# what Hydra cannot load when a plugin is missing (a preset or a config that names it)
PLUGIN_EXTRAS = {"hydra/launcher/submitit": "cluster",
                 "hydra/launcher/local": "cluster", "hydra/launcher/slurm": "cluster",
                 "hydra/launcher/ray": "ray"}


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent missing, an import hook refusing it
        return False


def pip_extra(extra: str) -> str:
    return f"pip install -c constraints.txt -e '.[{extra}]'"


def missing_extra_hint(argv: list[str]) -> str | None:
    """The one line for an argument whose optional extra is not installed, or None."""
    for arg in argv:
        for pattern, module, package, extra in EXTRAS:
            if pattern.match(arg.lstrip("+")) and not installed(module):
                return f"{arg} needs {package}, the optional extra: {pip_extra(extra)}"
    return None


def require(argument: str) -> None:
    """A ConfigError with that line when ``argument`` (e.g. ``tracking=mlflow``) needs an extra
    that is not installed: for what a preset or a config selects, past the command line."""
    hint = missing_extra_hint([argument])
    if hint:
        raise ConfigError(hint)


def plugin_hint(message: str) -> str:
    """For Hydra's 'Could not load hydra/launcher/...' (a preset naming a missing plugin): the
    pip command to add to the message, or ''."""
    unloaded = re.search(r"Could not (?:load|find) '(hydra/(?:sweeper|launcher)/\w+)", message)
    extra = next((e for prefix, e in PLUGIN_EXTRAS.items()
                  if unloaded and unloaded[1].startswith(prefix)), None)
    return f"; it needs the optional extra: {pip_extra(extra)}" if extra else ""
