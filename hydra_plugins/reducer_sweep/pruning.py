"""Pruning a search's trials across processes: the ``search`` sweeper's study is where a
trial's job reports its value epoch by epoch, and where it asks whether to stop.

``hydra/sweeper/pruner=median|percentile|hyperband|successive_halving`` (none by default)
picks Optuna's pruner. The sweeper asks a trial, notes the job that runs it (the trial's
``job`` attribute) and launches the job; the job, in this process (the basic launcher) or in
a worker (joblib, a cluster), finds its trial in the study's storage (``attach``) and, after
every epoch but the last, reports ``optimized_metric`` measured as the run will score it at
the end, and stops when the pruner says so (``Reporter``): its record says ``pruned`` and at
which epoch, and the sweeper tells Optuna so. A study in memory is kept, while the search
runs, in a journal file in the sweep folder (``study.journal``), so that every process sees
the same one.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from hydra.core.config_store import ConfigStore

from reducers.callbacks import Callback
from reducers.errors import ConfigError

log = logging.getLogger(__name__)
JOURNAL = "study.journal"  # the study of a search without a storage, while it runs
SWEEPER = "hydra_plugins.reducer_sweep.search.SearchSweeper"


@dataclass
class MedianPrunerConf:
    """Stops a trial whose value is worse than the median of the earlier trials' at the same
    epoch."""
    _target_: str = "optuna.pruners.MedianPruner"
    n_startup_trials: int = 5  # trials that run to the end before any is pruned
    n_warmup_steps: int = 0  # epochs of each trial before it can be pruned
    interval_steps: int = 1  # epochs between two checks
    n_min_trials: int = 1  # trials that reached an epoch before it is judged there


@dataclass
class PercentilePrunerConf:
    """The median pruner with another cut: stops a trial whose best value so far is outside the
    best ``percentile`` per cent of the earlier finished trials' at the same epoch (33: only
    trials in the top third go on). With ``n_warmup_steps=4``, the setting measured to halve
    a 40-trial search at no loss (docs/how-to/search.md)."""
    _target_: str = "optuna.pruners.PercentilePruner"
    percentile: float = 33.0  # the share of trials kept at each check, in per cent
    n_startup_trials: int = 5  # trials that run to the end before any is pruned
    n_warmup_steps: int = 0  # epochs of each trial before it can be pruned
    interval_steps: int = 1  # epochs between two checks
    n_min_trials: int = 1  # trials that reached an epoch before it is judged there


@dataclass
class HyperbandPrunerConf:
    """Successive halving in several brackets (Li et al. 2018), over epochs."""
    _target_: str = "optuna.pruners.HyperbandPruner"
    min_resource: int = 1  # the fewest epochs a trial gets
    max_resource: Any = "auto"  # the most: the longest finished trial's epochs, or a number
    reduction_factor: int = 3  # 1 in this many trials goes on at each rung
    bootstrap_count: int = 0


@dataclass
class SuccessiveHalvingPrunerConf:
    """Asynchronous successive halving (Li et al. 2020), over epochs."""
    _target_: str = "optuna.pruners.SuccessiveHalvingPruner"
    min_resource: Any = "auto"  # the fewest epochs a trial gets ("auto": from the first one)
    reduction_factor: int = 4  # 1 in this many trials goes on at each rung
    min_early_stopping_rate: int = 0
    bootstrap_count: int = 0


_store = ConfigStore.instance()
for _name, _node in (("median", MedianPrunerConf), ("percentile", PercentilePrunerConf),
                     ("hyperband", HyperbandPrunerConf),
                     ("successive_halving", SuccessiveHalvingPrunerConf)):
    _store.store(group="hydra/sweeper/pruner", name=_name, node=_node, provider="reducer-sweep")


def journal(sweep_dir: Path):
    """The journal storage of a search kept in memory, in its sweep folder."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    sweep_dir.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(sweep_dir / JOURNAL)))


def study_name(name: Optional[str], sweep_dir: Path) -> str:
    """The study's name: the one set, or the sweep folder's (which the jobs know too)."""
    return name or f"search {sweep_dir.name}"


def attach(cfg) -> Optional[tuple[Any, str]]:
    """(this job's trial, the metric it reports) when it runs for a search with a pruner;
    None otherwise (a single run, a grid sweep, a search without pruning)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    sweeper = hydra.sweeper
    if hydra.mode != RunMode.MULTIRUN or sweeper.get("_target_") != SWEEPER or \
            sweeper.get("pruner") is None:
        return None
    import optuna
    from hydra.utils import instantiate

    sweep_dir = Path(hydra.sweep.dir)
    storage = sweeper.storage or journal(sweep_dir)
    study = optuna.load_study(study_name=study_name(sweeper.study_name, sweep_dir),
                              storage=storage, sampler=optuna.samplers.RandomSampler(),
                              pruner=instantiate(sweeper.pruner))
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for trial in running:
        if trial.user_attrs.get("job") == hydra.job.num:
            return optuna.trial.Trial(study, trial._trial_id), str(cfg.optimized_metric)
    raise RuntimeError(f"no running trial of study {study.study_name} is job "
                       f"{hydra.job.num}'s: was the study changed while it ran?")


def reporters(cfg, settings, model, split) -> list[Callback]:
    """A ``Reporter`` when this job is a trial of a search with a pruner (none otherwise):
    ``optimized_metric`` measured each epoch on the test split as the run scores it at the end
    (``settings``: the score settings)."""
    attached = attach(cfg)
    if attached is None:
        return []
    from reducers.data.rows import as_tensor
    from reducers.scoring import MODEL_SIDE, encode, score_codes, score_model

    trial, metric = attached
    x_train, x_test = as_tensor(split.x_train), as_tensor(split.x_test)

    def measure() -> float:
        if metric in MODEL_SIDE:
            return float(score_model(model, x_test)[metric])
        train_codes, test_codes = encode(model, x_train), encode(model, x_test)
        return score_codes(train_codes, split.y_train, test_codes, split.y_test,
                           split.x_test, settings, only=metric)[0][metric]

    return [Reporter(trial, metric, measure)]


class Reporter(Callback):
    """Reports ``measure()`` (the trial's metric now) to the trial after every epoch but the
    last (whose value is the run's score), into the epoch's row as ``trial_<metric>`` too, and
    ends training as pruned when the pruner says so."""

    def __init__(self, trial, metric: str, measure: Callable[[], float]):
        self.trial, self.metric, self.measure = trial, metric, measure

    def on_epoch_end(self, run, epoch, row):
        if epoch >= run.settings.epochs or run.stopping:
            return
        value = self.measure()
        row[f"trial_{self.metric}"] = value
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            run.pruned = {"epoch": epoch, "metric": self.metric, "value": value}
            run.say(logging.INFO, "pruned after epoch %d: %s = %.4g there (trial %d)", epoch,
                    self.metric, value, self.trial.number)


def check_measurable(pruner, metrics: list[str], measurable: tuple) -> None:
    """One line when a pruner is asked for several objectives, or for a metric that no epoch
    measures."""
    if pruner is None:
        return
    if len(metrics) > 1:
        raise ConfigError(f"hydra.sweeper.pruner: Optuna prunes a search of one objective, "
                          f"not of {len(metrics)} ({', '.join(metrics)}): leave "
                          "hydra/sweeper/pruner=... out or optimise one metric")
    if metrics[0] not in measurable:
        raise ConfigError(f"hydra.sweeper.pruner needs optimized_metric measured during "
                          f"training, one of {', '.join(measurable)}; {metrics[0]} is not: "
                          "leave hydra/sweeper/pruner=... out or optimise another metric")
