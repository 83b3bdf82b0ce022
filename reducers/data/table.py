"""Your own data: a feature table of any width, with or without labels.

``.csv`` / ``.tsv`` / ``.txt`` (a header row; ``label`` names the label column, ``features``
the feature columns, by default every other column), ``.parquet`` (the same, with pyarrow),
``.npy`` (an (N, D) or (N, h, w) array; labels from ``labels_path``) and ``.npz`` (arrays named
``x_key`` and ``y_key``). Labels may be integers or text; without labels the split is random.

The features are scaled with a ``Scaling`` fitted on the training split only and applied to
both splits (``minmax`` maps the training range to [0, 1], where the networks' sigmoid decoders
live; test values outside it are clipped). Every unusable input is a ``DataError`` naming the
file and the column, row or array, and the fix.
"""

import csv
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from reducers.data.scaling import Scale, Scaling
from reducers.data.split import Split, random_split, stratified_split
from reducers.errors import ConfigError, DataError

TEXT_SEPARATORS = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
SUFFIXES = (*TEXT_SEPARATORS, ".parquet", ".npy", ".npz")
log = logging.getLogger(__name__)
PARQUET_HINT = "pip install -c constraints.txt -e '.[parquet]' (or pip install pyarrow)"


@dataclass(frozen=True)
class Table:
    """A file's rows before splitting: features (N, D) float64, labels (N,) int64 indices into
    ``class_names`` or None, the feature names, and the image shape when there is one."""

    x: np.ndarray
    y: np.ndarray | None
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...] | None
    image_shape: tuple[int, int] | None = None


def load_table(path: str, label: str | None = None, features: list[str] | None = None,
               x_key: str = "x", y_key: str | None = "y", labels_path: str | None = None,
               scale: Scale | str = Scale.minmax, image_shape: list[int] | None = None,
               test_fraction: float = 0.2, seed: int = 0, limit: int | None = None,
               scaling: dict | None = None) -> Split:
    """The table at ``path`` split into train and test (stratified by label when there are
    labels), scaled by ``scale`` fitted on the training split, or by a fitted ``scaling``
    (``Scaling.as_dict()`` with the ``features`` it was fitted on, e.g. from the checkpoint of a
    model trained on other rows: those columns are taken, in that order)."""
    path = Path(path).expanduser()
    if path.suffix.lower() not in SUFFIXES:
        raise DataError(f"{path}: data=table reads {', '.join(SUFFIXES)} files; name one with "
                        "data.path (images go with data=idx or data=tsv)")
    if not path.is_file():
        raise DataError(f"{path}: no such file (data.path must name a {path.suffix} file)")
    started = time.perf_counter()
    table = read_table(path, label=label, features=features, x_key=x_key, y_key=y_key,
                       labels_path=labels_path)
    seconds = time.perf_counter() - started
    log.info("%s: %d rows x %d features%s, read in %.2f s", path.name, *table.x.shape,
             "" if table.y is None else f", {len(table.class_names)} classes", seconds)
    if scaling is not None and scaling.get("features") is not None:
        table = _columns(table, scaling["features"], path.name)
    table = _with_image_shape(table, image_shape, path)
    x, y = table.x, table.y
    if limit is not None:
        x, y = x[:limit], None if y is None else y[:limit]
    name = path.name
    if y is None:
        split = random_split(x, test_fraction=test_fraction, seed=seed,
                             image_shape=table.image_shape, name=name)
    else:
        split = stratified_split(x, y, test_fraction=test_fraction, seed=seed,
                                 image_shape=table.image_shape, name=name, noun="rows",
                                 class_names=table.class_names)
    fitted = Scaling.fit(scale, split.x_train) if scaling is None else Scaling.from_dict(scaling)
    if fitted.offset.shape != (x.shape[1],):
        raise DataError(f"{name}: {x.shape[1]} features, but the model was trained on "
                        f"{fitted.offset.size} (its scaling was fitted on that many columns)")
    return replace(split, x_train=fitted.apply(split.x_train), x_test=fitted.apply(split.x_test),
                   feature_names=table.feature_names,
                   scaling={**fitted.as_dict(), "features": list(table.feature_names)},
                   load_seconds=seconds)


