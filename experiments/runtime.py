"""The job runtime the apps (train, anomaly, embed) run on: one job of a Hydra app with its
signals caught and its failures recorded, the thread policy and the seed, building config nodes,
and the parts of the records every run writes.

``run_job`` runs an app's work function; ``finish`` turns its record into what the command line
and the sweeper see (an exit code for a single run, ``optimized_metric`` for the sweeper).
"""

import csv
import logging
import os
import platform
import signal
import sys
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from experiments.cli import EXIT_BAD_INPUT, EXIT_LATER
from experiments.error_lines import error_line
from experiments.folders import STOPPING, FolderLock, discard_new_folder, refuse_finished_folder
from experiments.records import Interrupted, Record, Task, diverged_line
from experiments.schemas.checks import names
from reducers.baselines import Baseline
from reducers.checkpoint import load_checkpoint
from reducers.torch_internals import denormals_flushed, skip_dynamo_import
from reducers.errors import CheckpointError, ConfigError, ReducerError
from reducers.interrupt import StopRequest
from reducers.io import atomic_open
from reducers.status import Status

log = logging.getLogger(__name__)
TASKS = {"train": Task.train, "anomaly": Task.anomaly, "embed": Task.embed}  # by Hydra job name
EXIT_DIVERGED = 3
STOP = StopRequest()  # one per process: once a sweep is interrupted, its later jobs do not start


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def auto_threads() -> int:
    """Torch threads when trainer.threads is null: the cores this process may use, shared
    among the jobs the launcher runs at once, so that jobs x threads <= cores."""
    cores = available_cores()
    if not HydraConfig.initialized():
        return cores
    launcher = HydraConfig.get().launcher
    if launcher.get("cpus_per_task"):  # submitit: what each task was given
        return int(launcher.cpus_per_task)
    if "ray" in launcher:  # Ray schedules one task per CPU it reserves (default 1)
        return int(launcher.ray.remote.get("num_cpus") or 1)
    n_jobs = launcher.get("n_jobs")  # joblib, with its convention: -1 = all cores
    if n_jobs:
        jobs = n_jobs if n_jobs > 0 else cores + 1 + n_jobs
        return max(1, cores // max(1, jobs))
    return cores


def start(seed: int, threads: int | None) -> int:
    """Set torch's threads (``threads``, or ``auto_threads()`` when None) and seed; return the
    threads. (``run_job`` has set the denormal mode before: ``trainer.flush_denormal``.)"""
    skip_dynamo_import()
    threads = threads or auto_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    return threads


def single_run() -> bool:
    """True outside a sweep (and outside Hydra)."""
    return not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN


def build(node: DictConfig, **kwargs):
    """``hydra.utils.instantiate``, with parts (structured configs without a ``_target_``, e.g.
    ``model.net``) passed as the library's dataclasses; the project's own errors unwrapped."""
    try:
        return instantiate(node, **kwargs, _convert_="object")
    except InstantiationException as exc:
        if isinstance(exc.__cause__, ReducerError):
            raise exc.__cause__ from None
        raise


def versions() -> dict[str, str]:
    import hydra as hydra_pkg
    import omegaconf
    import sklearn
    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "scikit-learn": sklearn.__version__,
            "hydra-core": hydra_pkg.__version__, "omegaconf": omegaconf.__version__,
            "platform": platform.platform()}


def resolved(cfg: DictConfig) -> dict:
    """The config as plain data, as every record and checkpoint keeps it."""
    return OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)


def record_header(cfg: DictConfig, threads: int, split) -> dict:
    """What every run's ``metrics.json`` says about how it ran."""
    return {"seed": cfg.seed, "threads": threads, "data": split.summary(),
            "versions": versions(), "config": resolved(cfg)}


def check_fits_model(split, model) -> None:
    """A network's sigmoid decoder reconstructs values in [0, 1]: refuse features outside it
    (tables scaled with ``standard`` or ``none``) before any training."""
    if isinstance(model, Baseline) or (split.scaling or {}).get("kind") == "minmax":
        return  # a baseline takes any scale; minmax scales every training value into [0, 1]
    low, high = float(split.x_train.min()), float(split.x_train.max())
    if low < 0 or high > 1:
        scale = (split.scaling or {}).get("kind", "none")
        recon = getattr(model, "recon", None)
        loss = "BCE reconstruction needs targets" if recon is not None and recon.value == "bce" \
            else \
            "its sigmoid decoder reconstructs only values"
        raise ConfigError(f"{split.name}'s training features span {low:.3g} to {high:.3g} "
                          f"(data.scale={scale}), but {loss} in [0, 1]: use data.scale=minmax "
                          "(or a baseline such as model=pca, which takes any scale)")


