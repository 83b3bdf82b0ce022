"""Per-image anomaly scores (higher: more anomalous) and the scale of a score on normal
training images, which lets the fusion chain combine scores of different units."""

from dataclasses import dataclass
from enum import Enum

import numpy as np
import torch

from reducers.losses import Weighting, kl_divergence


class AEScore(str, Enum):
    recon = "recon"  # the reconstruction error (the autoencoder's own loss per image)
    rapp_sap = "rapp_sap"  # RaPP: summed squared differences along the encoder (rapp.py)
    rapp_nap = "rapp_nap"  # RaPP: the same differences, whitened on the training images


class VAEScore(str, Enum):
    elbo = "elbo"  # negative ELBO
    recon_prob = "recon_prob"  # An & Cho's reconstruction probability (negative log)
    rapp_sap = "rapp_sap"  # RaPP along the VAE's mean path
    rapp_nap = "rapp_nap"


class Fusion(str, Enum):
    mean = "mean"  # mean of the z-scores
    max = "max"  # max of the z-scores
    rank = "rank"  # mean of the fractions of normal training scores below


def batches(x: torch.Tensor, size: int = 4096):
    for start in range(0, len(x), size):
        yield x[start:start + size]


@torch.inference_mode()
def reconstruction_error(model, x: torch.Tensor) -> np.ndarray:
    """Per image: the model's reconstruction loss of its deterministic reconstruction."""
    model.eval()
    return torch.cat([model.reconstruction(model.decoder(model.encode(xb)), xb, per_sample=True)
                      for xb in batches(x)]).numpy()


@torch.inference_mode()
def vae_score(vae, x: torch.Tensor, kind: VAEScore | str = "elbo", n_samples: int = 10,
              seed: int = 0) -> np.ndarray:
    """Per image: the negative ELBO (``elbo``: beta 1, whatever beta the VAE was trained with)
    or the negative reconstruction log-probability (``recon_prob``), each averaged over
    ``n_samples`` posterior samples."""
    kind = VAEScore(kind)
    if kind not in (VAEScore.elbo, VAEScore.recon_prob):
        raise ValueError(f"vae_score draws elbo or recon_prob, not {kind.value} "
                         "(reducers.anomaly.rapp scores the pathway)")
    generator = torch.Generator().manual_seed(seed)
    negative_elbo = Weighting.of("standard", beta=1.0, batch=1, features=vae.input_dim)
    vae.eval()
    scores = []
    for xb in batches(x):
        mu, logvar = vae.posterior(xb)
        std = torch.exp(0.5 * logvar)
        recon = torch.zeros(len(xb))
        for _ in range(n_samples):
            z = mu + std * torch.randn(mu.shape, generator=generator)
            recon += vae.reconstruction(vae.decoder(z), xb, per_sample=True)
        recon /= n_samples
        scores.append(recon if kind is VAEScore.recon_prob else
                      negative_elbo.objective(recon, kl_divergence(mu, logvar, per_sample=True)))
    return torch.cat(scores).numpy()


@dataclass
class Reference:
    """A score's distribution on the normal training images, to put new scores on its scale."""
    sorted_scores: np.ndarray
    mean: float
    std: float

    @classmethod
    def of(cls, scores: np.ndarray) -> "Reference":
        return cls(np.sort(scores), float(scores.mean()), float(scores.std()) or 1.0)

    def z(self, scores: np.ndarray) -> np.ndarray:
        return (scores - self.mean) / self.std

    def rank(self, scores: np.ndarray) -> np.ndarray:
        """The fraction of training scores at or below each score (0..1)."""
        return np.searchsorted(self.sorted_scores, scores, side="right") / len(self.sorted_scores)


def fuse(scores: list[np.ndarray], references: list[Reference], how: Fusion | str) -> np.ndarray:
    how = Fusion(how)
    if how is Fusion.rank:
        return np.mean([ref.rank(s) for s, ref in zip(scores, references)], axis=0)
    z = np.stack([ref.z(s) for s, ref in zip(scores, references)])
    return z.mean(axis=0) if how is Fusion.mean else z.max(axis=0)
