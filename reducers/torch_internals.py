"""What this project uses of torch that torch does not promise to keep, in one place: written for
torch ``WRITTEN_FOR``; each use has a fallback that costs speed, never results, and
``missing()`` names what a torch release no longer has (``tests/test_internals.py`` fails loudly
on it, and runs every fallback).

- ATen's backward kernels (``torch.ops.aten.*_backward``), which the hand-written backward pass
  calls (``reducers.manual``); a model needing one this torch lacks trains through autograd.
- ``denormals_flushed``: denormal floats flushed to zero while a job trains (public API; here
  because it is the same kind of CPU setting).
- ``torch.optim`` without ``torch._dynamo``: a process that never compiles need not import the
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

WRITTEN_FOR = "2.13"  # the torch release these names were read from
ATEN_BACKWARD = ("threshold_backward", "leaky_relu_backward", "elu_backward", "gelu_backward",
                 "silu_backward", "tanh_backward", "sigmoid_backward")
_OPTIMIZER_HOOKS = ("_global_optimizer_pre_hooks", "_global_optimizer_post_hooks")


def aten(name: str) -> Callable | None:
    """ATen's kernel ``name`` (e.g. ``"tanh_backward"``), or None where this torch lacks it."""
    return getattr(torch.ops.aten, name, None)


def missing() -> list[str]:
    """The private names this module and ``reducers.manual`` read that this torch lacks (their
    fallbacks then run: slower, the same results)."""
    from torch.optim import optimizer as module

    gone = [f"torch.ops.aten.{name}" for name in ATEN_BACKWARD if aten(name) is None]
    gone += [f"torch.optim.Optimizer.{name}.__wrapped__" for name in _DISABLED
             if not hasattr(getattr(torch.optim.Optimizer, name), "__wrapped__")]
    gone += [f"torch.optim.optimizer.{name}" for name in _OPTIMIZER_HOOKS
             if not hasattr(module, name)]
    skip_dynamo_import()  # the probe below must not import the compiler
    probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    gone += [f"Optimizer.{name}" for name in ("_optimizer_step_pre_hooks",
                                              "_optimizer_step_post_hooks")
             if not hasattr(probe, name)]
    return gone


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
    if not all(hasattr(optimizer, f"_optimizer_step_{k}_hooks") for k in ("pre", "post")) or \
            not all(hasattr(module, name) for name in _OPTIMIZER_HOOKS):
        return True  # cannot tell: the wrapped step, which runs whatever hooks there are
    return bool(optimizer._optimizer_step_pre_hooks or optimizer._optimizer_step_post_hooks
                or any(getattr(module, name) for name in _OPTIMIZER_HOOKS))


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
