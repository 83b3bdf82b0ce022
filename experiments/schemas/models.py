"""Schemas of the model options (``model=``) and the anomaly detectors (``detector=``): the
library's own settings (``reducers.base.NetworkSettings``, ``reducers.vae.VAESettings``, the
baselines' and the detectors'), each with the ``_target_`` that builds it. The library is the one
home of their defaults and range checks; a YAML option adds comments and the parts it picks
(``net: conv``, ``embedding: tsne``). The parts (``MLP``, ``Conv``, ``KLWeighting``,
``TSNETerm``, ``UMAPTerm``) are their own schemas."""

from dataclasses import dataclass

from reducers.anomaly.settings import AESettings, ChainSettings, VAESettings as VAEDetection
from reducers.base import NetworkSettings
from reducers.baselines import BaselineSettings, TSNESettings, UMAPSettings
from reducers.vae import VAESettings


@dataclass(kw_only=True)
class AEConfig(NetworkSettings):
    _target_: str = "reducers.ae.Autoencoder"


@dataclass(kw_only=True)
class VAEConfig(VAESettings):
    _target_: str = "reducers.vae.VAE"


@dataclass(kw_only=True)
class PCAConfig(BaselineSettings):
    _target_: str = "reducers.baselines.PCA"


@dataclass(kw_only=True)
class TSNEConfig(TSNESettings):
    _target_: str = "reducers.baselines.TSNE"


@dataclass(kw_only=True)
class UMAPConfig(UMAPSettings):
    _target_: str = "reducers.baselines.UMAP"


@dataclass(kw_only=True)
class AEDetectorConfig(AESettings):
    _target_: str = "reducers.anomaly.settings.ae"


@dataclass(kw_only=True)
class VAEDetectorConfig(VAEDetection):
    _target_: str = "reducers.anomaly.settings.vae"


@dataclass(kw_only=True)
class ChainDetectorConfig(ChainSettings):
    _target_: str = "reducers.anomaly.settings.chain"
