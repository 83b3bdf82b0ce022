"""The input-space neighbour graphs of the training rows that ``reducers.neighbours``' terms
fit codes to, built once per run: t-SNE's sparse affinities (``tsne_graph``) and UMAP's fuzzy
simplicial set (``fuzzy_graph``), both on the nearest rows ``reducers.nearest`` finds (exact
up to 40,000 rows, approximate above). On exact neighbours they equal scikit-learn's
Barnes-Hut P and umap-learn's ``fuzzy_simplicial_set`` (tests/test_embedding_terms.py).
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import sparse

from reducers.nearest import Neighbours, nearest


def calibrate(d: torch.Tensor, perplexity: float, steps: int = 100,
              tolerance: float = 1e-5) -> torch.Tensor:
    """Rows ``softmax(-d_i * precision_i)`` of squared distances ``d`` (m, k) (inf: not a
    neighbour), each precision found by bisection so that the row's perplexity (exp of its
    entropy in nats) is ``perplexity``, to ``tolerance`` nats (scikit-learn's)."""
    m, k = d.shape
    off = torch.isfinite(d)
    finite = torch.where(off, d, 0)
    d = torch.where(off, finite / (finite.sum(1, keepdim=True) / off.sum(1, keepdim=True))
                    .clamp_min_(1e-30), math.inf)  # each row's scale 1: the search starts near
    finite = torch.where(off, d, 0)
    target = math.log(perplexity)
    lo = torch.zeros(m, 1, dtype=d.dtype)
    hi = torch.full((m, 1), math.inf, dtype=d.dtype)
    precision = torch.ones(m, 1, dtype=d.dtype)
    for _ in range(steps):
        logits = -d * precision
        p = torch.softmax(logits, 1)
        entropy = torch.logsumexp(logits, 1, keepdim=True) + precision * (p * finite).sum(1, True)
        if bool(((entropy - target).abs() < tolerance).all()):
            break
        flat = entropy > target  # too many neighbours: sharpen
        lo, hi = torch.where(flat, precision, lo), torch.where(flat, hi, precision)
        precision = torch.where(torch.isinf(hi), precision * 2, (lo + hi) / 2)
    return torch.softmax(-d * precision, 1)


def tsne_graph(x: np.ndarray, perplexity: float, how: Neighbours = Neighbours.auto,
               seed: int = 0) -> sparse.csr_matrix:
    """t-SNE's joint probabilities over all the rows of ``x`` (n, D), sparse as Barnes-Hut
    t-SNE builds them: each row's conditional over its ``3 perplexity`` nearest other rows
    (``how``: their search), symmetrised, ``(P + P^T) / (2n)``."""
    n = len(x)
    k = min(n - 1, int(3 * perplexity) + 1)
    distances, indices = nearest(x, k, how, with_self=False, seed=seed)
    p = calibrate(torch.from_numpy(distances).double().pow(2), perplexity).numpy()
    conditional = sparse.csr_matrix((p.ravel(), indices.ravel(), np.arange(0, n * k + 1, k)),
                                    shape=(n, n))
    return (conditional + conditional.T).tocsr() / (2 * n)


@dataclass(frozen=True)
class Graph:
    """A symmetric weighted graph over the training rows as directed edge lists (each edge
    both ways), weights in (0, 1]."""
    heads: np.ndarray  # (E,) int64
    tails: np.ndarray  # (E,) int64
    weights: np.ndarray  # (E,) float64
    n: int  # rows

    def matrix(self) -> sparse.csr_matrix:
        return sparse.csr_matrix((self.weights, (self.heads, self.tails)), shape=(self.n, self.n))


def smooth_knn(distances: np.ndarray, steps: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """UMAP's local metric of each row (umap-learn's ``smooth_knn_dist``, vectorised):
    ``rho`` the distance to its nearest other row, and ``sigma`` such that
    ``sum_j exp(-max(0, d_j - rho) / sigma) = log2(k)`` over its k - 1 neighbours. ``distances``
    (n, k): to each row's k nearest rows, itself first."""
    n, k = distances.shape
    target = math.log2(k)
    positive = np.where(distances > 0, distances, np.inf)
    rho = positive.min(1)
    rho = np.where(np.isfinite(rho), rho, 0.0)  # all neighbours at distance 0
    excess = np.maximum(distances[:, 1:] - rho[:, None], 0)  # (n, k - 1)
    lo, hi, sigma = np.zeros(n), np.full(n, np.inf), np.ones(n)
    active = np.ones(n, dtype=bool)
    for _ in range(steps):
        total = np.exp(-excess / sigma[:, None]).sum(1)
        active &= np.abs(total - target) >= 1e-5  # umap-learn's tolerance: those stop there
        big = active & (total > target)
        small = active & ~big
        hi = np.where(big, sigma, hi)
        lo = np.where(small, sigma, lo)
        sigma = np.where(big, (lo + hi) / 2,
                         np.where(small, np.where(np.isinf(hi), sigma * 2, (lo + hi) / 2),
                                  sigma))
    floor = 1e-3 * np.where(rho > 0, distances.mean(1), distances.mean())
    return np.maximum(sigma, floor), rho


def fuzzy_graph(x: np.ndarray, n_neighbors: int, how: Neighbours = Neighbours.auto,
                seed: int = 0) -> Graph:
    """UMAP's fuzzy simplicial set of the rows of ``x`` (n, D) with Euclidean distances: each
    row's ``n_neighbors`` nearest (itself included, as in umap-learn; ``how``: their search),
    memberships ``exp(-max(0, d - rho) / sigma)``, symmetrised by the fuzzy union
    ``A + A^T - A * A^T``."""
    n = len(x)
    k = min(n_neighbors, n)
    distances, indices = nearest(x, k, how, with_self=True, seed=seed)
    sigma, rho = smooth_knn(distances)
    strength = np.exp(-np.maximum(distances - rho[:, None], 0) / sigma[:, None])
    strength[indices == np.arange(n)[:, None]] = 0.0  # no self-loops
    a = sparse.csr_matrix((strength.ravel(), (np.repeat(np.arange(n), k), indices.ravel())),
                          shape=(n, n))
    union = (a + a.T - a.multiply(a.T)).tocoo()
    keep = union.data > 0
    return Graph(union.row[keep].astype(np.int64), union.col[keep].astype(np.int64),
                 union.data[keep].astype(np.float64), n)
