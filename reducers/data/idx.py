"""IDX files (the MNIST distribution format), plain or gzip-compressed, any image size.

Layout: two zero bytes, a type code, the number of dimensions n, n big-endian uint32 sizes,
then the values big-endian in C order. Images are (N, rows, cols), labels (N,).
"""

import gzip
import math
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reducers.data.split import FileSettings, Split, make_split
from reducers.errors import DataError

DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
# train-images-idx3-ubyte(.gz), also spelt train-images.idx3-ubyte; t10k- for the test split
PATTERN = re.compile(r"^(train|t10k)-(images|labels)[.-]idx([13])-ubyte(\.gz)?$")


def read_bytes(path: Path) -> bytes:
    """A file's bytes, gunzipped when they are gzip (by content, not by name)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt or truncated gzip ({exc})") from None


def parse_idx(data: bytes, name: str) -> np.ndarray:
    """Decode one IDX payload; any malformation is a DataError naming ``name``."""
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in DTYPES:
        raise DataError(f"{name}: not an IDX file (bad magic number {data[:4].hex() or 'none'};"
                        " expected 00 00, a type code among 08 09 0b 0c 0d 0e, and a rank)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DataError(f"{name}: IDX header truncated or of rank 0 (rank {ndim})")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = np.dtype(DTYPES[data[2]])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow on absurd sizes
    if len(data) - header != expected:
        raise DataError(f"{name}: dimensions {shape} need {expected} bytes of data, the file "
                        f"has {len(data) - header} (truncated or not this shape)")
    return np.frombuffer(data, dtype, offset=header).reshape(shape)


def read_idx(path: str | Path) -> np.ndarray:
    path = Path(path)
    return parse_idx(read_bytes(path), str(path))


def find_files(folder: Path) -> dict[tuple[str, str], Path]:
    """{("train"|"t10k", "images"|"labels"): path} for the IDX files in ``folder``."""
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (data.path must be a folder of IDX files)")
    found = {}
    for path in sorted(folder.iterdir()):
        match = PATTERN.match(path.name)
        if match:
            found.setdefault((match[1], match[2]), path)  # prefer the name sorted first
    return found


def _pair(files: dict, split: str) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    images, labels = read_idx(files[split, "images"]), read_idx(files[split, "labels"])
    where = f"{files[split, 'images'].parent}/{split}-*"
    if images.ndim != 3:
        raise DataError(f"{files[split, 'images']}: images must have 3 dimensions "
                        f"(count, rows, cols), found shape {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"{files[split, 'labels']}: labels must have 1 dimension, "
                        f"found shape {labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"{where}: {len(images)} images but {len(labels)} labels")
    if len(images) == 0 or images.shape[1] * images.shape[2] == 0:
        raise DataError(f"{files[split, 'images']}: no images (shape {images.shape}); expected "
                        "(count, rows, cols) with each at least 1")
    return images.reshape(len(images), -1).astype(np.float64), labels, images.shape[1:]


@dataclass(kw_only=True)
class IdxSettings(FileSettings):
    name: str = "idx"  # what records and tables call it


def load_idx(path: str, **settings) -> Split:
    """A folder with train-*/t10k-* IDX files (``IdxSettings``' fields). With both splits,
    train/test come from the files (``limit``: the first N training images); with one, it is
    split like the default."""
    s = IdxSettings(path=path, **settings)
    folder = Path(path).expanduser()
    files = find_files(folder)
    splits = [s for s in ("train", "t10k") if (s, "images") in files and (s, "labels") in files]
    if not splits:
        raise DataError(f"{folder}: no IDX image+label pair (expected e.g. "
                        "train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz, or t10k-...)")
    x, y, shape = _pair(files, splits[0])
    test = None
    if len(splits) == 2:
        x_te, y_te, shape_te = _pair(files, "t10k")
        if shape_te != shape:
            raise DataError(f"{folder}: train images are {shape}, test images {shape_te}")
        test = (x_te, y_te)
    return make_split(x, y, s, image_shape=tuple(shape), name=s.name, test=test)
