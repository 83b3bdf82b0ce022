"""Where a network trains: ``trainer.device`` is ``cpu`` (the default), ``cuda``, or ``auto``
(cuda when PyTorch sees one). The apps move the model there before its optimiser is made; the
trainer sends each batch to wherever the model's parameters are; scoring and figures run on the
CPU after training (the model is moved back)."""

from enum import Enum

import torch

from reducers.errors import ConfigError


class Device(str, Enum):
    """The device a network trains on."""

    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"  # cuda when PyTorch sees a CUDA device, else cpu


def resolve_device(choice: Device | str) -> torch.device:
    """The torch device ``choice`` names on this machine; ``cuda`` where PyTorch sees none is a
    ``ConfigError`` that says why (a CPU-only build of torch, or no device visible)."""
    choice = Device(choice)
    if choice is Device.cpu:
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if choice is Device.auto:
        return torch.device("cpu")
    why = (f"torch {torch.__version__} is a CPU-only build" if torch.version.cuda is None
           else f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no CUDA device")
    raise ConfigError(f"trainer.device=cuda: {why}; use trainer.device=cpu, or auto (cuda "
                      "where there is one)")


def device_of(model: torch.nn.Module) -> torch.device:
    """Where ``model``'s parameters are (the CPU for a model without any)."""
    parameter = next(model.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device
