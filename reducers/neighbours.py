"""Neighbour-embedding objectives: a term in an autoencoder's or a VAE's loss that makes its codes
keep the training data's neighbourhoods, as t-SNE and UMAP embeddings do, while the network
still encodes new points and decodes.

* ``umap`` (parametric UMAP, Sainburg, McInnes and Gentner 2021): the fuzzy k-nearest-neighbour
  graph of the training split (``neighbour_graphs.fuzzy_graph``: umap-learn's construction on
  scikit-learn's exact neighbours) is built once per run. Each step samples ``batch / 2`` edges
  (so it encodes ``batch`` rows, as the tsne term does) with probability proportional to their
  weights and pairs each edge's head with the tails of ``negative_rate`` random sampled edges
  (negative samples, as parametric UMAP draws them). The term is UMAP's cross-entropy of the
  codes' similarity ``q = 1 / (1 + a d^(2b))``: ``-log q`` on the edges plus ``-log(1 - q)`` on
  their negatives, per edge, averaged over the edges.
* ``tsne`` (parametric t-SNE, van der Maaten 2009): t-SNE's input affinities over the whole
  training split (``neighbour_graphs.tsne_graph``: each row's Gaussian over its
  ``3 perplexity`` nearest rows, calibrated to ``perplexity``, as Barnes-Hut t-SNE builds them)
  are built once per run. Each step draws ``batch`` training rows, takes P among them
  (renormalised) and the term is KL(P || Q) with the Student-t similarities Q of their codes
  (``tsne_divergence``). From the graph, not calibrated within each sample as in the 2009
  paper: a perplexity of 30 within a sample of 500 of 4,000 rows spans the neighbourhood of a
  perplexity of about 240 over all of them, blurring the local structure; on the default digits
  the graph's term reached a held-out 5-NN accuracy of 0.757 where the in-sample one reached
  0.733 (2,000 steps of 500, the encoder alone), and costs less per step (no calibration).

Both terms draw from the training rows given to ``NeighbourTerm.fit``, with the global torch
generator (seeded by the run, saved by the engine's checkpoints), independently of the engine's
batch: the engine's batch carries the reconstruction (and the KL), this term the neighbourhoods.
The term sees the codes times ``scale``: both similarities have a unit of distance (the
Student-t's width, UMAP's ``a`` and ``b``), and t-SNE's layouts span tens of those units, so a
VAE whose KL keeps its codes within a few units of the origin (where its prior draws) needs
a scale of about 5-10 for the two terms to agree. Given an ``augment`` (the run's image
augmentation), the term encodes moved copies of its rows while the graph stays that of the
clean ones: neighbours stay neighbours under small shifts and rotations, which is what lets the
encoder place unseen digits.
"""

import time
from enum import Enum

import numpy as np
import torch
from scipy import sparse
from scipy.optimize import curve_fit

from reducers.errors import ConfigError
from reducers.neighbour_graphs import Graph, fuzzy_graph, tsne_graph


class Embedding(str, Enum):
    """The neighbour-embedding term of a network's objective."""

    none = "none"
    tsne = "tsne"
    umap = "umap"


# --- t-SNE ----------------------------------------------------------------------------------

