"""Train one reducer and score it on held-out data: ``python -m experiments.train [overrides]``.

``train(cfg, run_dir)`` is a plain function (tests call it with a composed config); ``main`` is
the thin Hydra wrapper that turns the project's errors into one line and an exit code.
"""

import csv
import logging
import os
import platform
import shlex
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import hydra
import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from experiments.cli import EXIT_BAD_INPUT, command_line
from experiments.schema import register, validate
from reducers import plots
from reducers.baselines import PROTOCOLS, Baseline
from reducers.checkpoint import load_checkpoint, restore, snapshot, write_checkpoint
from reducers.engine import LoopState, fit
from reducers.errors import ConfigError, ReducerError
from reducers.interrupt import StopRequest
from reducers.io import atomic_open, write_json
from reducers.scoring import encode, score_codes, score_model

log = logging.getLogger(__name__)
CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")  # absolute: console scripts too
EXIT_DIVERGED = 3
HEADLINE = ("knn_acc", "silhouette", "trustworthiness", "kmeans_vmeasure")
# settings a resumed run may change; any other difference from the checkpoint's config is refused
FREE_ON_RESUME = ("trainer.epochs", "trainer.resume", "trainer.progress", "trainer.threads",
                  "trainer.checkpoint_seconds", "score.", "paths.", "compare.")
STOP = StopRequest()  # one per process: once a sweep is interrupted, its later jobs do not start
register()


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


def versions() -> dict[str, str]:
    import hydra as hydra_pkg
    import omegaconf
    import sklearn
    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "scikit-learn": sklearn.__version__,
            "hydra-core": hydra_pkg.__version__, "omegaconf": omegaconf.__version__,
            "platform": platform.platform()}


def build(node: DictConfig, **kwargs):
    """``hydra.utils.instantiate``, re-raising the project's own errors unwrapped."""
    try:
        return instantiate(node, **kwargs, _convert_="all")
    except InstantiationException as exc:
        if isinstance(exc.__cause__, ReducerError):
            raise exc.__cause__ from None
        raise


def describe(cfg: DictConfig) -> str:
    """Short label of the model settings for titles, e.g. 'VAE [512, 256]->2 bce beta=1'."""
    m = cfg.model
    if "hidden" not in m:  # a baseline
        return f"{m._target_.rsplit('.', 1)[-1]} ->{m.latent_dim}"
    label = f"{m._target_.rsplit('.', 1)[-1]} {list(m.hidden)}->{m.latent_dim} {m.recon.value}"
    if "beta" in m:
        label += f" beta={m.beta:g}" + (" (seed scaling)" if m.kl_scaling.value == "seed" else "")
    return label


def write_history(path: Path, history: list[dict]) -> None:
    with atomic_open(path, "w") as f:
        if history:
            writer = csv.DictWriter(f, fieldnames=list(history[0]))
            writer.writeheader()
            writer.writerows(history)


@dataclass
class Outcome:
    """What training (or embedding) produced, before scoring."""
    status: str  # "ok", "diverged" or "interrupted"
    train_seconds: float
    samples_per_second: float
    codes: tuple[np.ndarray, np.ndarray] | None  # (N, d) train and (M, d) test codes
    history: list[dict] = field(default_factory=list)
    diverged: dict | None = None
    metrics: dict = field(default_factory=dict)  # model-side: reconstruction, KL, active units
    protocol: str = "inductive"  # a key of reducers.baselines.PROTOCOLS
    backward: str | None = None  # how the engine took gradients; None: not trained by it


