"""Schemas of the parts every app shares: data, optimiser, trainer, scoring, paths, tracking. The
data sources' and the trainer's are the library's settings (their one home of defaults and
range checks); the others state types and ranges, their YAML the values."""

import functools
import math
from dataclasses import dataclass
from enum import Enum
from typing import Optional

from omegaconf import MISSING

from experiments.schemas.node import node
from reducers.checks import require
from reducers.data.fetch import DownloadSettings
from reducers.data.idx import IdxSettings
from reducers.data.split import FileSettings, SplitSettings
from reducers.data.table import TableSettings
from reducers.devices import Device
from reducers.scoring import ScoreSettings
from reducers.trainer_settings import TrainerSettings

schema = functools.partial(node, module=__name__)  # the schemas live here
# the data sources' settings; each YAML option names its loader (``_target_``)
DataConfig = schema("DataConfig", SplitSettings)  # data=mnist5k, digits
FileDataConfig = schema("FileDataConfig", FileSettings)  # data=tsv
IdxDataConfig = schema("IdxDataConfig", IdxSettings)
TableDataConfig = schema("TableDataConfig", TableSettings)
DownloadDataConfig = schema("DownloadDataConfig", DownloadSettings)  # data=mnist, fashion_mnist


@dataclass
class OptimConfig:
    _target_: str = MISSING
    _partial_: bool = MISSING  # true: built later with the model's parameters
    lr: float = MISSING  # the learning rate
    weight_decay: float = MISSING  # L2 penalty on the weights (Adam's: added to the gradient)
    fused: bool = MISSING

    def __post_init__(self):
        require(math.isfinite(self.lr) and self.lr > 0, "lr", self.lr, "must be > 0")
        require(self.weight_decay >= 0, "weight_decay", self.weight_decay, "must be >= 0")


@dataclass
class AdamConfig(OptimConfig):
    pass


@dataclass
class SGDConfig(OptimConfig):
    momentum: float = MISSING  # SGD's momentum (0: plain SGD, as the blog)

    def __post_init__(self):
        super().__post_init__()
        require(0 <= self.momentum < 1, "momentum", self.momentum, "must be in [0, 1)")


@dataclass(kw_only=True)
class TrainerConfig(TrainerSettings):
    """The library's ``TrainerSettings`` (the loop's options and their defaults) and how an app
    runs it: threads, checkpoints, resuming, a validation set, the CPU's denormal mode."""

    threads: Optional[int] = None  # torch threads; null: the cores, shared among parallel jobs
    device: Device = Device.cpu  # where networks train: cpu | cuda | auto (cuda where PyTorch
    #   sees one); scoring and figures run on the CPU after training
    resume: bool = False  # continue from this run folder's checkpoint (hydra.run.dir=<run>)
    resume_from: Optional[str] = None  # with resume=true: a checkpoint file or run folder
    checkpoint_seconds: float = 30.0  # the last whole epoch goes to disk at most this often
    #   (0: every epoch), and always when the run ends, stops or fails
    val_fraction: float = 0.0  # > 0: this share of the training rows is a validation set
    flush_denormal: bool = True  # the steps flush denormal floats to zero: up to 2x faster
    #   Adam steps, same codes on the default run (false: IEEE denormals, PyTorch's default)

    def __post_init__(self):
        super().__post_init__()
        self.device = Device(self.device)  # resolved by the job, on the machine it runs on
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


@dataclass(kw_only=True)
class ScoreConfig(ScoreSettings):
    """The library's ``ScoreSettings`` and whether a run draws its figures."""
    figures: bool = True  # write the PNG figures


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
    kind: Tracker = MISSING  # which tracker: none, mlflow or tensorboard (set by tracking=)


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
