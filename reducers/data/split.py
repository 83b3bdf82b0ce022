"""The split object every data source returns, the settings every source splits its rows by,
and the ways to make one."""

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from reducers.checks import require, seed as check_seed
from reducers.data.rows import Rows
from reducers.errors import DataError


@dataclass(kw_only=True)
class SplitSettings:
    """What every data source is given (the command line's ``data.*``; each source adds its
    own: ``IdxSettings``, ``TableSettings``, ...), the one home of their defaults."""

    test_fraction: float = 0.2  # in (0, 1); a source with its own test part ignores it
    seed: int = 0  # the split's seed, independent of the training seed
    limit: int | None = None  # use N images (before the split); null: all

    def __post_init__(self):
        require(0 < self.test_fraction < 1, "test_fraction", self.test_fraction,
                "must be in (0, 1)")
        check_seed(self.seed)
        require(self.limit is None or self.limit >= 2, "limit", self.limit,
                "must be >= 2 or null (null: all images)")


@dataclass(kw_only=True)
class FileSettings(SplitSettings):
    path: str  # a file (tsv, table) or a folder of IDX files (idx)


@dataclass(frozen=True)
class Split:
    """Images (N, D) float32 in [0, 1] with int labels, or a feature table (scaled as
    ``scaling`` says; labels optional), in a train and a test part."""
    x_train: np.ndarray | Rows  # (N, D) float32, or rows left on disk (data.memory_map)
    y_train: np.ndarray | None  # (N,) int64; None: unlabelled
    x_test: np.ndarray | Rows  # (M, D)
    y_test: np.ndarray | None  # (M,)
    image_shape: tuple[int, int] | None  # None: features that are not an image
    name: str
    feature_names: tuple[str, ...] | None = None  # tables: the columns used
    class_names: tuple[str, ...] | None = None  # label i is class_names[i]; None: i itself
    scaling: dict | None = None  # tables: the Scaling fitted on the training split, as a dict
    load_seconds: float | None = None  # reading the file (tables)
    rows_train: np.ndarray | None = None  # (N,) each training row's place in the data as
    rows_test: np.ndarray | None = None  # loaded (a table: its row in the file, 0 = first)

    @property
    def input_dim(self) -> int:
        return self.x_train.shape[1]

    @property
    def labelled(self) -> bool:
        return self.y_train is not None

    @property
    def n_classes(self) -> int:
        if not self.labelled:
            return 0
        return int(np.unique(np.concatenate([self.y_train, self.y_test])).size)

    def summary(self) -> dict:
        out = {"name": self.name, "n_train": len(self.x_train), "n_test": len(self.x_test),
               "input_dim": self.input_dim,
               "image_shape": None if self.image_shape is None else list(self.image_shape),
               "n_classes": self.n_classes, "labelled": self.labelled}
        if self.scaling is not None:
            out["scale"] = self.scaling["kind"]
        if self.load_seconds is not None:
            out["load_seconds"] = round(self.load_seconds, 3)
        return out


def stratified_split(x: np.ndarray, y: np.ndarray, *, test_fraction: float, seed: int,
                     image_shape: tuple[int, int] | None, name: str, noun: str = "images",
                     class_names: tuple[str, ...] | None = None) -> Split:
    """Split ``x`` (N, D) and labels ``y`` stratified by class, reproducibly."""
    train, test = stratified_rows(y, test_fraction=test_fraction, seed=seed, name=name,
                                  noun=noun, class_names=class_names)
    return Split(np.ascontiguousarray(x[train], np.float32), y[train].astype(np.int64),
                 np.ascontiguousarray(x[test], np.float32), y[test].astype(np.int64),
                 image_shape, name, class_names=class_names, rows_train=train, rows_test=test)


