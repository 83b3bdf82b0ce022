"""A Gaussian VAE with an MLP encoder giving (mu, logvar) and a Bernoulli/Gaussian decoder.

The blog's 784-400-[2,2]-2-400-784 is ``hidden=[400], latent_dim=2``: its two 400->2 heads are
one 400->4 layer here (the same parameters, one matmul).
"""

from collections.abc import Sequence

import torch

from reducers import manual
from reducers.base import KLScaling, Reducer, mlp


class VAE(Reducer):
    has_prior = True

    def __init__(self, input_dim: int, hidden: Sequence[int] = (400,), latent_dim: int = 2,
                 activation: str = "relu", recon: str = "bce", beta: float = 1.0,
                 kl_scaling: str = "standard"):
        super().__init__(input_dim, hidden, latent_dim, activation, recon)
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.beta = float(beta)
        self.kl_scaling = KLScaling(kl_scaling)
        self.body = mlp([input_dim, *hidden], activation, last_activation=True)
        self.head = torch.nn.Linear(hidden[-1] if hidden else input_dim, 2 * latent_dim)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.body(x)).chunk(2, dim=1)  # (B, d) each
        return mu, logvar

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        batch, features = x.shape
        mu, logvar = self.posterior(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # reparameterisation
        recon_sum = self.recon_sum(self.decoder(z), x)
        kl_sum = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        recon, kl = recon_sum / batch, kl_sum / batch
        if self.kl_scaling is KLScaling.seed:
            total = recon_sum / (batch * features) + self.beta * kl_sum
        else:
            total = recon + self.beta * kl
        return {"total": total, "recon": recon, "kl": kl}

    def manual_step(self, optimizer: torch.optim.Optimizer) -> manual.ManualStep | None:
        if self._own_loss(VAE):
            return None
        return manual.build(manual.VAEStep, self, optimizer, [self.body, self.head],
                            [self.decoder])

    def effective_kl_weight(self, batch_size: int) -> float:
        if self.kl_scaling is KLScaling.seed:
            return self.beta * batch_size * self.input_dim
        return self.beta
