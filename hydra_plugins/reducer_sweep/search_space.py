"""The ``search`` sweeper's settings and search space, without hydra-optuna-sweeper: the sweep
syntax Hydra users know, parsed by hydra-core's own override parser and mapped to Optuna's
distributions here.

    choice(a, b, ...)           a CategoricalDistribution of the values (a list stays text,
                                e.g. '[256,128]', which the trial's override then parses)
    range(start, stop[, step])  an IntDistribution over its values (stop excluded, as
                                Hydra's range), a categorical one of them for floats
    interval(low, high)         a FloatDistribution (an IntDistribution for two integers);
                                tag(log, interval(...)) samples it logarithmically
    anything else               a value every trial gets as it is

``hydra.sweeper.params`` (a stored search's dimensions) and the command line's overrides are
read alike; the command line's win. The sampler is a group, ``hydra/sweeper/sampler=tpe``
(default; one objective or several), ``random``, ``grid`` (every combination of choice and
range values, once) or ``nsgaii`` (several objectives); the pruner another
(``hydra/sweeper/pruner=median``, ``pruning``).
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from reducers.errors import ConfigError

DIRECTIONS = ("maximize", "minimize")


@dataclass
class TPESamplerConf:
    _target_: str = "optuna.samplers.TPESampler"
    _partial_: bool = True  # built by the sweeper, once it has read the search space
    seed: Optional[int] = None
    n_startup_trials: int = 8  # random trials before TPE models the results (Optuna's: 10)
    multivariate: bool = False  # one model of every dimension together
    constant_liar: bool = False  # trials asked side by side (n_jobs > 1) spread out


@dataclass
class RandomSamplerConf:
    _target_: str = "optuna.samplers.RandomSampler"
    _partial_: bool = True  # built by the sweeper, once it has read the search space
    seed: Optional[int] = None


@dataclass
class GridSamplerConf:
    _target_: str = "optuna.samplers.GridSampler"  # its grid: the choice and range values
    _partial_: bool = True
    seed: Optional[int] = None


@dataclass
class NSGAIISamplerConf:
    """NSGA-II (Deb et al. 2002), the genetic sampler for several objectives."""
    _target_: str = "optuna.samplers.NSGAIISampler"
    _partial_: bool = True
    seed: Optional[int] = None
    population_size: int = 50  # trials per generation (the first: random)
    crossover_prob: float = 0.9
    swapping_prob: float = 0.5


@dataclass
class SearchSweeperConf:
    defaults: List[Any] = field(default_factory=lambda: [  # _self_ first: a pruner chosen
        "_self_", {"sampler": "tpe"}, {"pruner": None}])     # replaces the null below
    _target_: str = "hydra_plugins.reducer_sweep.search.SearchSweeper"
    sampler: Any = MISSING
    pruner: Any = None  # hydra/sweeper/pruner=median|percentile|... (pruning)
    direction: Any = "minimize"  # maximize | minimize
    storage: Optional[str] = None  # sqlite:///FILE keeps the study; null: in memory
    study_name: Optional[str] = None
    n_trials: int = 20  # the trials the study should hold
    n_jobs: int = 1  # trials asked at once: as many as the launcher runs side by side
    max_failure_rate: float = 1.0  # stop asking once more than this share failed
    params: Optional[Dict[str, str]] = None  # the search space, in the sweep syntax


_store = ConfigStore.instance()
_store.store(group="hydra/sweeper", name="search", node=SearchSweeperConf,
             provider="reducer-sweep")
for _name, _node in (("tpe", TPESamplerConf), ("random", RandomSamplerConf),
                     ("grid", GridSamplerConf), ("nsgaii", NSGAIISamplerConf)):
    _store.store(group="hydra/sweeper/sampler", name=_name, node=_node,
                 provider="reducer-sweep")


def parse(params: Optional[dict], arguments: List[str]) -> tuple[dict, dict]:
    """(Optuna's distributions, the fixed values as text) of ``params`` and ``arguments``;
    one line naming a dimension that cannot be searched."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    given = [f"{key}={value}" for key, value in (params or {}).items()] + list(arguments)
    distributions, fixed = {}, {}
    for text, override in zip(given, OverridesParser.create().parse_overrides(given)):
        key = override.get_key_element()
        distributions.pop(key, None)
        fixed.pop(key, None)
        if override.is_sweep_override():
            distributions[key] = _distribution(override, text)
        else:
            fixed[key] = override.get_value_element_as_str()
    return distributions, fixed


def _distribution(override, text: str):
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)

    sweep, log = override.value(), "log" in override.value().tags
    if override.is_choice_sweep():
        return CategoricalDistribution([_plain(v) for v in sweep.list])
    if override.is_range_sweep():
        values = list(override.sweep_iterator())
        if all(isinstance(v, int) for v in (sweep.start, sweep.stop, sweep.step)) and values:
            return IntDistribution(values[0], values[-1], step=abs(sweep.step)) \
                if sweep.step > 0 else CategoricalDistribution(values)
        if not values:
            raise ConfigError(f"{text} holds no value: range(start, stop, step) must reach a "
                              "value before stop")
        return CategoricalDistribution(values)
    low, high = sweep.start, sweep.end
    if low is None or high is None or not low < high:
        raise ConfigError(f"{text}: an interval needs two ends, low < high")
    if log and low <= 0:
        raise ConfigError(f"{text}: a log interval needs low > 0")
    if isinstance(low, int) and isinstance(high, int):
        return IntDistribution(low, high, log=log)
    return FloatDistribution(float(low), float(high), log=log)


def _plain(value):
    """A choice as Optuna keeps it: a number, a bool or text (a list as its text)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value).replace(" ", "")


def directions(direction) -> List[str]:
    """``hydra.sweeper.direction`` as Optuna's, one per objective."""
    given = [direction] if isinstance(direction, str) else list(direction)  # a ListConfig
    names = [str(getattr(value, "value", value)) for value in given]  # an Enum's value
    for name in names:
        if name not in DIRECTIONS:
            raise ConfigError(f"hydra.sweeper.direction={name} is invalid: maximize or "
                              "minimize")
    return names


def metrics(metric, directions: List[str]) -> List[str]:
    """``optimized_metric`` as a list, one per direction of ``hydra.sweeper.direction``."""
    from experiments.schemas.checks import names

    listed = names(metric)
    if len(listed) != len(directions):
        raise ConfigError(f"optimized_metric={metric} and hydra.sweeper.direction="
                          f"{directions} differ in length: give one direction per metric "
                          "(optimized_direction=[maximize,minimize])")
    return listed


def sampler(make, distributions: dict):
    """The sampler from ``make`` (the sampler option, which Hydra gives the sweeper as a
    partial); a grid sampler gets every choice and range value."""
    import optuna

    if getattr(make, "func", None) is not optuna.samplers.GridSampler:
        return make()
    grid = {}
    for key, distribution in distributions.items():
        choices = getattr(distribution, "choices", None)
        if choices is None and getattr(distribution, "step", None) is not None and \
                not distribution.log:
            choices = list(range(distribution.low, distribution.high + 1, distribution.step))
        if choices is None:
            raise ConfigError(f"{key}: a grid sampler takes choice(...) and range(...) "
                              "dimensions, not an interval")
        grid[key] = list(choices)
    return make(search_space=grid)


def overrides(trial, fixed: dict) -> List[str]:
    """A trial's drawn values and the fixed ones, as the job's overrides."""
    drawn = [f"{key}={_text(value)}" for key, value in trial.params.items()]
    return drawn + [f"{key}={value}" for key, value in fixed.items()]


def _text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
