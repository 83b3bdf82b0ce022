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

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from reducers.checks import require
from reducers.data.scaling import Scale, Scaling
from reducers.data.rows import Rows
from reducers.data.split import (FileSettings, Split, random_rows, random_split, stratified_rows,
                                 stratified_split)
from reducers.data.table_files import SUFFIXES, Table, quoted_names, read_table
from reducers.errors import ConfigError, DataError

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class TableSettings(FileSettings):
    """A table's own settings (the command line's ``data.*`` with ``data=table``)."""

    label: str | None = None  # CSV/TSV/Parquet: the label column; null: unlabelled
    features: list[str] | None = None  # the feature columns; null: every column but the label
    x_key: str = "x"  # .npz: the features array
    y_key: str | None = "y"  # .npz: the labels array; null: unlabelled
    labels_path: str | None = None  # .npy: a .npy file of labels; null: unlabelled
    scale: Scale = Scale.minmax  # minmax | standard | none, fitted on the training split
    image_shape: list[int] | None = None  # [height, width] of flattened images; null: not ones
    memory_map: bool = False  # .npy: the rows stay on disk and are read a batch at a time (a
    #   file near the memory's size trains); the same values, a little slower per step

    def __post_init__(self):
        super().__post_init__()
        require(self.image_shape is None or (len(self.image_shape) == 2
                                             and min(self.image_shape) >= 1),
                "image_shape", self.image_shape, "must be [height, width] or null")
        self.scale = Scale(self.scale)


def load_table(path: str, *, scaling: dict | None = None, **settings) -> Split:
    """The table at ``path`` (``TableSettings``' fields) split into train and test
    (stratified by label when there are labels), scaled by ``scale`` fitted on the training
    split, or by a fitted ``scaling`` (``Scaling.as_dict()`` with the ``features`` it was
    fitted on, e.g. from the checkpoint of a model trained on other rows: those columns are
    taken, in that order)."""
    s = TableSettings(path=path, **settings)
    path = Path(path).expanduser()
    if path.suffix.lower() not in SUFFIXES:
        raise DataError(f"{path}: data=table reads {', '.join(SUFFIXES)} files; name one with "
                        "data.path (images go with data=idx or data=tsv)")
    if not path.is_file():
        raise DataError(f"{path}: no such file (data.path must name a {path.suffix} file)")
    if s.memory_map and path.suffix.lower() != ".npy":
        raise ConfigError(f"data.memory_map=true reads a .npy file's rows from disk; "
                          f"{path.name} is not one: save the features with np.save, or drop it")
    started = time.perf_counter()
    table = read_table(path, label=s.label, features=s.features, x_key=s.x_key,
                       y_key=s.y_key, labels_path=s.labels_path, memory_map=s.memory_map)
    check_features(table, path.name, s.scale, images=table.image_shape is not None
                   or s.image_shape is not None)
    seconds = time.perf_counter() - started
    log.info("%s: %d rows x %d features%s, read in %.2f s", path.name, *table.x.shape,
             "" if table.y is None else f", {len(table.class_names)} classes", seconds)
    if scaling is not None and scaling.get("features") is not None:
        table = _columns(table, scaling["features"], path.name)
    table = _with_image_shape(table, s.image_shape, path)
    split = _split(table, s, path.name)
    features = table.feature_names
    del table  # the split holds copies: the file's rows go before the scaling's arrays come
    fitted = Scaling.fit(s.scale, split.x_train) if scaling is None else \
        Scaling.from_dict(scaling)
    if fitted.offset.shape != (len(features),):
        raise DataError(f"{path.name}: {len(features)} features, but the model was trained on "
                        f"{fitted.offset.size} (its scaling was fitted on that many columns)")
    if isinstance(split.x_train, Rows):  # scaled as each batch is read
        x_train, x_test = split.x_train.scaled(fitted), split.x_test.scaled(fitted)
    else:  # in place: the split's arrays are its own copies (one more copy of a million rows
        #    is what would tip the memory over)
        x_train = fitted.apply(split.x_train, out=split.x_train)
        x_test = fitted.apply(split.x_test, out=split.x_test)
    return replace(split, x_train=x_train, x_test=x_test, feature_names=features,
                   scaling={**fitted.as_dict(), "features": list(features)},
                   load_seconds=seconds)


def _split(table: Table, s: TableSettings, name: str) -> Split:
    """The table's rows (the first ``limit``) split into train and test: stratified by label
    when there are labels, at random when not. The split's arrays are new copies."""
    x, y = table.x, table.y
    if s.limit is not None:
        x, y = x[:s.limit], None if y is None else y[:s.limit]
    if isinstance(x, np.memmap):  # the parts are lists of rows of the file
        train, test = random_rows(len(x), test_fraction=s.test_fraction, seed=s.seed,
                                  name=name) if y is None else \
            stratified_rows(y, test_fraction=s.test_fraction, seed=s.seed, name=name,
                            noun="rows", class_names=table.class_names)
        return Split(Rows(x, train), None if y is None else y[train], Rows(x, test),
                     None if y is None else y[test], table.image_shape, name,
                     class_names=table.class_names, rows_train=train, rows_test=test)
    if y is None:
        return random_split(x, test_fraction=s.test_fraction, seed=s.seed,
                            image_shape=table.image_shape, name=name)
    return stratified_split(x, y, test_fraction=s.test_fraction, seed=s.seed,
                            image_shape=table.image_shape, name=name, noun="rows",
                            class_names=table.class_names)


