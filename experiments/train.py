"""Train one reducer and score it on held-out data: ``python -m experiments.train [overrides]``.

``train(cfg, run_dir)`` is a plain function (tests call it with a composed config); ``main`` is
the thin Hydra wrapper over the job runtime (``experiments.runtime``). A run fills its
``Record`` (``experiments.records``) as it goes: training, scoring, figures; ``metrics.json``
is written last.
"""

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import hydra
import numpy as np
from omegaconf import DictConfig

from experiments.cli import command_line
from experiments.config_groups import CONF_DIR
from experiments.heldout import load_heldout, score_heldout
from experiments.records import Diverged, Interrupted, Pruned, Record
from experiments.resume import EpochCheckpoints, log_how_to_resume, resume_point, resumed
from experiments.results import HEADLINE
from experiments.runtime import (STOP, build, check_fits_model, finish, record_header, resolved,
                                 run_job, signal_name, single_run, start, write_codes,
                                 write_history)
from experiments.schemas import validate
from experiments.schemas.against_data import check_against_data
from experiments.schemas.checks import names
from experiments.timings import seconds_since_process_start, timed
from hydra_plugins.reducer_sweep import pruning
from reducers import plots
from reducers.baselines import Baseline
from reducers.checkpoint import model_spec
from reducers.data.rows import as_tensor, into_memory
from reducers.data.split import carve_validation
from reducers.devices import device_of, resolve_device
from reducers.interrupt import StopRequest
from reducers.placement import Placer
from reducers.scoring import LABEL_FREE, encode, score_codes, score_model
from reducers.status import Status
from reducers.trainer import FitResult, Trainer

log = logging.getLogger(__name__)
Codes = tuple[np.ndarray, np.ndarray]  # (N, d) train and (M, d) test codes


@dataclass
class Run:
    """One run of the app: its settings (``settings``: the validated config), its folder, the
    signal it polls, the torch threads it uses and its record, filled as it goes."""
    cfg: DictConfig
    settings: object
    run_dir: Path
    stop: StopRequest
    threads: int
    record: Record
    history: list[dict] = field(default_factory=list)  # one row per epoch trained
    placer: Placer | None = None  # model/place=neighbours: places the held-out set's rows too


def train(cfg: DictConfig, run_dir: str | Path, stop: StopRequest | None = None) -> Record:
    """Train (or fit), score and write one run folder; return its record (``metrics.json``).
    ``stop`` (set by a signal) interrupts training after the current step."""
    settings = validate(cfg)  # range errors before any work
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    network = "net" in cfg.model  # trained by the trainer; a baseline is fitted in one call
    if network:  # trainer.device=cuda where there is none: refused before any work
        resolve_device(settings.trainer.device)
    point = resume_point(cfg, settings.trainer, run_dir) if network else None
    started = time.perf_counter()
    timings = {"startup_seconds": seconds_since_process_start()} if single_run() else {}
    threads = start(cfg.seed, settings.trainer.threads)
    with timed(timings, "data_seconds"):
        split = build(cfg.data)
    split, x_val = validation_set(settings, split, network, cfg)
    check_against_data(settings, split)
    model = build(cfg.model, input_dim=split.input_dim,
                  **({"image_shape": split.image_shape} if network else {}))
    check_fits_model(split, model)
    heldout = load_heldout(cfg, split, model)
    run = Run(cfg, settings, run_dir, stop if stop is not None else StopRequest(), threads,
              Record(status=Status.ok, label=model.describe(), timings=timings,
                     kl_weight_effective=model.effective_kl_weight(settings.trainer.batch_size),
                     embedding_protocol=getattr(model, "embedding_protocol", "inductive"),
                     **record_header(cfg, threads, split)))
    say_what_runs(run, split)
    codes = fit_baseline(run, model, into_memory(split)) if isinstance(model, Baseline) else \
        train_network(run, model, split, x_val, point)
    if run.stop:  # a signal during training, or after it (a baseline cannot stop half-way)
        run.record.status, codes = Status.interrupted, None
    during = "training" if run.record.status is Status.interrupted else None
    if codes is not None:
        score(run, model, split, codes, heldout)
        during = "scoring" if run.stop else None
    if settings.score.figures:  # after a signal: the loss curves only
        run.record.timings["figure_seconds"] = plots.write_run_figures(
            run_dir, model, split, run.history, run.record.label,
            None if run.stop or codes is None else codes[1], run.record.metrics.get("knn_acc"))
        during = during or ("figures" if run.stop else None)
    if during is not None and run.record.status is not Status.diverged:  # a signal came
        checkpoint = run_dir / "checkpoint.pt"
        run.record.status = Status.interrupted
        run.record.interrupted = Interrupted(signal_name(run.stop), during,
                                             run.record.epochs_completed,
                                             str(checkpoint) if checkpoint.exists() else None)
    run.record.timings["total_seconds"] = time.perf_counter() - started
    run.record.write(run_dir)  # written last: its presence means "finished"
    shown = "".join(f" {k}={run.record.metrics[k]:.3f}" for k in HEADLINE
                    if k in run.record.metrics)
    log.info("%s in %.1fs:%s -> %s", run.record.status.value,
             run.record.timings["total_seconds"], shown, run_dir)
    return run.record


