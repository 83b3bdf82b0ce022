"""One training loop for every reducer. It knows the contract (``model.loss(x)["total"]``) only.

Tensors stay in memory; each epoch gathers one fresh permutation of the training set and then
takes batches as slices (views, no per-item Dataset overhead). Each epoch, a divergence and an
interruption are logged (``logging``, logger ``reducers.engine``): a run's log file tells its
story, while the live progress bar stays on the terminal. A model that offers
``manual_step(optimizer)`` (the autoencoder and the VAE: a hand-written backward pass, see
``reducers.manual``; 1.6x faster at batch 10 with plain SGD) trains through it unless
``backward="autograd"``; every other model through autograd on its ``loss``.

Resuming: after every completed epoch ``fit`` hands ``on_epoch_end`` a ``LoopState`` (history,
the batch-order generator and the global RNG that sampling uses); given back as ``resume``, with
the model and optimiser restored by the caller, the loop continues bit for bit as if it had
never stopped (same thread count assumed).
"""

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

import torch

from reducers.errors import DataError
from reducers.progress import Progress

log = logging.getLogger(__name__)


class Backward(str, Enum):
    """How gradients are taken: by the model's hand-written backward pass where it offers one
    (the AE and the VAE; autograd for any other), or always by autograd."""

    manual = "manual"
    autograd = "autograd"


@dataclass
class LoopState:
    """What the loop needs, besides model and optimiser, to continue after ``epoch``."""
    epoch: int = 0  # epochs completed
    history: list[dict[str, float]] = field(default_factory=list)
    generator: torch.Tensor | None = None  # batch-order generator state
    torch_rng: torch.Tensor | None = None  # global CPU RNG (the VAE's sampling)
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
    status: str  # "ok", "diverged" or "interrupted" (``should_stop`` said so)
    history: list[dict[str, float]]  # one row per completed epoch
    train_seconds: float  # optimisation steps only, evaluation excluded
    samples_seen: int
    diverged: dict | None = None  # epoch, step and last finite loss when status == "diverged"
    backward: str = "autograd"  # or the manual step's kind, e.g. "manual backward, Adam.step()"
    best_epoch: int | None = None  # with a validation set: the epoch of the lowest val_loss
    stopped_early: int | None = None  # the last epoch trained, when early stopping ended it
    restored: bool = False  # the model holds best_epoch's weights, not the last epoch's
    last_state: "LoopState | None" = None  # where the loop stood after its last epoch
    eval_seconds: float = 0.0  # per-epoch evaluation (validation and test sets)

    @property
    def samples_per_second(self) -> float:
        return self.samples_seen / self.train_seconds if self.train_seconds > 0 else float("nan")


@torch.inference_mode()
def evaluate(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 4096) -> dict[str, float]:
    """Mean "recon" and "kl" over ``x`` in the standard scaling ("total" is batch-size dependent
    under the blog scaling, so it is left out). The global RNG (the VAE's sampling) is put back
    afterwards: whether and how often a run evaluates never changes what it trains."""
    was_training, rng = model.training, torch.get_rng_state()
    model.eval()
    sums: dict[str, float] = {}
    try:
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size]
            for key, value in model.loss(xb).items():
                if key != "total":
                    sums[key] = sums.get(key, 0.0) + value.item() * len(xb)
    finally:
        model.train(was_training)
        torch.set_rng_state(rng)
    return {key: value / len(x) for key, value in sums.items()}


