"""Checks of a table's file that name what it really holds: another separator than its suffix
says, labels that look like missing values, a NumPy header that promises more than the file."""

import math
from pathlib import Path

import numpy as np
import pandas as pd

from reducers.errors import DataError


def check_separator(path: Path, header: list[str], sep: str) -> None:
    """A header of one column holding another separator: a file separated otherwise."""
    other = [c for c in (";", "\t", ",", "|") if c != sep and c in header[0]]
    if len(header) == 1 and other:
        names = {";": "semicolon", "\t": "tab", ",": "comma", "|": "bar"}
        raise DataError(f"{path}: the header is one column holding {other[0]!r}, so the file "
                        f"looks {names[other[0]]}-separated; .csv files are read "
                        "comma-separated, .tsv and .txt tab-separated: convert it (pandas: "
                        f"read_csv(path, sep={other[0]!r}).to_csv(new_path, index=False))")


def label_text(column: pd.Series) -> pd.Series:
    """A label column read as text: numbers when every label is one, else the text."""
    numbers = pd.to_numeric(column, errors="coerce")
    return numbers if numbers.notna().sum() == column.notna().sum() else column


def check_npy_size(f, path: Path) -> None:
    """The array the header describes fits in the file (a header can promise terabytes)."""
    f.seek(0)
    version = np.lib.format.read_magic(f)
    if version not in ((1, 0), (2, 0)):
        return  # np.load judges other versions itself
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
        np.lib.format.read_array_header_2_0
    shape, _, dtype = read(f)
    if dtype.hasobject:
        return  # refused as Python objects
    needed = math.prod(shape) * dtype.itemsize
    held = path.stat().st_size - f.tell()
    if needed > held:
        raise DataError(f"{path}: its header describes a {'x'.join(map(str, shape))} array of "
                        f"{dtype} ({needed:,} bytes) but the file holds {held:,} bytes after "
                        "it: truncated, or not written by np.save")
