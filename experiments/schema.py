"""Structured-config schemas: every YAML option extends one, so a wrong type, an unknown key or
an invalid choice fails at composition, and ``validate`` checks ranges before any work."""

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import II, MISSING, DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from reducers.anomaly import ChainVariant, Fusion, Protocol, VAEScore
from reducers.base import Activation, KLScaling, Recon
from reducers.engine import Backward
from reducers.errors import ConfigError
from reducers.scoring import DIRECTION


def require(ok: bool, key: str, value, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is invalid: {allowed}")


@dataclass
class ReducerConfig:
    """What every model option has: the class it builds and the code size."""
    _target_: str = MISSING
    latent_dim: int = 2

    def __post_init__(self):
        require(self.latent_dim >= 1, "model.latent_dim", self.latent_dim, "must be >= 1")


@dataclass
class ModelConfig(ReducerConfig):
    """A network trained by the engine (optim and trainer apply)."""
    hidden: List[int] = field(default_factory=lambda: [400])
    activation: Activation = Activation.relu
    recon: Recon = Recon.bce

    def __post_init__(self):
        super().__post_init__()
        require(all(h >= 1 for h in self.hidden), "model.hidden", self.hidden,
                "a list of layer sizes, each >= 1 (e.g. [512,256])")


@dataclass
class BaselineConfig(ReducerConfig):
    """A reference method fitted in one call (optim and trainer do not apply)."""
    seed: int = II("seed")  # the run's seed


@dataclass
class PCAConfig(BaselineConfig):
    _target_: str = "reducers.baselines.PCA"


@dataclass
class TSNEConfig(BaselineConfig):
    _target_: str = "reducers.baselines.TSNE"
    perplexity: float = 30.0
    max_iter: int = 1000

    def __post_init__(self):
        super().__post_init__()
        require(self.perplexity > 0, "model.perplexity", self.perplexity, "must be > 0")
        require(self.max_iter >= 250, "model.max_iter", self.max_iter, "must be >= 250")


@dataclass
class UMAPConfig(BaselineConfig):
    _target_: str = "reducers.baselines.UMAP"
    n_neighbors: int = 15
    min_dist: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        require(self.n_neighbors >= 2, "model.n_neighbors", self.n_neighbors, "must be >= 2")
        require(self.min_dist >= 0, "model.min_dist", self.min_dist, "must be >= 0")


@dataclass
class AEConfig(ModelConfig):
    _target_: str = "reducers.ae.Autoencoder"


@dataclass
class VAEConfig(ModelConfig):
    _target_: str = "reducers.vae.VAE"
    beta: float = 1.0
    kl_scaling: KLScaling = KLScaling.standard

    def __post_init__(self):
        super().__post_init__()
        require(math.isfinite(self.beta) and self.beta >= 0, "model.beta", self.beta,
                "must be a finite number >= 0")


@dataclass
class DataConfig:
    _target_: str = MISSING
    test_fraction: float = 0.2
    seed: int = 0
    limit: Optional[int] = None  # use N images (before the split); null: all

    def __post_init__(self):
        require(0 < self.test_fraction < 1, "data.test_fraction", self.test_fraction,
                "must be in (0, 1)")
        require(self.limit is None or self.limit >= 2, "data.limit", self.limit,
                "must be >= 2 or null (null: all images)")


@dataclass
class FileDataConfig(DataConfig):
    path: str = MISSING  # a file (tsv) or a folder of IDX files (idx)


@dataclass
class DownloadDataConfig(DataConfig):
    data_dir: str = "${paths.data_dir}"  # IDX files in <data_dir>/<name>/, or the download cache


@dataclass
class OptimConfig:
    _target_: str = MISSING
    _partial_: bool = True  # built later with the model's parameters
    lr: float = 1e-3
    weight_decay: float = 0.0
    fused: bool = True  # one kernel for the whole update: +18% samples/s at batch 128 here

    def __post_init__(self):
        require(math.isfinite(self.lr) and self.lr > 0, "optim.lr", self.lr, "must be > 0")
        require(self.weight_decay >= 0, "optim.weight_decay", self.weight_decay, "must be >= 0")


@dataclass
class AdamConfig(OptimConfig):
    _target_: str = "torch.optim.Adam"


@dataclass
class SGDConfig(OptimConfig):
    _target_: str = "torch.optim.SGD"
    lr: float = 0.01
    momentum: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        require(0 <= self.momentum < 1, "optim.momentum", self.momentum, "must be in [0, 1)")


@dataclass
class TrainerConfig:
    epochs: int = 50
    batch_size: int = 128
    threads: Optional[int] = None  # torch threads; null: cores shared among parallel jobs
    progress: bool = True
    resume: bool = False  # continue from the run folder's checkpoint (or resume_from)
    resume_from: Optional[str] = None  # a checkpoint file or a run folder to continue from
    checkpoint_seconds: float = 30.0  # write the last whole epoch at most this often (0: always)
    backward: Backward = Backward.manual  # hand-written for the AE and VAE, or autograd

    def __post_init__(self):
        require(math.isfinite(self.checkpoint_seconds) and self.checkpoint_seconds >= 0,
                "trainer.checkpoint_seconds", self.checkpoint_seconds,
                "must be >= 0 (0: after every epoch)")
        require(self.resume or self.resume_from is None, "trainer.resume_from",
                self.resume_from, "is only read with trainer.resume=true; add that")
        require(self.epochs >= 1, "trainer.epochs", self.epochs, "must be >= 1")
        require(self.batch_size >= 1, "trainer.batch_size", self.batch_size, "must be >= 1")
        require(self.threads is None or self.threads >= 1, "trainer.threads", self.threads,
                "must be >= 1 or null (the cores, shared among parallel jobs)")


@dataclass
class ScoreConfig:
    knn_k: int = 5
    trust_k: int = 5
    max_pairwise: int = 2000  # subsample size for the quadratic metrics
    figures: bool = True

    def __post_init__(self):
        for key in ("knn_k", "trust_k"):
            require(getattr(self, key) >= 1, f"score.{key}", getattr(self, key), "must be >= 1")
        require(self.max_pairwise >= 10, "score.max_pairwise", self.max_pairwise,
                "must be >= 10")


@dataclass
class CompareConfig:
    sort_by: str = "knn_acc"  # the metric comparison.md is sorted by

    def __post_init__(self):
        require(self.sort_by in DIRECTION, "compare.sort_by", self.sort_by,
                f"one of {', '.join(DIRECTION)}")


@dataclass
class PathsConfig:
    output_root: str = "outputs"
    data_dir: str = "data"


@dataclass
class Config:
    model: ReducerConfig = MISSING
    data: DataConfig = MISSING
    optim: OptimConfig = MISSING
    trainer: TrainerConfig = MISSING
    score: ScoreConfig = MISSING
    paths: PathsConfig = field(default_factory=PathsConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
    seed: int = 0


@dataclass
class EmbedConfig:
    """``python -m experiments.embed``: a trained model's codes for a dataset."""
    checkpoint: str = MISSING  # a checkpoint.pt, or the run folder holding one
    data: DataConfig = MISSING
    score: ScoreConfig = MISSING
    paths: PathsConfig = field(default_factory=PathsConfig)
    seed: int = 0


class DetectorKind(str, Enum):
    ae = "ae"
    vae = "vae"
    chain = "chain"


@dataclass
class DetectorConfig:
    """The networks of a detector (``python -m experiments.anomaly``)."""
    kind: DetectorKind = MISSING
    hidden: List[int] = field(default_factory=lambda: [512, 256])
    latent_dim: int = 2
    activation: Activation = Activation.relu
    recon: Recon = Recon.bce

    def __post_init__(self):
        option = type(self).__dataclass_fields__["kind"].default  # what detector=NAME chose
        require(self.kind == option, "detector.kind", self.kind.value,
                f"follows the option; choose detector={self.kind.value} instead")
        require(self.latent_dim >= 1, "detector.latent_dim", self.latent_dim, "must be >= 1")
        require(all(h >= 1 for h in self.hidden), "detector.hidden", self.hidden,
                "a list of layer sizes, each >= 1 (e.g. [512,256])")


@dataclass
class AEDetectorConfig(DetectorConfig):
    kind: DetectorKind = DetectorKind.ae


@dataclass
class VAEDetectorConfig(DetectorConfig):
    kind: DetectorKind = DetectorKind.vae
    beta: float = 1.0
    score: VAEScore = VAEScore.elbo
    n_samples: int = 10  # posterior samples per image for the score

    def __post_init__(self):
        super().__post_init__()
        require(math.isfinite(self.beta) and self.beta >= 0, "detector.beta", self.beta,
                "must be a finite number >= 0")
        require(self.n_samples >= 1, "detector.n_samples", self.n_samples, "must be >= 1")


@dataclass
class ChainDetectorConfig(VAEDetectorConfig):
    kind: DetectorKind = DetectorKind.chain
    variant: ChainVariant = ChainVariant.fusion
    fusion: Fusion = Fusion.mean
    second_hidden: List[int] = field(default_factory=lambda: [64])
    second_latent_dim: int = 2

    def __post_init__(self):
        super().__post_init__()
        require(all(h >= 1 for h in self.second_hidden), "detector.second_hidden",
                self.second_hidden, "a list of layer sizes, each >= 1 (e.g. [64])")
        require(self.second_latent_dim >= 1, "detector.second_latent_dim",
                self.second_latent_dim, "must be >= 1")


@dataclass
class AnomalySettings:
    protocol: Protocol = Protocol.one_class
    normal_class: int = 0  # one_class: the class trained on
    anomaly_class: int = 0  # leave_one_out: the class left out
    threshold_quantile: float = 0.95  # of the normal training scores
    held_out_fraction: float = 0.0  # > 0: also a threshold on normal images kept from training
    figures: bool = True

    def __post_init__(self):
        require(0 < self.threshold_quantile < 1, "anomaly.threshold_quantile",
                self.threshold_quantile, "must be in (0, 1)")
        require(0 <= self.held_out_fraction <= 0.5, "anomaly.held_out_fraction",
                self.held_out_fraction, "must be in [0, 0.5] (0: no held-out threshold)")


@dataclass
class AnomalyConfig:
    """``python -m experiments.anomaly``: train a detector on normal images, score the test."""
    detector: DetectorConfig = MISSING
    data: DataConfig = MISSING
    optim: OptimConfig = MISSING
    trainer: TrainerConfig = MISSING
    anomaly: AnomalySettings = field(default_factory=AnomalySettings)
    paths: PathsConfig = field(default_factory=PathsConfig)
    seed: int = 0

    def __post_init__(self):
        require(not self.trainer.resume, "trainer.resume", self.trainer.resume,
                "experiments.anomaly does not resume (its runs are short): rerun instead")


SCHEMAS = {"config": Config, "embed": EmbedConfig, "anomaly": AnomalyConfig,
           "detector_ae": AEDetectorConfig, "detector_vae": VAEDetectorConfig,
           "detector_chain": ChainDetectorConfig, "model_ae": AEConfig, "model_vae": VAEConfig,
           "model_pca": PCAConfig, "model_tsne": TSNEConfig, "model_umap": UMAPConfig,
           "data": DataConfig, "data_file": FileDataConfig, "data_download": DownloadDataConfig,
           "optim_adam": AdamConfig, "optim_sgd": SGDConfig,
           "trainer": TrainerConfig, "score": ScoreConfig}


def register() -> None:
    """Store the schemas as top-level configs named ``schema_<name>`` (not groups, so they do
    not show up as choices in ``--help``); each YAML option names its schema in its defaults."""
    store = ConfigStore.instance()
    for name, node in SCHEMAS.items():
        store.store(name=f"schema_{name}", node=node)


def validate(cfg: DictConfig) -> Config:
    """Range-check every field (the dataclasses' ``__post_init__``); raises ConfigError."""
    try:
        return OmegaConf.to_object(cfg)
    except MissingMandatoryValue as exc:
        raise ConfigError(f"{exc.full_key} is required: add {exc.full_key}=... to the command "
                          "line") from None
