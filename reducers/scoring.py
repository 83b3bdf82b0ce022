"""Held-out scoring of 2-D (or d-D) codes, one code path for every reducer.

Everything is fit on the train split only and measured on the test split. Metrics that are
quadratic in the number of points (silhouette, trustworthiness, continuity) use a fixed random
subsample of at most ``max_pairwise`` test points; the sizes used are returned with the metrics.
Without labels only the label-free metrics are computed (``LABEL_FREE``).
"""

import time
from dataclasses import dataclass

import numpy as np
import torch

from reducers.callbacks import evaluate
from reducers.checks import at_least
from reducers.devices import device_of

# Every metric a run records: +1 higher is better, -1 lower is better, 0 neither.
DIRECTION = {"knn_acc": 1, "silhouette": 1, "davies_bouldin": -1, "calinski_harabasz": 1,
             "trustworthiness": 1, "continuity": 1,
             "kmeans_vmeasure": 1, "kmeans_ari": 1, "code_std": 0,
             "recon_mse": -1, "test_recon": -1, "test_kl": 0, "active_units": 0,
             "train_seconds": -1, "samples_per_second": 1,
             # on an extra test set no model saw (train's ``heldout=``), kNN fitted on the
             # training codes
             "heldout_knn_acc": 1, "heldout_silhouette": 1, "heldout_trustworthiness": 1,
             "heldout_continuity": 1, "heldout_kmeans_vmeasure": 1, "heldout_recon_mse": -1}
# What needs no labels: the neighbourhoods kept, the codes' spread, the model and its cost.
LABEL_FREE = ("trustworthiness", "continuity", "code_std", "recon_mse", "test_recon", "test_kl",
              "active_units", "train_seconds", "samples_per_second", "heldout_trustworthiness",
              "heldout_continuity", "heldout_recon_mse")

# What can be measured while a network trains (a search's value each epoch): the codes' and
# the model's metrics, not the run's cost or an extra test set's.
MODEL_SIDE = ("recon_mse", "test_recon", "test_kl", "active_units")  # score_model's
DURING_TRAINING = ("knn_acc", "silhouette", "davies_bouldin", "calinski_harabasz",
                   "trustworthiness", "continuity", "code_std", "kmeans_vmeasure", "kmeans_ari",
                   *MODEL_SIDE)


@dataclass(kw_only=True)
class ScoreSettings:
    """How codes are scored (the command line's ``score.*``), the one home of the defaults."""

    knn_k: int = 5  # neighbours of the kNN classifier (knn_acc)
    trust_k: int = 5  # neighbours of trustworthiness and continuity
    max_pairwise: int = 2000  # test points used by the quadratic metrics (silhouette, ...)

    def __post_init__(self):
        at_least(self.knn_k, "knn_k", 1)
        at_least(self.trust_k, "trust_k", 1)
        at_least(self.max_pairwise, "max_pairwise", 10)


def score_codes(train_codes: np.ndarray, y_train: np.ndarray | None, test_codes: np.ndarray,
                y_test: np.ndarray | None, x_test: np.ndarray,
                settings: ScoreSettings | None = None, *, seed: int = 0,
                only: str | None = None) -> tuple[dict, dict, dict]:
    """Return (metrics, sample sizes, seconds per metric) for codes of the test split; the
    label metrics only when there are labels (``y_train`` and ``y_test`` not None). ``only``:
    that metric (and what is measured with it) alone, e.g. a search's value each epoch."""
    settings = settings or ScoreSettings()
    knn_k, trust_k, max_pairwise = settings.knn_k, settings.trust_k, settings.max_pairwise
    # scikit-learn is imported where it is used: it adds a second to every start, and a bad
    # command line should fail at once
    from sklearn.cluster import KMeans
    from sklearn.metrics import (adjusted_rand_score, calinski_harabasz_score,
                                 davies_bouldin_score, silhouette_score, v_measure_score)
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(seed)
    sub = np.sort(rng.permutation(len(test_codes))[:max_pairwise])
    metrics, seconds = {}, {}

    def wanted(*names):
        return only is None or only in names

    def timed(name, fn):
        if wanted(name):
            started = time.perf_counter()
            metrics[name] = float(fn())
            seconds[name] = time.perf_counter() - started

    sizes = {}
    if wanted("trustworthiness", "continuity"):
        started = time.perf_counter()
        metrics["trustworthiness"], metrics["continuity"] = neighbourhoods_kept(
            x_test[sub], test_codes[sub], trust_k)
        seconds["trustworthiness"] = time.perf_counter() - started
        sizes["trustworthiness"] = len(sub)
    sizes["test"] = len(test_codes)
    timed("code_std", lambda: test_codes.std(axis=0).mean())  # collapse shows as ~0
    if y_train is None or y_test is None:
        return metrics, sizes, seconds
    timed("knn_acc", lambda: KNeighborsClassifier(knn_k).fit(train_codes, y_train)
          .score(test_codes, y_test))
    timed("silhouette", lambda: silhouette_score(test_codes[sub], y_test[sub]))
    timed("davies_bouldin", lambda: davies_bouldin_score(test_codes, y_test))
    timed("calinski_harabasz", lambda: calinski_harabasz_score(test_codes, y_test))
    if wanted("kmeans_vmeasure", "kmeans_ari"):
        started = time.perf_counter()
        clusters = KMeans(len(np.unique(y_test)), n_init=10, random_state=seed).fit_predict(
            test_codes)
        metrics["kmeans_vmeasure"] = float(v_measure_score(y_test, clusters))
        metrics["kmeans_ari"] = float(adjusted_rand_score(y_test, clusters))
        seconds["kmeans"] = time.perf_counter() - started
    if wanted("silhouette"):
        sizes["silhouette"] = len(sub)
    return metrics, sizes, seconds


