"""Schemas of the parts every app shares: data, optimiser, trainer, scoring, paths, tracking."""

import math
from dataclasses import dataclass
from enum import Enum
from typing import List, Optional

from omegaconf import MISSING

from experiments.schemas.checks import check_seed, require
from reducers.augment import Augment
from reducers.data.scaling import Scale
from reducers.engine import Backward
from reducers.schedules import LRSchedule, Schedule


@dataclass
class DataConfig:
    _target_: str = MISSING
    test_fraction: float = MISSING
    seed: int = MISSING  # the split's seed
    limit: Optional[int] = MISSING  # use N images (before the split); null: all

    def __post_init__(self):
        require(0 < self.test_fraction < 1, "data.test_fraction", self.test_fraction,
                "must be in (0, 1)")
        check_seed(self.seed, "data.seed")
        require(self.limit is None or self.limit >= 2, "data.limit", self.limit,
                "must be >= 2 or null (null: all images)")


@dataclass
class FileDataConfig(DataConfig):
    path: str = MISSING  # a file (tsv) or a folder of IDX files (idx)


@dataclass
class IdxDataConfig(FileDataConfig):
    name: str = MISSING  # what records and tables call it


@dataclass
class TableDataConfig(FileDataConfig):
    label: Optional[str] = MISSING  # the label column (CSV/TSV/Parquet); null: unlabelled
    features: Optional[List[str]] = MISSING  # the feature columns; null: all but the label
    x_key: str = MISSING  # .npz: the features array
    y_key: Optional[str] = MISSING  # .npz: the labels array; null: unlabelled
    labels_path: Optional[str] = MISSING  # .npy: a .npy of labels; null: unlabelled
    scale: Scale = MISSING  # fitted on the training split
    image_shape: Optional[List[int]] = MISSING  # [h, w] of flattened images; null: not images

    def __post_init__(self):
        super().__post_init__()
        require(self.image_shape is None or (len(self.image_shape) == 2
                                             and min(self.image_shape) >= 1),
                "data.image_shape", self.image_shape, "must be [height, width] or null")


@dataclass
class DownloadDataConfig(DataConfig):
    data_dir: str = MISSING  # IDX files in <data_dir>/<name>/, or the download cache


@dataclass
class OptimConfig:
    _target_: str = MISSING
    _partial_: bool = MISSING  # true: built later with the model's parameters
    lr: float = MISSING
    weight_decay: float = MISSING
    fused: bool = MISSING

    def __post_init__(self):
        require(math.isfinite(self.lr) and self.lr > 0, "optim.lr", self.lr, "must be > 0")
        require(self.weight_decay >= 0, "optim.weight_decay", self.weight_decay, "must be >= 0")


@dataclass
class AdamConfig(OptimConfig):
    pass


@dataclass
class SGDConfig(OptimConfig):
    momentum: float = MISSING

    def __post_init__(self):
        super().__post_init__()
        require(0 <= self.momentum < 1, "optim.momentum", self.momentum, "must be in [0, 1)")