def _flatten(node: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in node.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def load_resume_point(cfg: DictConfig, settings, run_dir: Path) -> tuple[dict, Path] | None:
    """The checkpoint ``trainer.resume=true`` continues from, checked against this config."""
    trainer = settings.trainer
    if not trainer.resume:
        return None
    source = Path(trainer.resume_from or run_dir)
    source = source / "checkpoint.pt" if source.is_dir() else source
    if trainer.resume_from is None and not source.exists():  # e.g. a sweep job never started
        log.warning("trainer.resume=true but %s has no checkpoint: starting at epoch 1", run_dir)
        return None
    state = load_checkpoint(source)
    before = _flatten(state["config"])
    now = _flatten(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))
    changed = sorted(k for k in before.keys() | now.keys()
                     if before.get(k) != now.get(k) and not k.startswith(FREE_ON_RESUME))
    if changed:
        shown = ", ".join(f"{k}={before.get(k)!r} there, {now.get(k)!r} here" for k in changed)
        raise ConfigError(f"cannot resume from {source}: it was trained with other settings "
                          f"({shown}); use the same ones (free to change: trainer.epochs, "
                          "trainer.threads, score.*)")
    if trainer.epochs < state["epoch"]:
        raise ConfigError(f"trainer.epochs={trainer.epochs} is invalid: {source} has already "
                          f"completed {state['epoch']} epochs; use trainer.epochs >= "
                          f"{state['epoch']}")
    return state, source


class EpochCheckpoints:
    """``fit``'s ``on_epoch_end``: the state after every whole epoch is copied in memory (4 ms
    for the default model) and written to disk (atomically, 27 ms) at most every ``interval``
    seconds; ``flush`` writes the last copy, so a run that ends, stops or fails leaves the
    checkpoint of its last whole epoch, and a killed one loses at most ``interval`` seconds."""

    def __init__(self, path: Path, model, optimizer, interval: float, *, model_spec: dict,
                 config: dict, threads: int):
        self.path, self.model, self.optimizer, self.interval = path, model, optimizer, interval
        self.fixed = {"model_spec": model_spec, "config": config}
        self.threads = threads
        self.pending: tuple | None = None
        self.written_at = time.monotonic()

    def __call__(self, state: LoopState) -> None:
        self.pending = (*snapshot(self.model, self.optimizer), state)
        if time.monotonic() - self.written_at >= self.interval:
            self.flush()

    def flush(self) -> None:
        if self.pending is None:
            return
        model_state, optimizer_state, state = self.pending
        write_checkpoint(self.path, model_state, optimizer_state, epoch=state.epoch,
                         loop={**state.to_dict(), "threads": self.threads}, **self.fixed)
        self.pending, self.written_at = None, time.monotonic()


def train_network(cfg: DictConfig, settings, model, split, run_dir: Path, threads: int,
                  resume_point: tuple[dict, Path] | None, stop: StopRequest) -> Outcome:
    """The engine's loop, keeping the last whole epoch's checkpoint; then the model-side
    metrics."""
    optimizer = build(cfg.optim)(model.parameters())
    loop = None
    if resume_point is not None:
        state, source = resume_point
        restore(model, optimizer, state, source)
        loop = LoopState(**{k: v for k, v in state["loop"].items() if k != "threads"})
        if state["loop"].get("threads") != threads:
            log.warning("resuming with %d threads where the checkpoint used %s: the result may "
                        "differ from an uninterrupted run in the last bits", threads,
                        state["loop"].get("threads"))
        log.info("resuming from %s after epoch %d", source, loop.epoch)
    spec = {"target": cfg.model._target_, "input_dim": split.input_dim,
            "kwargs": OmegaConf.to_container(cfg.model, resolve=True, enum_to_str=True)}
    spec["kwargs"].pop("_target_")
    config = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    checkpoint = run_dir / "checkpoint.pt"
    save = EpochCheckpoints(checkpoint, model, optimizer, settings.trainer.checkpoint_seconds,
                            model_spec=spec, config=config, threads=threads)

    x_train, x_test = torch.from_numpy(split.x_train), torch.from_numpy(split.x_test)
    try:
        result = fit(model, optimizer, x_train, epochs=settings.trainer.epochs,
                     batch_size=settings.trainer.batch_size, seed=cfg.seed, x_test=x_test,
                     progress=settings.trainer.progress, resume=loop, on_epoch_end=save,
                     should_stop=lambda: bool(stop), backward=settings.trainer.backward)
    finally:  # finished, stopped, diverged or failed: the last whole epoch goes to disk
        save.flush()
    write_history(run_dir / "history.csv", result.history)
    outcome = Outcome(result.status, result.train_seconds, result.samples_per_second, None,
                      result.history, result.diverged, backward=result.backward)
    if outcome.status == "ok" and not stop:
        if loop is not None and loop.epoch == len(result.history) and source != checkpoint:
            save(loop)  # resumed from a finished run elsewhere: keep the model here too
            save.flush()
        outcome.codes = encode(model, x_train), encode(model, x_test)
        outcome.metrics = score_model(model, x_test, codes=outcome.codes[1])
    return outcome