def _finite_parameters(model: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def fit(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x_train: torch.Tensor, *,
        epochs: int, batch_size: int, seed: int = 0, x_test: torch.Tensor | None = None,
        progress: bool = True, resume: LoopState | None = None,
        backward: Backward | str = Backward.manual,
        on_epoch_end: Callable[[LoopState], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        lr_factor: Callable[[int, int, int], float] | None = None,
        x_val: torch.Tensor | None = None, patience: int | None = None,
        restore_best: bool = False,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        test_every: int = 1) -> FitResult:
    """Train ``model`` up to epoch ``epochs`` on ``x_train`` (N, D). Stops at the first
    non-finite loss ("diverged") or, between two steps, when ``should_stop()`` is true
    ("interrupted": the unfinished epoch is dropped, ``on_epoch_end`` saw the last whole one).
    ``lr_factor(epoch, step, steps)``: a learning-rate schedule, times each parameter group's
    initial learning rate (kept in the group as ``initial_lr``, so it survives a resume).
    ``x_val``: a validation set; each epoch records ``val_*`` terms and ``val_loss`` (their sum:
    the reconstruction, plus the KL for a VAE, the negative ELBO at beta 1, whatever beta or
    scaling is optimised). ``patience``: stop after that many epochs without a lower
    ``val_loss``; ``restore_best``: end with the weights of the epoch of the lowest one.
    ``augment(batch, generator)``: a transformed copy of each training batch (e.g.
    ``reducers.augment.Augment``), drawing from the batch-order generator.
    ``test_every``: ``x_test`` is evaluated (``test_*`` in the history) every this many epochs
    and always at the last one; evaluation never changes training (see ``evaluate``)."""
    if len(x_train) == 0:
        raise DataError("no training rows: the data (or what data.limit or a held-out "
                        "fraction left of it) is empty")
    generator = torch.Generator().manual_seed(seed)
    resume = resume or LoopState()
    if resume.generator is not None:
        generator.set_state(resume.generator)
        torch.set_rng_state(resume.torch_rng)
    n = len(x_train)
    bar = Progress(epochs, math.ceil(n / batch_size), progress)
    history = list(resume.history)
    train_seconds, samples_seen = resume.train_seconds, resume.samples_seen
    eval_seconds = resume.eval_seconds
    last_loss = resume.last_loss
    best_epoch, best_loss, best_state = resume.best_epoch, resume.best_loss, resume.best_state
    offered = getattr(model, "manual_step", None)
    by_hand = offered(optimizer) if offered and Backward(backward) is Backward.manual else None
    path = by_hand.kind if by_hand is not None else "autograd"  # recorded in the FitResult

    def stop(epoch: int, step: int, loss: float) -> FitResult:
        where = {"epoch": epoch, "step": step, "loss": loss, "last_finite_loss": last_loss}
        bar.say(log, logging.WARNING, "diverged at epoch %d, step %d: loss %s", epoch, step,
                loss)
        return FitResult("diverged", history, train_seconds, samples_seen, where, path)

    state = resume  # where the loop stands: after each epoch, the state handed on
    start_epoch = getattr(model, "start_epoch", None)  # e.g. the VAE's beta schedule
    steps = math.ceil(n / batch_size)
    for group in optimizer.param_groups if lr_factor is not None else ():
        group.setdefault("initial_lr", group["lr"])
    for epoch in range(resume.epoch + 1, epochs + 1):
        model.train()
        scheduled = start_epoch(epoch) if start_epoch is not None else {}
        if lr_factor is not None:
            scheduled["lr"] = optimizer.param_groups[0]["initial_lr"] * lr_factor(epoch, 1, steps)
        started = time.perf_counter()
        shuffled = x_train[torch.randperm(n, generator=generator)]  # (N, D)
        sums = None
        for step, start in enumerate(range(0, n, batch_size), 1):
            if should_stop():
                bar.say(log, logging.WARNING, "interrupted in epoch %d; kept epoch %d", epoch,
                        epoch - 1)
                return FitResult("interrupted", history, train_seconds, samples_seen,
                                 backward=path)
            if lr_factor is not None:
                factor = lr_factor(epoch, step, steps)
                for group in optimizer.param_groups:
                    group["lr"] = group["initial_lr"] * factor
            xb = shuffled[start:start + batch_size]  # (B, D) view
            if augment is not None:
                xb = augment(xb, generator)
            terms = model.loss(xb) if by_hand is None else by_hand.loss(xb)
            loss = terms["total"].item()
            if not math.isfinite(loss):
                train_seconds += time.perf_counter() - started
                return stop(epoch, step, loss)
            if by_hand is None:
                optimizer.zero_grad(set_to_none=True)
                terms["total"].backward()
                optimizer.step()
            else:
                by_hand.step()
            batch_sums = torch.stack([t.detach() for t in terms.values()]).mul_(len(xb))
            sums = batch_sums if sums is None else sums.add_(batch_sums)
            samples_seen += len(xb)
            last_loss = loss
            bar.step(epoch, step, loss)
        train_seconds += time.perf_counter() - started
        if not _finite_parameters(model):
            return stop(epoch, step, float("nan"))
        row = {"epoch": epoch, **scheduled,
               **{f"train_{k}": v / n for k, v in zip(terms, sums.tolist())}}
        evaluated = time.perf_counter()
        if x_val is not None:
            val = evaluate(model, x_val)
            row.update({f"val_{k}": v for k, v in val.items()}, val_loss=sum(val.values()))
            if row["val_loss"] < best_loss:
                best_epoch, best_loss = epoch, row["val_loss"]
                if restore_best:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        stopping = patience is not None and x_val is not None and \
            epoch - best_epoch >= patience and epoch < epochs
        if x_test is not None and (epoch % test_every == 0 or epoch == epochs or stopping):
            row.update({f"test_{k}": v for k, v in evaluate(model, x_test).items()})
        eval_seconds += time.perf_counter() - evaluated
        row["seconds"] = time.perf_counter() - started
        history.append(row)
        bar.say(log, logging.INFO, "epoch %d/%d %s", epoch, epochs, " ".join(
            f"{k}={v:.4g}" for k, v in row.items() if k not in ("epoch", "seconds")))
        state = LoopState(epoch, list(history), generator.get_state(), torch.get_rng_state(),
                          train_seconds, samples_seen, eval_seconds, last_loss, best_epoch,
                          best_loss, best_state)
        if on_epoch_end is not None:
            on_epoch_end(state)
        if stopping:
            bar.say(log, logging.INFO, "early stop after epoch %d: val_loss has not improved "
                    "since epoch %d", epoch, best_epoch)
            return _finished(model, history, train_seconds, samples_seen, path, state,
                             stopped_early=epoch)
    return _finished(model, history, train_seconds, samples_seen, path, state,
                     stopped_early=None)


def _finished(model, history, train_seconds, samples_seen, path, state: LoopState,
              stopped_early: int | None) -> FitResult:
    """A finished loop's result; the best validation epoch's weights put back when kept."""
    best = state.best_epoch or None
    restored = state.best_state is not None and best is not None and best != state.epoch
    if restored:
        model.load_state_dict(state.best_state)
        log.info("restored the weights of epoch %d (lowest val_loss %.4g)", best,
                 state.best_loss)
    return FitResult("ok", history, train_seconds, samples_seen, backward=path, best_epoch=best,
                     stopped_early=stopped_early, restored=restored, last_state=state,
                     eval_seconds=state.eval_seconds)
