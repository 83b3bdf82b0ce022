"""One training loop for every reducer. It knows the contract (``model.loss(x)["total"]``) only.

The training rows are a tensor (moved once to the model's device) or rows on disk
(``reducers.data.rows``, read batch by batch); each epoch draws one fresh permutation of them
and gathers each batch's rows by it (one indexing per batch, no per-item Dataset overhead, no
shuffled copy of the whole set), sent to wherever the model's parameters are. What else
happens around the steps is a callback's (``reducers.callbacks``): the learning-rate schedule,
evaluation of the validation and test sets, early stopping with the best epoch's weights put
back, the progress bar, and whatever a caller adds (the apps' checkpoints). A model that offers
``manual_step(optimizer)`` (the autoencoder and the VAE: a hand-written backward pass, see
``reducers.manual``; 1.6x faster at batch 10 with plain SGD) trains through it unless
``backward="autograd"``; every other model through autograd on its ``loss``.

Resuming: after every completed epoch the callbacks see a ``LoopState`` (history, the batch-order
generator and the global RNG that sampling uses); given back as ``resume``, with the model and
optimiser restored by the caller, the loop continues bit for bit as if it had never stopped
(same thread count assumed).
"""

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Sequence

import torch

from reducers import callbacks as cb
from reducers.devices import device_of
from reducers.errors import DataError
from reducers.fit_result import FitResult, LoopState
from reducers.status import Status
from reducers.trainer_settings import Backward, TrainerSettings

log = logging.getLogger(__name__)


