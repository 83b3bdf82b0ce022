"""Checkpoints: plain tensors and primitives only, so they load with ``weights_only=True``."""

from pathlib import Path

import torch

from reducers.errors import CheckpointError
from reducers.io import atomic_open

FORMAT = "reducer-sweep-checkpoint/1"


def save_checkpoint(path: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    *, epoch: int, model_spec: dict, config_yaml: str = "") -> None:
    """Write atomically. ``model_spec`` ({"target": dotted class, "kwargs": {...}}) rebuilds it."""
    state = {"format": FORMAT, "epoch": epoch, "model_spec": model_spec,
             "model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "torch_rng": torch.get_rng_state(), "config_yaml": config_yaml}
    with atomic_open(path) as f:
        torch.save(state, f)


def load_checkpoint(path: str | Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except Exception as exc:  # truncated zip, pickle of foreign objects, ...
        raise CheckpointError(f"{path}: not a loadable checkpoint ({exc.__class__.__name__}); "
                              "it may be truncated or not written by reducer-sweep") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a reducer-sweep checkpoint (expected format {FORMAT})")
    return state
