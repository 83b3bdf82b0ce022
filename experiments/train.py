"""Train one reducer and score it on held-out data: ``python -m experiments.train [overrides]``.

``train(cfg, run_dir)`` is a plain function (tests call it with a composed config); ``main`` is
the thin Hydra wrapper over the job runtime (``experiments.runtime``).
"""

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import hydra
import numpy as np
import torch
from omegaconf import DictConfig

from experiments.cli import CONF_DIR, command_line
from experiments.heldout import load_heldout, score_heldout
from experiments.resume import EpochCheckpoints, log_how_to_resume, resume_point
from experiments.results import HEADLINE
from experiments.runtime import (STOP, build, check_fits_model, finish, record_header, resolved,
                                 run_job, signal_name, single_run, start, write_codes,
                                 write_history)
from experiments.schemas import validate
from experiments.schemas.against_data import check_against_data
from experiments.timings import seconds_since_process_start, timed
from reducers import plots
from reducers.baselines import EMBEDDING_PROTOCOLS, Baseline
from reducers.checkpoint import restore
from reducers.data.split import carve_validation
from reducers.engine import LoopState, fit
from reducers.interrupt import StopRequest
from reducers.io import write_json
from reducers.scoring import LABEL_FREE, encode, score_codes, score_model

log = logging.getLogger(__name__)


def describe(cfg: DictConfig) -> str:
    """Short label of the model settings for titles, e.g. 'VAE [512, 256]->2 bce beta=1', with
    a neighbour-embedding term ' + tsne x300'."""
    m = cfg.model
    if "hidden" not in m:  # a baseline
        return f"{m._target_.rsplit('.', 1)[-1]} ->{m.latent_dim}"
    label = f"{m._target_.rsplit('.', 1)[-1]} {list(m.hidden)}->{m.latent_dim} {m.recon.value}"
    if "beta" in m:
        label += f" beta={m.beta:g}" + (" (blog scaling)" if m.kl_scaling.value == "blog" else "")
        if m.get("beta_schedule", "constant") != "constant":
            label += f" ({m.beta_schedule.value} over {m.warmup_epochs} ep)"
    if m.get("embedding_loss", "none") != "none":
        label += f" + {m.embedding_loss.value} x{m.embedding_weight:g}"
    return label


@dataclass
class Outcome:
    """What training (or fitting a baseline) produced, before scoring."""
    status: str  # "ok", "diverged" or "interrupted"
    train_seconds: float
    samples_per_second: float
    codes: tuple[np.ndarray, np.ndarray] | None  # (N, d) train and (M, d) test codes
    history: list[dict] = field(default_factory=list)
    diverged: dict | None = None
    metrics: dict = field(default_factory=dict)  # model-side: reconstruction, KL, active units
    embedding_protocol: str = "inductive"  # a key of reducers.baselines.EMBEDDING_PROTOCOLS
    backward: str | None = None  # how the engine took gradients; None: not trained by it
    best_epoch: int | None = None  # with a validation set: the epoch of the lowest val_loss
    stopped_early: int | None = None  # the last epoch, when early stopping ended training
    timings: dict = field(default_factory=dict)  # seconds: evaluation, checkpoints, encoding...