def validation_set(settings, split, network: bool, cfg: DictConfig):
    """(the split, the validation rows or None): ``trainer.val_fraction`` of a network's
    training rows; a baseline is fitted on every one."""
    if settings.trainer.val_fraction > 0 and network:
        return carve_validation(split, settings.trainer.val_fraction, cfg.data.seed)
    if settings.trainer.val_fraction > 0:
        log.warning("trainer.val_fraction is not used: %s is fitted in one go, on every "
                    "training row", cfg.model._target_.rsplit(".", 1)[-1])
    return split, None


def say_what_runs(run: Run, split) -> None:
    log.info("%s on %s: %d train / %d test %s, %d threads", run.record.label, split.name,
             len(split.x_train), len(split.x_test),
             "images" if split.image_shape else "rows", run.threads)
    if not split.labelled:
        log.info("no labels: knn_acc, silhouette, davies_bouldin, calinski_harabasz and the "
                 "KMeans agreement are skipped; trustworthiness and continuity stay")
        if any(m not in LABEL_FREE for m in names(run.cfg.optimized_metric)):
            log.warning("optimized_metric=%s needs labels: a sweeper gets nothing from this "
                        "run; set optimized_metric=trustworthiness", run.cfg.optimized_metric)


def fit_baseline(run: Run, model: Baseline, split) -> Codes:
    started = time.perf_counter()
    codes = model.embed(split.x_train, split.x_test)
    seconds = time.perf_counter() - started
    run.record.metrics.update(train_seconds=seconds, samples_per_second=(
        len(split.x_train) + len(split.x_test)) / seconds)
    return codes


