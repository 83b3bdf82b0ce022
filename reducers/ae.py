"""A plain autoencoder: deterministic (MLP or conv) encoder to a d-dimensional code and back."""

import torch

from reducers import manual
from reducers.base import Reducer


class Autoencoder(Reducer):
    """``Autoencoder(input_dim=784, net=MLP(hidden=[400]))``: ``NetworkSettings``' fields."""

    def __init__(self, **settings):
        super().__init__(**settings)
        self.encoder = self.trunk([self.latent_dim], last_activation=False)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, d)

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.decoder(self.encoder(x))  # (B, D)
        recon = self.reconstruction(logits, x) / x.shape[0]
        return self.with_neighbours({"total": recon, "recon": recon})

    def manual_step(self, optimizer: torch.optim.Optimizer) -> manual.ManualStep | None:
        if self._own_loss(Autoencoder):
            return None
        return manual.build(manual.AEStep, self, optimizer, [self.encoder], [self.decoder])