def resume_command(run_dir: Path, multirun: bool) -> str:
    """The user's own command line again, continuing where it stopped."""
    args = [a for a in sys.argv[1:] if not a.startswith(
        ("trainer.resume=", "trainer.resume_from=", "hydra.run.dir=", "hydra.sweep.dir="))]
    folder = f"hydra.sweep.dir={run_dir.parent}" if multirun else f"hydra.run.dir={run_dir}"
    return shlex.join(["python", "-m", "experiments.train", *args, "trainer.resume=true",
                       folder])


def embed_baseline(model: Baseline, split) -> Outcome:
    started = time.perf_counter()
    codes = model.embed(split.x_train, split.x_test)
    seconds = time.perf_counter() - started
    return Outcome("ok", seconds, (len(split.x_train) + len(split.x_test)) / seconds, codes,
                   protocol=model.protocol)


def train(cfg: DictConfig, run_dir: str | Path, stop: StopRequest | None = None) -> dict:
    """Train (or fit), score and write one run folder; return what ``metrics.json`` holds.
    ``stop`` (set by a signal) interrupts training after the current step."""
    settings = validate(cfg)  # range errors before any work
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    stop = stop if stop is not None else StopRequest()
    resume_point = load_resume_point(cfg, settings, run_dir) if "hidden" in cfg.model else None
    started = time.perf_counter()
    threads = settings.trainer.threads or auto_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)

    split = build(cfg.data)
    model = build(cfg.model, input_dim=split.input_dim)
    label = describe(cfg)
    log.info("%s on %s: %d train / %d test images, %d threads", label, split.name,
             len(split.y_train), len(split.y_test), threads)
    if isinstance(model, Baseline):
        outcome = embed_baseline(model, split)
    else:
        outcome = train_network(cfg, settings, model, split, run_dir, threads, resume_point,
                                stop)
    if stop:  # a signal during training, or after it (a baseline cannot stop half-way)
        outcome.status, outcome.codes = "interrupted", None

    record = {
        "status": outcome.status, "model": label, "seed": cfg.seed,
        "kl_weight_effective": model.effective_kl_weight(settings.trainer.batch_size),
        "protocol": outcome.protocol, "protocol_note": PROTOCOLS[outcome.protocol],
        "epochs_completed": len(outcome.history), "diverged": outcome.diverged,
        "backward": outcome.backward,
        "metrics": {"train_seconds": outcome.train_seconds,
                    "samples_per_second": outcome.samples_per_second},
        "sample_sizes": {}, "timings": {}, "threads": threads, "data": split.summary(),
        "versions": versions(),
        "config": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
    }
    if outcome.status == "interrupted":
        checkpoint = run_dir / "checkpoint.pt"
        record["interrupted"] = {
            "signal": signal_name(stop), "epochs_kept": len(outcome.history),
            "checkpoint": str(checkpoint) if checkpoint.exists() else None}
    test_codes = None
    if outcome.codes is not None:
        train_codes, test_codes = outcome.codes
        metrics, record["sample_sizes"], record["timings"]["score_seconds"] = score_codes(
            train_codes, split.y_train, test_codes, split.y_test, split.x_test,
            knn_k=settings.score.knn_k, trust_k=settings.score.trust_k,
            max_pairwise=settings.score.max_pairwise)
        record["metrics"].update(metrics, **outcome.metrics)
        with atomic_open(run_dir / "codes.npz") as f:
            np.savez_compressed(f, train=train_codes, train_labels=split.y_train,
                                test=test_codes, test_labels=split.y_test)
    if settings.score.figures:
        plots.write_run_figures(run_dir, model, split, outcome.history, label, test_codes,
                                record["metrics"].get("knn_acc"))
    record["timings"]["total_seconds"] = time.perf_counter() - started
    write_json(run_dir / "metrics.json", record)  # written last: its presence means "finished"
    shown = "".join(f" {k}={record['metrics'][k]:.3f}" for k in HEADLINE
                    if k in record["metrics"])
    log.info("%s in %.1fs:%s -> %s", outcome.status, record["timings"]["total_seconds"], shown,
             run_dir)
    return record