def train_network(run: Run, model, split, x_val: np.ndarray | None,
                  point: tuple[dict, Path] | None) -> Codes | None:
    """The trainer from the start or from ``point`` (a checkpoint and its path), keeping the
    last whole epoch's checkpoint; then the codes and the model-side metrics of a finished
    run (None otherwise)."""
    model.to(resolve_device(run.settings.trainer.device))  # before its optimiser is made; back
    #                                                         on the CPU after training
    run.record.device = str(device_of(model))
    optimizer = build(run.cfg.optim)(model.parameters())
    loop = resumed(model, optimizer, point, run.threads)
    save = EpochCheckpoints(run.run_dir / "checkpoint.pt", model, optimizer,
                            run.settings.trainer.checkpoint_seconds,
                            written_with={"model_spec": model_spec(  # what embed builds
                                model, scaling=split.scaling), "config": resolved(run.cfg)},
                            threads=run.threads, shield=run.stop.shielded)
    x_train, x_test = as_tensor(split.x_train), as_tensor(split.x_test)  # or rows on disk
    augment = run.settings.trainer.augment(split.image_shape)
    timings, record = run.record.timings, run.record
    graph_seconds = model.fit_neighbours(x_train, augment)  # the training split's only
    if graph_seconds is not None:
        timings["neighbour_graph_seconds"] = graph_seconds
        log.info("%s term (weight %g, built in %.2fs): %s", model.neighbours.kind,
                 model.neighbours.weight, graph_seconds, model.neighbours.describe())
    reporting = pruning.reporters(run.cfg, run.settings.score, model, split)  # a search's
    trainer = Trainer(run.settings.trainer, callbacks=[save, *reporting], augment=augment,
                      should_stop=lambda: bool(run.stop))
    try:
        result = trainer.fit(model, optimizer, x_train, seed=run.cfg.seed, x_test=x_test,
                             x_val=None if x_val is None else as_tensor(x_val),
                             resume=loop)
        if result.restored:  # the checkpoint holds the weights that are scored
            save.on_state(result.state)
    finally:  # finished, stopped, diverged or failed: the last whole epoch goes to disk
        save.flush()
    model.cpu()  # scoring, figures and the saved model: on the CPU
    write_history(run.run_dir / "history.csv", result.history)
    record_training(record, result)
    run.history = result.history
    codes = None
    if result.status is Status.ok and not run.stop:
        if loop is not None and loop.epoch == len(result.history) and \
                point[1] != save.path:  # resumed from a finished run elsewhere: keep it here
            save.on_state(loop)
            save.flush()
        with timed(timings, "encode_seconds"):
            codes = encode(model, x_train), encode(model, x_test)
        if model.settings.place is not None:  # kept for the held-out set's rows
            with timed(timings, "placement_seconds"):
                run.placer = model.settings.place.fit(x_train, codes[0])
                codes = codes[0], run.placer.place(x_test, codes[1], seed=run.cfg.seed)
            log.info("%s", run.placer.describe())
        with timed(timings, "encode_seconds"):  # and the model-side metrics
            record.metrics.update(score_model(model, x_test, codes=codes[1],
                                              terms=result.test_terms))
        if graph_seconds is not None and result.history:  # its last epoch's term
            key = f"train_{model.neighbours.kind}"
            record.metrics[key] = result.history[-1][key]
    timings["checkpointing_seconds"] = save.seconds
    return codes


def record_training(record: Record, result: FitResult) -> None:
    """What the trainer's result says about the run."""
    record.status, record.backward = result.status, result.backward
    record.epochs_completed, record.best_epoch = len(result.history), result.best_epoch
    record.stopped_early = result.stopped_early
    record.diverged = None if result.diverged is None else Diverged(**result.diverged)
    record.pruned = None if result.pruned is None else Pruned(**result.pruned)
    record.metrics.update(train_seconds=result.train_seconds,
                          samples_per_second=result.samples_per_second)
    record.timings["eval_seconds"] = result.eval_seconds


def score(run: Run, model, split, codes: Codes, heldout) -> None:
    """The metrics of the codes (and of the extra test set), and ``codes.npz``."""
    settings, record = run.settings, run.record
    train_codes, test_codes = codes
    metrics, record.sizes, record.timings["score_seconds"] = score_codes(
        train_codes, split.y_train, test_codes, split.y_test, split.x_test, settings.score)
    record.metrics.update(metrics)
    extra_codes = {}
    if heldout is not None and not run.stop:
        extra, record.sizes["heldout"], extra_codes = score_heldout(
            settings, model, split, train_codes, heldout, run.placer)
        record.metrics.update(extra)
    with timed(record.timings, "codes_write_seconds"):
        write_codes(run.run_dir / "codes.npz", split, train_codes, test_codes, **extra_codes)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    return finish(run_job(train, cfg), cfg, on_interrupt=log_how_to_resume)


def cli() -> None:
    """The command line (console script ``reducer-train``)."""
    command_line(main, STOP)


if __name__ == "__main__":
    cli()
