"""Anomaly detectors built from the reducers. Each is fitted on normal images only and gives
every image a score, higher meaning more anomalous:

- ``ae``: the autoencoder's reconstruction error (its own loss, summed over pixels); or RaPP's
  SAP or NAP (``rapp.py``): the image and its reconstruction compared at every layer of the
  encoder, not only at the input.
- ``vae``: the VAE's negative ELBO (beta 1, whatever beta it was trained with), averaged over
  ``n_samples`` posterior samples; or the "reconstruction probability" of An & Cho (2015): the
  expected negative log-likelihood of the image under the decoder, without the KL term. (An &
  Cho's decoder also predicts a variance; ours is Bernoulli or fixed-variance Gaussian.) Or
  RaPP's SAP or NAP along the VAE's mean path (no sampling).
- ``chain``, ``variant=fusion``: an autoencoder and a VAE side by side; each score is put on the
  scale of its own distribution on normal images (a z-score, or the fraction of their scores
  below it) and the two are combined by their mean, their max or their ranks. Those normal
  images are the training images, or the held-out ones when the run keeps some
  (``calibrate``): a network scores its own training images too well, and the two networks
  not by the same amount.
- ``chain``, ``variant=joint``: an autoencoder and a VAE scored by one RaPP NAP over both
  networks' pathways, whitened together on the training images.
- ``chain``, ``variant=latent``: a small VAE fitted on the autoencoder's standardised codes; the
  score is its negative ELBO of an image's code: a density in the autoencoder's latent space.
- ``chain``, ``variant=residual``: a VAE fitted on the autoencoder's residuals ``x - x_hat``
  (scaled by their spread on the training images): what the autoencoder gets wrong, and whether
  it is the usual kind of wrong.

Their settings, and what builds them, are ``settings.py``'s (``AESettings``, ``VAESettings``,
``ChainSettings``: the ``_target_``s of ``conf/detector/``).
"""

from collections.abc import Callable
from enum import Enum

import numpy as np
import torch

from reducers.ae import Autoencoder
from reducers.anomaly.rapp import NAP, PathwayScore, pathway_differences, pathway_scores
from reducers.anomaly.scores import AEScore, Fusion, Reference, VAEScore, batches, fuse, \
    reconstruction_error, vae_score
from reducers.losses import Recon, gaussian_reconstruction
from reducers.vae import VAE

# train(model, x, name): fits ``model`` on ``x`` with the shared trainer (the caller's optimiser
# and trainer settings); ``name`` says which of a detector's models it is, for the log.
TrainFn = Callable[[torch.nn.Module, torch.Tensor, str], None]


class GaussianVAE(VAE):
    """A VAE for real-valued vectors (the chains' codes and residuals, not images, so its
    ``decode`` is not confined to [0, 1]): linear output, unit-variance Gaussian likelihood."""

    def __init__(self, **settings):
        super().__init__(recon=Recon.mse, **settings)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def reconstruction(self, out: torch.Tensor, x: torch.Tensor,
                       per_sample: bool = False) -> torch.Tensor:
        return gaussian_reconstruction(out, x, per_sample)


class Detector:
    """Fit on normal images, then score any images (higher: more anomalous)."""

    def fit(self, x: torch.Tensor, train: TrainFn) -> None:
        raise NotImplementedError

    def score(self, x: torch.Tensor) -> np.ndarray:
        raise NotImplementedError

    def calibrate(self, x: torch.Tensor) -> None:
        """Normal images the networks never saw (the run's held-out ones), for detectors that
        put scores on a scale; the others ignore them."""

    def codes(self, x: torch.Tensor) -> np.ndarray:
        """The 2-D (or d-D) codes the first network gives ``x``, for the scatter plot."""
        network = self.networks()[0][1]
        with torch.inference_mode():
            network.eval()
            return torch.cat([network.encode(xb) for xb in batches(x)]).numpy()

    def networks(self) -> list[tuple[str, torch.nn.Module]]:
        raise NotImplementedError


