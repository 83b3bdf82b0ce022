"""Structured-config schemas: every YAML option extends one, so a wrong type, an unknown key or an
invalid choice fails while Hydra composes the config, and ``validate`` checks ranges before any
work. A model's, a detector's and the trainer's schema is the library's own settings dataclass
(``schemas.models``, ``schemas.parts``): there, and only there, are their defaults and range
checks; the other schemas (data, optimiser, scoring, ...) state types and ranges, the YAML
their values.

``register()`` stores them in Hydra's ConfigStore; the command line (``experiments.cli``) calls
it before composing, and the launchers carry the store to their workers.
"""

import dataclasses
import difflib

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
from reducers.checks import SettingError
from reducers.embedding_terms import TSNETerm, UMAPTerm
from reducers.errors import ConfigError
from reducers.networks import MLP, Conv
from reducers.placement import Placement

SCHEMAS = {"train": TrainConfig, "embed": EmbedConfig, "anomaly": AnomalyConfig,
           "model_ae": AEConfig, "model_vae": VAEConfig, "model_pca": PCAConfig,
           "model_tsne": TSNEConfig, "model_umap": UMAPConfig,
           "net_mlp": MLP, "net_conv": Conv, "embedding_tsne": TSNETerm,
           "embedding_umap": UMAPTerm, "place_neighbours": Placement,
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
    config; raises ConfigError naming the key with its path (``model.net.dropout``)."""
    _check(cfg, "")
    try:
        return OmegaConf.to_object(cfg)
    except MissingMandatoryValue as exc:
        raise ConfigError(f"{exc.full_key} is required: add {exc.full_key}=... to the command "
                          "line") from None


def _unknown_keys(node: DictConfig, schema: type, path: str) -> None:
    """A key the schema lacks: Hydra's ``+key=value`` adds one even to a structured node, and
    the part would silently ignore it (``+trainer.epoch=5`` trains the default epochs)."""
    fields = [f.name for f in dataclasses.fields(schema)]
    for key in node:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f"did you mean {path}{close[0]}?" if close else \
                f"its keys are {', '.join(f for f in fields if not f.startswith('_'))}"
            raise ConfigError(f"{path}{key} is not a setting ({path.rstrip('.') or 'the app'} "
                              f"has no key '{key}'): {hint}")


def _check(node: DictConfig, path: str) -> None:
    """Build each structured node, innermost first, so that a part's error gets its path."""
    for key in node:
        try:
            child = node[key]
        except MissingMandatoryValue:
            continue  # reported by ``validate`` with its full key
        if isinstance(child, DictConfig):
            _check(child, f"{path}{key}.")
    schema = OmegaConf.get_type(node)
    if dataclasses.is_dataclass(schema):
        _unknown_keys(node, schema, path)
        try:
            OmegaConf.to_object(node)
        except SettingError as exc:
            raise exc.at(path) from None
        except MissingMandatoryValue:
            pass