def stratified_rows(y: np.ndarray, *, test_fraction: float, seed: int, name: str,
                    noun: str = "images", class_names: tuple[str, ...] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The rows (train, test) of a split of labels ``y`` stratified by class, reproducibly."""
    if not 0 < test_fraction < 1:
        raise DataError(f"test_fraction must be in (0, 1), got {test_fraction}")
    classes, counts = np.unique(y, return_counts=True)
    named = (lambda c: class_names[c]) if class_names else str  # noqa: E731
    if len(classes) < 2:
        raise DataError(f"{name}: a split needs at least 2 classes, found "
                        f"{[named(c) for c in classes]}")
    if counts.min() < 2:
        few = [f"{named(c)} ({n})" for c, n in zip(classes, counts) if n < 2]
        raise DataError(f"{name}: every class needs >= 2 {noun} for a stratified split; "
                        f"class {', '.join(few[:5])}{' and more' if len(few) > 5 else ''} "
                        "(raise data.limit, or drop rare classes)")
    n_test = int(np.ceil(test_fraction * len(y)))
    if not len(classes) <= n_test <= len(y) - len(classes):
        raise DataError(f"{name}: data.test_fraction={test_fraction} of {len(y)} {noun} gives "
                        f"{n_test} test {noun}, but each part needs one of each of the "
                        f"{len(classes)} classes; use more {noun} or a test_fraction near 0.5")
    from sklearn.model_selection import train_test_split  # a second to import: only when used

    train, test = train_test_split(np.arange(len(y)), test_size=test_fraction, stratify=y,
                                   random_state=seed)
    return train, test


def random_split(x: np.ndarray, *, test_fraction: float, seed: int,
                 image_shape: tuple[int, int] | None, name: str) -> Split:
    """Split unlabelled rows at random, reproducibly."""
    train, test = random_rows(len(x), test_fraction=test_fraction, seed=seed, name=name)
    return Split(np.ascontiguousarray(x[train], np.float32), None,
                 np.ascontiguousarray(x[test], np.float32), None, image_shape, name,
                 rows_train=train, rows_test=test)


def random_rows(n: int, *, test_fraction: float, seed: int, name: str
                ) -> tuple[np.ndarray, np.ndarray]:
    """The rows (train, test) of a random split of ``n`` unlabelled rows, each in file order."""
    if not 0 < test_fraction < 1:
        raise DataError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = int(np.ceil(test_fraction * n))
    if not 2 <= n_test <= n - 2:
        raise DataError(f"{name}: data.test_fraction={test_fraction} of {n} rows gives "
                        f"{n_test} test rows; each part needs >= 2: use more rows")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def stratified_subset(x: np.ndarray, y: np.ndarray, limit: int | None,
                      seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``limit`` images with the class proportions of the whole, reproducibly (for sources
    stored sorted by class, where the first N would hold one class)."""
    if limit is None or limit >= len(y):
        return x, y
    if limit < 2:
        raise DataError(f"limit must be >= 2 or null, got {limit}")
    if limit < len(np.unique(y)):
        raise DataError(f"data.limit={limit} is smaller than the number of classes "
                        f"({len(np.unique(y))}); raise data.limit")
    from sklearn.model_selection import train_test_split

    x_sub, _, y_sub, _ = train_test_split(x, y, train_size=limit, stratify=y, random_state=seed)
    return x_sub, y_sub


def check_arrays(x: np.ndarray, y: np.ndarray, name: str,
                 where: Callable[[int], str] = "image {}".format) -> None:
    """Pixels finite and in 0..255, labels non-negative integers, one label per image;
    ``where(row)`` names a bad row in the message (e.g. its line in a text file)."""
    if len(x) != len(y):
        raise DataError(f"{name}: {len(x)} images but {len(y)} labels")
    if len(x) == 0:
        raise DataError(f"{name}: no images")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise DataError(f"{name}, {where(int(np.flatnonzero(bad)[0]))}: NaN or infinite pixel")
    bad = (x < 0).any(axis=1) | (x > 255).any(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{name}, {where(row)}: pixel values must be 0-255, found "
                        f"{x[row].min():g} to {x[row].max():g}")
    bad = (~np.isfinite(y) | (y < 0) | (np.mod(y, 1) != 0)) if y.dtype.kind == "f" else y < 0
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{name}, {where(row)}: label {y[row]:g} is not a non-negative integer")


def make_split(x: np.ndarray, y: np.ndarray, settings: SplitSettings, *,
               image_shape: tuple[int, int], name: str,
               test: tuple[np.ndarray, np.ndarray] | None = None) -> Split:
    """From pixels 0..255 (N, D) and labels: the first ``settings.limit`` training images,
    then the given test split, or a stratified split of them when there is none."""
    check_arrays(x, y, name)
    if settings.limit is not None:
        x, y = x[:settings.limit], y[:settings.limit]
    if x.min() == x.max():
        raise DataError(f"{name}: every pixel of the {len(x)} images is {x.min():g} (blank "
                        "images): there is nothing to learn; check the file")
    x, y = (x / 255.0).astype(np.float32), y.astype(np.int64)
    if test is None:
        return stratified_split(x, y, test_fraction=settings.test_fraction, seed=settings.seed,
                                image_shape=image_shape, name=name)
    x_te, y_te = test
    check_arrays(x_te, y_te, f"{name} (test)")
    if x_te.shape[1] != x.shape[1]:
        raise DataError(f"{name}: train images have {x.shape[1]} pixels, test images "
                        f"{x_te.shape[1]}")
    return Split(np.ascontiguousarray(x), y, (x_te / 255.0).astype(np.float32),
                 y_te.astype(np.int64), image_shape, name)


def carve_validation(split: Split, fraction: float, seed: int) -> tuple[Split, np.ndarray]:
    """A validation set of ``fraction`` of the training rows (stratified by label when there
    are labels), and the split with the rest as its training part. The test part is untouched:
    the validation set, not the test set, is what may select an epoch."""
    if not 0 < fraction < 1:
        raise DataError(f"trainer.val_fraction={fraction} is invalid: must be in (0, 1)")
    n_val = int(np.ceil(fraction * len(split.x_train)))
    classes = len(np.unique(split.y_train)) if split.labelled else 1
    if not classes <= n_val <= len(split.x_train) - max(classes, 2):
        raise DataError(f"{split.name}: trainer.val_fraction={fraction} of {len(split.x_train)} "
                        f"training rows gives {n_val} validation rows; each part needs one of "
                        f"each of the {classes} classes (and 2 rows): change the fraction")
    from sklearn.model_selection import train_test_split

    index = np.arange(len(split.x_train))
    train, val = train_test_split(index, test_size=n_val, random_state=seed,
                                  stratify=split.y_train if split.labelled else None)
    train, val = np.sort(train), np.sort(val)
    kept = replace(split, x_train=_take(split.x_train, train),
                   y_train=split.y_train[train] if split.labelled else None,
                   rows_train=None if split.rows_train is None else split.rows_train[train])
    return kept, _take(split.x_train, val)


def _take(x, rows: np.ndarray):
    """These rows of ``x``: a copy of an array's, or, of rows on disk, still on disk."""
    return x.subset(rows) if isinstance(x, Rows) else np.ascontiguousarray(x[rows])
