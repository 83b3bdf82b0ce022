"""Anomaly detection with the reducers: ``python -m experiments.anomaly [overrides]``.

Trains a detector (``detector=ae | vae | chain``) on the normal images of a protocol's training
set with the shared engine, scores every test image and writes to the run folder:
``metrics.json`` (AUROC, average precision, the rates at the training threshold), ``scores.npz``
(train and test scores, test labels, which test images are anomalies) and the figures
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

from experiments.cli import CONF_DIR, command_line
from experiments.runtime import (STOP, build, check_fits_model, finish, record_header, run_job,
                                 signal_name, start, write_history)
from experiments.schemas import validate
from experiments.schemas.against_data import check_against_data
from reducers import plots
from reducers.anomaly import plots as anomaly_plots
from reducers.anomaly.detectors import Detector, GaussianVAE, architecture, label
from reducers.anomaly.metrics import detection_metrics, roc
from reducers.anomaly.protocols import Protocol, hold_out, protocol_split, tested_on
from reducers.engine import fit
from reducers.errors import ConfigError
from reducers.interrupt import StopRequest
from reducers.io import atomic_open, write_json

log = logging.getLogger(__name__)


class Stopped(Exception):
    """A network's training ended early: diverged or interrupted."""

    def __init__(self, status: str, network: str, diverged: dict | None = None):
        super().__init__(f"{network}: {status}")
        self.status, self.network, self.diverged = status, network, diverged


def detect(cfg: DictConfig, run_dir: str | Path, stop: StopRequest | None = None) -> dict:
    """Train the detector, score, write ``run_dir``; return what ``metrics.json`` holds."""
    settings = validate(cfg)  # range errors before any work
    a = settings.anomaly
    run_dir = Path(run_dir)
    stop = stop if stop is not None else StopRequest()
    started = time.perf_counter()
    threads = start(cfg.seed, settings.trainer.threads)
    split = build(cfg.data)
    if not split.labelled:
        raise ConfigError(f"{split.name} has no labels, but anomaly detection takes its normal "
                          "and anomalous rows by class: name the label column with data.label "
                          "(or the labels with data.y_key / data.labels_path)")
    if cfg.test_data is not None:  # another dataset tests: all of the data trains
        split = tested_on(split, build(cfg.test_data))
    check_against_data(settings, split)
    cls = a.normal_class if a.protocol is Protocol.one_class else a.anomaly_class
    # held_out: normal images the detector never sees, for a fair threshold
    part, held_out = hold_out(protocol_split(split, a.protocol, cls), a.held_out_fraction,
                              cfg.seed)
    if len(part.x_train) < 2:
        raise ConfigError(f"anomaly.held_out_fraction={a.held_out_fraction} leaves "
                          f"{len(part.x_train)} normal training images ({part.description}); "
                          "lower it, or use more data")
    detector = build(cfg.detector, input_dim=split.input_dim, image_shape=split.image_shape)
    check_fits_model(split, detector)
    name, networks = label(cfg.detector), architecture(cfg.detector)  # "ae (rapp_nap)", ...
    log.info("%s %s on %s, %s: %d normal train images%s, %d test images (%d anomalous), "
             "%d threads", name, networks, split.name, part.description, len(part.x_train),
             "" if held_out is None else f" (+{len(held_out)} held out for the threshold)",
             len(part.y_test), part.is_anomaly.sum(), threads)
    run_dir.mkdir(parents=True, exist_ok=True)

    histories, train_seconds = {}, 0.0
    augment = settings.trainer.augment(split.image_shape)  # moves the images, not codes

    def train(model: torch.nn.Module, x: torch.Tensor, network: str) -> None:
        nonlocal train_seconds
        optimizer = build(cfg.optim)(model.parameters())
        schedule = settings.trainer.schedule()
        result = fit(model, optimizer, x, epochs=settings.trainer.epochs,
                     batch_size=settings.trainer.batch_size, seed=cfg.seed,
                     progress=settings.trainer.progress, should_stop=lambda: bool(stop),
                     backward=settings.trainer.backward,
                     lr_factor=schedule.factor if schedule else None,
                     augment=None if isinstance(model, GaussianVAE) else augment)
        histories[network] = result.history
        train_seconds += result.train_seconds
        if result.status != "ok":
            raise Stopped(result.status, network, result.diverged)

    record = {"task": "anomaly", "detector": name, "architecture": networks,
              "anomaly_protocol": a.protocol.value, "class": cls,
              "description": part.description, **record_header(cfg, threads, split)}
    x_train, x_test = torch.from_numpy(part.x_train), torch.from_numpy(part.x_test)
    try:
        detector.fit(x_train, train)
        if held_out is not None:  # e.g. the fusion chain's scales, on images it never saw
            detector.calibrate(torch.from_numpy(held_out))
    except Stopped as exc:
        record.update(status=exc.status, network=exc.network, metrics={},
                      train_seconds=train_seconds)
        if exc.status == "diverged":
            record["diverged"] = exc.diverged
        else:  # runs take seconds: no checkpoint, no resume
            record["error"] = (f"interrupted by {signal_name(stop)} while training the "
                               f"{exc.network}: run the command again")
        write_json(run_dir / "metrics.json", record)
        log.warning("%s: the %s %s; nothing scored -> %s", name, exc.network, exc.status,
                    run_dir)
        return record
    for network, history in histories.items():
        write_history(run_dir / f"history_{network.split()[0].lower()}.csv", history)

    scored = time.perf_counter()
    train_scores, test_scores = detector.score(x_train), detector.score(x_test)
    if not (np.isfinite(train_scores).all() and np.isfinite(test_scores).all()):
        record.update(status="diverged", metrics={}, diverged={
            "epoch": settings.trainer.epochs, "step": 0, "loss": float("nan"),
            "last_finite_loss": float("nan"), "note": "non-finite anomaly scores"})
        write_json(run_dir / "metrics.json", record)
        return record
    metrics = detection_metrics(train_scores, test_scores, part.is_anomaly,
                                a.threshold_quantile)
    if held_out is not None:
        held_scores = detector.score(torch.from_numpy(held_out))
        at_held = detection_metrics(held_scores, test_scores, part.is_anomaly,
                                    a.threshold_quantile)
        metrics.update(held_out_threshold=at_held["threshold"], held_out_fpr=at_held["fpr"],
                       held_out_fnr=at_held["fnr"])
    metrics.update(train_seconds=train_seconds,
                   score_seconds=time.perf_counter() - scored)
    extra = {} if held_out is None else {"held_out": held_scores}
    with atomic_open(run_dir / "scores.npz") as f:
        np.savez_compressed(f, train=train_scores, test=test_scores,
                            test_labels=part.y_test, is_anomaly=part.is_anomaly, **extra)
    if a.figures:
        write_figures(run_dir, detector, part, split.image_shape, test_scores, metrics,
                      a.threshold_quantile, f"{name} {networks}, {part.description}")
    record.update(status="ok", metrics=metrics,
                  sizes={"train": len(part.x_train), "test": len(part.y_test),
                         "test_anomalous": int(part.is_anomaly.sum()),
                         "held_out": 0 if held_out is None else len(held_out)},
                  total_seconds=time.perf_counter() - started)
    write_json(run_dir / "metrics.json", record)  # last: its presence means "finished"
    log.info("ok: AUROC %.3f, AP %.3f, at the %.0f%% threshold FPR %.3f FNR %.3f -> %s",
             metrics["auroc"], metrics["average_precision"], 100 * a.threshold_quantile,
             metrics["fpr"], metrics["fnr"], run_dir)
    return record


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
