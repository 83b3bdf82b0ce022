"""Neighbour-embedding objectives: a term in an autoencoder's or a VAE's loss that makes its codes
keep the training data's neighbourhoods, as t-SNE and UMAP embeddings do, while the network
still encodes new points and decodes.

* ``umap`` (parametric UMAP, Sainburg, McInnes and Gentner 2021): the fuzzy k-nearest-neighbour
  graph of the training split (``neighbour_graphs.fuzzy_graph``: umap-learn's construction on
  ``reducers.nearest``'s neighbours) is built once per run. The term is UMAP's cross-entropy
  of the codes' similarity ``q = 1 / (1 + a d^(2b))``: ``-log q`` on edges plus
  ``-log(1 - q)`` on negative pairs, per unit of edge weight. ``edges=batch`` (the default)
  draws ``batch`` training rows and takes every edge among them by its weight, each row
  against 64 random others of the batch; ``edges=sampled`` draws ``batch / 2`` edges by weight
  and pairs each head with the tails of ``negative_rate`` other sampled edges, as parametric
  UMAP's edge batches do. The same expectation; the batch gets about five times the edges and
  25 times the negative pairs out of the rows it encodes.
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

Both terms draw from the rows given to ``NeighbourTerm.fit`` with the global torch generator
(seeded by the run, kept by checkpoints), apart from the trainer's batch (the reconstruction's
and the KL's). The term sees the codes times ``scale``: both similarities have a unit (the
Student-t's width, UMAP's ``a`` and ``b``), and t-SNE's layouts span tens of those units, so a
VAE whose KL keeps its codes within a few units of the origin (where its prior draws) needs
a scale of about 5-10 for the two terms to agree. Given an ``augment`` (the run's image
augmentation), the term encodes moved copies of its rows while the graph stays that of the
clean ones: neighbours stay neighbours under small shifts and rotations, which is what lets the
encoder place unseen digits.
"""

import time
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

import numpy as np
import torch

from reducers.checks import SettingError, at_least, finite_at_least, positive, require
from reducers.embedding_losses import (curve_parameters, other_rows, rows_of, tsne_divergence,
                                       umap_batch_cross_entropy, umap_cross_entropy)
from reducers.nearest import Neighbours, has_pynndescent, resolve
from reducers.neighbour_graphs import fuzzy_graph, tsne_graph


# --- the part: the settings of either term --------------------------------------------------

@dataclass(kw_only=True)
class EmbeddingTerm:
    """What both terms share. The command line's ``model.embedding.*`` are these fields, after
    ``model/embedding=tsne`` or ``umap`` picks the term."""

    kind: ClassVar[str]  # "tsne" | "umap": the term's name in the history and the metrics
    weight: float = 1.0  # against the reconstruction (a sum over the pixels)
    batch: int = 512  # training rows the term encodes per step (umap, edges=sampled: half as
    #                   many edges)
    scale: float = 1.0  # the term sees the codes times this (a VAE: about 5-10, so that its
    #                     codes stay where its prior draws)
    neighbours: Neighbours = Neighbours.auto  # the graph's search: exact, approximate
    #   (pynndescent) or auto (exact up to 40,000 rows; reducers.nearest)

    def __post_init__(self):
        finite_at_least(self.weight, "weight")
        at_least(self.batch, "batch", 2)
        positive(self.scale, "scale")
        self.neighbours = Neighbours(self.neighbours)
        if self.neighbours is Neighbours.approximate and not has_pynndescent():
            raise SettingError("neighbours", "approximate", "approximate nearest neighbours "
                               "need pynndescent: pip install pynndescent, or set it to exact")

    def check_rows(self, n: int) -> None:
        """A SettingError naming the setting when ``n`` training rows cannot hold the term."""

    def prepare(self, x: np.ndarray) -> object:
        """What the term needs of the training rows (N, D), built once per run."""
        raise NotImplementedError

    def sample(self, prepared, rows: torch.Tensor, codes) -> torch.Tensor:
        """The term of one step: ``codes(x)`` gives the codes of rows ``x`` of ``rows``."""
        raise NotImplementedError

    def describe(self, prepared, n: int) -> str:
        raise NotImplementedError


