"""``hydra/sweeper=search`` (what ``hparams_search=...`` selects): Optuna's sampling (the
``[optuna]`` extra) over a search space in Hydra's sweep syntax (``search_space``), as a search
that survives its trials.

- No trial is given a made-up value. A trial whose run **diverged** is told to Optuna as
  **pruned**: TPE ranks a pruned trial without intermediate values below every finished one,
  so it learns to avoid where the diverged trials were (measured: 12 of 20 trials diverged in
  a learning-rate range reaching 1e3 when they were told as failed, which TPE leaves out).
  A trial that **failed** (an error, a killed worker, ``optimized_metric`` missing from its
  metrics) or was **interrupted** is told as **failed**: it says nothing about its parameters,
  and samplers leave it out. A penalty value instead would enter TPE's model as if measured,
  and no one value is worse than every real one for every metric and direction. The search
  goes on either way (``max_failure_rate``, default 1: stop asking for new trials once more
  than that fraction of this command's trials failed; diverged ones are not failures).
- ``n_trials`` is the number of trials the study should hold. With a ``storage`` (an sqlite
  file), re-running the same command resumes the study: it runs only the trials still
  missing (those of an interrupted command are run again). Raise ``n_trials`` to search
  further; a study made with other settings is refused, naming them.
- With a pruner (``hydra/sweeper/pruner=median``, ...) each trial's job reports its value
  epoch by epoch to the study and stops when the pruner says so (``pruning``); a pruned run
  is told to Optuna as pruned, with the values it reported.
- ``optimized_metric`` may be a list (with a direction each): Optuna then searches for the
  Pareto front, which ``search.md`` shows.
- A job that kills its worker costs only itself (``survival.py``).
- At the end, in the sweep folder (``search_results``): ``trials.csv`` (every trial of the
  study: its state, values, parameters, run folder and why it failed),
  ``optimization_results.yaml`` (as Hydra's Optuna sweeper writes it) and ``search.md`` with
  its figures (``experiments.search_report``). The comparison tables come from the app's
  callback, as for every sweep.
"""

import logging
import math
from contextlib import nullcontext
from pathlib import Path
from typing import Any, List, Optional

from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper

from experiments.folders import FolderLock
from hydra_plugins.reducer_sweep.finished import finished_jobs
from hydra_plugins.reducer_sweep import pruning, search_space
from hydra_plugins.reducer_sweep.progress import ShowingProgress
from hydra_plugins.reducer_sweep.search_results import write_results
from hydra_plugins.reducer_sweep.stopping import StoppingCleanly
from hydra_plugins.reducer_sweep.survival import SurvivingCrashes
from reducers.errors import ConfigError
from reducers.io import check_sqlite_url, locked, sqlite_file
from reducers.scoring import DURING_TRAINING
from reducers.status import Status

log = logging.getLogger(__name__)
EXTRA = "pip install -c constraints.txt -e '.[optuna]'"
STORAGE_FIX = "use sqlite:///FILE (a file kept across commands) or null (in memory)"
PRUNED = (Status.diverged, Status.pruned)  # told to Optuna as pruned: worse than where it was

