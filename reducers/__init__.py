"""reducer-sweep's library: 2-D reducers, one training engine, held-out scoring, figures.

Usable without Hydra::

    from reducers import VAE, fit, load_mnist5k, score_codes
"""

from reducers.ae import Autoencoder
from reducers.base import Reducer
from reducers.data import Split, load_mnist5k
from reducers.engine import fit
from reducers.errors import CheckpointError, ConfigError, DataError, ReducerError
from reducers.scoring import encode, score_codes, score_model
from reducers.vae import VAE

__all__ = ["Autoencoder", "VAE", "Reducer", "Split", "load_mnist5k", "fit", "encode",
           "score_codes", "score_model", "ReducerError", "ConfigError", "DataError",
           "CheckpointError"]