class Pathway:
    """A RaPP score of one network (``rapp.py``); NAP is fitted on the training images."""

    def __init__(self, kind: PathwayScore | str):
        self.kind, self.nap = PathwayScore(kind), None

    def fit(self, network: torch.nn.Module, x: torch.Tensor) -> None:
        if self.kind is PathwayScore.rapp_nap:
            self.nap = NAP.fit(pathway_differences(network, x))

    def score(self, network: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
        return pathway_scores(network, x, self.nap)


def pathway_of(kind: Enum) -> Pathway | None:
    return Pathway(kind.value) if kind.value in PathwayScore.__members__ else None


class AEDetector(Detector):
    def __init__(self, ae: Autoencoder, kind: AEScore | str = AEScore.recon):
        self.ae, self.kind = ae, AEScore(kind)
        self.pathway = pathway_of(self.kind)

    def fit(self, x, train):
        train(self.ae, x, "autoencoder")
        if self.pathway is not None:
            self.pathway.fit(self.ae, x)

    def score(self, x):
        if self.pathway is not None:
            return self.pathway.score(self.ae, x)
        return reconstruction_error(self.ae, x)

    def networks(self):
        return [("autoencoder", self.ae)]


class VAEDetector(Detector):
    def __init__(self, vae: VAE, kind: VAEScore | str, n_samples: int, seed: int):
        self.vae, self.kind, self.n_samples, self.seed = vae, VAEScore(kind), n_samples, seed
        self.pathway = pathway_of(self.kind)

    def fit(self, x, train):
        train(self.vae, x, "VAE")
        if self.pathway is not None:
            self.pathway.fit(self.vae, x)

    def score(self, x):
        if self.pathway is not None:
            return self.pathway.score(self.vae, x)
        return vae_score(self.vae, x, self.kind, self.n_samples, self.seed)

    def networks(self):
        return [("VAE", self.vae)]


class FusionChain(Detector):
    """Both detectors on the images; their scores standardised on the training images' scores,
    or on held-out normal images' once ``calibrate`` has seen some."""

    def __init__(self, ae: AEDetector, vae: VAEDetector, how: Fusion | str):
        self.parts, self.how = [ae, vae], Fusion(how)
        self.references: list[Reference] = []

    def fit(self, x, train):
        for part in self.parts:
            part.fit(x, train)
        self.references = [Reference.of(part.score(x)) for part in self.parts]

    def calibrate(self, x):
        self.references = [Reference.of(part.score(x)) for part in self.parts]

    def score(self, x):
        return fuse([part.score(x) for part in self.parts], self.references, self.how)

    def networks(self):
        return [n for part in self.parts for n in part.networks()]


class JointChain(Detector):
    """An autoencoder and a VAE, scored by one NAP over both pathways: each network's
    differences (``rapp.py``) side by side, whitened together on the training images, so that
    what the two networks get wrong in the same way counts once."""

    def __init__(self, ae: Autoencoder, vae: VAE):
        self.ae, self.vae, self.nap = ae, vae, None

    def fit(self, x, train):
        train(self.ae, x, "autoencoder")
        train(self.vae, x, "VAE")
        self.nap = NAP.fit(pathway_differences([self.ae, self.vae], x))

    def score(self, x):
        return pathway_scores([self.ae, self.vae], x, self.nap)

    def networks(self):
        return [("autoencoder", self.ae), ("VAE", self.vae)]


class _SecondStage(Detector):
    """An autoencoder, then a Gaussian VAE on something it computes (``features``)."""

    def __init__(self, ae: Autoencoder, vae: GaussianVAE, n_samples: int, seed: int):
        self.ae, self.vae, self.n_samples, self.seed = ae, vae, n_samples, seed
        self.shift: torch.Tensor | float = 0.0
        self.scale: torch.Tensor | float = 1.0

    def raw_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def standardisation(self, f: torch.Tensor) -> tuple:
        raise NotImplementedError

    def fit(self, x, train):
        train(self.ae, x, "autoencoder")
        self.shift, self.scale = self.standardisation(self.raw_features(x))
        train(self.vae, self.features(x), "VAE on the autoencoder's output")

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
        return torch.cat([self.ae.encode(xb) for xb in batches(x)])

    def standardisation(self, f):
        return f.mean(0), f.std(0).clamp_min(1e-6)


class ResidualChain(_SecondStage):
    """A VAE on the autoencoder's residuals ``x - x_hat``, scaled by their overall spread."""

    @torch.no_grad()  # not inference mode: the second VAE trains on these
    def raw_features(self, x):
        self.ae.eval()
        return torch.cat([xb - self.ae.reconstruct(xb) for xb in batches(x)])

    def standardisation(self, f):
        return 0.0, float(f.std()) or 1.0