def signal_name(stop: StopRequest) -> str | None:
    return signal.Signals(stop.signum).name if stop else None


def record_interrupted(run_dir: Path, reason: str) -> None:
    write_json(run_dir / "metrics.json", {"status": "interrupted", "error": reason,
                                          "epochs_completed": 0, "metrics": {}})


def record_failure(run_dir: Path, exc: Exception) -> None:
    """In a sweep, a failed run leaves a ``metrics.json`` saying why, and the sweep goes on."""
    write_json(run_dir / "metrics.json",
               {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "metrics": {}})


def run_job(work: Callable[[DictConfig, Path, StopRequest], dict],
            cfg: DictConfig) -> tuple[dict | None, Path, bool]:
    """One job of a Hydra app (``work`` is ``train`` or ``detect``) with the signals caught:
    (its record, or None once a failure or an interruption is recorded in a sweep; the run
    folder; whether it is a single run). A single run's own error is one line and exit 2."""
    hydra_cfg = HydraConfig.get()
    single = hydra_cfg.mode != RunMode.MULTIRUN
    run_dir = Path(hydra_cfg.runtime.output_dir)
    if STOP:  # an earlier job of this sweep was interrupted: do not start this one
        return record_interrupted(run_dir, "not started: the sweep was interrupted"), run_dir, \
            single
    try:
        with STOP.installed():
            return work(cfg, run_dir, STOP), run_dir, single
    except KeyboardInterrupt:  # a second signal: stopped at once, wherever it was
        STOP.signum = STOP.signum or signal.SIGINT
        return record_interrupted(run_dir, "stopped at once by a second signal"), run_dir, single
    except ReducerError as exc:
        if not single:
            return record_failure(run_dir, exc), run_dir, single
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except Exception as exc:  # a bug or a broken environment: keep the sweep going
        if single:
            raise
        log.exception("run failed")
        return record_failure(run_dir, exc), run_dir, single


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def main(cfg: DictConfig) -> float | None:
    record, run_dir, single = run_job(train, cfg)
    if record is None:
        return None
    if record["status"] == "interrupted":
        kept = record["interrupted"]
        where = (f"the checkpoint of epoch {kept['epochs_kept']} is {kept['checkpoint']}"
                 if kept["checkpoint"] else "no epoch was completed")
        log.warning("interrupted by %s: %s; resume with\n  %s", kept["signal"], where,
                    resume_command(run_dir, multirun=not single))
    if record["status"] == "diverged" and single:
        where = record["diverged"]
        print(f"error: training diverged at epoch {where['epoch']}, step {where['step']} (loss "
              f"{where['loss']}, last finite loss {where['last_finite_loss']:.4g}); lower "
              "optim.lr or check the data", file=sys.stderr)
        sys.exit(EXIT_DIVERGED)
    return record["metrics"].get("knn_acc")


def cli() -> None:
    """The command line (console script ``reducer-train``)."""
    command_line(main, STOP)


if __name__ == "__main__":
    cli()
