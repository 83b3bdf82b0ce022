"""The trainer's options (``reducers.trainer``), the one home of their defaults and range checks:
the command line's ``trainer.*`` keys that the loop reads."""

import math
from dataclasses import dataclass
from enum import Enum

from reducers.augment import Augment
from reducers.checks import at_least, require
from reducers.schedules import LRSchedule, Schedule


class Backward(str, Enum):
    """How gradients are taken: by the model's hand-written backward pass where it offers one
    (the AE and the VAE; autograd for any other), or always by autograd."""

    manual = "manual"
    autograd = "autograd"


@dataclass(kw_only=True)
class TrainerSettings:
    """The loop's options, the one home of their defaults (the command line's ``trainer.*``)."""

    epochs: int = 50  # passes over the training rows
    batch_size: int = 128  # rows per optimiser step
    backward: Backward = Backward.manual  # manual: the AE's and VAE's hand-written backward
    #   pass (plain SGD folded into it), about 2x faster at batch 10; autograd: PyTorch's (same
    #   loss, other rounding). Models without a hand-written one always use autograd.
    lr_schedule: LRSchedule = LRSchedule.none  # none | cosine | onecycle | step
    lr_step_epochs: int = 10  # step: the learning rate times lr_gamma every this many epochs
    lr_gamma: float = 0.5  # step: the factor
    augment_shift: float = 0.0  # images: each batch shifted at random by up to this many pixels
    augment_degrees: float = 0.0  # images: and rotated by up to this many degrees; seeded
    early_stopping: int | None = None  # with a validation set: stop after this many epochs
    #   without a lower val_loss; null: train every epoch
    restore_best: bool = False  # with a validation set: end with the lowest val_loss's weights
    test_every: int = 5  # the test set's terms go into the history every this many epochs and
    #   at the last one; 1: every epoch. Training is the same either way
    progress: bool = True  # a live progress bar on the terminal (the log: a line per epoch)

    def __post_init__(self):
        at_least(self.epochs, "epochs", 1)
        at_least(self.batch_size, "batch_size", 1)
        at_least(self.lr_step_epochs, "lr_step_epochs", 1)
        require(self.test_every >= 1, "test_every", self.test_every,
                "must be >= 1 (1: every epoch; the last epoch is always evaluated)")
        require(math.isfinite(self.lr_gamma) and 0 < self.lr_gamma <= 1, "lr_gamma",
                self.lr_gamma, "must be in (0, 1]")
        require(math.isfinite(self.augment_shift) and 0 <= self.augment_shift <= 8,
                "augment_shift", self.augment_shift, "pixels in [0, 8] (0: no shifts)")
        require(math.isfinite(self.augment_degrees) and 0 <= self.augment_degrees <= 90,
                "augment_degrees", self.augment_degrees, "degrees in [0, 90] (0: no rotations)")
        require(self.early_stopping is None or self.early_stopping >= 1, "early_stopping",
                self.early_stopping, "must be >= 1 or null")
        self.backward, self.lr_schedule = Backward(self.backward), LRSchedule(self.lr_schedule)

    def augment(self, image_shape: tuple[int, int] | None) -> Augment | None:
        """The batches' augmentation for images of ``image_shape``; None when off."""
        if image_shape is None or not (self.augment_shift > 0 or self.augment_degrees > 0):
            return None
        return Augment(tuple(image_shape), self.augment_shift, self.augment_degrees)

    def schedule(self) -> Schedule | None:
        """The learning-rate schedule, or None for ``lr_schedule=none``."""
        if self.lr_schedule is LRSchedule.none:
            return None
        return Schedule(self.lr_schedule, self.epochs, self.lr_step_epochs, self.lr_gamma)
