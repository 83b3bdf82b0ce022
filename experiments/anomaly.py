"""Anomaly detection with the reducers: ``python -m experiments.anomaly [overrides]``.

Trains a detector (``detector=ae | vae | chain``) on the normal images of a protocol's training
set with the shared trainer, scores every test image and writes to the run folder:
``metrics.json`` (AUROC, average precision, the rates at the training threshold and, with
``trainer.val_fraction`` > 0, at the validation images' one), ``scores.npz`` (train, test and
validation scores, test labels, which test images are anomalies) and the figures
``scores.png`` (histograms), ``roc.png``, ``extremes.png`` (most and least anomalous test
images) and ``codes.png`` (the first network's test codes, normal vs anomalous). The detectors
are described in ``reducers/anomaly/detectors.py``. A multirun ends with the per-class tables
(``experiments/anomaly_tables.py``).
"""

import logging
import time
from pathlib import Path

import hydra
import numpy as np
import torch
from omegaconf import DictConfig

from experiments.cli import command_line
from experiments.config_groups import CONF_DIR
from experiments.records import Detection, Diverged, Record, Task
from experiments.runtime import (STOP, build, check_fits_model, finish, record_header, run_job,
                                 signal_name, start, write_history)
from experiments.schemas import validate
from experiments.schemas.against_data import check_against_data
from reducers import plots
from reducers.anomaly import plots as anomaly_plots
from reducers.anomaly.detectors import Detector, GaussianVAE
from reducers.anomaly.metrics import detection_metrics, roc
from reducers.anomaly.protocols import Protocol, hold_out, protocol_split, tested_on
from reducers.anomaly.settings import architecture, label
from reducers.data.rows import into_memory
from reducers.devices import resolve_device
from reducers.errors import ConfigError
from reducers.interrupt import StopRequest
from reducers.io import atomic_open
from reducers.status import Status
from reducers.trainer import Trainer

log = logging.getLogger(__name__)


class Stopped(Exception):
    """A network's training ended early: diverged or interrupted."""

    def __init__(self, status: Status, network: str, diverged: dict | None = None):
        super().__init__(f"{network}: {status.value}")
        self.status, self.network, self.diverged = status, network, diverged


class Training:
    """The detector's ``train(model, x, name)``: each of its networks through the trainer, the
    seconds and the history of each kept; ``Stopped`` when one ends early."""

    def __init__(self, cfg: DictConfig, settings, stop: StopRequest, image_shape):
        self.cfg, self.settings, self.stop = cfg, settings, stop
        self.augment = settings.trainer.augment(image_shape)  # moves the images, not codes
        self.histories: dict[str, list[dict]] = {}
        self.seconds = 0.0

    def __call__(self, model: torch.nn.Module, x: torch.Tensor, network: str) -> None:
        model.to(resolve_device(self.settings.trainer.device))  # before its optimiser is made
        optimizer = build(self.cfg.optim)(model.parameters())
        trainer = Trainer(self.settings.trainer, should_stop=lambda: bool(self.stop),
                          augment=None if isinstance(model, GaussianVAE) else self.augment)
        result = trainer.fit(model, optimizer, x, seed=self.cfg.seed)
        model.cpu()  # the detector scores on the CPU
        self.histories[network] = result.history
        self.seconds += result.train_seconds
        if result.status is not Status.ok:
            raise Stopped(result.status, network, result.diverged)


def detect(cfg: DictConfig, run_dir: str | Path, stop: StopRequest | None = None) -> Record:
    """Train the detector, score, write ``run_dir``; return its record (``metrics.json``)."""
    settings = validate(cfg)  # range errors before any work
    device = resolve_device(settings.trainer.device)  # on the machine the job runs on
    a, run_dir = settings.anomaly, Path(run_dir)
    stop = stop if stop is not None else StopRequest()
    started = time.perf_counter()
    threads = start(cfg.seed, settings.trainer.threads)
    split = load_split(cfg, settings)
    cls = a.normal_class if a.protocol is Protocol.one_class else a.anomaly_class
    # the validation images: normal ones the detector never trains on, for a fair threshold
    part, val = hold_out(protocol_split(split, a.protocol, cls), settings.trainer.val_fraction,
                         cfg.seed)
    if len(part.x_train) < 2:
        raise ConfigError(f"trainer.val_fraction={settings.trainer.val_fraction} leaves "
                          f"{len(part.x_train)} normal training images ({part.description}); "
                          "lower it, or use more data")
    detector = build(cfg.detector, input_dim=split.input_dim, image_shape=split.image_shape)
    check_fits_model(split, detector)
    record = Record(status=Status.ok, task=Task.anomaly, label=label(cfg.detector),
                    device=str(device),
                    detection=Detection(a.protocol.value, cls, architecture(cfg.detector),
                                        part.description), **record_header(cfg, threads, split))
    log.info("%s %s on %s, %s: %d normal train images%s, %d test images (%d anomalous), "
             "%d threads", record.label, record.detection.architecture, split.name,
             part.description, len(part.x_train),
             "" if val is None else f" (+{len(val)} for validation: the threshold)",
             len(part.y_test), part.is_anomaly.sum(), threads)
    run_dir.mkdir(parents=True, exist_ok=True)
    training = Training(cfg, settings, stop, split.image_shape)
    try:
        detector.fit(torch.from_numpy(part.x_train), training)
        if val is not None:  # e.g. the fusion chain's scales, on images it never saw
            detector.calibrate(torch.from_numpy(val))
    except Stopped as exc:
        return stopped(record, exc, training.seconds, run_dir, stop)
    for network, history in training.histories.items():
        write_history(run_dir / f"history_{network.split()[0].lower()}.csv", history)
    record.epochs_completed = settings.trainer.epochs  # by each network
    record.timings["train_seconds"] = training.seconds
    score(record, detector, part, val, a, run_dir, split.image_shape)
    record.timings["total_seconds"] = time.perf_counter() - started
    record.write(run_dir)  # last: its presence means "finished"
    if record.status is Status.ok:
        m = record.metrics
        log.info("ok: AUROC %.3f, AP %.3f, at the %.0f%% threshold FPR %.3f FNR %.3f -> %s",
                 m["auroc"], m["average_precision"], 100 * a.threshold_quantile, m["fpr"],
                 m["fnr"], run_dir)
    return record


