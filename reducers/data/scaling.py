"""Feature scaling fitted on a training split and applied to any rows: to [0, 1] by the training
minimum and maximum (clipped beyond them), to zero mean and unit variance, or not at all. A
fitted ``Scaling`` travels as a plain dict (in a checkpoint) so that other rows are scaled as
the model's training rows were."""

from dataclasses import dataclass
from enum import Enum

import numpy as np


class Scale(str, Enum):
    """How features are scaled, fitted on the training split: to [0, 1] by the training
    minimum and maximum, to zero mean and unit variance, or not at all."""

    minmax = "minmax"
    standard = "standard"
    none = "none"


@dataclass(frozen=True)
class Scaling:
    """``(x - offset) / factor`` per feature, then clipped to [0, 1] for ``minmax``."""

    kind: Scale
    offset: np.ndarray  # (D,)
    factor: np.ndarray  # (D,), never 0

    @classmethod
    def fit(cls, kind: Scale | str, x_train: np.ndarray) -> "Scaling":
        """Fitted on ``x_train`` (N, D): an array, or rows on disk (``reducers.data.rows``),
        whose statistics are gathered a chunk at a time."""
        kind, d = Scale(kind), x_train.shape[1]
        on_disk = hasattr(x_train, "column_range")
        if kind is Scale.minmax:
            low, high = x_train.column_range() if on_disk else \
                (x_train.min(axis=0), x_train.max(axis=0))
            offset, factor = low, high - low
        elif kind is Scale.standard:
            offset, factor = x_train.column_moments() if on_disk else \
                (x_train.mean(axis=0, dtype=np.float64), x_train.std(axis=0, dtype=np.float64))
        else:
            offset, factor = np.zeros(d), np.ones(d)
        factor = np.where(factor > 0, factor, 1.0)  # constant in the training split: kept as 0
        return cls(kind, offset.astype(np.float64), factor.astype(np.float64))

    def apply(self, x: np.ndarray, rows: int = 65536, out: np.ndarray | None = None
              ) -> np.ndarray:
        """``x`` (N, D) scaled, as float32, computed in float64 ``rows`` rows at a time, into
        ``out`` when given (float32 (N, D), which may be ``x`` itself)."""
        out = np.empty(x.shape, np.float32) if out is None else out
        for start in range(0, len(x), rows):
            scaled = (x[start:start + rows] - self.offset) / self.factor
            if self.kind is Scale.minmax:
                np.clip(scaled, 0.0, 1.0, out=scaled)  # test values beyond the training range
            out[start:start + rows] = scaled
        return out

    def as_dict(self) -> dict:
        return {"kind": self.kind.value, "offset": self.offset.tolist(),
                "factor": self.factor.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Scaling":
        return cls(Scale(d["kind"]), np.asarray(d["offset"], np.float64),
                   np.asarray(d["factor"], np.float64))
