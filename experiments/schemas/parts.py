"""Schemas of the parts every app shares: data, optimiser, trainer, scoring, paths, tracking."""

import math
from dataclasses import dataclass
from enum import Enum
from typing import List, Optional

from omegaconf import MISSING

from reducers.checks import require, seed as check_seed
from reducers.data.scaling import Scale
from reducers.trainer import TrainerSettings


@dataclass
class DataConfig:
    _target_: str = MISSING
    test_fraction: float = MISSING
    seed: int = MISSING  # the split's seed
    limit: Optional[int] = MISSING  # use N images (before the split); null: all

    def __post_init__(self):
        require(0 < self.test_fraction < 1, "test_fraction", self.test_fraction,
                "must be in (0, 1)")
        check_seed(self.seed)
        require(self.limit is None or self.limit >= 2, "limit", self.limit,
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
                "image_shape", self.image_shape, "must be [height, width] or null")


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
        require(math.isfinite(self.lr) and self.lr > 0, "lr", self.lr, "must be > 0")
        require(self.weight_decay >= 0, "weight_decay", self.weight_decay, "must be >= 0")


@dataclass
class AdamConfig(OptimConfig):
    pass


@dataclass
class SGDConfig(OptimConfig):
    momentum: float = MISSING

    def __post_init__(self):
        super().__post_init__()
        require(0 <= self.momentum < 1, "momentum", self.momentum, "must be in [0, 1)")


@dataclass(kw_only=True)
class TrainerConfig(TrainerSettings):
    """The library's ``TrainerSettings`` (the loop's options and their defaults) and how an app
    runs it: threads, checkpoints, resuming, a validation set, the CPU's denormal mode."""

    threads: Optional[int] = None  # torch threads; null: the cores, shared among parallel jobs
    resume: bool = False  # continue from this run folder's checkpoint (hydra.run.dir=<run>)
    resume_from: Optional[str] = None  # with resume=true: a checkpoint file or run folder
    checkpoint_seconds: float = 30.0  # the last whole epoch goes to disk at most this often
    #   (0: every epoch), and always when the run ends, stops or fails
    val_fraction: float = 0.0  # > 0: this share of the training rows is a validation set
    flush_denormal: bool = True  # the steps flush denormal floats to zero: up to 2x faster
    #   Adam steps, same codes on the default run (false: IEEE denormals, PyTorch's default)

    def __post_init__(self):
        super().__post_init__()
        require(math.isfinite(self.checkpoint_seconds) and self.checkpoint_seconds >= 0,
                "checkpoint_seconds", self.checkpoint_seconds,
                "must be >= 0 (0: after every epoch)")
        require(self.resume or self.resume_from is None, "resume_from", self.resume_from,
                "is only read with {at}resume=true; add that")
        require(self.threads is None or self.threads >= 1, "threads", self.threads,
                "must be >= 1 or null (the cores, shared among parallel jobs)")
        require(0 <= self.val_fraction < 0.5, "val_fraction", self.val_fraction,
                "must be in [0, 0.5) (0: no validation set)")
        for key in ("early_stopping", "restore_best"):
            require(not getattr(self, key) or self.val_fraction > 0, key, getattr(self, key),
                    "needs a validation set: add {at}val_fraction=0.1")


@dataclass
class ScoreConfig:
    knn_k: int = MISSING
    trust_k: int = MISSING
    max_pairwise: int = MISSING  # subsample size for the quadratic metrics
    figures: bool = MISSING

    def __post_init__(self):
        for key in ("knn_k", "trust_k"):
            require(getattr(self, key) >= 1, f"{key}", getattr(self, key), "must be >= 1")
        require(self.max_pairwise >= 10, "max_pairwise", self.max_pairwise,
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
            require(value is None or bool(value.strip()), f"{key}", value,
                    "must not be empty (null for the default)")


@dataclass
class TensorBoardTrackingConfig(TrackingConfig):
    projector: bool = MISSING  # the test codes in TensorBoard's embedding projector