def _columns(table: Table, names: list[str], name: str) -> Table:
    """The columns a fitted scaling (a trained model) expects, in its order."""
    missing = [n for n in names if n not in table.feature_names]
    if missing:
        raise DataError(f"{name} lacks the column(s) {_names(missing)} that the model was "
                        f"trained on; its feature columns are {_names(list(table.feature_names))}")
    order = [table.feature_names.index(n) for n in names]
    return replace(table, x=table.x[:, order], feature_names=tuple(names))


def read_table(path: Path, *, label: str | None = None, features: list[str] | None = None,
               x_key: str = "x", y_key: str | None = "y",
               labels_path: str | None = None) -> Table:
    """The rows of a table file, checked: numeric finite features, none constant, labels
    present with at least two classes."""
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        if label is not None:
            raise ConfigError(f"data.label names a column of a CSV, TSV or Parquet file; "
                              f"{path.name} is {suffix}: "
                              + ("use data.y_key" if suffix == ".npz" else
                                 "use data.labels_path (a .npy of labels)"))
        table = _read_npz(path, x_key, y_key) if suffix == ".npz" else _read_npy(path, labels_path)
    else:
        if labels_path is not None:
            raise ConfigError(f"data.labels_path is for .npy features; {path.name} has its "
                              "labels in a column: name it with data.label")
        frame = _read_parquet(path) if suffix == ".parquet" else \
            _read_text(path, TEXT_SEPARATORS[suffix])
        table = _from_frame(frame, path.name, label, features)
    if features is not None and suffix in (".npy", ".npz"):
        raise ConfigError(f"data.features selects columns of a CSV, TSV or Parquet file; "
                          f"{path.name} is {suffix}")
    _check_features(table, path.name)
    return table


def _read_text(path: Path, sep: str) -> pd.DataFrame:
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
        return pd.read_csv(path, sep=sep, encoding="utf-8-sig", engine="c", low_memory=False,
                           skipinitialspace=True)
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
                              f"columns are {_names(columns)}")
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
        raise DataError(f"{name}: column(s) {_names(text)} are not numeric{example}; leave them "
                        "out with data.features=[...], or name the class column with data.label")
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


def _read_npy(path: Path, labels_path: str | None) -> Table:
    x = _load_array(path)
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
                                    f"{_names(keys)}{extra}")
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


def _load_array(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            if f.read(6) != b"\x93NUMPY":
                raise DataError(f"{path}: not a .npy file (no NumPy header); save arrays with "
                                "np.save")
        return np.load(path, allow_pickle=False)
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
    return Table(x.astype(np.float64), y, tuple(f"x{i}" for i in range(x.shape[1])), classes,
                 shape)


def _check_features(table: Table, name: str) -> None:
    x, names = table.x, table.feature_names
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        what = "missing value" if np.isnan(x[row, col]) else "infinite value"
        count = int(bad.sum())
        raise DataError(f"{name}, data row {row + 1}, column {names[col]!r}: {what} "
                        f"({count} non-finite value{'s' if count > 1 else ''} in all); fill or "
                        "drop them before training")
    constant = [names[i] for i in np.flatnonzero(np.ptp(x, axis=0) == 0)]
    if constant:
        raise DataError(f"{name}: constant column(s) {_names(constant)} carry no information; "
                        "leave them out with data.features=[...]")
    if table.y is not None and len(table.class_names) < 2:
        raise DataError(f"{name}: the labels hold one class ({table.class_names[0]!r}); label "
                        "metrics need >= 2: leave the labels out for unlabelled data")


def _with_image_shape(table: Table, image_shape: list[int] | None, path: Path) -> Table:
    if image_shape is None:
        return table
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 2 or shape[0] * shape[1] != table.x.shape[1]:
        raise ConfigError(f"data.image_shape={list(shape)} does not fit {path.name}'s "
                          f"{table.x.shape[1]} features; give [height, width] with height x "
                          "width = the feature count, or null")
    return replace(table, image_shape=shape)


def _names(names: list[str], most: int = 8) -> str:
    shown = ", ".join(map(repr, names[:most]))
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")
