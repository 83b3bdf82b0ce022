"""The extra test set of ``heldout=`` (e.g. the real 10,000-image MNIST test set): loaded and
checked before any training, then encoded whole and scored with the kNN fitted on the run's
training codes, so that nothing about it selects anything."""

import logging

import numpy as np
import torch
from omegaconf import DictConfig

from experiments.runtime import build
from reducers.baselines import Baseline
from reducers.data.rows import into_memory
from reducers.errors import ConfigError, DataError
from reducers.placement import Placer
from reducers.scoring import encode, score_codes

log = logging.getLogger(__name__)


def load_heldout(cfg: DictConfig, split, model):
    """The extra test set of ``heldout=`` as one (x, y, name), checked before any training."""
    if cfg.heldout is None:
        return None
    if isinstance(model, Baseline) and not model.inductive:
        raise ConfigError(f"heldout={cfg.heldout._target_.rsplit('.', 1)[-1]} needs a model that "
                          f"maps new rows; {type(model).__name__} embeds only the rows it is "
                          "fitted with (leave heldout out, or use model=pca/umap/ae/vae)")
    extra = into_memory(build(cfg.heldout))
    if extra.input_dim != split.input_dim:
        raise DataError(f"heldout: {extra.name} has {extra.input_dim} features per row, the "
                        f"training data {split.name} {split.input_dim}; give a held-out set "
                        "of the same kind")
    x = np.concatenate([extra.x_train, extra.x_test])
    y = np.concatenate([extra.y_train, extra.y_test]) if extra.labelled and split.labelled \
        else None
    return x, y, extra.name


def score_heldout(settings, model, split, train_codes: np.ndarray, heldout,
                  placer: Placer | None = None) -> tuple[dict, int, dict]:
    """``heldout_*`` metrics: every row of the extra set encoded (and placed by ``placer``,
    ``model/place=neighbours``), the kNN fitted on the run's training codes (the held-out set
    selects nothing); and those codes (and labels) for ``codes.npz``."""
    x, y, name = heldout
    codes = model.transform(x) if isinstance(model, Baseline) else \
        encode(model, torch.from_numpy(x))
    y_train = split.y_train if y is not None else None
    if placer is not None:  # the network's own codes, for the log
        metrics, _, _ = score_codes(train_codes, y_train, codes, y, x, settings.score)
        log.info("held-out %s, the network alone:%s", name, "".join(
            f" {k}={metrics[k]:.3f}" for k in ("knn_acc", "trustworthiness") if k in metrics))
        codes = placer.place(x, codes, seed=settings.seed)
    metrics, _, _ = score_codes(train_codes, y_train, codes, y, x, settings.score)
    kept = ("knn_acc", "silhouette", "trustworthiness", "continuity", "kmeans_vmeasure")
    out = {f"heldout_{k}": metrics[k] for k in kept if k in metrics}
    if getattr(model, "has_decoder", True):
        with torch.inference_mode():
            recon = model.decode(torch.from_numpy(codes))
        out["heldout_recon_mse"] = float(((recon - torch.from_numpy(x)) ** 2).mean())
    log.info("held-out %s (%d rows):%s", name, len(x),
             "".join(f" {k}={v:.3f}" for k, v in out.items()))
    arrays = {"heldout": codes} if y is None else {"heldout": codes, "heldout_labels": y}
    return out, len(x), arrays
