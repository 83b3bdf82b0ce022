"""Schemas of the model options (``model=``) and the anomaly detectors (``detector=``)."""

import math
from dataclasses import dataclass
from typing import List

from omegaconf import MISSING

from experiments.schemas.checks import convolutions, finite_at_least, layer_sizes, require
from reducers.anomaly.detectors import ChainVariant
from reducers.anomaly.scores import AEScore, Fusion, VAEScore
from reducers.losses import KLScaling, Recon
from reducers.neighbours import Embedding
from reducers.networks import Activation, Net
from reducers.vae import BetaSchedule


@dataclass
class ReducerConfig:
    """What every model option has: the class it builds and the code size."""
    _target_: str = MISSING
    latent_dim: int = MISSING

    def __post_init__(self):
        require(self.latent_dim >= 1, "model.latent_dim", self.latent_dim, "must be >= 1")


@dataclass
class NetworkConfig(ReducerConfig):
    """A network trained by the engine (optim and trainer apply)."""
    net: Net = MISSING  # mlp | conv
    channels: List[int] = MISSING  # net=conv: per convolution
    kernel_size: int = MISSING  # net=conv: odd
    hidden: List[int] = MISSING
    batchnorm: bool = MISSING
    dropout: float = MISSING
    input_dropout: float = MISSING
    activation: Activation = MISSING
    recon: Recon = MISSING
    embedding_loss: Embedding = MISSING  # none | tsne | umap
    embedding_weight: float = MISSING
    embedding_batch: int = MISSING
    embedding_scale: float = MISSING
    n_neighbors: int = MISSING
    min_dist: float = MISSING
    negative_rate: int = MISSING
    perplexity: float = MISSING

    def __post_init__(self):
        super().__post_init__()
        layer_sizes(self.hidden, "model.hidden")
        finite_at_least(self.embedding_weight, "model.embedding_weight")
        require(self.embedding_batch >= 2, "model.embedding_batch", self.embedding_batch,
                "must be >= 2")
        require(self.n_neighbors >= 2, "model.n_neighbors", self.n_neighbors, "must be >= 2")
        finite_at_least(self.min_dist, "model.min_dist")
        require(self.negative_rate >= 1, "model.negative_rate", self.negative_rate,
                "must be >= 1")
        finite_at_least(self.perplexity, "model.perplexity", 1)
        require(math.isfinite(self.embedding_scale) and self.embedding_scale > 0,
                "model.embedding_scale", self.embedding_scale, "must be a finite number > 0")
        for key in ("dropout", "input_dropout"):
            require(0 <= getattr(self, key) < 1, f"model.{key}", getattr(self, key),
                    "must be in [0, 1)")
        convolutions(self.channels, self.kernel_size, "model")


@dataclass
class AEConfig(NetworkConfig):
    pass


@dataclass
class VAEConfig(NetworkConfig):
    beta: float = MISSING
    kl_scaling: KLScaling = MISSING
    beta_schedule: BetaSchedule = MISSING  # constant | linear (KL warm-up) | cyclical
    warmup_epochs: int = MISSING  # epochs of each ramp from 0 to beta

    def __post_init__(self):
        super().__post_init__()
        finite_at_least(self.beta, "model.beta")
        require(self.warmup_epochs >= 0, "model.warmup_epochs", self.warmup_epochs,
                "must be >= 0")
        require(self.beta_schedule is BetaSchedule.constant or self.warmup_epochs >= 1,
                "model.warmup_epochs", self.warmup_epochs,
                f"model.beta_schedule={self.beta_schedule.value} ramps over >= 1 epoch; set "
                "model.warmup_epochs=N")


@dataclass
class BaselineConfig(ReducerConfig):
    """A reference method fitted in one call (optim and trainer do not apply)."""
    seed: int = MISSING  # the run's seed


@dataclass
class PCAConfig(BaselineConfig):
    pass


@dataclass
class TSNEConfig(BaselineConfig):
    perplexity: float = MISSING
    max_iter: int = MISSING

    def __post_init__(self):
        super().__post_init__()
        require(self.perplexity > 0, "model.perplexity", self.perplexity, "must be > 0")
        require(self.max_iter >= 250, "model.max_iter", self.max_iter, "must be >= 250")


@dataclass
class UMAPConfig(BaselineConfig):
    n_neighbors: int = MISSING
    min_dist: float = MISSING

    def __post_init__(self):
        super().__post_init__()
        require(self.n_neighbors >= 2, "model.n_neighbors", self.n_neighbors, "must be >= 2")
        require(self.min_dist >= 0, "model.min_dist", self.min_dist, "must be >= 0")


@dataclass
class DetectorConfig:
    """The image networks of every detector (``python -m experiments.anomaly``)."""
    _target_: str = MISSING
    net: Net = MISSING  # mlp | conv
    channels: List[int] = MISSING  # net=conv: per convolution
    kernel_size: int = MISSING  # net=conv: odd
    hidden: List[int] = MISSING
    latent_dim: int = MISSING
    activation: Activation = MISSING
    recon: Recon = MISSING

    def __post_init__(self):
        require(self.latent_dim >= 1, "detector.latent_dim", self.latent_dim, "must be >= 1")
        layer_sizes(self.hidden, "detector.hidden")
        convolutions(self.channels, self.kernel_size, "detector")


@dataclass
class AEDetectorConfig(DetectorConfig):
    score: AEScore = MISSING  # recon | rapp_sap | rapp_nap


@dataclass
class VAEDetectorConfig(DetectorConfig):
    beta: float = MISSING
    score: VAEScore = MISSING  # elbo | recon_prob | rapp_sap | rapp_nap (the mean path)
    n_samples: int = MISSING  # posterior samples per image for the score
    seed: int = MISSING  # of those samples: the run's seed

    def __post_init__(self):
        super().__post_init__()
        finite_at_least(self.beta, "detector.beta")
        require(self.n_samples >= 1, "detector.n_samples", self.n_samples, "must be >= 1")


@dataclass
class ChainDetectorConfig(VAEDetectorConfig):
    ae_score: AEScore = MISSING  # variant=fusion: the autoencoder's score (``score``: the VAE's)
    variant: ChainVariant = MISSING
    fusion: Fusion = MISSING
    second_hidden: List[int] = MISSING
    second_latent_dim: int = MISSING

    def __post_init__(self):
        super().__post_init__()
        layer_sizes(self.second_hidden, "detector.second_hidden", "[64]")
        require(self.second_latent_dim >= 1, "detector.second_latent_dim",
                self.second_latent_dim, "must be >= 1")
