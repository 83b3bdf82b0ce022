"""Eager-mode CPU settings that make the engine's steps faster without changing them.

``denormals_flushed``: denormal floats flushed to zero while a job trains.

``torch.optim`` without ``torch._dynamo``: a process that never compiles need not import the
compiler (1 s, a tenth of a default run, measured by ``python -m experiments.benchmark``).
PyTorch imports it from eager code only to tell a compiler what not to trace: the first call of
``Optimizer.add_param_group`` (every optimiser's constructor), ``zero_grad``, ``state_dict`` and
``load_state_dict`` (wrapped in ``torch._disable_dynamo``), and every ``step`` (wrapped to mark
graph breaks). ``skip_dynamo_import`` and ``step_function`` reach the same eager code without
it. Both leave a process that has imported the compiler alone, and a test checks that a step
taken either way gives bit-identical parameters.
"""

import inspect
import sys
from collections.abc import Callable
from contextlib import contextmanager

import torch


@contextmanager
def denormals_flushed(enabled: bool = True):
    """Denormal floats flushed to zero (x86 FTZ/DAZ) inside the block, PyTorch's default (off)
    after it. Enter it before torch's first parallel operation: its worker threads copy the
    setting of the thread that starts them and keep it (the apps enter it around each job).

    Why: Adam's first moment of a unit whose gradient is zero decays by beta1 each step into
    the denormal range, where arithmetic is many times slower. On the default run this made
    the steps of the last 30 epochs 2x slower, for updates below float32 resolution: the codes
    come out bit-identical (a test runs both; ``python -m experiments.benchmark`` times both)."""
    if not enabled:
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


_DISABLED = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")


def _compiler_loaded() -> bool:
    return "torch._dynamo" in sys.modules


def skip_dynamo_import() -> None:
    """``torch._disable_dynamo`` caches its verdict on the wrapped function as
    ``__dynamo_disable``; caching the function itself gives the same eager call, no import."""
    if _compiler_loaded():
        return
    for name in _DISABLED:
        wrapped = getattr(getattr(torch.optim.Optimizer, name), "__wrapped__", None)
        if wrapped is not None and not hasattr(wrapped, "__dynamo_disable"):
            setattr(wrapped, "__dynamo_disable", wrapped)


def _has_step_hooks(optimizer: torch.optim.Optimizer) -> bool:
    from torch.optim import optimizer as module
    return bool(getattr(optimizer, "_optimizer_step_pre_hooks", None)
                or getattr(optimizer, "_optimizer_step_post_hooks", None)
                or getattr(module, "_global_optimizer_pre_hooks", None)
                or getattr(module, "_global_optimizer_post_hooks", None))


def step_function(optimizer: torch.optim.Optimizer) -> Callable[[], None]:
    """``optimizer.step`` as a function of no arguments, through the optimiser class's own
    update (``inspect.unwrap``: without the graph-break and profiling wrappers, under
    ``torch.no_grad`` as the wrapper would set it). ``optimizer.step`` itself where hooks are
    registered (they live in the wrapper), for a differentiable optimiser, or once the compiler
    is loaded."""
    if _compiler_loaded() or _has_step_hooks(optimizer) or \
            any(g.get("differentiable") for g in optimizer.param_groups):
        return optimizer.step
    update = inspect.unwrap(type(optimizer).step)

    def step() -> None:
        with torch.no_grad():
            update(optimizer)

    return step
