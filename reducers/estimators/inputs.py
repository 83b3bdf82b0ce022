"""What the estimators accept, and how they scale it as the command line does.

Rows (N, D) as a NumPy array, a list of lists or a pandas DataFrame (its column names are
kept: ``feature_names_in_``), or images (N, h, w) (a conv network then works). Pixels in
``uint8`` are divided by 255, as the command line's image loaders do; any other numbers are
scaled per column by the estimator's ``scale`` (``minmax``, ``standard`` or ``none``) fitted on
the rows ``fit`` saw, as ``data=table`` scales a table. Whatever is refused is refused with
scikit-learn's own checks and error types (``ValueError`` for NaN or a wrong width,
``TypeError`` for sparse input, ``NotFittedError`` before ``fit``).
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from reducers.data.scaling import Scale, Scaling
from reducers.data.split import Split, SplitSettings, carve_validation


def fit_rows(estimator, X) -> tuple[np.ndarray, tuple[int, int] | None, Scaling]:
    """``fit``'s view of ``X``: the rows (N, D) float32 scaled, the images' (h, w) or None,
    and the scaling fitted on them (``validate_data`` records ``n_features_in_`` and the
    DataFrame's column names on ``estimator``)."""
    X, image_shape = _flattened(X)
    x = _checked(estimator, X, reset=True)
    if x.dtype == np.uint8:
        scaling = pixel_scaling(x.shape[1])
    else:
        scaling = Scaling.fit(estimator.scale, x.astype(np.float64, copy=False))
    return _scaled(scaling, x), image_shape, scaling


def validation_rows(x: np.ndarray, y, image_shape, fraction: float, trainer):
    """(training rows, validation rows or None): ``fraction`` of the rows ``x``, carved as the
    command line's ``trainer.val_fraction`` carves them (stratified by ``y`` when given; the
    data's default split seed); none without one, which ``trainer``'s early stopping needs."""
    if not fraction:
        for key in ("early_stopping", "restore_best"):
            if getattr(trainer, key):
                raise ValueError(f"trainer__{key} needs a validation set: set val_fraction "
                                 "(e.g. 0.1)")
        return x, None
    labels = None if y is None else np.unique(np.asarray(y), return_inverse=True)[1]
    whole = Split(x, labels, x[:0], None, image_shape, "X")
    kept, x_val = carve_validation(whole, fraction, SplitSettings().seed)
    return kept.x_train, x_val


def pixel_scaling(d: int) -> Scaling:
    """Pixels 0-255 to [0, 1], as the command line's image loaders read them."""
    return Scaling(Scale.none, np.zeros(d), np.full(d, 255.0))


def rows(estimator, X) -> np.ndarray:
    """``transform``'s view of ``X``: (N, D) float32, scaled as the fitted rows were; images
    must have the fitted (h, w)."""
    check_is_fitted(estimator, "model_")
    X, image_shape = _flattened(X)
    if image_shape is not None and image_shape != estimator.image_shape_:
        raise ValueError(f"X holds {image_shape[0]}x{image_shape[1]} images, but "
                         f"{type(estimator).__name__} was fitted on "
                         f"{_shape_name(estimator.image_shape_)}")
    return _scaled(estimator.scaling_, _checked(estimator, X, reset=False))


def codes_in(estimator, Z) -> np.ndarray:
    """``inverse_transform``'s codes (N, n_components) as float32."""
    check_is_fitted(estimator, "model_")
    from sklearn.utils import check_array

    z = check_array(Z, dtype=np.float32)
    if z.shape[1] != estimator.n_components:
        raise ValueError(f"Z has {z.shape[1]} columns, but {type(estimator).__name__} makes "
                         f"codes of {estimator.n_components} (n_components)")
    return z


def as_inputs(estimator, x: np.ndarray) -> np.ndarray:
    """Scaled rows (N, D) back in the inputs' units and shape (float64): what
    ``inverse_transform`` and ``sample`` return."""
    s = estimator.scaling_
    out = x.astype(np.float64) * s.factor + s.offset
    shape = estimator.image_shape_
    return out if shape is None else out.reshape(len(out), *shape)


def _flattened(X):
    """(X as rows, the images' (h, w)) for an (N, h, w) array; (X, None) for anything else."""
    if getattr(X, "ndim", None) == 3 or (isinstance(X, list) and np.ndim(X) == 3):
        X = np.asarray(X)
        return X.reshape(len(X), -1), (int(X.shape[1]), int(X.shape[2]))
    return X, None


def _checked(estimator, X, reset: bool) -> np.ndarray:
    return validate_data(estimator, X, reset=reset, dtype=[np.float64, np.float32, np.uint8],
                         ensure_min_samples=2 if reset else 1, ensure_all_finite=True)


def _scaled(scaling: Scaling, x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # said below, in one line
        out = scaling.apply(x.astype(np.float64, copy=False))  # (N, D) float32
    if not np.isfinite(out).all():  # beyond float32 once scaled (scale="none")
        raise ValueError("X holds values beyond float32 (about 3.4e38) once scaled: rescale "
                         "them, or use scale='minmax' or 'standard'")
    return out


def _shape_name(shape) -> str:
    return "rows, not images" if shape is None else f"{shape[0]}x{shape[1]} images"


def seed(random_state) -> int:
    """A torch seed from scikit-learn's ``random_state`` (an int, None or a RandomState)."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
