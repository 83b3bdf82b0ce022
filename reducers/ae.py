"""A plain autoencoder: deterministic MLP encoder to a d-dimensional code and back."""

from collections.abc import Sequence

import torch

from reducers import manual
from reducers.base import Reducer
from reducers.networks import mlp


class Autoencoder(Reducer):
    def __init__(self, input_dim: int, hidden: Sequence[int] = (512, 256), latent_dim: int = 2,
                 activation: str = "relu", recon: str = "bce"):
        super().__init__(input_dim, hidden, latent_dim, activation, recon)
        self.encoder = mlp([input_dim, *hidden, latent_dim], activation)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, d)

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.decoder(self.encoder(x))  # (B, D)
        recon = self.reconstruction(logits, x) / x.shape[0]
        return {"total": recon, "recon": recon}

    def manual_step(self, optimizer: torch.optim.Optimizer) -> manual.ManualStep | None:
        if self._own_loss(Autoencoder):
            return None
        return manual.build(manual.AEStep, self, optimizer, [self.encoder], [self.decoder])
