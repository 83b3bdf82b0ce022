"""A Gaussian VAE with an MLP encoder giving (mu, logvar) and a Bernoulli/Gaussian decoder.

The blog's 784-400-[2,2]-2-400-784 is ``hidden=[400], latent_dim=2``: its two 400->2 heads are
one 400->4 layer here (the same parameters, one matmul). The objective's weighting is
``reducers.losses.Weighting``'s.
"""

from collections.abc import Sequence

import torch

from reducers import manual
from reducers.base import Reducer
from reducers.losses import KLScaling, Weighting, kl_divergence
from reducers.networks import mlp


class VAE(Reducer):
    has_prior = True

    def __init__(self, input_dim: int, hidden: Sequence[int] = (512, 256), latent_dim: int = 2,
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

    def weighting(self, batch: int) -> Weighting:
        return Weighting.of(self.kl_scaling, self.beta, batch, self.input_dim)

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        batch = x.shape[0]
        mu, logvar = self.posterior(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # reparameterisation
        recon_sum = self.reconstruction(self.decoder(z), x)
        kl_sum = kl_divergence(mu, logvar)
        return {"total": self.weighting(batch).objective(recon_sum, kl_sum),
                "recon": recon_sum / batch, "kl": kl_sum / batch}

    def manual_step(self, optimizer: torch.optim.Optimizer) -> manual.ManualStep | None:
        if self._own_loss(VAE):
            return None
        return manual.build(manual.VAEStep, self, optimizer, [self.body, self.head],
                            [self.decoder])

    def effective_kl_weight(self, batch_size: int) -> float:
        return self.weighting(batch_size).effective_kl_weight