class _Autograd:
    """The step every model has: autograd on its ``loss``, then the optimiser."""

    kind = "autograd"

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer):
        self.model, self.optimizer, self.terms = model, optimizer, None

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self.terms = self.model.loss(x)
        return self.terms

    def step(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.terms["total"].backward()
        self.optimizer.step()


class Trainer:
    """``Trainer(settings).fit(model, optimizer, x_train, ...)``: ``settings`` a
    ``TrainerSettings``; ``callbacks`` more ``reducers.callbacks.Callback``s after the built-in
    ones; ``augment(batch, generator)``: a moved copy of each training batch
    (``settings.augment(image_shape)``), drawing from the batch-order generator;
    ``should_stop()``: polled between steps (a signal), "interrupted" when true."""

    def __init__(self, settings: TrainerSettings, *, callbacks: Sequence[cb.Callback] = (),
                 augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
                 should_stop: Callable[[], bool] = lambda: False):
        self.settings, self.extra = settings, list(callbacks)
        self.augment, self.should_stop = augment, should_stop

    def fit(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
            x_train: torch.Tensor, *, seed: int = 0, x_val: torch.Tensor | None = None,
            x_test: torch.Tensor | None = None, resume: LoopState | None = None) -> FitResult:
        """Train ``model`` up to epoch ``settings.epochs`` on ``x_train`` (N, D). Stops at the
        first non-finite loss ("diverged") or, between two steps, when ``should_stop()`` is
        true ("interrupted": the unfinished epoch is dropped; the callbacks saw the last whole
        one). ``x_val``: each epoch records ``val_*`` terms and ``val_loss`` (their sum: the
        negative ELBO at beta 1 for a VAE, whatever beta or scaling is optimised);
        ``x_test``: ``test_*`` terms every ``settings.test_every`` epochs."""
        if len(x_train) == 0:
            raise DataError("no training rows: the data (or what data.limit or a validation "
                            "set left of it) is empty")
        run = _Run(self, model, optimizer, x_train, seed, resume or LoopState())
        run.callbacks = cb.builtin(self.settings, x_val, x_test, run.steps) + self.extra
        run.call("on_fit_start", run)
        for epoch in range(run.state.epoch + 1, self.settings.epochs + 1):
            result = run.epoch(epoch)
            if result is not None:
                return result
            if run.pruned is not None:
                return FitResult(Status.pruned, run.snapshot(), run.step.kind,
                                 pruned=run.pruned)
            if run.stopping:
                run.say(logging.INFO, "early stop after epoch %d: val_loss has not improved "
                        "since epoch %d", epoch, run.state.best_epoch)
                return run.finished(stopped_early=epoch)
        return run.finished(stopped_early=None)


class _Run:
    """One ``fit``: the loop's live state, and its epochs and steps."""

    def __init__(self, trainer: Trainer, model, optimizer, x_train, seed: int,
                 state: LoopState):
        self.trainer, self.settings = trainer, trainer.settings
        self.model, self.optimizer = model, optimizer
        self.device = device_of(model)  # each batch goes where the model is
        # off the CPU, a tensor's rows go there once (a memory-mapped set's batch by batch)
        self.x_train = x_train.to(self.device) if isinstance(x_train, torch.Tensor) else x_train
        self.generator = torch.Generator().manual_seed(seed)
        if state.generator is not None:
            self.generator.set_state(state.generator)
            torch.set_rng_state(state.torch_rng)
            if state.cuda_rng is not None and self.device.type == "cuda":
                torch.cuda.set_rng_state(state.cuda_rng, self.device)
        self.state = dataclasses.replace(state, history=list(state.history))
        self.steps = math.ceil(len(x_train) / self.settings.batch_size)
        offered = getattr(model, "manual_step", None)
        manual = offered(optimizer) if offered and \
            self.settings.backward is Backward.manual else None
        self.step = manual if manual is not None else _Autograd(model, optimizer)
        self.callbacks: list[cb.Callback] = []
        self.stopping = False  # a callback ends training after this epoch (early stopping)
        self.pruned: dict | None = None  # a callback ends it as pruned (a search's pruner)
        self.bar = None  # the progress bar, when a callback draws one

    def call(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def say(self, level: int, message: str, *args) -> None:
        """A log line, on a line of its own beside the progress bar."""
        if self.bar is not None:
            self.bar.clear()
        log.log(level, message, *args)

    def epoch(self, epoch: int) -> FitResult | None:
        """Train one epoch and end it; a result when training ends here early."""
        state, n, batch = self.state, len(self.x_train), self.settings.batch_size
        self.model.train()
        start_epoch = getattr(self.model, "start_epoch", None)  # e.g. the VAE's beta schedule
        row = {"epoch": epoch, **(start_epoch(epoch) if start_epoch is not None else {})}
        self.call("on_epoch_start", self, epoch, row)
        started = time.perf_counter()
        order = torch.randperm(n, generator=self.generator)  # each batch gathered by it: no
        #                                                       shuffled copy of the data
        if isinstance(self.x_train, torch.Tensor):
            order = order.to(self.x_train.device)
        before = cb.hooks(self.callbacks, "on_step")
        after = cb.hooks(self.callbacks, "on_step_end")
        sums = terms = None
        for step, start in enumerate(range(0, n, batch), 1):
            if self.trainer.should_stop():
                self.say(logging.WARNING, "interrupted in epoch %d; kept epoch %d", epoch,
                         epoch - 1)
                return FitResult(Status.interrupted, state, self.step.kind)
            for hook in before:
                hook(self, epoch, step)
            xb = self.x_train[order[start:start + batch]]  # (B, D)
            if not isinstance(xb, torch.Tensor):  # rows read from disk (reducers.data.rows)
                xb = torch.from_numpy(xb)
            xb = xb.to(self.device, non_blocking=True)
            if self.trainer.augment is not None:
                xb = self.trainer.augment(xb, self.generator)
            terms = self.step.loss(xb)
            loss = terms["total"].item()
            if not math.isfinite(loss):
                state.train_seconds += time.perf_counter() - started
                return self.diverged(epoch, step, loss)
            self.step.step()
            batch_sums = torch.stack([t.detach() for t in terms.values()]).mul_(len(xb))
            sums = batch_sums if sums is None else sums.add_(batch_sums)
            state.samples_seen += len(xb)
            state.last_loss = loss
            for hook in after:
                hook(self, epoch, step, loss)
        state.train_seconds += time.perf_counter() - started
        if not all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            return self.diverged(epoch, step, float("nan"))
        row.update({f"train_{k}": v / n for k, v in zip(terms, sums.tolist())})
        self.end_epoch(epoch, row, started)
        return None

    def end_epoch(self, epoch: int, row: dict, started: float) -> None:
        """The callbacks' evaluation of the epoch, its history row, its log line and the
        state the callbacks keep (checkpoints)."""
        evaluated = time.perf_counter()
        self.call("on_epoch_end", self, epoch, row)
        self.state.eval_seconds += time.perf_counter() - evaluated
        row["seconds"] = time.perf_counter() - started
        self.state.history.append(row)
        self.say(logging.INFO, "epoch %d/%d %s", epoch, self.settings.epochs, " ".join(
            f"{k}={v:.4g}" for k, v in row.items() if k not in ("epoch", "seconds")))
        self.state.epoch = epoch
        self.call("on_state", self.snapshot())

    def snapshot(self) -> LoopState:
        """A copy of the loop's state that later epochs leave alone."""
        return dataclasses.replace(self.state, history=list(self.state.history),
                                   generator=self.generator.get_state(),
                                   torch_rng=torch.get_rng_state(),
                                   cuda_rng=torch.cuda.get_rng_state(self.device)
                                   if self.device.type == "cuda" else None)

    def diverged(self, epoch: int, step: int, loss: float) -> FitResult:
        where = {"epoch": epoch, "step": step, "loss": loss,
                 "last_finite_loss": self.state.last_loss}
        self.say(logging.WARNING, "diverged at epoch %d, step %d: loss %s", epoch, step, loss)
        return FitResult(Status.diverged, self.state, self.step.kind, diverged=where)

    def finished(self, stopped_early: int | None) -> FitResult:
        result = FitResult(Status.ok, self.snapshot(), self.step.kind,
                           stopped_early=stopped_early)
        self.call("on_fit_end", self, result)
        return result
