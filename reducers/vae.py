"""A Gaussian VAE: an MLP (or conv) encoder giving (mu, logvar), a Bernoulli/Gaussian decoder.

The blog's 784-400-[2,2]-2-400-784 is ``net=MLP(hidden=[400]), latent_dim=2``: its two 400->2
heads are one 400->4 layer here (the same parameters, one matmul). The objective's weighting is
the ``kl`` part's (``reducers.losses.KLWeighting``): beta, its scaling and its schedule.
"""

from dataclasses import dataclass, field

import torch

from reducers import manual
from reducers.base import NetworkSettings, Reducer
from reducers.losses import KLWeighting, kl_divergence


@dataclass(kw_only=True)
class VAESettings(NetworkSettings):
    """``NetworkSettings`` and the KL weighting part (the command line's ``model.kl.*``)."""

    kl: KLWeighting = field(default_factory=KLWeighting)


class VAE(Reducer):
    """``VAE(input_dim=784, kl=KLWeighting(beta=4))``: ``VAESettings``' fields."""

    Settings = VAESettings
    has_prior = True

    def __init__(self, **settings):
        super().__init__(**settings)
        self.kl = self.settings.kl
        self.beta_now = self.kl.beta  # what the objective weighs the KL by in this epoch
        self.body = self.trunk([], last_activation=True)
        self.head = torch.nn.Linear(self.net.width(self.input_dim, self.image_shape),
                                    2 * self.latent_dim)

    def describe_objective(self) -> str:
        return self.kl.describe()

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.body(x)).chunk(2, dim=1)  # (B, d) each
        return mu, logvar

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def weighting(self, batch: int):
        return self.kl.weighting(self.beta_now, batch, self.input_dim)

    def start_epoch(self, epoch: int) -> dict[str, float]:
        """The trainer's call before each epoch: set this epoch's beta; a scheduled one goes to
        the history (and the epoch's log line)."""
        self.beta_now = self.kl.beta_at(epoch)
        return {} if self.kl.schedule.value == "constant" else {"beta": self.beta_now}

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        batch = x.shape[0]
        mu, logvar = self.posterior(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # reparameterisation
        recon_sum = self.reconstruction(self.decoder(z), x)
        kl_sum = kl_divergence(mu, logvar)
        return self.with_neighbours({"total": self.weighting(batch).objective(recon_sum, kl_sum),
                                     "recon": recon_sum / batch, "kl": kl_sum / batch})

    def manual_step(self, optimizer: torch.optim.Optimizer) -> manual.ManualStep | None:
        if self._own_loss(VAE):
            return None
        return manual.build(manual.VAEStep, self, optimizer, [self.body, self.head],
                            [self.decoder])

    def effective_kl_weight(self, batch_size: int) -> float:
        """At the target beta (the schedule's end)."""
        return self.kl.weighting(self.kl.beta, batch_size, self.input_dim).effective_kl_weight
