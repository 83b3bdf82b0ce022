"""What the ``search`` sweeper uses of hydra-optuna-sweeper that the plugin does not promise to
keep, in one place: written for hydra-optuna-sweeper ``WRITTEN_FOR`` (Optuna 2.10). The plugin's
``OptunaSweeperImpl`` parses the search space of ``hydra.sweeper.params`` and the command line,
builds the sampler and turns trials into overrides; ``Plugin`` wraps each private piece. Where
a release lacks one, the directions are read here instead, and the rest fail with one line
naming the release to install; ``missing()`` names what changed, and ``tests/test_internals.py``
fails loudly on it."""

import functools
from collections.abc import MutableSequence
from typing import Any

from reducers.errors import ConfigError

WRITTEN_FOR = "1.3"  # the hydra-optuna-sweeper release these names were read from
MODULE = "hydra_plugins.hydra_optuna_sweeper._impl"
METHODS = ("_get_directions", "_configure_trials", "_process_searchspace_config",
           "_parse_sweeper_params_config", "_to_grid_sampler_choices")


def _impl():
    import importlib

    try:
        return importlib.import_module(MODULE)
    except ImportError as exc:
        raise ConfigError(f"hydra-optuna-sweeper has no {MODULE} ({exc}): the search was written "
                          f"for hydra-optuna-sweeper {WRITTEN_FOR}; install that release") from None


def missing() -> list[str]:
    """What of the above this hydra-optuna-sweeper lacks."""
    try:
        impl = _impl()
    except ConfigError:
        return [MODULE]
    gone = [name for name in ("OptunaSweeperImpl", "create_params_from_overrides")
            if not hasattr(impl, name)]
    cls = getattr(impl, "OptunaSweeperImpl", object)
    return gone + [f"OptunaSweeperImpl.{m}" for m in METHODS if not hasattr(cls, m)]


class Plugin:
    """The plugin's sweeper as the ``search`` sweeper uses it: set up, its launcher and sampler,
    the search space, the directions, and trials as overrides."""

    def __init__(self, **settings: Any):
        self.impl = _impl().OptunaSweeperImpl(**settings)

    def _private(self, name: str):
        method = getattr(self.impl, name, None)
        if method is None:
            raise ConfigError(f"this hydra-optuna-sweeper lacks OptunaSweeperImpl.{name}: the "
                              f"search was written for hydra-optuna-sweeper {WRITTEN_FOR}; "
                              "install that release")
        return method

    def setup(self, **kwargs) -> None:
        self.impl.setup(**kwargs)

    @property
    def launcher(self):
        return self.impl.launcher

    def directions(self) -> list[str]:
        """"maximize" / "minimize", one per objective (``hydra.sweeper.direction``)."""
        if hasattr(self.impl, "_get_directions"):
            return [getattr(d, "value", d) for d in self.impl._get_directions()]
        direction = self.impl.direction  # the plugin's own reading of it, where it is gone
        given = direction if isinstance(direction, MutableSequence) else [direction]
        return [getattr(d, "name", d) if not isinstance(d, str) else d for d in given]

    def search_space(self, arguments: list[str]) -> tuple[dict, dict]:
        """(Optuna's distributions, the fixed values) of ``params`` and ``arguments``; one line
        naming a dimension Optuna cannot take."""
        create = _impl().create_params_from_overrides
        self._private("_process_searchspace_config")()
        given = self._private("_parse_sweeper_params_config")() + list(arguments)
        for argument in given:
            try:
                create([argument])
            except (ValueError, TypeError, AssertionError, NotImplementedError) as exc:
                raise ConfigError(f"{argument} is not a search dimension Optuna takes: "
                                  f"{' '.join(str(exc).split()) or type(exc).__name__}"
                                  ) from None
        distributions, fixed = create(given)
        distributions = {**(self.impl.search_space_distributions or {}), **distributions}
        for name in fixed:
            distributions.pop(name, None)
        return distributions, fixed

    def grid(self, distributions: dict) -> dict | None:
        """A grid sampler's grid of ``distributions`` (installed as the sampler), or None for
        any other sampler."""
        import optuna

        sampler = self.impl.sampler
        if not (isinstance(sampler, functools.partial)
                and sampler.func == optuna.samplers.GridSampler):
            return None
        choices = self._private("_to_grid_sampler_choices")
        grid = {name: choices(d) for name, d in distributions.items()}
        self.impl.sampler = sampler(grid)
        return grid

    @property
    def sampler(self):
        return self.impl.sampler

    def overrides(self, trials: list, distributions: dict, fixed: dict) -> list:
        """Each trial's parameters (drawn now) as Hydra overrides."""
        return self._private("_configure_trials")(trials, distributions, fixed)
