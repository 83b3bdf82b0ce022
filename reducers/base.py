"""The Reducer contract and the one loss scaling every reducer uses.

A reducer is a ``torch.nn.Module`` over flattened images ``x`` of shape (B, D), values in [0, 1]:

    encode(x) -> (B, d)  deterministic codes; a VAE returns its posterior mean.
    decode(z) -> (B, D)  reconstructions in [0, 1].
    loss(x)   -> dict    "total" (what the optimiser minimises), "recon" and, for a VAE, "kl";
                         each a scalar tensor, a mean over the batch.

Optionally ``manual_step(optimizer)`` returns an object whose ``loss(x)`` gives the same terms
and whose ``step()`` then updates the parameters by a hand-written backward pass
(``reducers.manual``); the engine uses it where offered and autograd on ``loss`` otherwise.

Loss scaling ("standard"): the reconstruction term is summed over the D features and the KL
term over the d latent dims, both averaged over the batch, and ``total = recon + beta * kl``.
With BCE and beta = 1 this is the negative ELBO, so beta means what the beta-VAE papers mean.

The "seed" scaling reproduces the original blog experiment: element-mean reconstruction
(``F.mse_loss`` with its default reduction) plus the KL summed over the batch and the latent
dims. Relative to the standard scaling that weights the KL by ``beta * B * D`` (7,840 for
batch 10 on MNIST); ``effective_kl_weight`` reports it. "recon" and "kl" are always reported
in the standard scaling, whatever is optimised, so that runs compare like with like.
"""

from collections.abc import Sequence
from enum import Enum

import torch
import torch.nn.functional as F
from torch import nn


class Recon(str, Enum):
    """Reconstruction loss: squared error or Bernoulli cross-entropy, per pixel."""

    mse = "mse"
    bce = "bce"


class KLScaling(str, Enum):
    """How reconstruction and KL are reduced: see the module docstring."""

    standard = "standard"
    seed = "seed"


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


def mlp(sizes: list[int], activation: str, last_activation: bool = False) -> nn.Sequential:
    """Linear layers through ``sizes`` with ``activation`` between them (and after the last)."""
    act = _ACTIVATIONS[Activation(activation)]
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if last_activation or i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def reconstruction_sum(logits: torch.Tensor, x: torch.Tensor, recon: Recon) -> torch.Tensor:
    """Reconstruction loss summed over batch and features; ``logits`` are pre-sigmoid."""
    if recon is Recon.bce:
        return F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    return F.mse_loss(torch.sigmoid(logits), x, reduction="sum")


def _check_architecture(input_dim: int, hidden: list[int], latent_dim: int) -> None:
    if input_dim < 1 or latent_dim < 1 or any(h < 1 for h in hidden):
        raise ValueError(
            f"sizes must be >= 1: input_dim={input_dim}, hidden={hidden}, latent_dim={latent_dim}"
        )


class Reducer(nn.Module):
    """Shared parts: an MLP decoder with a sigmoid output and the contract's defaults."""

    has_prior = False  # True when decoding N(0, I) samples is meaningful (a VAE)

    def __init__(self, input_dim: int, hidden: Sequence[int], latent_dim: int, activation: str,
                 recon: str):
        super().__init__()
        hidden = list(hidden)
        _check_architecture(input_dim, hidden, latent_dim)
        self.input_dim, self.latent_dim = input_dim, latent_dim
        self.recon = Recon(recon)
        self.decoder = mlp([latent_dim, *reversed(hidden), input_dim], activation)  # logits

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z))  # (B, D) in [0, 1]

    def recon_sum(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction term summed over batch and features (the training loss's)."""
        return reconstruction_sum(logits, x, self.recon)

    def recon_per_sample(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The same term for each row of ``x``: (B,), summed over features."""
        if self.recon is Recon.bce:
            return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        return F.mse_loss(torch.sigmoid(logits), x, reduction="none").sum(1)

    def manual_step(self, optimizer: torch.optim.Optimizer):
        """A faster training step (``reducers.manual.ManualStep``) or None: autograd."""
        return None

    def _own_loss(self, cls: type) -> bool:
        """True when a subclass replaced ``cls``'s loss or the reconstruction term in it."""
        return type(self).loss is not cls.loss or type(self).recon_sum is not Reducer.recon_sum

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def effective_kl_weight(self, batch_size: int) -> float | None:
        """Weight on the standard-scaled KL in the objective; None for models without a KL."""
        return None