def tsne_divergence(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """KL(P || Q) of joint probabilities ``p`` (m, m), zero diagonal, against the Student-t
    (one degree of freedom) similarities of the codes ``z`` (m, d):
    ``q_ij = w_ij / sum_{k != l} w_kl`` with ``w_ij = 1 / (1 + |z_i - z_j|^2)``."""
    m = len(z)
    d = (z[:, None, :] - z[None, :, :]).pow(2).sum(-1)  # (m, m); exact zeros on the diagonal
    log_w = -torch.log1p(d)  # 0 on the diagonal, where p is 0
    log_normaliser = torch.log(torch.exp(log_w).sum() - m)
    return torch.xlogy(p, p).sum() - (p * log_w).sum() + p.sum() * log_normaliser


# --- UMAP -----------------------------------------------------------------------------------

def curve_parameters(min_dist: float, spread: float = 1.0) -> tuple[float, float]:
    """UMAP's ``a`` and ``b``: the curve ``1 / (1 + a d^(2b))`` fitted by least squares to 1 up
    to ``min_dist`` and ``exp(-(d - min_dist) / spread)`` beyond, on [0, 3 spread]."""
    d = np.linspace(0, 3 * spread, 300)
    target = np.where(d < min_dist, 1.0, np.exp(-(d - min_dist) / spread))
    (a, b), _ = curve_fit(lambda d, a, b: 1.0 / (1.0 + a * d ** (2 * b)), d, target)
    return float(a), float(b)


def umap_cross_entropy(heads: torch.Tensor, tails: torch.Tensor, negatives: torch.Tensor,
                       a: float, b: float) -> torch.Tensor:
    """UMAP's cross-entropy of the codes of m sampled edges, ``heads`` and ``tails`` (m, d), and
    of negative samples: the pairs (``heads[i % m]``, ``negatives[i]``), ``negatives`` (r m, d).
    ``-log q`` of each edge plus ``-log(1 - q)`` of each negative pair, summed and divided by
    m; q is clipped to [1e-4, 1 - 1e-4] inside the logs (as umap-learn's parametric loss)."""
    m = len(heads)
    repeated = heads.repeat(len(negatives) // m, 1)
    q = _similarity(torch.cat([heads, repeated]), torch.cat([tails, negatives]), a, b)
    eps = 1e-4
    attract = -torch.log(q[:m].clamp(eps, 1)).sum()
    repel = -torch.log((1 - q[m:]).clamp(eps, 1)).sum()
    return (attract + repel) / m


def _similarity(u: torch.Tensor, v: torch.Tensor, a: float, b: float) -> torch.Tensor:
    d2 = (u - v).pow(2).sum(1).clamp_min(1e-12)  # (m,); the power's gradient is finite
    return 1 / (1 + a * d2.pow(b))


# --- the term a model adds ----------------------------------------------------------------

def check_rows(kind: Embedding | str, batch: int, perplexity: float, n: int) -> None:
    """A ConfigError naming the setting when ``n`` training rows cannot hold a term of
    ``kind`` with these settings (the app calls it before any work, ``fit`` again)."""
    kind = Embedding(kind)
    if kind is Embedding.tsne and batch > n:
        raise ConfigError(f"model.embedding_batch={batch} is invalid: the tsne term draws at "
                          f"most the {n} training rows; lower it")
    if kind is Embedding.tsne and not perplexity < n - 1:
        raise ConfigError(f"model.perplexity={perplexity:g} is invalid: the tsne term needs it "
                          f"below {n - 1} (the training rows less one); lower it")
    if kind is Embedding.umap and n < 2:
        raise ConfigError(f"model.embedding_loss=umap is invalid: the term needs 2 training "
                          f"rows or more, got {n}")


class NeighbourTerm:
    """A model's neighbour-embedding term: ``fit(x_train)`` builds what it needs once (t-SNE's
    affinities or UMAP's graph), then ``__call__(encode)`` gives the term of one step's
    sample."""

    def __init__(self, kind: Embedding | str, weight: float, perplexity: float,
                 n_neighbors: int, min_dist: float, negative_rate: int, batch: int,
                 scale: float = 1.0):
        self.kind = Embedding(kind)
        if self.kind is Embedding.none:
            raise ValueError("NeighbourTerm needs a kind: tsne or umap")
        if not (weight >= 0 and batch >= 2 and negative_rate >= 1 and n_neighbors >= 2
                and min_dist >= 0 and perplexity > 0 and scale > 0):
            raise ValueError("embedding weight >= 0, batch >= 2, negative_rate >= 1, "
                             "n_neighbors >= 2, min_dist >= 0, perplexity > 0 and scale > 0 "
                             "are needed")
        self.weight, self.perplexity, self.batch = float(weight), float(perplexity), int(batch)
        self.scale = float(scale)  # the term sees the codes times this
        self.n_neighbors, self.negative_rate = int(n_neighbors), int(negative_rate)
        self.a, self.b = curve_parameters(min_dist)
        self.x: torch.Tensor | None = None
        self.augment = None
        self.graph: Graph | None = None  # umap
        self.affinities: sparse.csr_matrix | None = None  # tsne
        self._cumulative: torch.Tensor | None = None

    def fit(self, x_train: torch.Tensor, augment=None) -> float:
        """Keep the training rows (N, D) and build the graph; the seconds it took.
        ``augment(x, generator)``: moves the rows the term encodes (``reducers.augment``)."""
        started = time.perf_counter()
        check_rows(self.kind, self.batch, self.perplexity, len(x_train))
        if self.kind is Embedding.tsne:
            self.affinities = tsne_graph(x_train.numpy(), self.perplexity)
        else:
            self.graph = fuzzy_graph(x_train.numpy(), self.n_neighbors)
            self._cumulative = torch.from_numpy(np.cumsum(self.graph.weights))
        self.x, self.augment = x_train, augment
        return time.perf_counter() - started

    def describe(self) -> str:
        """What ``fit`` made, for the log."""
        moved = ", encoding augmented copies" if self.augment is not None else ""
        moved += f", codes times {self.scale:g}" if self.scale != 1 else ""
        if self.graph is not None:
            return (f"fuzzy {self.n_neighbors}-neighbour graph of {self.graph.n} rows, "
                    f"{len(self.graph.weights)} directed edges, {self.batch // 2} sampled per "
                    f"step{moved}")
        return (f"affinities of {len(self.x)} rows at perplexity {self.perplexity:g}, "
                f"{self.affinities.nnz} pairs, {self.batch} rows per step{moved}")

    def __call__(self, encode) -> torch.Tensor:
        """The term for one sample of the training rows, their codes by ``encode``."""
        if self.x is None:
            raise RuntimeError(f"the {self.kind.value} term needs the training rows first: "
                               "call model.fit_neighbours(x_train) before training")
        if self.kind is Embedding.tsne:
            rows = torch.randperm(len(self.x))[:self.batch]
            picked = rows.numpy()
            p = torch.from_numpy(self.affinities[picked][:, picked].toarray())  # (m, m)
            p = p.to(self.x.dtype) / p.sum().clamp_min(1e-300)  # none among them: no term
            return tsne_divergence(p, self._codes(encode, self.x[rows]))
        total = self._cumulative[-1]
        m = self.batch // 2  # edges: each encodes two rows
        edges = torch.searchsorted(self._cumulative, torch.rand(m, dtype=total.dtype)
                                   * total).clamp_max_(len(self._cumulative) - 1)
        heads = torch.from_numpy(self.graph.heads)[edges]
        tails = torch.from_numpy(self.graph.tails)[edges]
        codes = self._codes(encode, self.x[torch.cat([heads, tails])])  # (2m, d)
        heads, tails = codes[:m], codes[m:]
        others = torch.randint(m, (m * self.negative_rate,))
        return umap_cross_entropy(heads, tails, tails[others], self.a, self.b)

    def _codes(self, encode, x: torch.Tensor) -> torch.Tensor:
        """The codes of rows ``x`` (moved, with an augmentation) as the term sees them."""
        if self.augment is not None:
            x = self.augment(x, None)  # drawn from the global generator
        return encode(x) * self.scale