class SearchSweeper(ShowingProgress, SurvivingCrashes, StoppingCleanly, Sweeper):
    study_lock: Optional[FolderLock] = None  # the kept study's, while this command searches

    def __init__(self, **settings: Any) -> None:
        for key, low in (("n_trials", 1), ("n_jobs", 1)):
            if not isinstance(settings[key], int) or settings[key] < low:
                raise ConfigError(f"hydra.sweeper.{key}={settings[key]} is invalid: must be an "
                                  f"integer >= {low}")
        if not 0 <= settings["max_failure_rate"] <= 1:
            raise ConfigError(f"hydra.sweeper.max_failure_rate={settings['max_failure_rate']} "
                              "is invalid: must be between 0 and 1")
        self.sampler_config, self.params = settings["sampler"], settings["params"]
        self.pruner = settings.get("pruner")  # built by Hydra from its option; or None
        self.direction_setting = settings["direction"]
        self.storage, self.study_name = settings["storage"], settings["study_name"]
        self.n_trials, self.n_jobs = settings["n_trials"], settings["n_jobs"]
        self.max_failure_rate = settings["max_failure_rate"]
        self.job_idx = 0

    def setup(self, *, hydra_context, task_function, config) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)
        self.survive_crashes()
        self.show_progress()

    def sweep(self, arguments: List[str]) -> None:
        self.catch_signals()
        lock = FolderLock(Path(self.config.hydra.sweep.dir), "hydra.sweep.dir").acquire()
        try:
            self.folder_locked()
            self.job_idx = self._first_free_job()
            self._search(arguments)
        finally:
            self.end_progress()
            self.release_signals()
            if self.study_lock is not None:
                self.study_lock.release()
            lock.release()

    def _first_free_job(self) -> int:
        """The number of this command's first trial: after those of a study continued in its
        own folder (their folders are kept); a folder holding finished trials of a study that
        is not kept (in memory) is not written over."""
        done = finished_jobs(Path(self.config.hydra.sweep.dir))
        if done and not self.storage:
            trials = f"{len(done)} finished trial{'s' * (len(done) != 1)}"
            raise ConfigError(f"hydra.sweep.dir={self.config.hydra.sweep.dir} holds a search "
                              f"with {trials} that this command would replace: name another "
                              "folder (or leave hydra.sweep.dir out), "
                              "or keep the study in a file to continue it "
                              "(hydra.sweeper.storage=sqlite:///FILE)")
        return max(done, default=-1) + 1

    def _search(self, arguments: List[str]) -> None:
        import optuna
        from optuna.trial import TrialState

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # the study is logged below
        distributions, fixed = self._search_space(arguments)
        self._check_settings(every_value(distributions, fixed))  # before any trial runs
        directions = search_space.directions(self.direction_setting)
        self.metrics = search_space.metrics(self.config.optimized_metric, directions)
        pruning.check_measurable(self.pruner, self.metrics, DURING_TRAINING)
        study = self._study(directions)
        self._check_same_command(study)
        for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            optuna.trial.Trial(study, stale._trial_id).set_user_attr(
                "status", Status.interrupted.value)
            study.tell(stale.number, state=TrialState.FAIL)  # its command was stopped
        counted = sum(_counts(t) for t in study.get_trials(deepcopy=False))
        to_go = max(0, self.n_trials - counted)
        log.info("study %s (%s, %s, %s): %d of %d trials done, %d to run",
                 study.study_name, self.storage or "in memory", type(study.sampler).__name__,
                 ", ".join(f"{d} {m}" for d, m in zip(directions, self.metrics)), counted,
                 self.n_trials, to_go)
        failed = ran = 0
        self.runs_planned = to_go
        while to_go > 0:
            trials = [study.ask(distributions) for _ in range(min(self.n_jobs, to_go))]
            for idx, trial in enumerate(trials, self.job_idx):
                trial.set_user_attr("job", idx)  # how its job finds it (pruning)
            overrides = [search_space.overrides(trial, fixed) for trial in trials]
            self.validate_batch_is_legal(overrides)  # a bad key or value: one line, no run
            results = self.launcher.launch(overrides, initial_job_idx=self.job_idx)
            returned = {r.hydra_cfg.hydra.job.num: r for r in results if r.hydra_cfg}
            stopped = False
            for idx, trial in enumerate(trials, self.job_idx):
                values, status, why = self._outcome(idx, returned.get(idx))
                trial.set_user_attr("status", status.value)
                trial.set_user_attr("overrides", [f"{k}={v}" for k, v in trial.params.items()])
                trial.set_user_attr("run_dir", str(self._job_dir(idx) or ""))
                if values is None:
                    state = TrialState.PRUNED if status in PRUNED else TrialState.FAIL
                    trial.set_user_attr("reason", why)
                    log.warning("trial %d %s (%s): told to Optuna as %s", trial.number,
                                status.value, why, state.name.lower())
                    study.tell(trial, state=state)
                else:
                    study.tell(trial, values=values)
                failed += values is None and status is Status.failed
                stopped = stopped or status is Status.interrupted
                to_go -= status is not Status.interrupted
            self.job_idx += len(trials)
            ran += len(trials)
            if stopped:
                log.warning("the search was interrupted: re-run the same command to resume "
                            "it (with hydra.sweeper.storage set, the study is kept)")
                break
            if failed / ran > self.max_failure_rate:
                log.error("%d of %d trials failed (max_failure_rate=%g): no more are asked",
                          failed, ran, self.max_failure_rate)
                break
        write_results(study, Path(self.config.hydra.sweep.dir), {
            "storage": self.storage, "sampler": type(study.sampler).__name__,
            "optuna": optuna.__version__,
            "pruner": None if self.pruner is None else type(self.pruner).__name__,
            "metrics": self.metrics, "directions": directions, "n_trials": self.n_trials})

    def _check_settings(self, batch: List[List[str]]) -> None:
        """Each job of ``batch`` composes and passes the app's own checks (a value out of
        range, objectives that disagree with their metrics): one line before any trial runs,
        not the same failure in every trial."""
        from omegaconf import open_dict

        from experiments.schemas import validate

        for overrides in batch:
            cfg = self.hydra_context.config_loader.load_sweep_config(
                master_config=self.config, sweep_overrides=list(overrides))
            with open_dict(cfg):
                del cfg["hydra"]
            validate(cfg)

    def _search_space(self, arguments: List[str]):
        """Optuna's distributions and the fixed values, from ``params`` and the command line;
        the sampler (a grid sampler gets its grid, and runs each point once at most)."""
        distributions, fixed = search_space.parse(self.params, arguments)
        self.sampler = search_space.sampler(self.sampler_config, distributions)
        grid = getattr(self.sampler, "_search_space", None)
        if isinstance(grid, dict):
            self.n_trials = min(self.n_trials, math.prod(len(v) for v in grid.values()))
        return distributions, fixed

    def _study(self, directions: list):
        """The study, new or kept. A study kept in an sqlite file is searched by one command at
        a time (a lock beside the file: a second one would take the first's running trials for
        interrupted ones), and the file is set up by one command at a time."""
        import optuna

        url = str(self.storage or "")
        check_sqlite_url(url, "hydra.sweeper.storage", STORAGE_FIX)  # before its lock is made
        db = sqlite_file(url)
        if db is not None:
            self.study_lock = FolderLock(
                db.parent, "hydra.sweeper.storage", f".{db.name}.{self.study_name}.lock",
                f"study {self.study_name!r} in {url} is being searched by another command "
                "(process {pid}): wait for it to end, or name another study "
                "(hydra.sweeper.study_name=...)").acquire()
        with locked(f"{db}.lock") if db is not None else nullcontext():
            sweep_dir = Path(self.config.hydra.sweep.dir)
            return optuna.create_study(
                study_name=pruning.study_name(self.study_name, sweep_dir),
                storage=self._storage(), sampler=self.sampler, directions=directions,
                pruner=self.pruner,
                load_if_exists=True)

    def _storage(self):
        """The study's storage (None: in memory); an sqlite file's folder is made first (sqlite
        does not). One line for a URL Optuna cannot open."""
        import optuna

        if not self.storage and self.pruner is not None:  # the jobs report to it: in a file
            sweep_dir = Path(self.config.hydra.sweep.dir)
            (sweep_dir / pruning.JOURNAL).unlink(missing_ok=True)  # of no finished trial
            return pruning.journal(sweep_dir)
        if not self.storage:
            return None
        url, fix = str(self.storage), STORAGE_FIX  # an sqlite file was checked by _study
        try:
            return optuna.storages.get_storage(url)
        except Exception as exc:  # SQLAlchemy's, Optuna's: whatever the URL is, one line
            detail = " ".join(str(exc).split())[:200]
            raise ConfigError(f"hydra.sweeper.storage={url} cannot be opened ({detail}); "
                              f"{fix}") from None

    def _check_same_command(self, study) -> None:
        """A kept study is resumed only by the command that made it (its settings, not
        ``hydra.*``): values measured under other settings are not comparable."""
        command = sorted(str(o) for o in self.config.hydra.overrides.task)
        made_by = study.user_attrs.get("command")
        if made_by is None:
            study.set_user_attr("command", command)
        elif made_by != command:
            then, now = (dict(o.partition("=")[::2] for o in c) for c in (made_by, command))
            differ = "; ".join(f"{k}: {then.get(k, 'not set')} then, {now.get(k, 'not set')} "
                               "now" for k in sorted({*then, *now}) if then.get(k) != now.get(k))
            raise ConfigError(
                f"study {study.study_name!r} in {self.storage} was made by another command "
                f"({differ}): re-run its own command to resume it, or name a new study "
                "(hydra.sweeper.study_name=...)")

    def _outcome(self, idx: int, result) -> tuple[Optional[list], Status, str]:
        """(the values to tell Optuna or None, the run's status, why there are none)."""
        from experiments.records import Record
        from experiments.results import read_record

        folder = self._job_dir(idx)
        record = read_record(folder) if folder is not None else Record(status=Status.ok)
        status = record.status
        if result is None or result.status != JobStatus.COMPLETED:
            if status is Status.ok:
                return None, Status.failed, "the job raised an error (see its log)"
            return None, status, record.reason()
        if status is not Status.ok:
            return None, status, record.reason()
        returned = result.return_value
        returned = [returned] if len(self.metrics) == 1 else returned
        if not isinstance(returned, (list, tuple)) or len(returned) != len(self.metrics):
            return None, Status.failed, f"it returned {returned!r}, not a value per metric"
        values = []
        for metric, value in zip(self.metrics, returned):
            try:
                values.append(float(value))
            except (TypeError, ValueError):
                return None, Status.failed, f"{metric} is not among its metrics"
            if not math.isfinite(values[-1]):
                return None, Status.failed, f"{metric} = {value}"
        return values, status, ""


def every_value(distributions: dict, fixed: dict) -> list[list[str]]:
    """A job per searched value that can be named (each choice, each range's ends), so that
    a value the config refuses is one line before the first trial, not after some ran."""
    base = [f"{name}={value}" for name, value in fixed.items()]
    jobs = []
    for name, distribution in distributions.items():
        values = getattr(distribution, "choices", None) or \
            (distribution.low, distribution.high)
        jobs += [[*base, f"{name}={value}"] for value in values]
    return jobs


def _counts(trial) -> bool:
    """Whether a finished trial counts towards ``n_trials`` (an interrupted one does not)."""
    from optuna.trial import TrialState
    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED) or (
        trial.state == TrialState.FAIL and
        trial.user_attrs.get("status") != Status.interrupted.value)
