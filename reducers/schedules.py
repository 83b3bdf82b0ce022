"""Learning-rate schedules as pure functions of the position in training: the factor of the
optimiser's initial learning rate at a step. Nothing to checkpoint, so a resumed run sees the
same learning rates as one never interrupted (for the same ``epochs``)."""

import math
from dataclasses import dataclass
from enum import Enum


class LRSchedule(str, Enum):
    """``none``: the learning rate as given; ``cosine``: down to 0 along half a cosine, step by
    step; ``onecycle``: up from lr/25 over the first 30% of the steps, then down along a cosine
    to lr/25e4 (Smith's one-cycle, torch's OneCycleLR shape); ``step``: times ``gamma`` every
    ``step_epochs`` epochs."""

    none = "none"
    cosine = "cosine"
    onecycle = "onecycle"
    step = "step"


@dataclass(frozen=True)
class Schedule:
    kind: LRSchedule
    epochs: int  # the run's last epoch
    step_epochs: int = 10
    gamma: float = 0.5

    def factor(self, epoch: int, step: int, steps: int) -> float:
        """At ``step`` (1-based) of ``steps`` in ``epoch`` (1-based)."""
        kind = LRSchedule(self.kind)
        if kind is LRSchedule.none:
            return 1.0
        if kind is LRSchedule.step:
            return self.gamma ** ((epoch - 1) // self.step_epochs)
        t = ((epoch - 1) * steps + step - 1) / max(self.epochs * steps, 1)  # [0, 1)
        if kind is LRSchedule.cosine:
            return 0.5 * (1 + math.cos(math.pi * t))
        warm, start, end = 0.3, 1 / 25, 1 / 25e4
        if t < warm:
            return start + (1 - start) * t / warm
        return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * (t - warm) / (1 - warm)))
