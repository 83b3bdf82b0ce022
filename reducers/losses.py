"""The loss, written once: per-sample reconstruction and KL terms, the VAE's KL weighting part
(``KLWeighting``: beta, its scaling and its schedule) and the one statement of how the
objective weighs the two terms (``Weighting``). Every model, the hand-written backward pass,
evaluation, the records and the anomaly scores use these functions.

Standard scaling: the reconstruction term is summed over the D features and the KL term over
the d latent dims, both averaged over the batch, and ``objective = recon + beta * kl``. With BCE
and beta = 1 this is the negative ELBO, so beta means what the beta-VAE papers mean.

Blog scaling (``kl_scaling=blog``) reproduces the blog experiment: ``F.mse_loss``'s element mean
of the reconstruction plus the KL summed over the batch and the latent dims. Relative to the
standard scaling that weighs the KL by ``beta * B * D`` (7,840 at batch 10 on MNIST), which is
what ``Weighting.effective_kl_weight`` reports and every run records.

Whatever is optimised, the terms a model reports ("recon", "kl") are batch means of the
per-sample terms, so that runs compare like with like.
"""

from dataclasses import dataclass
from enum import Enum

import torch
import torch.nn.functional as F

from reducers.checks import finite_at_least, require
from reducers.torch_internals import aten

_SIGMOID_BACKWARD = aten("sigmoid_backward")  # None: the hand-written pass is off (manual.py)



class Recon(str, Enum):
    """Reconstruction loss per pixel: squared error of the sigmoid output, or Bernoulli
    cross-entropy of the logits."""

    mse = "mse"
    bce = "bce"


class KLScaling(str, Enum):
    """How the objective weighs reconstruction and KL: see the module docstring."""

    standard = "standard"
    blog = "blog"

    @classmethod
    def _missing_(cls, value):
        return cls.blog if value == "seed" else None  # its name in runs recorded before 2026-11-27


def reconstruction(logits: torch.Tensor, x: torch.Tensor, recon: Recon | str,
                   per_sample: bool = False) -> torch.Tensor:
    """The reconstruction term of pre-sigmoid decoder outputs ``logits`` (B, D) for ``x`` in
    [0, 1]: summed over features and batch, or (B,) summed over features with ``per_sample``."""
    reduction = "none" if per_sample else "sum"
    if Recon(recon) is Recon.bce:
        term = F.binary_cross_entropy_with_logits(logits, x, reduction=reduction)
    else:
        term = F.mse_loss(torch.sigmoid(logits), x, reduction=reduction)
    return term.sum(1) if per_sample else term


