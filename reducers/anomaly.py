"""Anomaly scores from the reducers, and the detection metrics of the standard protocols.

Every detector is trained on normal images only and gives each image a score, higher meaning
more anomalous:

- ``AEDetector``: the autoencoder's reconstruction error (its own loss, summed over pixels).
- ``VAEDetector``: the VAE's negative ELBO (beta 1, whatever beta it was trained with),
  averaged over ``n_samples`` posterior samples; or the "reconstruction probability" of An &
  Cho (2015): the expected negative log-likelihood of the image under the decoder, averaged
  over posterior samples, without the KL term. (An & Cho's decoder also predicts a variance;
  ours is Bernoulli or fixed-variance Gaussian, so it is the likelihood of that decoder.)
- ``FusionChain``: an autoencoder and a VAE side by side; each score is put on the scale of
  its own distribution on the normal training images (a z-score, or the fraction of training
  scores below it) and the two are combined by their mean, their max or their rank average.
- ``LatentChain``: a small VAE fitted on the autoencoder's codes (standardised); the score is
  its negative ELBO of an image's code: a density in the autoencoder's latent space.
- ``ResidualChain``: a VAE fitted on the autoencoder's reconstruction residuals ``x - x_hat``
  (scaled by their standard deviation on the training images); the score is its negative
  ELBO of an image's residual: what the autoencoder gets wrong, and whether it is the usual
  kind of wrong.

The VAEs of the chains model real-valued vectors, so they use ``GaussianVAE``: a linear
decoder output and a unit-variance Gaussian likelihood.

Protocols: ``one_class`` trains on one class of the train split and tests on the whole test
split (every other class is an anomaly); ``leave_one_out`` trains on every class but one, and
that class is the anomaly. Thresholds are fixed on the normal training scores (a quantile), so
the false-positive and false-negative rates at them are what a deployed detector would see.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np
import torch

from reducers.ae import Autoencoder
from reducers.errors import DataError
from reducers.vae import VAE

# train(model, x, name): fits ``model`` on ``x`` with the shared engine (the caller's optimiser
# and trainer settings); ``name`` says which of a detector's models it is, for the log.
TrainFn = Callable[[torch.nn.Module, torch.Tensor, str], None]


class Protocol(str, Enum):
    one_class = "one_class"
    leave_one_out = "leave_one_out"


class VAEScore(str, Enum):
    elbo = "elbo"  # negative ELBO
    recon_prob = "recon_prob"  # An & Cho's reconstruction probability (negative log)


class Fusion(str, Enum):
    mean = "mean"  # mean of the z-scores
    max = "max"  # max of the z-scores
    rank = "rank"  # mean of the fractions of normal training scores below


class ChainVariant(str, Enum):
    fusion = "fusion"
    latent = "latent"
    residual = "residual"


@dataclass
class AnomalySplit:
    x_train: np.ndarray  # normal training images only
    y_train: np.ndarray
    x_test: np.ndarray  # the whole test split
    y_test: np.ndarray
    is_anomaly: np.ndarray  # bool per test image
    description: str


def protocol_split(split, protocol: str, cls: int) -> AnomalySplit:
    """The training images and test labels of a protocol (``cls``: the normal class of
    one_class, the anomalous class of leave_one_out)."""
    protocol = Protocol(protocol)
    classes = sorted(set(np.unique(split.y_train)) & set(np.unique(split.y_test)))
    if cls not in classes:
        key = "normal_class" if protocol is Protocol.one_class else "anomaly_class"
        raise DataError(f"anomaly.{key}={cls} is invalid: {split.name} has the classes "
                        f"{', '.join(map(str, classes))} in both splits")
    if protocol is Protocol.one_class:
        keep, is_anomaly = split.y_train == cls, split.y_test != cls
        description = f"one_class: normal {cls}, anomalies the other classes"
    else:
        keep, is_anomaly = split.y_train != cls, split.y_test == cls
        description = f"leave_one_out: anomaly {cls}, normal the other classes"
    return AnomalySplit(split.x_train[keep], split.y_train[keep], split.x_test, split.y_test,
                        is_anomaly, description)


class GaussianVAE(VAE):
    """A VAE for real-valued vectors (the chains' codes and residuals, not images, so its
    ``decode`` is not confined to [0, 1]): linear output, unit-variance Gaussian likelihood
    (reconstruction term ``0.5 * ||x - x_hat||^2``, the negative log-likelihood up to a
    constant)."""

    def __init__(self, input_dim: int, hidden=(64,), latent_dim: int = 2,
                 activation: str = "relu", beta: float = 1.0):
        super().__init__(input_dim, hidden, latent_dim, activation, recon="mse", beta=beta)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def recon_sum(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (logits - x).pow(2).sum()

    def recon_per_sample(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (logits - x).pow(2).sum(1)


def _batches(x: torch.Tensor, size: int = 4096):
    for start in range(0, len(x), size):
        yield x[start:start + size]


@torch.inference_mode()
def reconstruction_error(model, x: torch.Tensor) -> np.ndarray:
    """Per image: the model's reconstruction loss of its deterministic reconstruction."""
    model.eval()
    return torch.cat([model.recon_per_sample(model.decoder(model.encode(xb)), xb)
                      for xb in _batches(x)]).numpy()