@dataclass
class TrainerConfig:
    epochs: int = MISSING
    batch_size: int = MISSING
    threads: Optional[int] = MISSING  # torch threads; null: cores shared among parallel jobs
    progress: bool = MISSING  # the live progress bar on a terminal
    resume: bool = MISSING  # continue from the run folder's checkpoint (or resume_from)
    resume_from: Optional[str] = MISSING  # a checkpoint file or a run folder to continue from
    checkpoint_seconds: float = MISSING  # write the last whole epoch at most this often
    backward: Backward = MISSING  # hand-written for the AE and VAE, or autograd
    val_fraction: float = MISSING  # > 0: a validation set carved from the training rows
    early_stopping: Optional[int] = MISSING  # patience in epochs; null: train every epoch
    restore_best: bool = MISSING  # end with the weights of the lowest validation loss
    lr_schedule: LRSchedule = MISSING  # of the optimiser's learning rate, step by step
    lr_step_epochs: int = MISSING  # step: every this many epochs
    lr_gamma: float = MISSING  # step: times this
    augment_shift: float = MISSING  # images: random shifts of up to this many pixels
    augment_degrees: float = MISSING  # images: random rotations of up to this many degrees
    test_every: int = MISSING  # test-set terms in the history every this many epochs
    flush_denormal: bool = MISSING  # the steps flush denormal floats to zero

    def schedule(self) -> Schedule | None:
        """The engine's ``lr_factor``, or None for ``lr_schedule=none``."""
        if self.lr_schedule is LRSchedule.none:
            return None
        return Schedule(self.lr_schedule, self.epochs, self.lr_step_epochs, self.lr_gamma)

    def augment(self, image_shape: tuple[int, int] | None) -> Augment | None:
        """The engine's ``augment`` for images of ``image_shape``; None when off."""
        if image_shape is None or not (self.augment_shift > 0 or self.augment_degrees > 0):
            return None
        return Augment(tuple(image_shape), self.augment_shift, self.augment_degrees)

    def __post_init__(self):
        require(math.isfinite(self.checkpoint_seconds) and self.checkpoint_seconds >= 0,
                "trainer.checkpoint_seconds", self.checkpoint_seconds,
                "must be >= 0 (0: after every epoch)")
        require(self.resume or self.resume_from is None, "trainer.resume_from",
                self.resume_from, "is only read with trainer.resume=true; add that")
        require(self.epochs >= 1, "trainer.epochs", self.epochs, "must be >= 1")
        require(self.batch_size >= 1, "trainer.batch_size", self.batch_size, "must be >= 1")
        require(self.threads is None or self.threads >= 1, "trainer.threads", self.threads,
                "must be >= 1 or null (the cores, shared among parallel jobs)")
        require(self.test_every >= 1, "trainer.test_every", self.test_every,
                "must be >= 1 (1: every epoch; the last epoch is always evaluated)")
        require(self.lr_step_epochs >= 1, "trainer.lr_step_epochs", self.lr_step_epochs,
                "must be >= 1")
        require(0 <= self.val_fraction < 0.5, "trainer.val_fraction", self.val_fraction,
                "must be in [0, 0.5) (0: no validation set)")
        for key in ("early_stopping", "restore_best"):
            require(not getattr(self, key) or self.val_fraction > 0, f"trainer.{key}",
                    getattr(self, key), "needs a validation set: add trainer.val_fraction=0.1")
        require(self.early_stopping is None or self.early_stopping >= 1,
                "trainer.early_stopping", self.early_stopping, "must be >= 1 or null")
        require(math.isfinite(self.lr_gamma) and 0 < self.lr_gamma <= 1, "trainer.lr_gamma",
                self.lr_gamma, "must be in (0, 1]")
        require(math.isfinite(self.augment_shift) and 0 <= self.augment_shift <= 8,
                "trainer.augment_shift", self.augment_shift, "pixels in [0, 8] (0: no shifts)")
        require(math.isfinite(self.augment_degrees) and 0 <= self.augment_degrees <= 90,
                "trainer.augment_degrees", self.augment_degrees,
                "degrees in [0, 90] (0: no rotations)")


@dataclass
class ScoreConfig:
    knn_k: int = MISSING
    trust_k: int = MISSING
    max_pairwise: int = MISSING  # subsample size for the quadratic metrics
    figures: bool = MISSING

    def __post_init__(self):
        for key in ("knn_k", "trust_k"):
            require(getattr(self, key) >= 1, f"score.{key}", getattr(self, key), "must be >= 1")
        require(self.max_pairwise >= 10, "score.max_pairwise", self.max_pairwise,
                "must be >= 10")


@dataclass
class PathsConfig:
    output_root: str = MISSING
    data_dir: str = MISSING


class Tracker(str, Enum):
    none = "none"
    mlflow = "mlflow"
    tensorboard = "tensorboard"


@dataclass
class TrackingConfig:
    """``tracking=none|mlflow|tensorboard`` (experiments.tracking)."""
    kind: Tracker = MISSING


@dataclass
class MLflowTrackingConfig(TrackingConfig):
    uri: Optional[str] = MISSING  # null: a local sqlite store under paths.output_root
    experiment: Optional[str] = MISSING  # null: the app's name (train)
    checkpoint: bool = MISSING  # log checkpoint.pt as an artifact too

    def __post_init__(self):
        for key in ("uri", "experiment"):
            value = getattr(self, key)
            require(value is None or bool(value.strip()), f"tracking.{key}", value,
                    "must not be empty (null for the default)")


@dataclass
class TensorBoardTrackingConfig(TrackingConfig):
    projector: bool = MISSING  # the test codes in TensorBoard's embedding projector
