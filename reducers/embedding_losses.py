"""The neighbour-embedding terms' objectives on codes, apart from how a step picks its rows
(``reducers.embedding_terms``): t-SNE's divergence with a heavy-tail degree of freedom and an
exaggeration, UMAP's similarity curve and its cross-entropy, on sampled edges or on every
edge among a batch of rows."""

import math

import numpy as np
import torch

EPS = 1e-4  # q is clipped to [EPS, 1 - EPS] inside UMAP's logs (as umap-learn's parametric loss)


# --- t-SNE ----------------------------------------------------------------------------------

def tsne_divergence(p: torch.Tensor, z: torch.Tensor, dof: float = 1.0,
                    exaggeration: float = 1.0) -> torch.Tensor:
    """KL(P || Q) of joint probabilities ``p`` (m, m), zero diagonal, summing to 1, against the
    similarities Q of the codes ``z`` (m, d): ``q_ij = w_ij / sum_{k != l} w_kl`` with the
    heavy-tailed kernel ``w_ij = (1 + |z_i - z_j|^2 / dof)^-dof`` (Kobak et al. 2019; dof 1 is
    t-SNE's Student-t, below 1 heavier tails and tighter clusters, large towards SNE's
    Gaussian). ``exaggeration`` multiplies the attraction ``-sum p log w`` (Böhm, Berens and
    Kobak 2022: 1 is t-SNE, about 4 is like UMAP, more like Laplacian eigenmaps); at 1 the
    value is the divergence itself."""
    m = len(z)
    d = (z[:, None, :] - z[None, :, :]).pow(2).sum(-1)  # (m, m); exact zeros on the diagonal
    log_w = -dof * torch.log1p(d / dof)  # 0 on the diagonal, where p is 0
    log_normaliser = torch.log(torch.exp(log_w).sum() - m)
    return torch.xlogy(p, p).sum() - exaggeration * (p * log_w).sum() + \
        p.sum() * log_normaliser


# --- UMAP -----------------------------------------------------------------------------------

def curve_parameters(min_dist: float, spread: float = 1.0) -> tuple[float, float]:
    """UMAP's ``a`` and ``b``: the curve ``1 / (1 + a d^(2b))`` fitted by least squares to 1 up
    to ``min_dist`` and ``exp(-(d - min_dist) / spread)`` beyond, on [0, 3 spread]."""
    from scipy.optimize import curve_fit  # here: 0.3 s that a refused command need not pay

    d = np.linspace(0, 3 * spread, 300)
    target = np.where(d < min_dist, 1.0, np.exp(-(d - min_dist) / spread))
    (a, b), _ = curve_fit(lambda d, a, b: 1.0 / (1.0 + a * d ** (2 * b)), d, target)
    return float(a), float(b)


def similarity(u: torch.Tensor, v: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """UMAP's ``q = 1 / (1 + a d^(2b))`` of the pairs (``u[i]``, ``v[i]``), any leading shape."""
    d2 = (u - v).pow(2).sum(-1).clamp_min(1e-12)  # the power's gradient stays finite
    return 1 / (1 + a * d2.pow(b))


def umap_cross_entropy(heads: torch.Tensor, tails: torch.Tensor, negatives: torch.Tensor,
                       a: float, b: float) -> torch.Tensor:
    """UMAP's cross-entropy of the codes of m sampled edges, ``heads`` and ``tails`` (m, d), and
    of negative samples: the pairs (``heads[i % m]``, ``negatives[i]``), ``negatives`` (r m, d).
    ``-log q`` of each edge plus ``-log(1 - q)`` of each negative pair, summed and divided by
    m."""
    m = len(heads)
    repeated = heads.repeat(len(negatives) // m, 1)
    q = similarity(torch.cat([heads, repeated]), torch.cat([tails, negatives]), a, b)
    attract = -torch.log(q[:m].clamp(EPS, 1)).sum()
    repel = -torch.log((1 - q[m:]).clamp(EPS, 1)).sum()
    return (attract + repel) / m


def umap_batch_cross_entropy(heads: torch.Tensor, tails: torch.Tensor, weights: torch.Tensor,
                             z: torch.Tensor, others: torch.Tensor, a: float, b: float,
                             negative_rate: float) -> torch.Tensor:
    """The expectation of ``umap_cross_entropy`` over the edges among m encoded rows: the
    edges (``heads``, ``tails``, ``weights``: indices into the m codes ``z`` (m, d), each edge
    both ways) and, for each row, some other rows of the batch, ``others`` (m, K). Each edge
    attracts by its weight; each row is repelled from its others, ``negative_rate`` times its
    share of the edges' weight (UMAP samples an edge by its weight and pairs its head with
    that many random rows), divided by the total weight. With K of the m - 1 other rows drawn
    at random, the repulsion costs m K pairs rather than m^2."""
    attract = -(weights * torch.log(similarity(rows_of(z, heads), rows_of(z, tails), a, b)
                                    .clamp(EPS, 1))).sum()
    degree = torch.zeros(len(z), dtype=z.dtype, device=z.device).index_add_(0, heads, weights)
    q = similarity(z[:, None, :], rows_of(z, others), a, b)  # (m, K)
    repel = negative_rate * (degree * -torch.log((1 - q).clamp(EPS, 1)).mean(1)).sum()
    return (attract + repel) / weights.sum().clamp_min(math.ulp(1.0))


def rows_of(z: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``z[index]`` (``index`` of any shape) through ``index_select``, whose gradient sums the
    rows picked more than once in a fixed order: ``z[index]``'s gradient on the CPU adds
    them in whatever order two threads reach them, and a run would not repeat itself bit for
    bit."""
    return z.index_select(0, index.reshape(-1)).view(*index.shape, z.shape[-1])


def other_rows(m: int, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(m, min(k, m - 1)) rows of m for each row, never itself: all the others in order when k
    is m - 1 or more, else k drawn at random with replacement (the global generator by
    default)."""
    if k >= m - 1:
        drawn = torch.arange(max(m - 1, 1)).expand(m, -1)
    else:
        drawn = torch.randint(m - 1, (m, k), generator=generator)
    return drawn + (drawn >= torch.arange(m)[:, None]).long()
