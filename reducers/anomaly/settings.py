"""The settings of each detector (``detector=ae | vae | chain``), the one home of their defaults,
and what builds a detector from them once the data's size is known. Their image networks are
assembled from the reducers' parts: the network (``net``, ``reducers.networks``) and, for a
VAE, its KL weighting (``kl``, ``reducers.losses.KLWeighting``)::

    detector = chain(input_dim=784, image_shape=(28, 28), variant="joint", net=Conv())

``ae``, ``vae`` and ``chain`` are the ``_target_``s of ``conf/detector/``; ``label`` and
``architecture`` name a detector's settings in records and tables, from a run's config (as
plain data, old ones too).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from reducers.ae import Autoencoder
from reducers.anomaly.detectors import (AEDetector, Detector, FusionChain, GaussianVAE,
                                        JointChain, LatentChain, ResidualChain, VAEDetector)
from reducers.anomaly.scores import AEScore, Fusion, VAEScore
from reducers.checks import at_least, layer_sizes, seed
from reducers.legacy import nested_settings
from reducers.losses import KLWeighting, Recon
from reducers.networks import MLP
from reducers.vae import VAE


class ChainVariant(str, Enum):
    fusion = "fusion"
    latent = "latent"
    residual = "residual"
    joint = "joint"


@dataclass(kw_only=True)
class DetectorSettings:
    """The image networks every detector trains on the normal images."""

    latent_dim: int = 2  # larger codes usually detect better; 2 keeps the scatter plot exact
    recon: Recon = Recon.bce  # bce | mse
    net: MLP = field(default_factory=MLP)  # detector/net=conv: convolutions first

    def __post_init__(self):
        at_least(self.latent_dim, "latent_dim", 1)
        self.recon = Recon(self.recon)

    def build(self, *, input_dim: int, image_shape=None) -> Detector:
        raise NotImplementedError

    def autoencoder(self, input_dim: int, image_shape) -> Autoencoder:
        return Autoencoder(input_dim=input_dim, latent_dim=self.latent_dim, recon=self.recon,
                           net=self.net, image_shape=image_shape)


@dataclass(kw_only=True)
class AESettings(DetectorSettings):
    score: AEScore = AEScore.recon  # recon | rapp_sap | rapp_nap

    def build(self, *, input_dim, image_shape=None):
        return AEDetector(self.autoencoder(input_dim, image_shape), AEScore(self.score))


@dataclass(kw_only=True)
class VAESettings(DetectorSettings):
    kl: KLWeighting = field(default_factory=KLWeighting)  # of the training loss; the score is
    #                                                       always the beta-1 bound
    score: VAEScore = VAEScore.elbo  # elbo | recon_prob | rapp_sap | rapp_nap (the mean path)
    n_samples: int = 10  # posterior samples per image (elbo, recon_prob)
    seed: int = 0  # of those samples: the run's seed

    def __post_init__(self):
        super().__post_init__()
        at_least(self.n_samples, "n_samples", 1)
        seed(self.seed)

    def build(self, *, input_dim, image_shape=None):
        return self.vae_detector(input_dim, image_shape)

    def vae_detector(self, input_dim: int, image_shape) -> VAEDetector:
        vae = VAE(input_dim=input_dim, latent_dim=self.latent_dim, recon=self.recon,
                  net=self.net, kl=self.kl, image_shape=image_shape)
        return VAEDetector(vae, VAEScore(self.score), self.n_samples, self.seed)


@dataclass(kw_only=True)
class ChainSettings(VAESettings):
    """An autoencoder and a VAE, chained as ``variant`` says (``detectors.py``). ``score`` is
    the image VAE's and ``ae_score`` the autoencoder's (fusion); the second VAE of the latent
    and residual variants (``second_hidden``, ``second_latent_dim``, the image networks'
    activation) always scores its negative ELBO."""

    ae_score: AEScore = AEScore.recon  # recon | rapp_sap | rapp_nap
    variant: ChainVariant = ChainVariant.fusion  # fusion | latent | residual | joint
    fusion: Fusion = Fusion.mean  # mean | max | rank
    second_hidden: list[int] = field(default_factory=lambda: [64])  # latent, residual: the
    #   second VAE's layer sizes
    second_latent_dim: int = 2  # latent, residual: the second VAE's code dimensions

    def __post_init__(self):
        super().__post_init__()
        layer_sizes(self.second_hidden, "second_hidden", "[64]")
        at_least(self.second_latent_dim, "second_latent_dim", 1)
        self.variant = ChainVariant(self.variant)

    def build(self, *, input_dim, image_shape=None):
        # the image VAE is initialised first whatever the variant, as since the chains exist,
        # so that a seed gives every network the initial weights of the runs in the README
        image_vae = self.vae_detector(input_dim, image_shape)
        if self.variant is ChainVariant.fusion:
            return FusionChain(AEDetector(self.autoencoder(input_dim, image_shape),
                                          AEScore(self.ae_score)), image_vae, Fusion(self.fusion))
        first = self.autoencoder(input_dim, image_shape)
        if self.variant is ChainVariant.joint:
            return JointChain(first, image_vae.vae)
        latent = self.variant is ChainVariant.latent
        second = GaussianVAE(input_dim=self.latent_dim if latent else input_dim,
                             latent_dim=self.second_latent_dim,
                             net=MLP(hidden=self.second_hidden, activation=self.net.activation))
        return (LatentChain if latent else ResidualChain)(first, second, self.n_samples,
                                                          self.seed)


def ae(*, input_dim: int, image_shape=None, **settings) -> Detector:
    """``detector=ae``: ``AESettings``' fields."""
    return AESettings(**settings).build(input_dim=input_dim, image_shape=image_shape)