def neighbourhoods_kept(x: np.ndarray, codes: np.ndarray, k: int) -> tuple[float, float]:
    """Trustworthiness and continuity (Venna and Kaski) of ``codes`` (n, d) for ``x`` (n, D),
    from one neighbour computation per space. Trustworthiness penalises code-space neighbours
    that are far in the input (by their input rank beyond ``k``); continuity, input neighbours
    that the codes push away. Trustworthiness equals scikit-learn's ``trustworthiness``."""
    n = len(x)
    if not 1 <= k < n / 2:
        raise ValueError(f"k={k} neighbours need more than {2 * k} points, got {n}")
    d_x, d_z = _distances(x), _distances(codes)
    near_x = np.argpartition(d_x, k - 1, axis=1)[:, :k]  # (n, k) the k nearest, any order
    near_z = np.argpartition(d_z, k - 1, axis=1)[:, :k]
    trust_penalty = np.maximum(_ranks(d_x, near_z) - k, 0).sum()
    continuity_penalty = np.maximum(_ranks(d_z, near_x) - k, 0).sum()
    norm = 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))
    return float(1 - norm * trust_penalty), float(1 - norm * continuity_penalty)


def _distances(points: np.ndarray) -> np.ndarray:
    """(n, n) squared Euclidean distances in float64, each point infinitely far from itself."""
    p = points.astype(np.float64)
    sq = (p * p).sum(1)
    d = sq[:, None] + sq[None, :] - 2.0 * (p @ p.T)
    np.fill_diagonal(d, np.inf)
    return d


def _ranks(d: np.ndarray, cols: np.ndarray, chunk: int = 256) -> np.ndarray:
    """The rank (1 = nearest) of point ``cols[i, j]`` among the neighbours of point i under the
    distances ``d``: one more than the number of points strictly nearer. In row chunks, so the
    comparison array stays small."""
    out = np.empty(cols.shape, np.int64)
    for start in range(0, len(d), chunk):
        rows = d[start:start + chunk]
        values = np.take_along_axis(rows, cols[start:start + chunk], axis=1)  # (c, k)
        out[start:start + chunk] = (rows[:, None, :] < values[:, :, None]).sum(-1) + 1
    return out


def encode(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 8192) -> np.ndarray:
    """Deterministic codes (N, d) of ``x`` (N, D), in large batches."""
    return _in_batches(model, model.encode, x, batch_size)


def decode(model: torch.nn.Module, codes: torch.Tensor, batch_size: int = 8192) -> np.ndarray:
    """Deterministic reconstructions (N, D) of ``codes`` (N, d), in large batches."""
    return _in_batches(model, model.decode, codes, batch_size)


@torch.inference_mode()
def _in_batches(model: torch.nn.Module, fn, x: torch.Tensor, batch_size: int) -> np.ndarray:
    """``fn`` (a method of ``model``, in evaluation mode, on the model's device) of ``x`` batch
    by batch, into one CPU array written in place: a million rows at once would hold every
    layer's activations of all of them, and a list of the batches' outputs joined at the end
    keeps the freed activations' memory resident (+840 MB for 800,000 rows, measured)."""
    model.eval()
    device = device_of(model)

    def rows(start: int) -> torch.Tensor:  # a tensor's, an array's or rows read from disk
        return torch.as_tensor(x[start:start + batch_size]).to(device)

    first = fn(rows(0)).cpu()
    out = torch.empty((len(x), *first.shape[1:]), dtype=first.dtype)
    out[:len(first)] = first
    for start in range(batch_size, len(x), batch_size):
        out[start:start + batch_size] = fn(rows(start))
    return out.numpy()


@torch.inference_mode()
def score_model(model: torch.nn.Module, x_test: torch.Tensor, codes: np.ndarray | None = None,
                terms: dict[str, float] | None = None) -> dict[str, float]:
    """Model-side metrics: pixel MSE of the deterministic reconstruction, the test loss terms
    (standard scaling) and, for a VAE, the active units (Burda et al.: Var_x E[z|x] > 0.01).
    ``codes``: the test codes (M, d) when the caller has them already; ``terms``: the test
    loss terms of these weights when the caller has them (the trainer's last epoch). In
    batches: a million rows' reconstructions are never all in memory."""
    model.eval()
    codes = torch.from_numpy(encode(model, x_test) if codes is None else codes)  # (M, d)
    squares, batch = 0.0, 8192
    for start in range(0, len(x_test), batch):
        recon = torch.from_numpy(decode(model, codes[start:start + batch]))
        target = torch.as_tensor(x_test[start:start + batch])
        squares += float(((recon - target) ** 2).sum(dtype=torch.float64))
    out = {"recon_mse": squares / (len(x_test) * x_test.shape[1])}
    terms = evaluate(model, x_test) if terms is None else terms
    out.update({f"test_{k}": v for k, v in terms.items()})
    if "test_kl" in out:
        out["active_units"] = int((codes.var(dim=0) > 0.01).sum())
    return out
