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
from reducers.data.split import FileSettings, Split, random_split, stratified_split
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
    started = time.perf_counter()
    table = read_table(path, label=s.label, features=s.features, x_key=s.x_key,
                       y_key=s.y_key, labels_path=s.labels_path)
    check_features(table, path.name, s.scale)
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
    # in place: the split's arrays are its own copies (one more copy of a million rows is
    # what would tip the memory over)
    return replace(split, x_train=fitted.apply(split.x_train, out=split.x_train),
                   x_test=fitted.apply(split.x_test, out=split.x_test), feature_names=features,
                   scaling={**fitted.as_dict(), "features": list(features)},
                   load_seconds=seconds)


def _split(table: Table, s: TableSettings, name: str) -> Split:
    """The table's rows (the first ``limit``) split into train and test: stratified by label
    when there are labels, at random when not. The split's arrays are new copies."""
    x, y = table.x, table.y
    if s.limit is not None:
        x, y = x[:s.limit], None if y is None else y[:s.limit]
    if y is None:
        return random_split(x, test_fraction=s.test_fraction, seed=s.seed,
                            image_shape=table.image_shape, name=name)
    return stratified_split(x, y, test_fraction=s.test_fraction, seed=s.seed,
                            image_shape=table.image_shape, name=name, noun="rows",
                            class_names=table.class_names)


def _columns(table: Table, names: list[str], name: str) -> Table:
    """The columns a fitted scaling (a trained model) expects, in its order."""
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


def check_features(table: Table, name: str, scale: Scale = Scale.minmax) -> None:
    """Rows enough, finite features within float32 (the models compute in it), none constant;
    labels (when there are) of two classes or more."""
    x, names = table.x, table.feature_names
    if len(x) < 2:
        raise DataError(f"{name}: one data row; a map of the data needs many rows (a few "
                        "dozen at the very least)")
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        what = "missing value" if np.isnan(x[row, col]) else "infinite value"
        count = int(bad.sum())
        raise DataError(f"{name}, data row {row + 1}, column {names[col]!r}: {what} "
                        f"({count} non-finite value{'s' if count > 1 else ''} in all); fill or "
                        "drop them before training")
    _check_float32(x, names, name, scale)
    constant = [names[i] for i in np.flatnonzero(np.ptp(x, axis=0) == 0)]
    if constant:
        raise DataError(f"{name}: constant column(s) {quoted_names(constant)} carry no "
                        "information; leave them out with data.features=[...]")
    if table.y is not None and len(table.class_names) < 2:
        raise DataError(f"{name}: the labels hold one class ({table.class_names[0]!r}); label "
                        "metrics need >= 2: leave the labels out for unlabelled data")


def _check_float32(x: np.ndarray, names: tuple[str, ...], name: str, scale: Scale) -> None:
    """Values float32 holds, columns whose range it holds (the scaling divides by it) and,
    unscaled, values whose squares it holds (a squared error of them overflows)."""
    limit = float(np.finfo(np.float32).max)
    big = np.zeros((), bool) if x.dtype == np.float32 else np.abs(x) > limit  # finite: within
    if big.any():
        row, col = np.argwhere(big)[0]
        raise DataError(f"{name}, data row {row + 1}, column {names[col]!r}: {x[row, col]:g} "
                        f"is beyond float32 (+-{limit:.3g}), in which the models compute; "
                        "rescale the column (divide it, or take its log) before training")
    wide = np.flatnonzero(np.ptp(x, axis=0) > limit)
    if wide.size:
        col = wide[0]
        raise DataError(f"{name}, column {names[col]!r}: its values span {x[:, col].min():g} to "
                        f"{x[:, col].max():g}, a range beyond float32 ({limit:.3g}), so its "
                        "scaling would squash every usual value to one; rescale the column "
                        "(divide it, or take its log) before training")
    root = limit ** 0.5
    if scale is Scale.none and (np.abs(x) > root).any():
        row, col = np.argwhere(np.abs(x) > root)[0]
        raise DataError(f"{name}, data row {row + 1}, column {names[col]!r}: {x[row, col]:g} "
                        f"unscaled (data.scale=none) squares beyond float32 ({limit:.3g}) in "
                        "the loss; use data.scale=minmax or standard")