def load_split(cfg: DictConfig, settings):
    """The data, labelled; tested on the held-out test set instead when there is one."""
    split = into_memory(build(cfg.data))  # its protocols take rows by class
    if not split.labelled:
        raise ConfigError(f"{split.name} has no labels, but anomaly detection takes its normal "
                          "and anomalous rows by class: name the label column with data.label "
                          "(or the labels with data.y_key / data.labels_path)")
    if cfg.heldout is not None:  # another dataset tests: all of the data trains
        split = tested_on(split, build(cfg.heldout))
    check_against_data(settings, split)
    return split


def stopped(record: Record, exc: Stopped, seconds: float, run_dir: Path,
            stop: StopRequest) -> Record:
    """The record of a run whose training ended early: nothing scored."""
    record.status, record.detection.network = exc.status, exc.network
    record.timings["train_seconds"] = seconds
    if exc.status is Status.diverged:
        record.diverged = Diverged(**exc.diverged)
    else:  # runs take seconds: no checkpoint, no resume
        record.error = (f"interrupted by {signal_name(stop)} while training the "
                        f"{exc.network}: run the command again")
    record.write(run_dir)
    log.warning("%s: the %s %s; nothing scored -> %s", record.label, exc.network,
                exc.status.value, run_dir)
    return record


def score(record: Record, detector: Detector, part, val, a, run_dir: Path,
          image_shape) -> None:
    """Every image's score, the detection metrics (at the validation images' threshold too),
    ``scores.npz`` and the figures; a run whose scores are not finite diverged."""
    scored = time.perf_counter()
    x_train, x_test = torch.from_numpy(part.x_train), torch.from_numpy(part.x_test)
    train_scores, test_scores = detector.score(x_train), detector.score(x_test)
    if not (np.isfinite(train_scores).all() and np.isfinite(test_scores).all()):
        record.status = Status.diverged
        record.diverged = Diverged(epoch=record.config["trainer"]["epochs"], step=0,
                                   loss=float("nan"), last_finite_loss=float("nan"),
                                   note="non-finite anomaly scores")
        return
    metrics = detection_metrics(train_scores, test_scores, part.is_anomaly,
                                a.threshold_quantile)
    arrays = {}
    if val is not None:
        arrays["val"] = detector.score(torch.from_numpy(val))
        at_val = detection_metrics(arrays["val"], test_scores, part.is_anomaly,
                                   a.threshold_quantile)
        metrics.update(val_threshold=at_val["threshold"], val_fpr=at_val["fpr"],
                       val_fnr=at_val["fnr"])
    record.metrics.update(metrics, train_seconds=record.timings["train_seconds"],
                          score_seconds=time.perf_counter() - scored)
    with atomic_open(run_dir / "scores.npz") as f:
        np.savez_compressed(f, train=train_scores, test=test_scores,
                            test_labels=part.y_test, is_anomaly=part.is_anomaly, **arrays)
    if a.figures:
        write_figures(run_dir, detector, part, image_shape, test_scores, metrics,
                      a.threshold_quantile, f"{record.label} "
                      f"{record.detection.architecture}, {part.description}")
    record.sizes = {"train": len(part.x_train), "test": len(part.y_test),
                    "test_anomalous": int(part.is_anomaly.sum()),
                    "val": 0 if val is None else len(val)}


def write_figures(run_dir: Path, detector: Detector, part, image_shape, test_scores,
                  metrics: dict, quantile: float, title: str) -> None:
    """scores.png, roc.png, extremes.png and codes.png (the first network's test codes)."""
    is_anomaly = part.is_anomaly
    plots.save(anomaly_plots.score_histogram(test_scores, is_anomaly, metrics["threshold"],
                                             quantile, title), run_dir / "scores.png")
    fpr, tpr = roc(test_scores, is_anomaly)
    plots.save(anomaly_plots.roc_figure(fpr, tpr, metrics["auroc"],
                                        (metrics["fpr"], 1 - metrics["fnr"]), title),
               run_dir / "roc.png")
    if image_shape is not None:  # images: the most and least anomalous ones
        plots.save(anomaly_plots.extremes(part.x_test, test_scores, part.y_test, image_shape,
                                          title=title), run_dir / "extremes.png")
    codes = detector.codes(torch.from_numpy(part.x_test))
    if codes.shape[1] >= 2:
        kinds = np.where(is_anomaly, "anomalous", "normal")
        plots.save(anomaly_plots.codes_figure(codes, kinds, title), run_dir / "codes.png")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="anomaly")
def main(cfg: DictConfig) -> float | None:
    return finish(run_job(detect, cfg), cfg)


def cli() -> None:
    """The command line (console script ``reducer-anomaly``)."""
    command_line(main, STOP)


if __name__ == "__main__":
    cli()
