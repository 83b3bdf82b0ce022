"""Reading a table's file into checked rows (``Table``), before any split: CSV, TSV, text,
Parquet, NPY and NPZ, each unusable input a ``DataError`` naming the file and the column, row
or array, and the fix."""

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from reducers.data.table_checks import check_npy_size, check_separator, label_text
from reducers.errors import ConfigError, DataError

TEXT_SEPARATORS = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
SUFFIXES = (*TEXT_SEPARATORS, ".parquet", ".npy", ".npz")
PARQUET_HINT = "pip install -c constraints.txt -e '.[parquet]' (or pip install pyarrow)"


@dataclass(frozen=True)
class Table:
    """A file's rows before splitting: features (N, D) float64 (float32, or a memory-mapped .npy's
    type, kept), labels (N,) int64 into ``class_names`` or None, feature names, image shape."""

    x: np.ndarray
    y: np.ndarray | None
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...] | None
    image_shape: tuple[int, int] | None = None


def read_table(path: Path, *, label: str | None = None, features: list[str] | None = None,
               x_key: str = "x", y_key: str | None = "y",
               labels_path: str | None = None, memory_map: bool = False) -> Table:
    """The rows of a table file: numeric features, labels (when there are) as class indices;
    ``memory_map``: a ``.npy``'s features stay on disk (``np.memmap``)."""
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        if label is not None:
            raise ConfigError(f"data.label names a column of a CSV, TSV or Parquet file; "
                              f"{path.name} is {suffix}: "
                              + ("use data.y_key" if suffix == ".npz" else
                                 "use data.labels_path (a .npy of labels)"))
        table = _read_npz(path, x_key, y_key) if suffix == ".npz" else \
            _read_npy(path, labels_path, memory_map)
    else:
        if labels_path is not None:
            raise ConfigError(f"data.labels_path is for .npy features; {path.name} has its "
                              "labels in a column: name it with data.label")
        frame = _read_parquet(path) if suffix == ".parquet" else \
            _read_text(path, TEXT_SEPARATORS[suffix], label)
        table = _from_frame(frame, path.name, label, features)
    if features is not None and suffix in (".npy", ".npz"):
        raise ConfigError(f"data.features selects columns of a CSV, TSV or Parquet file; "
                          f"{path.name} is {suffix}")
    return table


def _read_text(path: Path, sep: str, label: str | None = None) -> pd.DataFrame:
    """The rows of a text table; the label column read as written (a class named ``NA`` or
    ``null`` is a class, an empty cell a missing label)."""
    what = "comma" if sep == "," else "tab"
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            header = next((row for row in csv.reader(f, delimiter=sep) if row), None)
        if header is None:
            raise DataError(f"{path}: empty file; expected a header row of column names, then "
                            f"{what}-separated rows")
        seen, duplicates = set(), []
        for name in header:
            if name in seen and name not in duplicates:
                duplicates.append(name)
            seen.add(name)
        if duplicates:
            raise DataError(f"{path}, header: duplicate column name(s) "
                            f"{', '.join(map(repr, duplicates))}; every column needs its own")
        check_separator(path, header, sep)
        frame = pd.read_csv(path, sep=sep, encoding="utf-8-sig", engine="c", low_memory=False,
                            skipinitialspace=True)
        if label in header:
            frame[label] = label_text(pd.read_csv(
                path, sep=sep, encoding="utf-8-sig", usecols=[label], dtype=str,
                keep_default_na=False, na_values=[""], skipinitialspace=True)[label])
        return frame
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}); expected {what}-separated "
                        "values with a header row") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: empty file; expected a header row, then rows") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]  # e.g. "Expected 5 fields in line 7, saw 6"
        raise DataError(f"{path}: not a {what}-separated table ({detail}); every row needs as "
                        "many fields as the header") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401  (pandas would name it less clearly)
    except ImportError:
        raise ConfigError(f"reading {path.name} (Parquet) needs pyarrow, the optional extra: "
                          f"{PARQUET_HINT}") from None
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise DataError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") \
            from None
    duplicates = frame.columns[frame.columns.duplicated()].unique().tolist()
    if duplicates:
        raise DataError(f"{path}: duplicate column name(s) {', '.join(map(repr, duplicates))}")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _from_frame(frame: pd.DataFrame, name: str, label: str | None,
                features: list[str] | None) -> Table:
    columns = list(frame.columns)
    if frame.empty:
        raise DataError(f"{name}: a header ({len(columns)} columns) but no rows")
    for key, wanted in (("data.label", [] if label is None else [label]),
                        ("data.features", list(features or []))):
        unknown = [c for c in wanted if c not in columns]
        if unknown:
            raise ConfigError(f"{key}: no column {', '.join(map(repr, unknown))} in {name}; its "
                              f"columns are {quoted_names(columns)}")
    if features is not None:
        if len(features) == 0:
            raise ConfigError("data.features is empty; name at least one column, or null for "
                              "every column but the label")
        if label in features:
            raise ConfigError(f"data.features includes the label column {label!r}; leave it out")
        if len(set(features)) != len(features):
            raise ConfigError("data.features names a column twice")
    chosen = list(features) if features is not None else [c for c in columns if c != label]
    if not chosen:
        raise DataError(f"{name}: no feature columns besides the label {label!r}")
    text = [c for c in chosen if frame[c].dtype.kind not in "biuf"]
    if text:
        example = frame[text[0]].dropna()
        example = f" (e.g. {str(example.iloc[0])[:20]!r})" if len(example) else ""
        raise DataError(f"{name}: column(s) {quoted_names(text)} are not numeric{example}; "
                        "leave them out with data.features=[...], or name the class column "
                        "with data.label")
    x = frame[chosen].to_numpy(np.float64)
    y, classes = (None, None) if label is None else _labels(frame[label], name, label)
    return Table(x, y, tuple(map(str, chosen)), classes)