def vae(*, input_dim: int, image_shape=None, **settings) -> Detector:
    """``detector=vae``: ``VAESettings``' fields."""
    return VAESettings(**settings).build(input_dim=input_dim, image_shape=image_shape)


def chain(*, input_dim: int, image_shape=None, **settings) -> Detector:
    """``detector=chain``: ``ChainSettings``' fields."""
    return ChainSettings(**settings).build(input_dim=input_dim, image_shape=image_shape)


def _get(settings: Mapping, key: str, default: str) -> str:
    value = settings.get(key, default)
    return str(getattr(value, "value", value))  # an Enum of a composed config, or text


def label(settings: Mapping) -> str:
    """A detector config's name in records and tables: 'ae', 'vae (recon_prob)', 'chain
    (fusion, mean)', ... (``kind`` named the builder in runs before 2026-11-27)."""
    settings = nested_settings(settings)
    kind = _get(settings, "_target_", "").rsplit(".", 1)[-1] or _get(settings, "kind", "?")
    score = _get(settings, "score", "recon" if kind == "ae" else "elbo")
    if kind in ("ae", "vae") and score != ("recon" if kind == "ae" else "elbo"):
        return f"{kind} ({score})"
    if kind == "chain":
        variant = _get(settings, "variant", "fusion")
        if variant != "fusion":
            return f"chain ({variant})"
        scores = _get(settings, "ae_score", "recon"), score  # the AE's, the VAE's
        shown = "" if scores == ("recon", "elbo") else ", " + "+".join(scores)
        return f"chain (fusion, {_get(settings, 'fusion', 'mean')}{shown})"
    return kind


def architecture(settings: Mapping) -> str:
    """A detector config's image networks: '[512, 256]->2', 'conv[32, 64]+[512, 256]->16'."""
    settings = nested_settings(settings)
    net = settings.get("net") or {}
    convs = f"conv{list(net['channels'])}+" if net.get("channels") is not None else ""
    return f"{convs}{list(net.get('hidden', []))}->{settings.get('latent_dim')}"