def train_network(cfg: DictConfig, settings, model, split, run_dir: Path, threads: int,
                  point: tuple[dict, Path] | None, stop: StopRequest,
                  x_val: np.ndarray | None) -> Outcome:
    """The engine's loop from the start or from ``point`` (a checkpoint and its path), keeping
    the last whole epoch's checkpoint; then the model-side metrics."""
    optimizer = build(cfg.optim)(model.parameters())
    loop = None
    if point is not None:
        state, source = point
        restore(model, optimizer, state, source)
        loop = LoopState(**{k: v for k, v in state["loop"].items() if k != "threads"})
        if state["loop"].get("threads") != threads:
            log.warning("resuming with %d threads where the checkpoint used %s: the result may "
                        "differ from an uninterrupted run in the last bits", threads,
                        state["loop"].get("threads"))
        log.info("resuming from %s after epoch %d", source, loop.epoch)
    spec = {"target": cfg.model._target_, "input_dim": split.input_dim,
            "kwargs": {**{k: v for k, v in resolved(cfg.model).items() if k != "_target_"},
                       "image_shape": model.image_shape and list(model.image_shape)},
            "scaling": split.scaling}  # tables: the columns and scaling embed applies to new rows
    checkpoint = run_dir / "checkpoint.pt"
    save = EpochCheckpoints(checkpoint, model, optimizer, settings.trainer.checkpoint_seconds,
                            model_spec=spec, config=resolved(cfg), threads=threads)

    x_train, x_test = torch.from_numpy(split.x_train), torch.from_numpy(split.x_test)
    augment = settings.trainer.augment(split.image_shape)
    graph_seconds = model.fit_neighbours(x_train, augment)  # the training split's only
    if graph_seconds is not None:
        log.info("%s term (weight %g, built in %.2fs): %s", model.neighbours.kind.value,
                 model.neighbours.weight, graph_seconds, model.neighbours.describe())
    schedule = settings.trainer.schedule()
    try:
        result = fit(model, optimizer, x_train, epochs=settings.trainer.epochs,
                     batch_size=settings.trainer.batch_size, seed=cfg.seed, x_test=x_test,
                     progress=settings.trainer.progress, resume=loop, on_epoch_end=save,
                     should_stop=lambda: bool(stop), backward=settings.trainer.backward,
                     lr_factor=schedule.factor if schedule else None,
                     x_val=None if x_val is None else torch.from_numpy(x_val),
                     patience=settings.trainer.early_stopping,
                     restore_best=settings.trainer.restore_best,
                     augment=augment, test_every=settings.trainer.test_every)
        if result.restored:  # the checkpoint holds the weights that are scored
            save(result.last_state)
    finally:  # finished, stopped, diverged or failed: the last whole epoch goes to disk
        save.flush()
    write_history(run_dir / "history.csv", result.history)
    outcome = Outcome(result.status, result.train_seconds, result.samples_per_second, None,
                      result.history, result.diverged, backward=result.backward,
                      best_epoch=result.best_epoch, stopped_early=result.stopped_early)
    timings = outcome.timings
    timings["eval_seconds"] = result.eval_seconds
    if graph_seconds is not None:
        timings["neighbour_graph_seconds"] = graph_seconds
    if outcome.status == "ok" and not stop:
        if loop is not None and loop.epoch == len(result.history) and source != checkpoint:
            save(loop)  # resumed from a finished run elsewhere: keep the model here too
            save.flush()
        with timed(timings, "encode_seconds"):
            outcome.codes = encode(model, x_train), encode(model, x_test)
            outcome.metrics = score_model(model, x_test, codes=outcome.codes[1])
        if graph_seconds is not None and result.history:  # its last epoch's term
            key = f"train_{model.neighbours.kind.value}"
            outcome.metrics[key] = result.history[-1][key]
    timings["checkpointing_seconds"] = save.seconds
    return outcome


def fit_baseline(model: Baseline, split) -> Outcome:
    started = time.perf_counter()
    codes = model.embed(split.x_train, split.x_test)
    seconds = time.perf_counter() - started
    return Outcome("ok", seconds, (len(split.x_train) + len(split.x_test)) / seconds, codes,
                   embedding_protocol=model.embedding_protocol)