def _columns(table: Table, names: list[str], name: str) -> Table:
    """The columns a fitted scaling (a trained model) expects, in its order (the table itself,
    on disk where it was, when they are all of its columns in the same order)."""
    if list(names) == list(table.feature_names):
        return table
    missing = [n for n in names if n not in table.feature_names]
    if missing:
        columns = quoted_names(list(table.feature_names))
        raise DataError(f"{name} lacks the column(s) {quoted_names(missing)} that the model was "
                        f"trained on; its feature columns are {columns}")
    order = [table.feature_names.index(n) for n in names]
    return replace(table, x=table.x[:, order], feature_names=tuple(names))


def _with_image_shape(table: Table, image_shape: list[int] | None, path: Path) -> Table:
    if image_shape is None:
        return table
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 2 or shape[0] * shape[1] != table.x.shape[1]:
        raise ConfigError(f"data.image_shape={list(shape)} does not fit {path.name}'s "
                          f"{table.x.shape[1]} features; give [height, width] with height x "
                          "width = the feature count, or null")
    return replace(table, image_shape=shape)


def check_features(table: Table, name: str, scale: Scale = Scale.minmax,
                   images: bool = False) -> None:
    """Rows enough, finite features within float32 (the models compute in it), none constant
    (pixels of ``images`` may be: an image's border often is); labels (when there are) of two
    classes or more. A chunk of rows at a time: a million rows need no full-size temporaries,
    and a memory-mapped file is read once."""
    x, names = table.x, table.feature_names
    if len(x) < 2:
        raise DataError(f"{name}: one data row; a map of the data needs many rows (a few "
                        "dozen at the very least)")
    low, high = _checked_range(x, names, name)
    _check_float32(x, low, high, names, name, scale)
    constant = [] if images else [names[i] for i in np.flatnonzero(high - low == 0)]
    if constant:
        raise DataError(f"{name}: constant column(s) {quoted_names(constant)} carry no "
                        "information; leave them out with data.features=[...]")
    if table.y is not None and len(table.class_names) < 2:
        raise DataError(f"{name}: the labels hold one class ({table.class_names[0]!r}); label "
                        "metrics need >= 2: leave the labels out for unlabelled data")


def _checked_range(x: np.ndarray, names: tuple[str, ...], name: str
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Each column's minimum and maximum (float64), after a check that every value is finite
    (the first bad one named, and how many there are)."""
    rows = max(1, 2 ** 22 // x.shape[1])  # ~4 M values per chunk
    low, high = np.full(x.shape[1], np.inf), np.full(x.shape[1], -np.inf)
    for start in range(0, len(x), rows):
        chunk = x[start:start + rows]
        if chunk.dtype.kind == "f" and not np.isfinite(chunk).all():
            row, col = np.argwhere(~np.isfinite(chunk))[0]
            what = "missing value" if np.isnan(chunk[row, col]) else "infinite value"
            count = sum(int((~np.isfinite(x[i:i + rows])).sum()) for i in range(0, len(x), rows))
            raise DataError(f"{name}, data row {start + row + 1}, column {names[col]!r}: {what} "
                            f"({count} non-finite value{'s' if count > 1 else ''} in all); fill "
                            "or drop them before training")
        np.minimum(low, chunk.min(axis=0), out=low)
        np.maximum(high, chunk.max(axis=0), out=high)
    return low, high


def _check_float32(x: np.ndarray, low: np.ndarray, high: np.ndarray, names: tuple[str, ...],
                   name: str, scale: Scale) -> None:
    """Values float32 holds, columns whose range it holds (the scaling divides by it) and,
    unscaled, values whose squares it holds (a squared error of them overflows); from each
    column's range ``low`` .. ``high``, the offending row looked up only when there is one."""
    limit = float(np.finfo(np.float32).max)
    extreme = np.maximum(np.abs(low), np.abs(high))

    def first(col: int, beyond: float) -> tuple[int, float]:
        row = int(np.flatnonzero(np.abs(x[:, col]) > beyond)[0])
        return row, float(x[row, col])

    big = np.flatnonzero(extreme > limit)
    if big.size:
        row, value = first(big[0], limit)
        raise DataError(f"{name}, data row {row + 1}, column {names[big[0]]!r}: {value:g} "
                        f"is beyond float32 (+-{limit:.3g}), in which the models compute; "
                        "rescale the column (divide it, or take its log) before training")
    wide = np.flatnonzero(high - low > limit)
    if wide.size:
        col = wide[0]
        raise DataError(f"{name}, column {names[col]!r}: its values span {low[col]:g} to "
                        f"{high[col]:g}, a range beyond float32 ({limit:.3g}), so its "
                        "scaling would squash every usual value to one; rescale the column "
                        "(divide it, or take its log) before training")
    root = limit ** 0.5
    squares = np.flatnonzero(extreme > root)
    if scale is Scale.none and squares.size:
        row, value = first(squares[0], root)
        raise DataError(f"{name}, data row {row + 1}, column {names[squares[0]]!r}: {value:g} "
                        f"unscaled (data.scale=none) squares beyond float32 ({limit:.3g}) in "
                        "the loss; use data.scale=minmax or standard")