def _labels(column: pd.Series, name: str, label: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class indices and the class names of a label column (integers or text)."""
    missing = column.isna().to_numpy()
    if missing.any():
        raise DataError(f"{name}, data row {np.flatnonzero(missing)[0] + 1}: no label in column "
                        f"{label!r}; every row needs one")
    values = column.to_numpy()
    if values.dtype.kind == "f":
        if not np.isfinite(values).all() or (np.mod(values, 1) != 0).any():
            row = np.flatnonzero(~np.isfinite(values) | (np.mod(values, 1) != 0))[0]
            raise DataError(f"{name}, data row {row + 1}: label {values[row]:g} in column "
                            f"{label!r} is not a class (an integer or text); a continuous "
                            "target cannot label classes: leave data.label unset")
        values = values.astype(np.int64)
    elif values.dtype.kind not in "biu":
        values = values.astype(str)
    classes, y = np.unique(values, return_inverse=True)
    return y.astype(np.int64), tuple(str(c) for c in classes)


def _read_npy(path: Path, labels_path: str | None, memory_map: bool = False) -> Table:
    x = _load_array(path, memory_map)
    y = None
    if labels_path is not None:
        y_path = Path(labels_path).expanduser()
        if not y_path.is_file():
            raise DataError(f"{y_path}: no such file (data.labels_path must name a .npy of "
                            "labels)")
        y = _load_array(y_path)
    return _from_arrays(x, y, path.name, "the labels file")


def _read_npz(path: Path, x_key: str, y_key: str | None) -> Table:
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            for key, setting in ((x_key, "data.x_key"), (y_key, "data.y_key")):
                if key is not None and key not in keys:
                    extra = "; data.y_key=null for no labels" if setting == "data.y_key" else ""
                    raise DataError(f"{path}: no array {key!r} ({setting}); its arrays are "
                                    f"{quoted_names(keys)}{extra}")
            x = _checked_array(archive, x_key, path)
            y = None if y_key is None else _checked_array(archive, y_key, path)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz archive ({exc})") from None
    return _from_arrays(x, y, path.name, f"array {y_key!r}")


def _checked_array(archive, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except ValueError:  # an object array needs pickle, which we never load
        raise DataError(f"{path}: array {key!r} holds Python objects; save numbers "
                        "(np.savez with a numeric array)") from None


def _load_array(path: Path, memory_map: bool = False) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            if f.read(6) != b"\x93NUMPY":
                raise DataError(f"{path}: not a .npy file (no NumPy header); save arrays with "
                                "np.save")
            check_npy_size(f, path)
        return np.load(path, mmap_mode="r" if memory_map else None, allow_pickle=False)
    except DataError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(f"{path}: holds Python objects; save a numeric array") from None
        raise DataError(f"{path}: not a readable .npy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npy file ({exc})") from None


def _from_arrays(x: np.ndarray, y: np.ndarray | None, name: str, labels_name: str) -> Table:
    if x.dtype.kind not in "biuf":
        raise DataError(f"{name}: features of type {x.dtype}; expected numbers")
    shape = None
    if x.ndim == 3:  # (N, h, w) images
        shape = (int(x.shape[1]), int(x.shape[2]))
        x = x.reshape(len(x), -1)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(f"{name}: features of shape {x.shape}; expected (rows, features) with "
                        "at least one of each, or (rows, height, width) images")
    classes = None
    if y is not None:
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(f"{name}: {len(x)} rows but {labels_name} has shape {y.shape}; "
                            "expected one label per row")
        y, classes = _labels(pd.Series(y), name, labels_name)
    # float32 features stay as they are (the models compute in float32; a float64 copy of a
    # million rows would double the memory), memory-mapped ones stay on disk; other types are
    # checked against float32 in float64
    x = x if x.dtype == np.float32 or isinstance(x, np.memmap) else x.astype(np.float64)
    return Table(x, y, tuple(f"x{i}" for i in range(x.shape[1])), classes, shape)


def quoted_names(names: list[str], most: int = 8) -> str:
    """'a', 'b' and 3 more: column names in a message."""
    shown = ", ".join(map(repr, names[:most]))
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")