def train(cfg: DictConfig, run_dir: str | Path, stop: StopRequest | None = None) -> dict:
    """Train (or fit), score and write one run folder; return what ``metrics.json`` holds.
    ``stop`` (set by a signal) interrupts training after the current step."""
    settings = validate(cfg)  # range errors before any work
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    stop = stop if stop is not None else StopRequest()
    point = resume_point(cfg, settings.trainer, run_dir) if "hidden" in cfg.model else None
    started = time.perf_counter()
    timings = {"startup_seconds": seconds_since_process_start()} if single_run() else {}
    threads = start(cfg.seed, settings.trainer.threads)
    with timed(timings, "data_seconds"):
        split = build(cfg.data)
    x_val = None
    if settings.trainer.val_fraction > 0 and "hidden" in cfg.model:  # networks only
        split, x_val = carve_validation(split, settings.trainer.val_fraction, cfg.data.seed)
    elif settings.trainer.val_fraction > 0:
        log.warning("trainer.val_fraction is not used: %s is fitted in one go, on every "
                    "training row", cfg.model._target_.rsplit(".", 1)[-1])
    check_against_data(settings, split)
    network = {"image_shape": split.image_shape} if "hidden" in cfg.model else {}
    model = build(cfg.model, input_dim=split.input_dim, **network)
    check_fits_model(split, model)
    heldout = load_heldout(cfg, split, model)
    label = describe(cfg)
    log.info("%s on %s: %d train / %d test %s, %d threads", label, split.name,
             len(split.x_train), len(split.x_test),
             "images" if split.image_shape else "rows", threads)
    if not split.labelled:
        log.info("no labels: knn_acc, silhouette, davies_bouldin, calinski_harabasz and the "
                 "KMeans agreement are skipped; trustworthiness and continuity stay")
        if cfg.optimized_metric not in LABEL_FREE:
            log.warning("optimized_metric=%s needs labels: a sweeper gets nothing from this "
                        "run; set optimized_metric=trustworthiness", cfg.optimized_metric)
    outcome = fit_baseline(model, split) if isinstance(model, Baseline) else \
        train_network(cfg, settings, model, split, run_dir, threads, point, stop, x_val)
    if stop:  # a signal during training, or after it (a baseline cannot stop half-way)
        outcome.status, outcome.codes = "interrupted", None

    record = {
        "status": outcome.status, "model": label,
        "kl_weight_effective": model.effective_kl_weight(settings.trainer.batch_size),
        "embedding_protocol": outcome.embedding_protocol,
        "embedding_protocol_note": EMBEDDING_PROTOCOLS[outcome.embedding_protocol],
        "epochs_completed": len(outcome.history), "diverged": outcome.diverged,
        "best_epoch": outcome.best_epoch, "stopped_early": outcome.stopped_early,
        "backward": outcome.backward,
        "metrics": {"train_seconds": outcome.train_seconds,
                    "samples_per_second": outcome.samples_per_second},
        "sample_sizes": {}, "timings": {**timings, **outcome.timings},
        **record_header(cfg, threads, split)}
    during = "training" if outcome.status == "interrupted" else None
    test_codes = None
    if outcome.codes is not None:
        train_codes, test_codes = outcome.codes
        metrics, record["sample_sizes"], record["timings"]["score_seconds"] = score_codes(
            train_codes, split.y_train, test_codes, split.y_test, split.x_test,
            knn_k=settings.score.knn_k, trust_k=settings.score.trust_k,
            max_pairwise=settings.score.max_pairwise)
        record["metrics"].update(metrics, **outcome.metrics)
        extra_codes = {}
        if heldout is not None and not stop:
            extra, record["sample_sizes"]["heldout"], extra_codes = score_heldout(
                settings, model, split, train_codes, heldout)
            record["metrics"].update(extra)
        with timed(record["timings"], "codes_write_seconds"):
            write_codes(run_dir / "codes.npz", split, train_codes, test_codes, **extra_codes)
        during = "scoring" if stop else None
    if settings.score.figures:  # after a signal: the loss curves only
        record["timings"]["figure_seconds"] = plots.write_run_figures(
            run_dir, model, split, outcome.history, label, None if stop else test_codes,
            record["metrics"].get("knn_acc"))
        during = during or ("figures" if stop else None)
    if during is not None and outcome.status != "diverged":  # any signal before the record
        checkpoint = run_dir / "checkpoint.pt"
        record["status"] = "interrupted"
        record["interrupted"] = {
            "signal": signal_name(stop), "during": during, "epochs_kept": len(outcome.history),
            "checkpoint": str(checkpoint) if checkpoint.exists() else None}
    record["timings"]["total_seconds"] = time.perf_counter() - started
    write_json(run_dir / "metrics.json", record)  # written last: its presence means "finished"
    shown = "".join(f" {k}={record['metrics'][k]:.3f}" for k in HEADLINE
                    if k in record["metrics"])
    log.info("%s in %.1fs:%s -> %s", record["status"], record["timings"]["total_seconds"], shown,
             run_dir)
    return record


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    return finish(run_job(train, cfg), cfg, on_interrupt=log_how_to_resume)


def cli() -> None:
    """The command line (console script ``reducer-train``)."""
    command_line(main, STOP)


if __name__ == "__main__":
    cli()
