"""Full MNIST and Fashion-MNIST (70,000 images, the standard 60k/10k split), only on request.

IDX files already placed in ``<data_dir>/<name>/`` are used as they are; otherwise the set is
fetched once from OpenML through scikit-learn and cached under ``<data_dir>/openml``.
"""

from pathlib import Path

import numpy as np

from reducers.data.idx import find_files, load_idx
from reducers.data.split import Split, make_split
from reducers.errors import DataError

OPENML = {"mnist": "mnist_784", "fashion_mnist": "Fashion-MNIST"}
TRAIN = 60_000  # OpenML keeps the original order: the first 60,000 are the training set


def fetch(name: str, data_dir: str, test_fraction: float, seed: int,
          limit: int | None) -> Split:
    folder = Path(data_dir).expanduser() / name
    if folder.is_dir() and find_files(folder):
        return load_idx(str(folder), test_fraction, seed, limit, name=name)
    from sklearn.datasets import fetch_openml

    try:
        x, y = fetch_openml(OPENML[name], version=1, data_home=str(Path(data_dir) / "openml"),
                            as_frame=False, parser="liac-arff", return_X_y=True)
    except OSError as exc:  # no network, refused, timed out
        raise DataError(
            f"{name}: not found under {folder}/ and could not be downloaded ({exc}). Without a "
            f"network, put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
            f"t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in {folder}/") from None
    y = y.astype(np.int64)
    return make_split(x[:TRAIN], y[:TRAIN], image_shape=(28, 28), name=name,
                      test=(x[TRAIN:], y[TRAIN:]), seed=seed, limit=limit)


def load_mnist(data_dir: str = "data", test_fraction: float = 0.2, seed: int = 0,
               limit: int | None = None) -> Split:
    """MNIST; ``limit``: the first N training images, as the blog took the first 10,000."""
    return fetch("mnist", data_dir, test_fraction, seed, limit)


def load_fashion_mnist(data_dir: str = "data", test_fraction: float = 0.2, seed: int = 0,
                       limit: int | None = None) -> Split:
    """Fashion-MNIST (Zalando), same format and split as MNIST."""
    return fetch("fashion_mnist", data_dir, test_fraction, seed, limit)
