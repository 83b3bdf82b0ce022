"""Placing new rows against the training codes: UMAP's out-of-sample step (``transform``) for
any network (``model/place=neighbours``).

A network encodes an unseen row in one pass, and with 4,000 training digits that pass
generalises the training codes' clusters but not their insides: on the real MNIST test set the
networks' codes keep a trustworthiness of 0.89-0.91, where UMAP, which places each new row among
its nearest training rows, keeps 0.945 (and a network fitted to UMAP's own training codes keeps
no more than 0.90: the limit is the map learnt from few rows, not the objective). A
``Placement`` starts each new row at the network's code and moves it, with the training codes
held fixed, by UMAP's cross-entropy against its ``n_neighbors`` nearest training rows (in input
space, weighted by UMAP's memberships) and ``negative_rate`` random training codes per
neighbour, for ``epochs`` steps of a learning rate falling linearly from 1, each move clipped
to 4 as umap-learn clips it. The codes are scaled for it so that the median distance from a
training code to its ``n_neighbors``-th nearest other training code is ``spread``: the curve
``1 / (1 + a d^(2b))`` then meets every network's codes in the same units.

The price: the training rows are kept and searched for every new row (exact neighbours), and
a new row's code depends on the training rows, as UMAP's does, not on the other new rows (the
protocol stays inductive).
"""

from dataclasses import dataclass

import numpy as np
import torch

from reducers.checks import at_least, finite_at_least, positive
from reducers.embedding_losses import curve_parameters
from reducers.neighbour_graphs import smooth_knn

CLIP = 4.0  # the largest move of a code along an axis per pair and step (umap-learn's)
CHUNK = 16384  # new rows placed at a time: their pairs' arrays stay within ~100 MB


@dataclass(kw_only=True)
class Placement:
    """How new rows are placed (the command line's ``model.place.*`` after
    ``model/place=neighbours``)."""

    n_neighbors: int = 15  # training rows each new row is drawn towards
    epochs: int = 100  # steps of every new row (the learning rate falls from 1 to 0)
    spread: float = 1.0  # the codes' unit: median distance to the n_neighbors-th training code
    min_dist: float = 0.1  # UMAP's: how tightly codes may pack (the curve's a and b)
    negative_rate: int = 5  # random training codes each new row is pushed from, per neighbour

    def __post_init__(self):
        at_least(self.n_neighbors, "n_neighbors", 2)
        at_least(self.epochs, "epochs", 0)
        positive(self.spread, "spread")
        finite_at_least(self.min_dist, "min_dist")
        at_least(self.negative_rate, "negative_rate", 0)

    def fit(self, x_train, train_codes: np.ndarray) -> "Placer":
        """The training rows (N, D) and their codes (N, d) that new rows are placed against."""
        return Placer(self, np.asarray(x_train[:], dtype=np.float32),  # rows on disk too
                      np.asarray(train_codes, dtype=np.float32))


class Placer:
    """A ``Placement`` fitted on training rows and their codes: ``place`` new rows."""

    def __init__(self, settings: Placement, x_train: np.ndarray, train_codes: np.ndarray):
        from sklearn.neighbors import NearestNeighbors  # slow to import: where it is used

        self.settings = settings
        self.k = min(settings.n_neighbors, len(x_train))
        self.index = NearestNeighbors(n_neighbors=self.k).fit(x_train)
        self.scale = unit_scale(train_codes, self.k, settings.spread)
        self.codes = torch.from_numpy(train_codes * self.scale)
        self.a, self.b = curve_parameters(settings.min_dist)

    def describe(self) -> str:
        s = self.settings
        return (f"new rows placed against {len(self.codes)} training codes: {self.k} nearest "
                f"training rows each, {s.epochs} steps, {s.negative_rate} negatives per "
                f"neighbour, codes times {self.scale:.3g} (spread {s.spread:g})")

    def place(self, x: np.ndarray, start: np.ndarray, seed: int = 0) -> np.ndarray:
        """Codes (M, d) of the new rows ``x`` (M, D), starting from the network's ``start``
        (M, d); ``seed`` draws the negatives."""
        generator = torch.Generator().manual_seed(seed)
        out = np.empty_like(start, dtype=np.float32)
        for begin in range(0, len(x), CHUNK):
            rows = slice(begin, begin + CHUNK)
            distances, neighbours = self.index.kneighbors(np.asarray(x[rows]))
            z = torch.from_numpy(np.asarray(start[rows], np.float32) * self.scale)
            out[rows] = self._moved(z, torch.from_numpy(neighbours),
                                    memberships(distances), generator).numpy() / self.scale
        return out

    def _moved(self, z: torch.Tensor, neighbours: torch.Tensor, weights: torch.Tensor,
               generator: torch.Generator) -> torch.Tensor:
        """``z`` (m, d) after the steps: each step moves every row by the sum of its pairs'
        clipped moves, an edge's and its negatives' weighted by the edge's membership (its
        expected samples per epoch in umap-learn)."""
        epochs, rate = self.settings.epochs, self.settings.negative_rate
        attached = self.codes[neighbours]  # (m, k, d): fixed
        negative_weights = weights.repeat_interleave(rate, 1)[..., None]  # (m, k rate, 1)
        weights = weights[..., None]
        for epoch in range(epochs):
            move = (self._pull(z[:, None] - attached) * weights).sum(1)
            if rate:
                others = torch.randint(len(self.codes), (len(z), neighbours.shape[1] * rate),
                                       generator=generator)
                move += (self._push(z[:, None] - self.codes[others]) * negative_weights).sum(1)
            z = z + (1 - epoch / epochs) * move
        return z

    def _pull(self, diff: torch.Tensor) -> torch.Tensor:
        """The attraction's move of each pair (``diff``: the row minus its neighbour):
        minus the gradient of ``-log q``, clipped."""
        a, b = self.a, self.b
        d2 = diff.pow(2).sum(-1, keepdim=True).clamp_min(1e-12)
        return (-2 * a * b * d2.pow(b - 1) / (1 + a * d2.pow(b)) * diff).clamp(-CLIP, CLIP)

    def _push(self, diff: torch.Tensor) -> torch.Tensor:
        """The repulsion's move of each pair: minus the gradient of ``-log(1 - q)`` (with
        umap-learn's 0.001 in the denominator), clipped."""
        a, b = self.a, self.b
        d2 = diff.pow(2).sum(-1, keepdim=True)
        return (2 * b / ((1e-3 + d2) * (1 + a * d2.pow(b))) * diff).clamp(-CLIP, CLIP)


def memberships(distances: np.ndarray) -> torch.Tensor:
    """UMAP's membership of each new row's nearest training rows (m, k), distances nearest
    first, divided by the row's largest (1 for the nearest)."""
    with_self = np.hstack([np.zeros((len(distances), 1)), distances])  # smooth_knn's form
    sigma, rho = smooth_knn(with_self)
    strength = np.exp(-np.maximum(distances - rho[:, None], 0) / sigma[:, None])
    return torch.from_numpy(strength / strength.max(1, keepdims=True)).float()


def unit_scale(codes: np.ndarray, k: int, spread: float) -> float:
    """The factor that makes the median distance from a code to its k-th nearest other code
    ``spread`` (1 where all codes coincide)."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(codes) - 1)
    if k < 1:
        return 1.0
    distances, _ = NearestNeighbors(n_neighbors=k).fit(codes).kneighbors()
    typical = float(np.median(distances[:, -1]))
    return spread / typical if typical > 0 else 1.0
