"""The nearest rows of every training row, for the neighbour-embedding graphs: exact, or
approximate where exact search stops paying.

Exact search (scikit-learn's brute force) costs N^2 D: 0.3 s for the 4,000 default digits,
85 s for 70,000 and days for a million rows. Approximate search is pynndescent's NN-descent
(Dong, Charikar and Li 2011), the search umap-learn builds its graphs on, with umap-learn's
settings: 4.4 s for 70,000 digits at 15 neighbours (38.6 s at t-SNE's 91), finding 0.99 of the
exact neighbours, plus about 25 s once per process to compile it (numba).
``Neighbours.auto`` (the default) searches exactly up to ``EXACT_UP_TO`` rows, where the two
cost about the same with the compilation counted, and approximately above where pynndescent
is installed (the ``[umap]`` extra). ``python -m experiments.benchmark_graphs`` measures both.
"""

import logging
from enum import Enum

import numpy as np

log = logging.getLogger(__name__)
EXACT_UP_TO = 40_000  # rows: above, auto searches approximately (the measured crossing)


class Neighbours(str, Enum):
    """How the nearest rows are found: ``exact``, ``approximate`` (pynndescent) or ``auto``
    (exact up to ``EXACT_UP_TO`` rows)."""

    auto = "auto"
    exact = "exact"
    approximate = "approximate"


def nearest(x: np.ndarray, k: int, how: Neighbours = Neighbours.auto, *, with_self: bool,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances and indices (n, k) of the ``k`` nearest rows of each row of ``x``
    (n, D), nearest first; ``with_self``: each row is its own first neighbour (as umap-learn
    counts them), else it is left out. ``seed``: the approximate search's (fixed by default:
    the graph is the data's, the same for every seed of a run)."""
    if resolve(how, len(x)) is Neighbours.exact:
        if Neighbours(how) is Neighbours.auto and len(x) > EXACT_UP_TO:
            log.warning("exact nearest neighbours of %d rows: slow (pynndescent searches "
                        "approximately: pip install pynndescent)", len(x))
        from sklearn.neighbors import NearestNeighbors  # slow to import: where it is used

        distances, indices = NearestNeighbors(n_neighbors=k - with_self).fit(x).kneighbors()
        if with_self:  # at distance 0 exactly: scikit-learn's own is a rounding error, 1e-7
            distances, indices = _with_self(distances, indices)
        return distances, indices
    return _approximate(x, k, with_self, seed)


def resolve(how: Neighbours, n: int) -> Neighbours:
    """``exact`` or ``approximate`` for ``n`` rows (auto: exact where pynndescent is not
    installed)."""
    how = Neighbours(how)
    if how is Neighbours.auto:
        return Neighbours.approximate if n > EXACT_UP_TO and has_pynndescent() \
            else Neighbours.exact
    return how


def has_pynndescent() -> bool:
    from importlib.util import find_spec

    return find_spec("pynndescent") is not None


def _approximate(x: np.ndarray, k: int, with_self: bool,
                 seed: int) -> tuple[np.ndarray, np.ndarray]:
    """pynndescent's graph of ``x`` with umap-learn's settings, in the exact search's form."""
    from pynndescent import NNDescent

    n = len(x)
    wanted = k if with_self else k + 1  # its graph counts each row as its own neighbour
    index = NNDescent(np.ascontiguousarray(x, dtype=np.float32), n_neighbors=wanted,
                      metric="euclidean", random_state=seed, low_memory=True,
                      n_trees=min(64, 5 + int(round(n ** 0.5 / 20))),
                      n_iters=max(5, int(round(np.log2(n)))), max_candidates=60)
    indices, distances = index.neighbor_graph
    distances, indices = _others(distances.astype(np.float64), indices.astype(np.int64))
    return _with_self(distances, indices) if with_self else (distances, indices)


def _others(distances: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k - 1 nearest other rows, in order, from a graph (n, k) that counts a row
    among its own neighbours: an approximate one may miss it, or put a duplicate of it first
    (then the farthest is dropped)."""
    others = indices != np.arange(len(indices))[:, None]
    order = np.argsort(~others, axis=1, kind="stable")[:, :indices.shape[1] - 1]
    return np.take_along_axis(distances, order, 1), np.take_along_axis(indices, order, 1)


def _with_self(distances: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row itself, at distance 0, before its nearest other rows."""
    n = len(indices)
    return (np.hstack([np.zeros((n, 1)), distances]),
            np.hstack([np.arange(n)[:, None], indices]))
