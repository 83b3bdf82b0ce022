"""A plain autoencoder: deterministic (MLP or conv) encoder to a d-dimensional code and back."""

from collections.abc import Sequence

import torch

from reducers import manual
from reducers.base import Reducer


class Autoencoder(Reducer):
    def __init__(self, input_dim: int, hidden: Sequence[int] = (512, 256), latent_dim: int = 2,
                 activation: str = "relu", recon: str = "bce", net: str = "mlp",
                 channels: Sequence[int] = (32, 64), kernel_size: int = 3,
                 batchnorm: bool = False, dropout: float = 0.0, input_dropout: float = 0.0,
                 image_shape: Sequence[int] | None = None, embedding_loss: str = "none",
                 embedding_weight: float = 1.0, perplexity: float = 30.0,
                 n_neighbors: int = 15, min_dist: float = 0.1, negative_rate: int = 5,
                 embedding_batch: int = 512,
                 embedding_scale: float = 1.0):
        super().__init__(input_dim, hidden, latent_dim, activation, recon, net, channels,
                         kernel_size, batchnorm, dropout, input_dropout, image_shape,
                         embedding_loss, embedding_weight, perplexity, n_neighbors, min_dist,
                         negative_rate, embedding_batch, embedding_scale)
        self.encoder = self.trunk([latent_dim], last_activation=False)

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
