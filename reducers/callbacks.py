"""What the trainer (``reducers.trainer``) calls around its steps: the learning-rate schedule,
evaluation of the validation and test sets at their cadence, early stopping with the best
epoch's weights put back, and the progress bar; a caller adds its own (the apps' checkpoints).

A callback overrides the hooks it needs; ``run`` is the trainer's live ``fit`` (its ``model``,
``optimizer``, ``settings``, ``state``, ``stopping`` and ``say``)::

    on_fit_start(run)                    before the first epoch (also after a resume)
    on_epoch_start(run, epoch, row)      may add scheduled values to the epoch's history row
    on_step(run, epoch, step)            before each step
    on_step_end(run, epoch, step, loss)  after it
    on_epoch_end(run, epoch, row)        evaluation: adds to the row, may set run.stopping
                                         (an early stop) or run.pruned (a dict: pruned here)
    on_state(state)                      the ``LoopState`` after the epoch: what resumes it
    on_fit_end(run, result)              training finished ("ok")
"""

import logging
import sys

import torch

from reducers.devices import device_of
from reducers.progress import Progress

log = logging.getLogger("reducers.trainer")


class Callback:
    def on_fit_start(self, run) -> None:
        pass

    def on_epoch_start(self, run, epoch: int, row: dict) -> None:
        pass

    def on_step(self, run, epoch: int, step: int) -> None:
        pass

    def on_step_end(self, run, epoch: int, step: int, loss: float) -> None:
        pass

    def on_epoch_end(self, run, epoch: int, row: dict) -> None:
        pass

    def on_state(self, state) -> None:
        pass

    def on_fit_end(self, run, result) -> None:
        pass


def hooks(callbacks: list[Callback], name: str) -> list:
    """The bound ``name`` hooks of the callbacks that override it (called every step: the
    others are not called at all)."""
    return [getattr(c, name) for c in callbacks
            if getattr(type(c), name) is not getattr(Callback, name)]


@torch.inference_mode()
def evaluate(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 4096) -> dict[str, float]:
    """Mean "recon" and "kl" over ``x`` in the standard scaling ("total" is batch-size dependent
    under the blog scaling, so it is left out), batch by batch on the model's device. The RNGs
    (the VAE's sampling) are put back afterwards: whether and how often a run evaluates never
    changes what it trains."""
    was_training, device = model.training, device_of(model)
    model.eval()
    sums: dict[str, float] = {}
    gpus = [device.index or 0] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=gpus):
            for start in range(0, len(x), batch_size):
                xb = torch.as_tensor(x[start:start + batch_size]).to(device)
                for key, value in model.loss(xb).items():
                    if key != "total":
                        sums[key] = sums.get(key, 0.0) + value.item() * len(xb)
    finally:
        model.train(was_training)
    return {key: value / len(x) for key, value in sums.items()}


class LearningRate(Callback):
    """``schedule.factor(epoch, step, steps)`` times each parameter group's initial learning
    rate (kept in the group as ``initial_lr``, so that it survives a resume), step by step."""

    def __init__(self, schedule, steps: int):
        self.schedule, self.steps = schedule, steps

    def on_fit_start(self, run):
        for group in run.optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])

    def on_epoch_start(self, run, epoch, row):
        initial = run.optimizer.param_groups[0]["initial_lr"]
        row["lr"] = initial * self.schedule.factor(epoch, 1, self.steps)

    def on_step(self, run, epoch, step):
        factor = self.schedule.factor(epoch, step, self.steps)
        for group in run.optimizer.param_groups:
            group["lr"] = group["initial_lr"] * factor


class Validation(Callback):
    """``val_*`` terms and ``val_loss`` (their sum) each epoch; the epoch of the lowest
    ``val_loss`` and, when they are to be restored, its weights."""

    def __init__(self, x_val: torch.Tensor, keep_best: bool):
        self.x_val, self.keep_best = x_val, keep_best

    def on_epoch_end(self, run, epoch, row):
        val = evaluate(run.model, self.x_val)
        row.update({f"val_{k}": v for k, v in val.items()}, val_loss=sum(val.values()))
        state = run.state
        if row["val_loss"] < state.best_loss:
            state.best_epoch, state.best_loss = epoch, row["val_loss"]
            if self.keep_best:
                state.best_state = {k: v.detach().clone()
                                    for k, v in run.model.state_dict().items()}


class EarlyStopping(Callback):
    """Ends training after ``patience`` epochs without a lower ``val_loss`` (``Validation``
    before it); with ``restore``, the lowest one's weights go back into the model."""

    def __init__(self, patience: int | None, restore: bool):
        self.patience, self.restore = patience, restore

    def on_epoch_end(self, run, epoch, row):
        run.stopping = self.patience is not None and \
            epoch - run.state.best_epoch >= self.patience and epoch < run.settings.epochs

    def on_fit_end(self, run, result):
        state = result.state
        best = state.best_epoch or None
        if self.restore and state.best_state is not None and best is not None \
                and best != state.epoch:
            run.model.load_state_dict(state.best_state)
            result.restored = True
            log.info("restored the weights of epoch %d (lowest val_loss %.4g)", best,
                     state.best_loss)


class TestEvaluation(Callback):
    """``test_*`` terms every ``every`` epochs, at the last one and at an early stop."""

    def __init__(self, x_test: torch.Tensor, every: int):
        self.x_test, self.every = x_test, every

    def on_epoch_end(self, run, epoch, row):
        if epoch % self.every == 0 or epoch == run.settings.epochs or run.stopping:
            row.update({f"test_{k}": v for k, v in evaluate(run.model, self.x_test).items()})


class ProgressBar(Callback):
    """The live bar on a terminal (``reducers.progress``); the trainer's log lines clear it."""

    def __init__(self, steps: int, enabled: bool, stream=sys.stderr):
        self.steps, self.enabled, self.stream = steps, enabled, stream

    def on_fit_start(self, run):
        self.bar = Progress(run.settings.epochs, self.steps, self.enabled, self.stream)
        run.bar = self

    def on_step_end(self, run, epoch, step, loss):
        self.bar.step(epoch, step, loss)

    def clear(self) -> None:
        self.bar.clear()


def builtin(settings, x_val, x_test, steps: int) -> list[Callback]:
    """The trainer's own callbacks for ``settings`` (a ``TrainerSettings``), in their order:
    the schedule, validation and early stopping before the test set (evaluated at an early
    stop), the bar."""
    schedule = settings.schedule()
    callbacks: list[Callback] = [LearningRate(schedule, steps)] if schedule else []
    if x_val is not None:
        callbacks += [Validation(x_val, settings.restore_best),
                      EarlyStopping(settings.early_stopping, settings.restore_best)]
    if x_test is not None:
        callbacks.append(TestEvaluation(x_test, settings.test_every))
    return callbacks + [ProgressBar(steps, settings.progress)]