def write_codes(path: Path, split, train_codes: np.ndarray, test_codes: np.ndarray,
                **extra) -> None:
    """``codes.npz``: the codes of both splits, their labels when there are labels, and the
    class names when they are not the label numbers themselves."""
    arrays = {"train": train_codes, "test": test_codes, **extra}
    if split.labelled:
        arrays.update(train_labels=split.y_train, test_labels=split.y_test)
    if split.class_names is not None:
        arrays["class_names"] = np.array(split.class_names)
    with atomic_open(path) as f:
        np.savez_compressed(f, **arrays)


def write_history(path: Path, history: list[dict]) -> None:
    """One row per epoch; a term missing from an epoch (the test set's, between evaluations)
    is an empty cell. Columns in order of first appearance, ``seconds`` last."""
    columns = dict.fromkeys(key for row in history for key in row)
    if "seconds" in columns:
        columns["seconds"] = columns.pop("seconds")
    with atomic_open(path, "w") as f:
        if history:
            writer = csv.DictWriter(f, fieldnames=list(columns))
            writer.writeheader()
            writer.writerows(history)


def signal_name(stop: StopRequest) -> str | None:
    return signal.Signals(stop.signum).name if stop else None


@dataclass
class Job:
    """One job of a Hydra app: its record (None once a failure or an interruption is recorded
    in a sweep), its folder, and whether it is a single run rather than a job of a sweep."""
    record: Record | None
    run_dir: Path
    single: bool


def run_job(work: Callable[[DictConfig, Path, StopRequest], Record], cfg: DictConfig) -> Job:
    """``work(cfg, run_dir, stop)`` with the signals caught. In a sweep, a failure or an
    interruption leaves a ``metrics.json`` saying so and the sweep goes on; a single run's own
    error is one line and exit 2."""
    hydra_cfg = HydraConfig.get()
    single = hydra_cfg.mode != RunMode.MULTIRUN
    run_dir = Path(hydra_cfg.runtime.output_dir)

    def recorded(status: Status, error: str) -> Job:
        Record(status=status, error=error,
               task=TASKS.get(hydra_cfg.job.name, Task.train)).write(run_dir)
        return Job(None, run_dir, single)

    if not single:  # its sweep's command, signalled, says so in the sweep folder
        STOP.watch(Path(hydra_cfg.sweep.dir) / STOPPING)
    if STOP:  # this sweep was interrupted before this job began: do not start it
        return recorded(Status.interrupted, "not started: the sweep was interrupted")
    try:
        if single:
            refuse_finished_folder(run_dir, cfg, hydra_cfg.job.name)
        with (FolderLock(run_dir, "hydra.run.dir") if single else nullcontext()), \
                STOP.installed(), denormals_flushed(
                    OmegaConf.select(cfg, "trainer.flush_denormal", default=False)):
            return Job(work(cfg, run_dir, STOP), run_dir, single)
    except KeyboardInterrupt:  # a second signal: stopped at once, wherever it was
        STOP.signum = STOP.signum or signal.SIGINT
        record = stopped_at_once(run_dir)
        record.write(run_dir)
        return Job(record, run_dir, single)  # the app says how to resume, as after one signal
    except ReducerError as exc:
        if not single:
            return recorded(Status.failed, f"{type(exc).__name__}: {exc}")
        print(error_line(exc), file=sys.stderr)
        discard_new_folder(run_dir)
        sys.exit(EXIT_BAD_INPUT)
    except Exception as exc:  # a bug or a broken environment: keep the sweep going
        if single:
            raise
        log.exception("run failed")
        return recorded(Status.failed, f"{type(exc).__name__}: {exc}")


def stopped_at_once(run_dir: Path) -> Record:
    """The record of a job stopped at once by a second signal: the epochs its checkpoint keeps
    (the last whole epoch written before the signals), so that the resume command is shown."""
    checkpoint, epochs = run_dir / "checkpoint.pt", 0
    if checkpoint.exists():
        try:
            epochs = int(load_checkpoint(checkpoint)["epoch"])
        except CheckpointError:  # cut short while being written: nothing to resume from
            pass
    return Record(status=Status.interrupted, error="stopped at once by a second signal",
                  epochs_completed=epochs,
                  interrupted=Interrupted(signal_name(STOP), "a second signal", epochs,
                                          str(checkpoint) if epochs else None))


def finish(job: Job, cfg: DictConfig,
           on_interrupt: Callable[[Job], None] | None = None) -> float | list | None:
    """What a Hydra app returns to the sweeper: ``optimized_metric`` of a finished run (values
    for a list of metrics; None otherwise). An interrupted run calls ``on_interrupt``; a single
    run that diverged says so in one line and exits 3 once Hydra's callbacks have run."""
    record = job.record
    status = record.status if record is not None else None
    if status is Status.interrupted and on_interrupt is not None:
        on_interrupt(job)
    if status is Status.diverged and job.single:
        EXIT_LATER.set(EXIT_DIVERGED, diverged_line(record))
    if status is not Status.ok:
        return None
    values = [record.metrics.get(name) for name in names(cfg.optimized_metric)]
    return values[0] if isinstance(cfg.optimized_metric, str) else values  # several: a list
