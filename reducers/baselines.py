"""Reference reducers without a decoder (PCA, t-SNE, UMAP), scored by the same code as the
networks through one small facade::

    train_codes, test_codes = Baseline(...).embed(x_train, x_test)

PCA and UMAP are fitted on the training images only and map the test images (``transform``).
t-SNE cannot embed unseen points, so it embeds both splits together, without labels; kNN is
then still fitted on the train part with train labels only. ``embedding_protocol`` says which
was done, and every run records it.
"""

import warnings
from dataclasses import dataclass

import numpy as np

from reducers.checks import at_least, finite_at_least, positive, seed
from reducers.errors import ConfigError, ReducerError

EMBEDDING_PROTOCOLS = {  # how the test codes were obtained; every run records one
    "inductive": "fitted on the train split only; the test split mapped by the fitted model",
    "transductive": "the method cannot embed unseen points: train and test embedded jointly "
                    "(no labels used); kNN fitted on the train part with train labels only",
}


@dataclass(kw_only=True)
class BaselineSettings:
    """A baseline's settings, the one home of their defaults (the command line's ``model.*``)."""

    latent_dim: int = 2  # dimensions of the code
    seed: int = 0  # the run's seed

    def __post_init__(self):
        at_least(self.latent_dim, "latent_dim", 1)
        seed(self.seed)


@dataclass(kw_only=True)
class TSNESettings(BaselineSettings):
    perplexity: float = 30.0  # t-SNE's effective number of neighbours
    max_iter: int = 1000  # optimisation steps of t-SNE

    def __post_init__(self):
        super().__post_init__()
        positive(self.perplexity, "perplexity")
        at_least(self.max_iter, "max_iter", 250)


@dataclass(kw_only=True)
class UMAPSettings(BaselineSettings):
    n_neighbors: int = 15  # UMAP's neighbours per point: larger keeps more global structure
    min_dist: float = 0.1  # how tightly UMAP packs the codes

    def __post_init__(self):
        super().__post_init__()
        at_least(self.n_neighbors, "n_neighbors", 2)
        finite_at_least(self.min_dist, "min_dist")


class Baseline:
    """Keyword-only: ``input_dim`` and the ``Settings``' fields; stores them (scikit-learn
    style); the work happens in ``embed``."""

    Settings = BaselineSettings
    inductive = True
    has_decoder = False

    def __init__(self, *, input_dim: int, **settings):
        self.input_dim, self.settings = input_dim, self.Settings(**settings)
        self.latent_dim, self.seed = self.settings.latent_dim, self.settings.seed

    def describe(self) -> str:
        return f"{type(self).__name__} ->{self.latent_dim}"

    @property
    def embedding_protocol(self) -> str:
        return "inductive" if self.inductive else "transductive"

    def estimator(self):
        raise NotImplementedError

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Codes of further rows, by the estimator ``embed`` fitted (inductive methods only)."""
        if not self.inductive or getattr(self, "fitted", None) is None:
            raise ReducerError(f"{type(self).__name__} cannot map rows it was not fitted with")
        return self.fitted.transform(x).astype(np.float32)

    def effective_kl_weight(self, batch_size: int) -> None:
        return None  # no KL term, as for the plain autoencoder

    def embed(self, x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Codes (N, d) of the train and (M, d) of the test images."""
        if x_train.shape[1] != self.input_dim or x_test.shape[1] != self.input_dim:
            raise ReducerError(f"{type(self).__name__} was built for {self.input_dim} features,"
                               f" the data has {x_train.shape[1]}")
        estimator = self.estimator()
        if self.inductive:
            train = estimator.fit_transform(x_train)
            self.fitted = estimator  # maps further rows (``transform``)
            return train.astype(np.float32), estimator.transform(x_test).astype(np.float32)
        joint = estimator.fit_transform(np.concatenate([x_train, x_test])).astype(np.float32)
        return joint[:len(x_train)], joint[len(x_train):]


class PCA(Baseline):
    def estimator(self):
        from sklearn.decomposition import PCA as SklearnPCA
        return SklearnPCA(self.latent_dim, random_state=self.seed)


class TSNE(Baseline):
    Settings = TSNESettings
    inductive = False

    def estimator(self):
        from sklearn.manifold import TSNE as SklearnTSNE
        s = self.settings
        return SklearnTSNE(self.latent_dim, perplexity=s.perplexity, max_iter=s.max_iter,
                           init="pca", random_state=self.seed,
                           method="barnes_hut" if self.latent_dim < 4 else "exact")


class UMAP(Baseline):
    Settings = UMAPSettings

    def __init__(self, **settings):
        super().__init__(**settings)
        try:
            import umap  # noqa: F401  (checked here: fail before any work)
        except ImportError:
            raise ConfigError("model=umap needs umap-learn, the optional extra: "
                              "pip install -c constraints.txt -e '.[umap]'") from None

    def embed(self, x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with warnings.catch_warnings():  # seeded UMAP is single-threaded: on purpose, here
            warnings.filterwarnings("ignore", message="n_jobs value .* overridden")
            return super().embed(x_train, x_test)

    def estimator(self):
        import umap
        return umap.UMAP(n_components=self.latent_dim, n_neighbors=self.settings.n_neighbors,
                         min_dist=self.settings.min_dist, random_state=self.seed)
