"""Which images a detector trains on and which test images are anomalies.

``one_class`` trains on one class of the train split and tests on the whole test split (every
other class is an anomaly); ``leave_one_out`` trains on every class but one, and that class is
the anomaly. ``hold_out`` keeps some normal training images away from training (the validation
images, ``trainer.val_fraction``), so that a
threshold can be fixed on images the detector never saw. ``tested_on`` replaces the test split
by another dataset (e.g. the real 10,000-image MNIST test set), as the published protocols do.
"""

from dataclasses import dataclass, replace
from enum import Enum

import numpy as np

from reducers.errors import DataError


class Protocol(str, Enum):
    one_class = "one_class"
    leave_one_out = "leave_one_out"


@dataclass
class AnomalySplit:
    x_train: np.ndarray  # normal training images only
    y_train: np.ndarray
    x_test: np.ndarray  # the whole test split
    y_test: np.ndarray
    is_anomaly: np.ndarray  # bool per test image
    description: str


def protocol_split(split, protocol: Protocol | str, cls: int) -> AnomalySplit:
    """The training images and test labels of a protocol (``cls``: the normal class of
    one_class, the anomalous class of leave_one_out)."""
    protocol = Protocol(protocol)
    classes = sorted(set(np.unique(split.y_train)) & set(np.unique(split.y_test)))
    if cls not in classes:
        key = "normal_class" if protocol is Protocol.one_class else "anomaly_class"
        raise DataError(f"anomaly.{key}={cls} is invalid: {split.name} has the classes "
                        f"{', '.join(map(str, classes))} in both splits")
    if protocol is Protocol.one_class:
        keep, is_anomaly = split.y_train == cls, split.y_test != cls
        description = f"one_class: normal {cls}, anomalies the other classes"
    else:
        keep, is_anomaly = split.y_train != cls, split.y_test == cls
        description = f"leave_one_out: anomaly {cls}, normal the other classes"
    return AnomalySplit(split.x_train[keep], split.y_train[keep], split.x_test, split.y_test,
                        is_anomaly, description)


def hold_out(part: AnomalySplit, fraction: float,
             seed: int) -> tuple[AnomalySplit, np.ndarray | None]:
    """``part`` without a random ``fraction`` of its normal training images, and those images
    (None when ``fraction`` is 0)."""
    if fraction <= 0:
        return part, None
    order = np.random.default_rng(seed).permutation(len(part.x_train))
    n_held = max(1, round(fraction * len(order)))
    kept = np.sort(order[n_held:])
    held = part.x_train[np.sort(order[:n_held])]
    return replace(part, x_train=part.x_train[kept], y_train=part.y_train[kept]), held


def _size(split) -> str:
    if split.image_shape is not None:
        return "{}x{} images".format(*split.image_shape)
    return f"rows of {split.input_dim} features"


def tested_on(split, test):
    """``split`` trained on whole (both its parts: its own test part is not needed) and tested
    on every image of ``test`` (both parts): a ``Split`` whose name says both. Refused unless
    both hold labelled images of one size."""
    if split.input_dim != test.input_dim or split.image_shape != test.image_shape:
        raise DataError(f"heldout: {test.name} holds {_size(test)}, but the detector trains "
                        f"on {_size(split)} of {split.name}: pick test data of the same size "
                        "(e.g. heldout=mnist_t10k for 28x28 digits)")
    if not test.labelled:
        raise DataError(f"heldout: {test.name} has no labels, and anomalies are told by "
                        "class: give it labels (heldout.label, heldout.labels_path, ...)")
    return replace(split, x_train=np.concatenate([split.x_train, split.x_test]),
                   y_train=np.concatenate([split.y_train, split.y_test]),
                   x_test=np.concatenate([test.x_train, test.x_test]),
                   y_test=np.concatenate([test.y_train, test.y_test]),
                   name=f"{split.name}, tested on {test.name}", rows_train=None,
                   rows_test=None)
