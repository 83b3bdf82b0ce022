"""Held-out scoring of 2-D (or d-D) codes, one code path for every reducer.

Everything is fit on the train split only and measured on the test split. Metrics that are
quadratic in the number of points (silhouette, trustworthiness) use a fixed random subsample
of at most ``max_pairwise`` test points; the sizes used are returned with the metrics.
"""

import time

import numpy as np
import torch

from reducers.engine import evaluate

# Every metric a run records: +1 higher is better, -1 lower is better, 0 neither.
DIRECTION = {"knn_acc": 1, "silhouette": 1, "davies_bouldin": -1, "calinski_harabasz": 1,
             "trustworthiness": 1, "kmeans_vmeasure": 1, "kmeans_ari": 1, "code_std": 0,
             "recon_mse": -1, "test_recon": -1, "test_kl": 0, "active_units": 0,
             "train_seconds": -1, "samples_per_second": 1}


def score_codes(train_codes: np.ndarray, y_train: np.ndarray, test_codes: np.ndarray,
                y_test: np.ndarray, x_test: np.ndarray, *, knn_k: int = 5, trust_k: int = 5,
                max_pairwise: int = 2000, seed: int = 0) -> tuple[dict, dict, dict]:
    """Return (metrics, sample sizes, seconds per metric) for codes of the test split."""
    # scikit-learn is imported where it is used: it adds a second to every start, and a bad
    # command line should fail at once
    from sklearn.cluster import KMeans
    from sklearn.manifold import trustworthiness
    from sklearn.metrics import (adjusted_rand_score, calinski_harabasz_score,
                                 davies_bouldin_score, silhouette_score, v_measure_score)
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(seed)
    sub = np.sort(rng.permutation(len(y_test))[:max_pairwise])
    n_classes = len(np.unique(y_test))
    metrics, seconds = {}, {}

    def timed(name, fn):
        started = time.perf_counter()
        metrics[name] = float(fn())
        seconds[name] = time.perf_counter() - started

    timed("knn_acc", lambda: KNeighborsClassifier(knn_k).fit(train_codes, y_train)
          .score(test_codes, y_test))
    timed("silhouette", lambda: silhouette_score(test_codes[sub], y_test[sub]))
    timed("davies_bouldin", lambda: davies_bouldin_score(test_codes, y_test))
    timed("calinski_harabasz", lambda: calinski_harabasz_score(test_codes, y_test))
    timed("trustworthiness", lambda: trustworthiness(x_test[sub], test_codes[sub],
                                                     n_neighbors=trust_k))
    started = time.perf_counter()
    clusters = KMeans(n_classes, n_init=10, random_state=seed).fit_predict(test_codes)
    metrics["kmeans_vmeasure"] = float(v_measure_score(y_test, clusters))
    metrics["kmeans_ari"] = float(adjusted_rand_score(y_test, clusters))
    seconds["kmeans"] = time.perf_counter() - started
    metrics["code_std"] = float(test_codes.std(axis=0).mean())  # collapse shows as ~0
    sizes = {"silhouette": len(sub), "trustworthiness": len(sub), "test": len(y_test)}
    return metrics, sizes, seconds


@torch.inference_mode()
def encode(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 8192) -> np.ndarray:
    """Deterministic codes (N, d) of ``x`` (N, D), in large batches."""
    model.eval()
    return torch.cat([model.encode(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
                     ).numpy()


@torch.inference_mode()
def score_model(model: torch.nn.Module, x_test: torch.Tensor,
                codes: np.ndarray | None = None) -> dict[str, float]:
    """Model-side metrics: pixel MSE of the deterministic reconstruction, the test loss terms
    (standard scaling) and, for a VAE, the active units (Burda et al.: Var_x E[z|x] > 0.01).
    ``codes``: the test codes (M, d) when the caller has them already."""
    model.eval()
    codes = torch.from_numpy(encode(model, x_test) if codes is None else codes)  # (M, d)
    out = {"recon_mse": float(((model.decode(codes) - x_test) ** 2).mean())}
    out.update({f"test_{k}": v for k, v in evaluate(model, x_test).items()})
    if "test_kl" in out:
        out["active_units"] = int((codes.var(dim=0) > 0.01).sum())
    return out
