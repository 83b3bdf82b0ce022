"""A Gaussian VAE: an MLP (or conv) encoder giving (mu, logvar), a Bernoulli/Gaussian decoder.

The blog's 784-400-[2,2]-2-400-784 is ``hidden=[400], latent_dim=2``: its two 400->2 heads are
one 400->4 layer here (the same parameters, one matmul). The objective's weighting is
``reducers.losses.Weighting``'s.
"""

from collections.abc import Sequence
from enum import Enum

import torch

from reducers import manual
from reducers.base import Reducer
from reducers.losses import KLScaling, Weighting, kl_divergence


class BetaSchedule(str, Enum):
    """The KL weight over the epochs, reaching ``beta``: at once (``constant``); from 0 over
    ``warmup_epochs`` epochs, then ``beta`` (``linear``, KL warm-up); or that ramp repeated,
    each cycle ``warmup_epochs`` rising and as many at ``beta`` (``cyclical``, Fu et al. 2019)."""

    constant = "constant"
    linear = "linear"
    cyclical = "cyclical"

    def factor(self, epoch: int, warmup_epochs: int) -> float:
        """The share of ``beta`` used in ``epoch`` (1-based): the first epoch of a ramp is 0."""
        if self is BetaSchedule.constant or warmup_epochs <= 0:
            return 1.0
        position = epoch - 1
        if self is BetaSchedule.cyclical:
            position %= 2 * warmup_epochs
        return min(1.0, position / warmup_epochs)


class VAE(Reducer):
    has_prior = True

    def __init__(self, input_dim: int, hidden: Sequence[int] = (512, 256), latent_dim: int = 2,
                 activation: str = "relu", recon: str = "bce", beta: float = 1.0,
                 kl_scaling: str = "standard", beta_schedule: str = "constant",
                 warmup_epochs: int = 0, net: str = "mlp", channels: Sequence[int] = (32, 64),
                 kernel_size: int = 3, batchnorm: bool = False, dropout: float = 0.0,
                 input_dropout: float = 0.0,
                 image_shape: Sequence[int] | None = None, embedding_loss: str = "none",
                 embedding_weight: float = 1.0, perplexity: float = 30.0,
                 n_neighbors: int = 15, min_dist: float = 0.1, negative_rate: int = 5,
                 embedding_batch: int = 512,
                 embedding_scale: float = 1.0):
        super().__init__(input_dim, hidden, latent_dim, activation, recon, net, channels,
                         kernel_size, batchnorm, dropout, input_dropout, image_shape,
                         embedding_loss, embedding_weight, perplexity, n_neighbors, min_dist,
                         negative_rate, embedding_batch, embedding_scale)
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.beta = float(beta)  # the target: what the schedule reaches and the tables show
        self.beta_now = self.beta  # what the objective weighs the KL by in this epoch
        self.kl_scaling = KLScaling(kl_scaling)
        self.beta_schedule, self.warmup_epochs = BetaSchedule(beta_schedule), int(warmup_epochs)
        self.body = self.trunk([], last_activation=True)
        self.head = torch.nn.Linear(self.trunk_features, 2 * latent_dim)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.body(x)).chunk(2, dim=1)  # (B, d) each
        return mu, logvar

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def weighting(self, batch: int) -> Weighting:
        return Weighting.of(self.kl_scaling, self.beta_now, batch, self.input_dim)

    def start_epoch(self, epoch: int) -> dict[str, float]:
        """The engine's call before each epoch: set this epoch's beta; a scheduled one goes to
        the history (and the epoch's log line)."""
        self.beta_now = self.beta * self.beta_schedule.factor(epoch, self.warmup_epochs)
        return {} if self.beta_schedule is BetaSchedule.constant else {"beta": self.beta_now}

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
        return Weighting.of(self.kl_scaling, self.beta, batch_size,
                            self.input_dim).effective_kl_weight
