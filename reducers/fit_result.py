"""What the training loop (``reducers.trainer``) keeps between epochs (``LoopState``, in every
checkpoint) and what it hands back (``FitResult``)."""

from dataclasses import dataclass, field

import torch

from reducers.status import Status


@dataclass
class LoopState:
    """What the loop needs, besides model and optimiser, to continue after ``epoch``."""
    epoch: int = 0  # epochs completed
    history: list[dict[str, float]] = field(default_factory=list)
    generator: torch.Tensor | None = None  # batch-order generator state
    torch_rng: torch.Tensor | None = None  # global CPU RNG (the VAE's sampling)
    cuda_rng: torch.Tensor | None = None  # the CUDA RNG, where the model trains on a GPU
    train_seconds: float = 0.0
    samples_seen: int = 0
    eval_seconds: float = 0.0  # per-epoch evaluation of the validation and test sets
    last_loss: float = float("nan")  # of the last step, reported if the next one diverges
    best_epoch: int = 0  # with a validation set: the epoch of the lowest validation loss
    best_loss: float = float("inf")
    best_state: dict | None = None  # that epoch's weights, when they are to be restored

    def to_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class FitResult:
    status: Status  # ok, diverged, interrupted (``should_stop`` said so) or pruned
    state: LoopState  # where the loop stood after its last whole epoch
    backward: str = "autograd"  # or the manual step's kind, e.g. "manual backward, Adam.step()"
    diverged: dict | None = None  # epoch, step and last finite loss when status == "diverged"
    stopped_early: int | None = None  # the last epoch trained, when early stopping ended it
    pruned: dict | None = None  # what a callback that ended training as pruned said of it
    restored: bool = False  # the model holds best_epoch's weights, not the last epoch's

    @property
    def history(self) -> list[dict[str, float]]:  # one row per completed epoch
        return self.state.history

    @property
    def train_seconds(self) -> float:  # optimisation steps only, evaluation excluded
        return self.state.train_seconds

    @property
    def best_epoch(self) -> int | None:  # with a validation set: the lowest val_loss's epoch
        return self.state.best_epoch or None

    @property
    def eval_seconds(self) -> float:  # evaluation of the validation and test sets
        return self.state.eval_seconds

    @property
    def test_terms(self) -> dict[str, float] | None:
        """The test set's loss terms of the weights the model holds, where the last epoch
        evaluated them (it always does, unless another epoch's weights were put back)."""
        last = self.history[-1] if self.history and not self.restored else {}
        terms = {k.removeprefix("test_"): v for k, v in last.items() if k.startswith("test_")}
        return terms or None

    @property
    def samples_per_second(self) -> float:
        seconds = self.state.train_seconds
        return self.state.samples_seen / seconds if seconds > 0 else float("nan")
