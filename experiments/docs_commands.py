"""How ``docs_check`` checks one documented command: which way (``classify``), and the checks
themselves (composing and validating, running with a tiny budget, ``--help``, a Python
example)."""

import os
import re
import shlex
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = {"experiments.train": "train", "experiments.anomaly": "anomaly",
        "experiments.embed": "embed", "reducer-train": "train", "reducer-anomaly": "anomaly",
        "reducer-embed": "embed"}
# what a real run gets added: one epoch of a few hundred rows, no live bar or figures
TINY = {"train": ["trainer.epochs=1", "data.limit=1000"],
        "anomaly": ["trainer.epochs=1", "data.limit=1000"], "embed": []}
QUIET = {"train": ["trainer.progress=false"], "anomaly": ["trainer.progress=false"],
         "embed": []}
# settings that make a command a compose-only check, and why
COMPOSE_ONLY = [(re.compile(r"^(-m|--multirun)$"), "a sweep: minutes of compute"),
                (re.compile(r"^\+?sweep="), "a stored sweep: minutes of compute"),
                (re.compile(r"^\+?hparams_search="), "a search: the [optuna] extra"),
                (re.compile(r"^hydra/launcher=(slurm|local|ray)"), "a cluster launcher"),
                (re.compile(r"^hydra/launcher="), "a parallel launcher: a sweep"),
                (re.compile(r"^tracking=(mlflow|tensorboard)"), "a tracker: an extra"),
                (re.compile(r"^model=umap"), "the [umap] extra"),
                (re.compile(r"^(heldout|data)=(mnist|fashion_mnist)$"), "a download: network"),
                (re.compile(r"<|>|\b(RUN|FOLDER|FILE|PATH|SWEEP_DIR|RUN_OR_CHECKPOINT)\b"),
                 "a placeholder to fill in")]
HYDRA = threading.Lock()  # Hydra's global state: one composition at a time
SKIP = [(re.compile(r"^(\S*/)?python3? -m venv|^(\S*/)?pip |^\. "), "set-up (CI installs)"),
        (re.compile(r"^(\S*/)?(mlflow|tensorboard) "), "a server"),
        (re.compile(r"^(\S*/)?mkdocs |experiments\.docs_(check|reference)"), "the docs tools"),
        (re.compile(r"^eval "), "shell set-up")]


def words(command: str) -> list[str]:
    return shlex.split(command)


def app_of(argv: list[str]) -> tuple[str | None, list[str]]:
    """(the app, its arguments) of ``python -m experiments.X ...`` or ``reducer-X ...``."""
    if argv and Path(argv[0]).name in APPS:
        return APPS[Path(argv[0]).name], argv[1:]
    if len(argv) > 2 and Path(argv[0]).name.startswith("python") and argv[1] == "-m":
        return APPS.get(argv[2]), argv[3:]
    return None, argv


def classify(command: str) -> tuple[str, str]:
    """(how, why): run, compose, help (another module), shell (``python -c``) or skip."""
    for pattern, why in SKIP:
        if pattern.search(command):
            return "skip", why
    argv = words(command)
    app, args = app_of(argv)
    if app is None:
        if len(argv) > 2 and argv[1] == "-m":
            return "help", "another module: it must answer --help"
        if Path(argv[0]).name.startswith("python") and "-c" in argv:
            return "shell", "a Python one-liner"
        return "skip", "not a command of this project"
    if any(a in ("--help", "--cfg", "--hydra-help", "-h") for a in args):
        return "run", "prints and exits"
    for pattern, why in COMPOSE_ONLY:
        if any(pattern.search(a) for a in args):
            return "compose", why
    return "run", "one epoch of a few hundred rows"


def _python(argv: list[str]) -> list[str]:
    """``python``, ``.venv/bin/python`` or a console script, as this interpreter."""
    app, args = app_of(argv)
    if app is not None:
        module = next(m for m, a in APPS.items() if a == app and m.startswith("experiments"))
        return [sys.executable, "-m", module, *args]
    return [sys.executable, *argv[1:]] if Path(argv[0]).name.startswith("python") else argv


def _last_line(proc: subprocess.CompletedProcess) -> str:
    text = (proc.stderr or proc.stdout or "").strip().splitlines()
    return f"exit {proc.returncode}: {text[-1] if text else '(no output)'}"


def run_check(command: str, how: str, scratch: Path, expect: int = 0) -> str | None:
    # a page's own folders (hydra.run.dir=outputs/..., checkpoint=outputs/...) go to the
    # scratch folder too: a second check must not find the first one's finished runs there
    argv = [re.sub(r"=outputs/", f"={scratch}/outputs/", a) for a in words(command)]
    app, args = app_of(argv)
    scratch.mkdir(parents=True, exist_ok=True)
    if how == "help":
        argv = [*argv[:3], "--help"]
    elif app is not None and not any(a.startswith(("--", "-h")) for a in args):
        given = {a.split("=", 1)[0] for a in args}
        argv = [*argv, *(o for o in TINY[app] + QUIET[app]
                         if o.split("=", 1)[0] not in given)]
        if not any(a.startswith("hydra.run.dir=") for a in args):
            argv.append(f"paths.output_root={scratch}")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(_python(argv), cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=env)
    if proc.returncode == expect:
        return None
    return _last_line(proc) + (f" (the page says it exits {expect})" if expect else "")


def compose_check(command: str) -> str | None:
    """Compose the command's config as its app would (a sweep's first job; a search's fixed
    values) and validate it; the one-line error when that fails."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from experiments.docs_reference import compose, hydra_initialised
    from experiments.schemas import validate

    app, args = app_of(words(re.sub(r"<[^>]*>", "x", command)))  # <date>: any name composes
    overrides = [a for a in args if not a.startswith("-")]
    parser = OverridesParser.create()
    first = []
    for override in overrides:
        parsed = parser.parse_override(override)
        if parsed.is_sweep_override():
            if not parsed.is_discrete_sweep():
                continue  # a search's interval or range: the sweeper's to sample
            value = next(iter(parsed.sweep_string_iterator()))
            override = f"{parsed.get_key_element()}={value}"
        first.append(override)
    try:
        with HYDRA, hydra_initialised():
            validate(compose(app, *first, hydra=False))
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    return None


def check_python(code: str, scratch: Path) -> str | None:
    """Run a Python example (training shortened to one epoch) in a fresh interpreter."""
    code = re.sub(r"\bepochs=\d+", "epochs=1", code)
    scratch.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    return None if proc.returncode == 0 else _last_line(proc)


def check_transcript(command: str, printed: str, scratch: Path) -> str | None:
    """Run a ``$ command`` of a console block (a tiny budget added, should it train) and
    compare the last line it prints with the first line the page shows (``...`` in the page
    stands for any text)."""
    app, args = app_of(words(command))
    if app is None:
        return None
    scratch.mkdir(parents=True, exist_ok=True)
    argv = [*words(command), *TINY[app], *QUIET[app], f"paths.output_root={scratch}"]
    proc = subprocess.run(_python(argv), cwd=ROOT, capture_output=True, text=True, timeout=600)
    said = (proc.stderr or proc.stdout).strip().splitlines()
    shown = printed.splitlines()[0] if printed else ""
    pattern = ".*".join(re.escape(part) for part in shown.split("..."))
    if shown and said and re.fullmatch(pattern, said[-1]):
        return None
    return f"printed {said[-1] if said else '(nothing)'!r}, the page shows {shown!r}"
