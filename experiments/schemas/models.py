"""Schemas of the model options (``model=``) and the anomaly detectors (``detector=``): the
library's own settings (``reducers.base.NetworkSettings``, ``reducers.vae.VAESettings``, the
baselines' and the detectors'), each with the ``_target_`` that builds it. The library is the one
home of their defaults and range checks; a YAML option adds comments and the parts it picks
(``net: conv``, ``embedding: tsne``). The parts (``MLP``, ``Conv``, ``KLWeighting``,
``TSNETerm``, ``UMAPTerm``) are their own schemas."""

import functools

from experiments.schemas.node import node
from reducers.anomaly.settings import AESettings, ChainSettings, VAESettings as VAEDetection
from reducers.base import NetworkSettings
from reducers.baselines import BaselineSettings, TSNESettings, UMAPSettings
from reducers.vae import VAESettings

schema = functools.partial(node, module=__name__)  # the schemas live here

AEConfig = schema("AEConfig", NetworkSettings, "reducers.ae.Autoencoder")
VAEConfig = schema("VAEConfig", VAESettings, "reducers.vae.VAE")
PCAConfig = schema("PCAConfig", BaselineSettings, "reducers.baselines.PCA")
TSNEConfig = schema("TSNEConfig", TSNESettings, "reducers.baselines.TSNE")
UMAPConfig = schema("UMAPConfig", UMAPSettings, "reducers.baselines.UMAP")
AEDetectorConfig = schema("AEDetectorConfig", AESettings, "reducers.anomaly.settings.ae")
VAEDetectorConfig = schema("VAEDetectorConfig", VAEDetection, "reducers.anomaly.settings.vae")
ChainDetectorConfig = schema("ChainDetectorConfig", ChainSettings,
                             "reducers.anomaly.settings.chain")