@dataclass(kw_only=True)
class TSNETerm(EmbeddingTerm):
    kind: ClassVar[str] = "tsne"
    perplexity: float = 30.0  # the effective neighbours of each training row
    dof: float = 1.0  # the kernel's degree of freedom: 1 is t-SNE's; below 1 heavier tails,
    #                   tighter and more separate clusters
    exaggeration: float = 1.0  # the attraction times this: 1 is t-SNE; about 4 is like UMAP

    def __post_init__(self):
        super().__post_init__()
        finite_at_least(self.perplexity, "perplexity", 1)
        finite_at_least(self.dof, "dof", 0.05)
        finite_at_least(self.exaggeration, "exaggeration", 0.1)

    def check_rows(self, n):
        require(self.batch <= n, "batch", self.batch,
                f"the tsne term draws at most the {n} training rows; lower it")
        require(self.perplexity < n - 1, "perplexity", self.perplexity,
                f"the tsne term needs it below {n - 1} (the training rows less one); lower it")

    def prepare(self, x):
        return tsne_graph(x, self.perplexity, self.neighbours)

    def sample(self, affinities, rows, codes):
        picked = torch.randperm(len(rows))[:self.batch]
        index = picked.numpy()
        p = torch.from_numpy(affinities[index][:, index].toarray())  # (m, m)
        p = p.to(rows) / p.sum().clamp_min(1e-300)  # none among them: no term
        return tsne_divergence(p, codes(rows[picked]), self.dof, self.exaggeration)

    def describe(self, affinities, n):
        shape = "".join(f", {k} {v:g}" for k, v in
                        (("dof", self.dof), ("exaggeration", self.exaggeration)) if v != 1)
        return (f"affinities of {n} rows at perplexity {self.perplexity:g}{shape}, "
                f"{affinities.nnz} pairs, {self.batch} rows per step")


NEGATIVES_PER_ROW = 64  # edges=batch: other rows of the batch that repel each of them


class Edges(str, Enum):
    """How a step of the ``umap`` term uses the rows it encodes."""
    sampled = "sampled"  # batch / 2 edges drawn by weight, negative_rate random rows each
    batch = "batch"  # batch random rows: every edge among them, 64 of them as each one's
    #                  negatives


