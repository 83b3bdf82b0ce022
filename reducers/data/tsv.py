"""The blog's text format: per line, D pixel values 0-255 then the label, tab-separated;
blank lines and lines starting with '#' are skipped. D must be a square (784 = 28 x 28)."""

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from reducers.data.idx import read_bytes
from reducers.data.split import FileSettings, Split, check_arrays, make_split
from reducers.errors import DataError


def parse_tsv(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """(pixels (N, D) float64, labels (N,) float64, image shape); DataError names the line."""
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: not UTF-8 text (byte {exc.start}); expected tab-separated "
                        "numbers") from None
    numbered = [(i, line.strip(" \r")) for i, line in enumerate(lines, 1)  # tabs are fields
                if line.strip() and not line.lstrip().startswith("#")]
    if not numbered:
        raise DataError(f"{name}: no data lines (only blanks or # comments)")
    fields = numbered[0][1].count("\t") + 1
    for lineno, line in numbered:
        if line.count("\t") + 1 != fields:
            raise DataError(f"{name}, line {lineno}: {line.count(chr(9)) + 1} fields, but line "
                            f"{numbered[0][0]} has {fields}; every line needs the same count")
    pixels = fields - 1
    side = math.isqrt(pixels)
    if pixels < 1 or side * side != pixels:
        raise DataError(f"{name}, line {numbered[0][0]}: {pixels} pixel values per line is not "
                        "a square image (784 = 28 x 28 for MNIST) followed by the label")
    table = _numbers("\n".join(line for _, line in numbered), numbered, name)
    check_arrays(table[:, :-1], table[:, -1], name, where=lambda row: f"line {numbered[row][0]}")
    return table[:, :-1], table[:, -1], (side, side)


def _numbers(text: str, numbered: list[tuple[int, str]], name: str) -> np.ndarray:
    try:
        return pd.read_csv(io.StringIO(text), sep="\t", header=None, dtype=np.float64,
                           engine="c", na_filter=True).to_numpy()
    except (ValueError, pd.errors.ParserError):  # find the culprit only on this slow path
        for lineno, line in numbered:
            for column, field in enumerate(line.split("\t"), 1):
                try:
                    float(field)
                except ValueError:
                    raise DataError(f"{name}, line {lineno}, field {column}: {field[:20]!r} "
                                    "is not a number") from None
        raise DataError(f"{name}: could not parse as tab-separated numbers") from None


def load_tsv(path: str, **settings) -> Split:
    """The blog's TSV file (``FileSettings``' fields); ``limit``: the first N images (the blog
    used the first 10,000)."""
    s = FileSettings(path=path, **settings)
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: no such file (data.path must name a .tsv/.txt file)")
    x, y, shape = parse_tsv(read_bytes(path), str(path))
    return make_split(x, y, s, image_shape=shape, name=path.name)
