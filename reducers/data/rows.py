"""Rows that stay on disk: a memory-mapped ``.npy`` file's rows of one part of a split (train or
test), scaled to float32 as they are read. What a split holds with ``data.memory_map=true``, so
that a file as large as half the machine's memory trains: the trainer gathers each batch's rows
from the file, encoding and scoring read them a batch at a time, and nothing holds all of them.

It reads like a float32 array where the apps read one: ``len``, ``shape``, ``rows[i]`` for an
integer array, a slice or a tensor of row numbers (an array of those rows, scaled), and
``numpy()`` for all of them at once (what a neighbour graph or a baseline needs). The values are
those of the in-memory split to the last bit: the same ``Scaling.apply`` of the same rows.
"""

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch

from reducers.data.scaling import Scaling

CHUNK = 65536  # rows per read when going through all of them


@dataclass(frozen=True, eq=False)
class Rows:
    source: np.ndarray  # (N, D) the whole file's rows, memory-mapped, in the file's type
    index: np.ndarray  # (n,) int64: this part's rows in the file, in the part's order
    scaling: Scaling | None = None  # None: the values as float32

    dtype = np.dtype(np.float32)
    ndim = 2

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.index), self.source.shape[1]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, torch.Tensor):
            key = key.numpy()
        picked = self.index[key]
        rows = self.source[np.atleast_1d(picked)]  # a copy of just these rows, from the file
        rows = rows.astype(np.float32) if self.scaling is None else self.scaling.apply(rows)
        return rows[0] if np.ndim(picked) == 0 else rows

    def chunks(self, rows: int = CHUNK) -> Iterator[np.ndarray]:
        """Every row in order, ``rows`` at a time, scaled."""
        for start in range(0, len(self), rows):
            yield self[start:start + rows]

    def numpy(self) -> np.ndarray:
        """All of them in one float32 array (in memory)."""
        out = np.empty(self.shape, np.float32)
        for start, chunk in zip(range(0, len(self), CHUNK), self.chunks()):
            out[start:start + len(chunk)] = chunk
        return out

    def subset(self, rows: np.ndarray) -> "Rows":
        """These (of this part's) rows, still on disk."""
        return replace(self, index=self.index[rows])

    def scaled(self, scaling: Scaling) -> "Rows":
        return replace(self, scaling=scaling)

    def _unscaled_chunks(self) -> Iterator[np.ndarray]:
        """Every row as the file holds it, ``CHUNK`` at a time, each chunk read in file order
        (for statistics, which the order does not change)."""
        for start in range(0, len(self), CHUNK):
            yield self.source[np.sort(self.index[start:start + CHUNK])]

    def column_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Each column's minimum and maximum (unscaled), in one pass of the file's rows."""
        low, high = np.full(self.shape[1], np.inf), np.full(self.shape[1], -np.inf)
        for rows in self._unscaled_chunks():
            np.minimum(low, rows.min(axis=0), out=low)
            np.maximum(high, rows.max(axis=0), out=high)
        return low, high

    def column_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Each column's mean and standard deviation (unscaled), in two passes."""
        mean = sum(rows.sum(axis=0, dtype=float) for rows in self._unscaled_chunks()) / len(self)
        squares = sum(((rows - mean) ** 2).sum(axis=0) for rows in self._unscaled_chunks())
        return mean, np.sqrt(squares / len(self))


def as_tensor(x) -> "torch.Tensor | Rows":
    """What the trainer and the encoders take: a tensor sharing an array's memory, or the
    on-disk rows themselves (read a batch at a time)."""
    return x if isinstance(x, Rows) else torch.from_numpy(x)


def into_memory(split):
    """``split`` with rows on disk read into arrays (for the parts that need every row at
    once: anomaly protocols, held-out sets, baselines)."""
    if not isinstance(split.x_train, Rows):
        return split
    return replace(split, x_train=split.x_train.numpy(), x_test=split.x_test.numpy())
