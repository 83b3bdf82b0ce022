"""The root schemas of the three apps: ``train``, ``anomaly`` and ``embed``."""

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from experiments.schemas.checks import metric_and_direction, names
from experiments.schemas.parts import (OptimConfig, PathsConfig, ScoreConfig, TrackingConfig,
                                       TrainerConfig)
from reducers.anomaly.metrics import DIRECTION as DETECTION_DIRECTION
from reducers.anomaly.protocols import Protocol
from reducers.anomaly.settings import DetectorSettings
from reducers.checks import require, seed as check_seed
from reducers.data.split import SplitSettings
from reducers.scoring import DIRECTION

METRICS, DIRECTIONS = "str or list of str", "maximize \\| minimize, or a list of them"


def either(shown: str):
    """A key that takes one value or a list (a type OmegaConf cannot hold, so ``Any``, checked
    by the app's ``__post_init__``); ``shown``: its type in the configuration reference."""
    return field(default=MISSING, metadata={"shown": shown})


@dataclass
class CompareConfig:
    sort_by: Any = either(METRICS)  # the metric comparison.md is sorted by (a list: its first)


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
    optimized_metric: Any = either(METRICS)  # what each run returns to the sweeper (list: several)
    optimized_direction: Any = either(DIRECTIONS)  # one per metric, each agreeing with its own

    def __post_init__(self):
        check_seed(self.seed)
        metric_and_direction(self.optimized_metric, self.optimized_direction, DIRECTION)
        for name in names(self.compare.sort_by):  # after optimized_metric: its default
            require(name in DIRECTION, "compare.sort_by", name,
                    f"one of {', '.join(DIRECTION)}")


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
    optimized_metric: Any = either(METRICS)  # what each run returns to the sweeper (list: several)
    optimized_direction: Any = either(DIRECTIONS)  # one per metric, each agreeing with its own

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
