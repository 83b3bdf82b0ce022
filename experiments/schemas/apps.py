"""The root schemas of the three apps: ``train``, ``anomaly`` and ``embed``."""

from dataclasses import dataclass
from enum import Enum
from typing import Any, Optional

from omegaconf import MISSING

from experiments.schemas.checks import metric_and_direction
from experiments.schemas.parts import (OptimConfig, PathsConfig, ScoreConfig, TrackingConfig,
                                       TrainerConfig)
from reducers.anomaly.metrics import DIRECTION as DETECTION_DIRECTION
from reducers.anomaly.protocols import Protocol
from reducers.anomaly.settings import DetectorSettings
from reducers.checks import require, seed as check_seed
from reducers.data.split import SplitSettings
from reducers.scoring import DIRECTION


class Direction(str, Enum):
    maximize = "maximize"
    minimize = "minimize"


@dataclass
class CompareConfig:
    sort_by: str = MISSING  # the metric comparison.md is sorted by (checked by TrainConfig)


@dataclass
class TrainConfig:
    """``python -m experiments.train``: train (or fit) one reducer, score it on held-out data."""
    model: Any = MISSING  # a network's or a baseline's settings (schemas.models)
    data: SplitSettings = MISSING  # any source's settings (schemas.parts)
    optim: OptimConfig = MISSING
    trainer: TrainerConfig = MISSING
    score: ScoreConfig = MISSING
    paths: PathsConfig = MISSING
    compare: CompareConfig = MISSING
    heldout: Optional[SplitSettings] = MISSING  # a held-out test set, scored whole; null: none
    tracking: TrackingConfig = MISSING  # experiments.tracking
    seed: int = MISSING
    optimized_metric: str = MISSING  # what each run returns to the sweeper
    optimized_direction: Direction = MISSING

    def __post_init__(self):
        check_seed(self.seed)
        metric_and_direction(self.optimized_metric, self.optimized_direction, DIRECTION)
        require(self.compare.sort_by in DIRECTION, "compare.sort_by", self.compare.sort_by,
                f"one of {', '.join(DIRECTION)}")  # after optimized_metric: its default


@dataclass
class EmbedConfig:
    """``python -m experiments.embed``: a trained model's codes for a dataset."""
    checkpoint: str = MISSING  # a checkpoint.pt, or the run folder holding one
    data: SplitSettings = MISSING  # any source's settings (schemas.parts)
    score: ScoreConfig = MISSING
    paths: PathsConfig = MISSING
    seed: int = MISSING

    def __post_init__(self):
        check_seed(self.seed)


@dataclass
class AnomalySettings:
    protocol: Protocol = MISSING
    normal_class: int = MISSING  # one_class: the class trained on
    anomaly_class: int = MISSING  # leave_one_out: the class left out
    threshold_quantile: float = MISSING  # of the normal training scores
    figures: bool = MISSING  # write each run's figures (scores.png, roc.png, ...)

    def __post_init__(self):
        require(0 < self.threshold_quantile < 1, "threshold_quantile",
                self.threshold_quantile, "must be in (0, 1)")


@dataclass
class AnomalyConfig:
    """``python -m experiments.anomaly``: train a detector on normal images, score the test."""
    detector: DetectorSettings = MISSING
    data: SplitSettings = MISSING  # any source's settings (schemas.parts)
    heldout: Optional[SplitSettings] = MISSING  # a held-out test set; null: the test split
    optim: OptimConfig = MISSING
    trainer: TrainerConfig = MISSING
    anomaly: AnomalySettings = MISSING
    paths: PathsConfig = MISSING
    seed: int = MISSING
    optimized_metric: str = MISSING
    optimized_direction: Direction = MISSING

    def __post_init__(self):
        check_seed(self.seed)
        metric_and_direction(self.optimized_metric, self.optimized_direction,
                             DETECTION_DIRECTION)
        require(not self.trainer.resume, "trainer.resume", self.trainer.resume,
                "experiments.anomaly does not resume (its runs are short): rerun instead")
        for key in ("early_stopping", "restore_best"):
            require(not getattr(self.trainer, key), f"trainer.{key}",
                    getattr(self.trainer, key), "experiments.anomaly trains every epoch (its "
                    "validation images set the threshold): leave it out")
