"""Full MNIST and Fashion-MNIST (70,000 images, the standard 60k/10k split), only on request.

IDX files already placed in ``<data_dir>/<name>/`` are used as they are; otherwise the set is
fetched once from OpenML through scikit-learn and cached under ``<data_dir>/openml``.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from reducers.data.idx import find_files, load_idx
from reducers.data.split import Split, SplitSettings, make_split
from reducers.errors import DataError

OPENML = {"mnist": "mnist_784", "fashion_mnist": "Fashion-MNIST"}
TRAIN = 60_000  # OpenML keeps the original order: the first 60,000 are the training set


@dataclass(kw_only=True)
class DownloadSettings(SplitSettings):
    data_dir: str = "data"  # IDX files in <data_dir>/<name>/, or the download cache


def fetch(name: str, settings: DownloadSettings) -> Split:
    data_dir = settings.data_dir
    folder = Path(data_dir).expanduser() / name
    split = {k: v for k, v in asdict(settings).items() if k != "data_dir"}
    if folder.is_dir() and find_files(folder):
        return load_idx(str(folder), name=name, **split)
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
    return make_split(x[:TRAIN], y[:TRAIN], settings, image_shape=(28, 28), name=name,
                      test=(x[TRAIN:], y[TRAIN:]))


def load_mnist(**settings) -> Split:
    """MNIST; ``DownloadSettings``' fields; ``limit``: the first N training images, as the blog
    took the first 10,000."""
    return fetch("mnist", DownloadSettings(**settings))


def load_fashion_mnist(**settings) -> Split:
    """Fashion-MNIST (Zalando), same format and split as MNIST."""
    return fetch("fashion_mnist", DownloadSettings(**settings))
