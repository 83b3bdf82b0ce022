"""The networks the reducers are built from: multi-layer perceptrons over flattened inputs."""

from enum import Enum

from torch import nn


class Activation(str, Enum):
    relu = "relu"
    elu = "elu"
    gelu = "gelu"
    silu = "silu"
    tanh = "tanh"
    leaky_relu = "leaky_relu"


_ACTIVATIONS = {
    Activation.relu: nn.ReLU,
    Activation.elu: nn.ELU,
    Activation.gelu: nn.GELU,
    Activation.silu: nn.SiLU,
    Activation.tanh: nn.Tanh,
    Activation.leaky_relu: nn.LeakyReLU,
}


def mlp(sizes: list[int], activation: Activation | str,
        last_activation: bool = False) -> nn.Sequential:
    """Linear layers through ``sizes`` with ``activation`` between them (and after the last)."""
    act = _ACTIVATIONS[Activation(activation)]
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if last_activation or i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def check_sizes(input_dim: int, hidden: list[int], latent_dim: int) -> None:
    if input_dim < 1 or latent_dim < 1 or any(h < 1 for h in hidden):
        raise ValueError(
            f"sizes must be >= 1: input_dim={input_dim}, hidden={hidden}, latent_dim={latent_dim}"
        )