@torch.inference_mode()
def vae_score(vae: VAE, x: torch.Tensor, kind: str = "elbo", n_samples: int = 10,
              seed: int = 0) -> np.ndarray:
    """Per image: the negative ELBO (``elbo``) or the negative reconstruction log-probability
    (``recon_prob``), each averaged over ``n_samples`` posterior samples."""
    kind = VAEScore(kind)
    generator = torch.Generator().manual_seed(seed)
    vae.eval()
    scores = []
    for xb in _batches(x):
        mu, logvar = vae.posterior(xb)
        std = torch.exp(0.5 * logvar)
        recon = torch.zeros(len(xb))
        for _ in range(n_samples):
            z = mu + std * torch.randn(mu.shape, generator=generator)
            recon += vae.recon_per_sample(vae.decoder(z), xb)
        score = recon / n_samples
        if kind is VAEScore.elbo:
            score += -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)
        scores.append(score)
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


def fuse(scores: list[np.ndarray], references: list[Reference], how: str) -> np.ndarray:
    how = Fusion(how)
    if how is Fusion.rank:
        return np.mean([ref.rank(s) for s, ref in zip(scores, references)], axis=0)
    z = np.stack([ref.z(s) for s, ref in zip(scores, references)])
    return z.mean(axis=0) if how is Fusion.mean else z.max(axis=0)


class Detector:
    """Fit on normal images, then score any images (higher: more anomalous)."""

    def fit(self, x: torch.Tensor, train: TrainFn) -> None:
        raise NotImplementedError

    def score(self, x: torch.Tensor) -> np.ndarray:
        raise NotImplementedError

    def codes(self, x: torch.Tensor) -> np.ndarray:
        """The 2-D (or d-D) codes the first network gives ``x``, for the scatter plot."""
        network = self.networks()[0][1]
        with torch.inference_mode():
            network.eval()
            return torch.cat([network.encode(xb) for xb in _batches(x)]).numpy()

    def networks(self) -> list[tuple[str, torch.nn.Module]]:
        raise NotImplementedError


class AEDetector(Detector):
    def __init__(self, ae: Autoencoder):
        self.ae = ae

    def fit(self, x, train):
        train(self.ae, x, "autoencoder")

    def score(self, x):
        return reconstruction_error(self.ae, x)

    def networks(self):
        return [("autoencoder", self.ae)]


class VAEDetector(Detector):
    def __init__(self, vae: VAE, kind: str = "elbo", n_samples: int = 10, seed: int = 0):
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        self.vae, self.kind, self.n_samples, self.seed = vae, VAEScore(kind), n_samples, seed

    def fit(self, x, train):
        train(self.vae, x, "VAE")

    def score(self, x):
        return vae_score(self.vae, x, self.kind, self.n_samples, self.seed)

    def networks(self):
        return [("VAE", self.vae)]