@dataclass(kw_only=True)
class UMAPTerm(EmbeddingTerm):
    kind: ClassVar[str] = "umap"
    n_neighbors: int = 15  # neighbours of each training row in its fuzzy graph
    min_dist: float = 0.1  # how tightly codes may pack
    negative_rate: int = 5  # negative samples per sampled edge
    edges: Edges = Edges.batch  # batch: every edge among the encoded rows, 64 of them as each
    #                             one's negatives; sampled: parametric UMAP's edge batches
    #                             (the same expectation)

    def __post_init__(self):
        super().__post_init__()
        at_least(self.n_neighbors, "n_neighbors", 2)
        finite_at_least(self.min_dist, "min_dist")
        at_least(self.negative_rate, "negative_rate", 1)
        self.edges = Edges(self.edges)

    def check_rows(self, n):
        require(n >= 2, "n_neighbors", self.n_neighbors,
                f"the umap term needs 2 training rows or more, got {n}")

    def prepare(self, x):
        graph = fuzzy_graph(x, self.n_neighbors, self.neighbours)
        if self.edges is Edges.batch:
            return graph, graph.matrix(), curve_parameters(self.min_dist)
        return graph, torch.from_numpy(np.cumsum(graph.weights)), curve_parameters(self.min_dist)

    def sample(self, prepared, rows, codes):
        if self.edges is Edges.batch:
            return self._batch(prepared, rows, codes)
        graph, cumulative, (a, b) = prepared
        total = cumulative[-1]
        m = self.batch // 2  # edges: each encodes two rows
        edges = torch.searchsorted(cumulative, torch.rand(m, dtype=total.dtype)
                                   * total).clamp_max_(len(cumulative) - 1)
        heads = torch.from_numpy(graph.heads)[edges]
        tails = torch.from_numpy(graph.tails)[edges]
        both = codes(rows[torch.cat([heads, tails])])  # (2m, d)
        heads, tails = both[:m], both[m:]
        others = torch.randint(m, (m * self.negative_rate,))
        return umap_cross_entropy(heads, tails, rows_of(tails, others), a, b)

    def _batch(self, prepared, rows, codes):
        _, matrix, (a, b) = prepared
        picked = torch.randperm(len(rows))[:self.batch]
        index = picked.numpy()
        among = matrix[index][:, index].tocoo()  # the edges among them
        z = codes(rows[picked])
        heads, tails = (torch.from_numpy(i.astype(np.int64)).to(z.device)
                        for i in (among.row, among.col))
        others = other_rows(len(picked), NEGATIVES_PER_ROW).to(z.device)
        return umap_batch_cross_entropy(heads, tails, torch.from_numpy(among.data).to(z), z,
                                        others, a, b, self.negative_rate)

    def describe(self, prepared, n):
        graph = prepared[0]
        per_step = f"{self.batch // 2} sampled per step" if self.edges is Edges.sampled else \
            f"every edge among {min(self.batch, n)} rows per step"
        return (f"fuzzy {self.n_neighbors}-neighbour graph of {graph.n} rows, "
                f"{len(graph.weights)} directed edges, {per_step}")


# --- the term at work in a model ---------------------------------------------------------------

class NeighbourTerm:
    """A model's term at work: ``fit(x_train)`` builds what it needs once (t-SNE's affinities
    or UMAP's graph), then ``__call__(encode)`` gives the term of one step's sample."""

    def __init__(self, settings: EmbeddingTerm):
        self.settings = settings
        self.x: torch.Tensor | None = None
        self.augment = None
        self.prepared = None

    @property
    def kind(self) -> str:
        return self.settings.kind

    @property
    def weight(self) -> float:
        return self.settings.weight

    def fit(self, x_train: torch.Tensor, augment=None, device: torch.device = None) -> float:
        """Keep the rows (N, D) on ``device`` (the model's), build the graph on the CPU: its
        seconds. ``augment(x, generator)`` moves the rows the term encodes."""
        started = time.perf_counter()
        self.settings.check_rows(len(x_train))
        rows = x_train.numpy()  # a tensor's memory, or rows read from disk
        self.prepared = self.settings.prepare(rows)
        self.x, self.augment = torch.from_numpy(rows).to(device or "cpu"), augment
        return time.perf_counter() - started

    def describe(self) -> str:
        """What ``fit`` made, for the log."""
        moved = ", encoding augmented copies" if self.augment is not None else ""
        moved += f", codes times {self.settings.scale:g}" if self.settings.scale != 1 else ""
        moved += f" ({resolve(self.settings.neighbours, len(self.x)).value} neighbours)"
        return self.settings.describe(self.prepared, len(self.x)) + moved

    def __call__(self, encode) -> torch.Tensor:
        """The term for one sample of the training rows, their codes by ``encode``."""
        if self.x is None:
            raise RuntimeError(f"the {self.kind} term needs the training rows first: call "
                               "model.fit_neighbours(x_train) before training")

        def codes(x: torch.Tensor) -> torch.Tensor:  # moved, with an augmentation
            if self.augment is not None:
                x = self.augment(x, None)  # drawn from the global generator
            return encode(x) * self.settings.scale

        return self.settings.sample(self.prepared, self.x, codes)
