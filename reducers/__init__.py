"""reducer-sweep's library: 2-D reducers, the loss they share, one training engine, held-out
scoring, figures, and anomaly detection (``reducers.anomaly``).

Usable without Hydra::

    from reducers import VAE, fit, load_mnist5k, encode, score_codes
"""

from reducers.ae import Autoencoder
from reducers.base import Reducer
from reducers.baselines import PCA, TSNE, UMAP, Baseline
from reducers.data import (Split, load_digits, load_fashion_mnist, load_idx, load_mnist,
                           load_mnist5k, load_tsv)
from reducers.engine import fit
from reducers.errors import CheckpointError, ConfigError, DataError, ReducerError
from reducers.losses import KLScaling, Recon, Weighting
from reducers.scoring import encode, score_codes, score_model
from reducers.vae import VAE

__all__ = ["Autoencoder", "VAE", "Reducer", "Baseline", "PCA", "TSNE", "UMAP", "Split",
           "load_mnist5k", "load_digits", "load_idx", "load_tsv", "load_mnist",
           "load_fashion_mnist", "fit", "encode", "score_codes", "score_model",
           "ReducerError", "ConfigError", "DataError", "CheckpointError", "KLScaling", "Recon",
           "Weighting"]