class FusionChain(Detector):
    """Both detectors on the images; their scores standardised on the training scores."""

    def __init__(self, ae: AEDetector, vae: VAEDetector, how: str = "mean"):
        self.parts, self.how = [ae, vae], Fusion(how)
        self.references: list[Reference] = []

    def fit(self, x, train):
        for part in self.parts:
            part.fit(x, train)
        self.references = [Reference.of(part.score(x)) for part in self.parts]

    def score(self, x):
        return fuse([part.score(x) for part in self.parts], self.references, self.how)

    def networks(self):
        return [n for part in self.parts for n in part.networks()]


class _SecondStage(Detector):
    """An autoencoder, then a Gaussian VAE on something it computes (``features``)."""

    def __init__(self, ae: Autoencoder, vae: GaussianVAE, n_samples: int = 10, seed: int = 0):
        self.ae, self.vae, self.n_samples, self.seed = ae, vae, n_samples, seed
        self.shift: torch.Tensor | float = 0.0
        self.scale: torch.Tensor | float = 1.0

    def raw_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def fit(self, x, train):
        train(self.ae, x, "autoencoder")
        self.shift, self.scale = self.standardisation(self.raw_features(x))
        train(self.vae, self.features(x), "VAE on the autoencoder's output")

    def standardisation(self, f: torch.Tensor) -> tuple:
        raise NotImplementedError

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return (self.raw_features(x) - self.shift) / self.scale

    def score(self, x):
        return vae_score(self.vae, self.features(x), "elbo", self.n_samples, self.seed)

    def networks(self):
        return [("autoencoder", self.ae), ("second VAE", self.vae)]


class LatentChain(_SecondStage):
    """A VAE on the autoencoder's codes, each dimension standardised on the training codes."""

    @torch.no_grad()  # not inference mode: the second VAE trains on these
    def raw_features(self, x):
        self.ae.eval()
        return torch.cat([self.ae.encode(xb) for xb in _batches(x)])

    def standardisation(self, f):
        return f.mean(0), f.std(0).clamp_min(1e-6)


class ResidualChain(_SecondStage):
    """A VAE on the autoencoder's residuals ``x - x_hat``, scaled by their overall spread."""

    @torch.no_grad()  # not inference mode: the second VAE trains on these
    def raw_features(self, x):
        self.ae.eval()
        return torch.cat([xb - self.ae.reconstruct(xb) for xb in _batches(x)])

    def standardisation(self, f):
        return 0.0, float(f.std()) or 1.0


def detection_metrics(train_scores: np.ndarray, test_scores: np.ndarray,
                      is_anomaly: np.ndarray, quantile: float = 0.95) -> dict[str, float]:
    """AUROC and average precision (anomalies are the positives), and the rates at the
    threshold fixed on the normal training scores: a test image is flagged when its score is
    above the ``quantile`` of the training scores."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    if is_anomaly.all() or not is_anomaly.any():
        raise DataError("the test split needs both normal and anomalous images")
    from sklearn.metrics import average_precision_score, roc_auc_score  # a second: when used

    threshold = float(np.quantile(train_scores, quantile))
    flagged = test_scores > threshold
    return {
        "auroc": float(roc_auc_score(is_anomaly, test_scores)),
        "average_precision": float(average_precision_score(is_anomaly, test_scores)),
        "threshold": threshold,
        "fpr": float(flagged[~is_anomaly].mean()),  # normal test images flagged
        "fnr": float((~flagged[is_anomaly]).mean()),  # anomalies missed
        "train_flagged": float((train_scores > threshold).mean()),  # ~ 1 - quantile
        "anomaly_fraction": float(is_anomaly.mean()),
    }


def roc(test_scores: np.ndarray, is_anomaly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(is_anomaly, test_scores)
    return fpr, tpr
