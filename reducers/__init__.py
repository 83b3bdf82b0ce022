"""reducer-sweep's library: 2-D reducers assembled from parts, the loss they share, one trainer,
held-out scoring, figures, and anomaly detection (``reducers.anomaly``).

Usable without Hydra::

    from reducers import VAE, KLWeighting, MLP, Trainer, TrainerSettings, load_mnist5k, encode

    split = load_mnist5k()
    model = VAE(input_dim=split.input_dim, net=MLP(hidden=[400]), kl=KLWeighting(beta=4))
    Trainer(TrainerSettings(epochs=20)).fit(model, torch.optim.Adam(model.parameters()),
                                            torch.from_numpy(split.x_train))
    codes = encode(model, torch.from_numpy(split.x_test))
"""

from reducers.ae import Autoencoder
from reducers.base import NetworkSettings, Reducer
from reducers.baselines import PCA, TSNE, UMAP, Baseline
from reducers.data import (Split, load_digits, load_fashion_mnist, load_idx, load_mnist,
                           load_mnist5k, load_tsv)
from reducers.embedding_terms import TSNETerm, UMAPTerm
from reducers.errors import CheckpointError, ConfigError, DataError, ReducerError
from reducers.losses import BetaSchedule, KLScaling, KLWeighting, Recon, Weighting
from reducers.networks import MLP, Conv
from reducers.scoring import encode, score_codes, score_model
from reducers.trainer import Trainer
from reducers.trainer_settings import TrainerSettings
from reducers.vae import VAE, VAESettings

__all__ = ["Autoencoder", "VAE", "Reducer", "NetworkSettings", "VAESettings", "MLP", "Conv",
           "KLWeighting", "BetaSchedule", "TSNETerm", "UMAPTerm", "Baseline", "PCA", "TSNE",
           "UMAP", "Split", "load_mnist5k", "load_digits", "load_idx", "load_tsv", "load_mnist",
           "load_fashion_mnist", "Trainer", "TrainerSettings", "encode", "score_codes",
           "score_model", "ReducerError", "ConfigError", "DataError", "CheckpointError",
           "KLScaling", "Recon", "Weighting"]