def reconstruction_and_gradient(logits: torch.Tensor, x: torch.Tensor, recon: Recon,
                                scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``reconstruction(logits, x, recon)`` and ``scale`` times its gradient with respect to
    ``logits``: where the hand-written backward pass starts."""
    if recon is Recon.bce:
        total = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        return total, (torch.sigmoid(logits) - x).mul_(scale)
    p = torch.sigmoid(logits)
    diff = p - x
    return diff.pow(2).sum(), _SIGMOID_BACKWARD(diff.mul_(2 * scale), p)


def gaussian_reconstruction(out: torch.Tensor, x: torch.Tensor,
                            per_sample: bool = False) -> torch.Tensor:
    """``0.5 * ||x - out||^2``: the negative log-likelihood (up to a constant) of a
    unit-variance Gaussian around real-valued outputs (vectors that are not images)."""
    squares = (out - x).pow(2)
    return 0.5 * (squares.sum(1) if per_sample else squares.sum())


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor,
                  per_sample: bool = False) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) of posteriors (B, d), summed over the latent dims and
    the batch, or (B,) per sample. Its gradient is ``mu`` and ``(exp(logvar) - 1) / 2``."""
    inner = 1 + logvar - mu.pow(2) - logvar.exp()
    return -0.5 * (inner.sum(1) if per_sample else inner.sum())


@dataclass(frozen=True)
class Weighting:
    """``objective = recon_sum / recon_divisor + beta * (kl_sum / kl_divisor)``, where the sums
    run over the batch: the one statement of the weighting (``of`` picks the divisors)."""

    beta: float
    recon_divisor: int
    kl_divisor: int

    @classmethod
    def of(cls, kl_scaling: KLScaling | str, beta: float, batch: int,
           features: int) -> "Weighting":
        if KLScaling(kl_scaling) is KLScaling.blog:  # element mean; KL summed over the batch
            return cls(beta, batch * features, 1)
        return cls(beta, batch, batch)  # both terms averaged over the batch

    def objective(self, recon_sum: torch.Tensor, kl_sum: torch.Tensor) -> torch.Tensor:
        return recon_sum / self.recon_divisor + self.beta * (kl_sum / self.kl_divisor)

    @property
    def gradient_weights(self) -> tuple[float, float]:
        """(d objective / d recon_sum, d objective / d kl_sum)."""
        return 1 / self.recon_divisor, self.beta / self.kl_divisor

    @property
    def effective_kl_weight(self) -> float:
        """The KL's weight against the reconstruction, in the standard scaling's terms: beta,
        or beta * B * D under the blog scaling (exact: the divisors are integers)."""
        return self.beta * (self.recon_divisor // self.kl_divisor)


class BetaSchedule(str, Enum):
    """The KL weight over the epochs, reaching ``beta``: at once (``constant``); from 0 over
    ``warmup_epochs`` epochs, then ``beta`` (``linear``, KL warm-up); or that ramp repeated,
    each cycle ``warmup_epochs`` rising and as many at ``beta`` (``cyclical``, Fu et al. 2019)."""

    constant = "constant"
    linear = "linear"
    cyclical = "cyclical"


@dataclass(kw_only=True)
class KLWeighting:
    """The VAE's KL weighting part: the command line's ``model.kl.*`` (``detector.kl.*``)."""

    beta: float = 1.0  # >= 0; 1 with bce is the true negative ELBO
    scaling: KLScaling = KLScaling.standard  # standard | blog (the module's docstring)
    schedule: BetaSchedule = BetaSchedule.constant  # constant | linear | cyclical
    warmup_epochs: int = 0  # linear: beta reached after this many epochs; cyclical: half a cycle

    def __post_init__(self):
        finite_at_least(self.beta, "beta")
        self.scaling, self.schedule = KLScaling(self.scaling), BetaSchedule(self.schedule)
        require(self.warmup_epochs >= 0, "warmup_epochs", self.warmup_epochs, "must be >= 0")
        require(self.schedule is BetaSchedule.constant or self.warmup_epochs >= 1,
                "warmup_epochs", self.warmup_epochs, f"{{at}}schedule={self.schedule.value} "
                "ramps over >= 1 epoch; set {at}warmup_epochs=N")

    def beta_at(self, epoch: int) -> float:
        """The KL weight in ``epoch`` (1-based): the first epoch of a ramp has 0."""
        if self.schedule is BetaSchedule.constant or self.warmup_epochs <= 0:
            return self.beta
        position = epoch - 1
        if self.schedule is BetaSchedule.cyclical:
            position %= 2 * self.warmup_epochs
        return self.beta * min(1.0, position / self.warmup_epochs)

    def weighting(self, beta: float, batch: int, features: int) -> Weighting:
        """How the objective of a batch weighs its sums at KL weight ``beta``."""
        return Weighting.of(self.scaling, beta, batch, features)

    def describe(self) -> str:
        """' beta=1', ' beta=1 (blog scaling) (linear over 10 ep)': for labels."""
        label = f" beta={self.beta:g}" + (" (blog scaling)" if self.scaling is KLScaling.blog
                                           else "")
        if self.schedule is not BetaSchedule.constant:
            label += f" ({self.schedule.value} over {self.warmup_epochs} ep)"
        return label
