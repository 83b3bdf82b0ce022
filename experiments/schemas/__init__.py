"""Structured-config schemas: every YAML option extends one, so a wrong type, an unknown key or an
invalid choice fails while Hydra composes the config, and ``validate`` checks ranges before any
work. The schemas state types and ranges only: every value, default included, is in the YAML
under ``conf/`` (``tests/test_schemas.py`` checks that no constructor default contradicts it).

``register()`` stores them in Hydra's ConfigStore; the command line (``experiments.cli``) calls
it before composing, and the launchers carry the store to their workers.
"""

import dataclasses

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from experiments.schemas.apps import AnomalyConfig, EmbedConfig, TrainConfig
from experiments.schemas.models import (AEConfig, AEDetectorConfig, ChainDetectorConfig,
                                        PCAConfig, TSNEConfig, UMAPConfig, VAEConfig,
                                        VAEDetectorConfig)
from experiments.schemas.parts import (AdamConfig, DataConfig, DownloadDataConfig,
                                       FileDataConfig, IdxDataConfig, MLflowTrackingConfig,
                                       PathsConfig, SGDConfig, ScoreConfig, TableDataConfig,
                                       TensorBoardTrackingConfig, TrackingConfig, TrainerConfig)
from reducers.errors import ConfigError

SCHEMAS = {"train": TrainConfig, "embed": EmbedConfig, "anomaly": AnomalyConfig,
           "model_ae": AEConfig, "model_vae": VAEConfig, "model_pca": PCAConfig,
           "model_tsne": TSNEConfig, "model_umap": UMAPConfig,
           "detector_ae": AEDetectorConfig, "detector_vae": VAEDetectorConfig,
           "detector_chain": ChainDetectorConfig,
           "data": DataConfig, "data_file": FileDataConfig, "data_idx": IdxDataConfig,
           "data_download": DownloadDataConfig,
           "data_table": TableDataConfig,
           "optim_adam": AdamConfig, "optim_sgd": SGDConfig, "trainer": TrainerConfig,
           "score": ScoreConfig, "paths": PathsConfig, "tracking": TrackingConfig,
           "tracking_mlflow": MLflowTrackingConfig,
           "tracking_tensorboard": TensorBoardTrackingConfig}
# the settings of the networks (model=ae, vae) and of either of them
NETWORK_KEYS = frozenset(f.name for schema in (AEConfig, VAEConfig)
                         for f in dataclasses.fields(schema))


def register() -> None:
    """Store the schemas as top-level configs named ``schema_<name>`` (not groups, so they do
    not show up as choices in ``--help``); each YAML option names its schema in its defaults."""
    store = ConfigStore.instance()
    for name, node in SCHEMAS.items():
        store.store(name=f"schema_{name}", node=node)


def validate(cfg: DictConfig):
    """Range-check every field (the dataclasses' ``__post_init__``) and return the typed
    config; raises ConfigError naming the key."""
    for key in ("test_data", "heldout"):  # data options elsewhere: name the key they are at
        if cfg.get(key) is not None:
            try:
                OmegaConf.to_object(cfg[key])
            except ConfigError as exc:
                raise ConfigError(str(exc).replace("data.", f"{key}.", 1)) from None
            except MissingMandatoryValue:
                pass  # reported below, with its full key
    try:
        return OmegaConf.to_object(cfg)
    except MissingMandatoryValue as exc:
        raise ConfigError(f"{exc.full_key} is required: add {exc.full_key}=... to the command "
                          "line") from None
