"""The autoencoder and the VAE as scikit-learn estimators, over the same parts and trainer as
the command line: ``VAEReducer(kl=KLWeighting(beta=4)).fit_transform(X)``.

A setting is a constructor parameter: the code size (``n_components``, umap-learn's name) and
the reconstruction loss, then the parts, each the library's own settings object with its one
home of defaults: ``net`` (``MLP`` or ``Conv``), ``kl`` (the VAE's ``KLWeighting``),
``embedding`` (a neighbour-embedding term, ``TSNETerm`` or ``UMAPTerm``), ``place``
(``Placement``: ``transform`` moves new rows' codes among their nearest training rows', as
UMAP does; the training rows are kept), ``trainer``
(``TrainerSettings``) and ``optimizer`` (``Optimizer``). None stands for the part's defaults,
which are the command line's. Then ``scale`` (numbers that are not ``uint8`` pixels),
``val_fraction`` (a validation set for the trainer's early stopping), ``random_state`` and
``verbose`` (the progress bar). A part's fields are parameters too, scikit-learn's way:
``set_params(kl__beta=4, net__hidden=[64])`` or ``GridSearchCV(..., {"kl__beta": [1, 4]})``.

``fit`` seeds torch with ``random_state`` inside a forked random state (the caller's is left
as it was), flushes denormal floats as the command line does, builds the model, the optimiser
and the term's graph in the command line's order and trains with the same ``Trainer``: the
same settings, data and seed give bit-identical codes (a test runs both doors).
"""

import copy
import dataclasses
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin

from reducers.ae import Autoencoder
from reducers.base import NetworkSettings
from reducers.checkpoint import build_model, load_checkpoint
from reducers.data.scaling import Scaling
from reducers.data.table import TableSettings
from reducers.embedding_terms import EmbeddingTerm
from reducers.estimators import inputs
from reducers.losses import KLWeighting
from reducers.networks import MLP, Conv
from reducers.optimizers import Optimizer
from reducers.placement import Placement
from reducers.scoring import encode
from reducers.status import Status
from reducers.torch_internals import denormals_flushed
from reducers.trainer import Trainer
from reducers.trainer_settings import TrainerSettings
from reducers.vae import VAE

# the parts and what None stands for (``embedding``: no term; ``place``: the network's codes)
PARTS = {"net": MLP, "embedding": None, "place": None, "trainer": TrainerSettings,
         "optimizer": Optimizer}
PART_TYPES = {**PARTS, "embedding": EmbeddingTerm, "place": Placement}  # Conv is an MLP


class NetworkReducer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """What both estimators share (see the module's doc). Fitted: ``model_`` (the torch
    module), ``embedding_`` (the training rows' codes, as umap-learn's), ``history_`` (a dict
    per epoch), ``n_iter_`` (epochs trained), ``scaling_``, ``image_shape_``."""

    model_class = Autoencoder
    parts, part_types = PARTS, PART_TYPES

    def __init__(self, n_components=NetworkSettings.latent_dim, *,
                 recon=NetworkSettings.recon.value, net=None, embedding=None, place=None,
                 trainer=None, optimizer=None, scale=TableSettings.scale.value,
                 val_fraction=0.0, random_state=0, verbose=False):
        self.n_components, self.recon, self.net, self.embedding = \
            n_components, recon, net, embedding
        self.place = place
        self.trainer, self.optimizer, self.scale = trainer, optimizer, scale
        self.val_fraction, self.random_state, self.verbose = val_fraction, random_state, verbose

    def fit(self, X, y=None):
        """Train on ``X``; ``y`` (labels) only stratifies the validation rows and serves
        ``heldout_knn_scorer``: the reducers learn without labels."""
        x, image_shape, scaling = inputs.fit_rows(self, X)
        self._check_parts(image_shape)
        x_train, x_val = inputs.validation_rows(x, y, image_shape, self.val_fraction,
                                                self.part("trainer"))
        model, result = self._train(x_train, x_val, image_shape)
        if result.status is Status.diverged:
            where = result.diverged or {}
            raise ValueError(f"training diverged (a non-finite loss at epoch "
                             f"{where.get('epoch', '?')}): lower optimizer__lr, or scale the "
                             "data (scale='minmax')")
        self.model_, self.scaling_, self.image_shape_ = model, scaling, image_shape
        self.history_, self.n_iter_ = result.history, len(result.history)
        self.embedding_ = encode(model, torch.from_numpy(x))  # (N, n_components), every row
        self.placer_ = None if self.place is None else \
            self.place.fit(x_train, encode(model, torch.from_numpy(x_train)))
        self._n_features_out = self.n_components
        self._fit_labels = None if y is None else np.asarray(y)
        return self

    def _train(self, x_train: np.ndarray, x_val: np.ndarray | None, image_shape):
        """The model and the trainer's result, built and run in the command line's order."""
        settings = dataclasses.replace(self.part("trainer"), progress=bool(self.verbose))
        seed, rows = inputs.seed(self.random_state), torch.from_numpy(x_train)
        with denormals_flushed(True), torch.random.fork_rng():
            torch.manual_seed(seed)
            model = self.model_class(input_dim=rows.shape[1], image_shape=image_shape,
                                     **self._model_settings())
            optimizer = self.part("optimizer").build(model.parameters())
            augment = settings.augment(image_shape)
            model.fit_neighbours(rows, augment)
            result = Trainer(settings, augment=augment).fit(
                model, optimizer, rows, seed=seed,
                x_val=None if x_val is None else torch.from_numpy(x_val))
        return model, result

    def fit_transform(self, X, y=None):
        return self.fit(X, y).embedding_

    def transform(self, X) -> np.ndarray:
        """Codes (N, n_components) float32: the encoder's output (a VAE's posterior mean),
        placed among the training rows' codes when ``place`` is given."""
        rows = inputs.rows(self, X)  # refuses an unfitted estimator first
        codes = encode(self.model_, torch.from_numpy(rows))
        placer = getattr(self, "placer_", None)  # none in an estimator pickled before it
        return codes if placer is None else \
            placer.place(rows, codes, seed=inputs.seed(self.random_state))

    def inverse_transform(self, X) -> np.ndarray:
        """The decoder's reconstructions of codes ``X`` (N, n_components), in the inputs'
        units (scaled back) and shape ((N, h, w) for images)."""
        codes = torch.from_numpy(inputs.codes_in(self, X))
        with torch.inference_mode():
            out = self.model_.eval().decode(codes)
        return inputs.as_inputs(self, out.numpy())

    def part(self, name: str):
        """The part ``name`` as ``fit`` uses it: the one given, or its defaults."""
        given, default = getattr(self, name), self.parts[name]
        return given if given is not None or default is None else default()

    def get_params(self, deep=True) -> dict:
        """scikit-learn's, with each part's fields as ``part__field`` when ``deep``, also for
        a part left at None (its defaults)."""
        params = super().get_params(deep=False)
        if deep:
            for name in self.parts:
                part = self.part(name)
                if dataclasses.is_dataclass(part) and not isinstance(part, type):
                    params.update({f"{name}__{f.name}": getattr(part, f.name)
                                   for f in dataclasses.fields(part)})
        return params

    def set_params(self, **params):
        """scikit-learn's; ``part__field=value`` makes a new part from the current one (or the
        defaults) with that field changed: a part given to another estimator is not touched."""
        fields: dict[str, dict] = {}
        for key in [k for k in params if "__" in k]:
            name, _, field = key.partition("__")
            if name in self.parts:
                fields.setdefault(name, {})[field] = params.pop(key)
        super().set_params(**params)
        for name, changes in fields.items():
            part = self.part(name)
            usable = dataclasses.is_dataclass(part) and not isinstance(part, type)
            known = {f.name for f in dataclasses.fields(part)} if usable else set()
            if not set(changes) <= known:
                key = f"{name}__{sorted(set(changes) - known)[0]}"
                raise ValueError(f"Invalid parameter {key!r} for estimator {self}: "
                                 + (f"{name} has {', '.join(sorted(known))}" if usable
                                    else f"{name} is {part!r}; set {name}=... first"))
            setattr(self, name, dataclasses.replace(part, **changes))
        return self

    @classmethod
    def from_checkpoint(cls, path) -> "NetworkReducer":
        """A fitted estimator from the command line's ``checkpoint.pt`` (or its run folder):
        its parts as the run's, its weights, and its inputs scaled as the run's were (a
        table's fitted scaling; pixels 0-255 for images)."""
        state = load_checkpoint(path)
        model = build_model(state, path)
        if not isinstance(model, cls.model_class):
            raise ValueError(f"{path} holds a {type(model).__name__}; load it with the "
                             f"estimator for that model, not {cls.__name__}")
        parts = model.settings.as_dict()
        if parts.pop("place") is not None:  # the training rows are not in the checkpoint
            warnings.warn(f"{path}: the run placed new rows among its training rows "
                          "(model.place), which the checkpoint does not hold; this estimator "
                          "encodes with the network alone (python -m experiments.embed "
                          "places them)", stacklevel=2)
        estimator = cls(n_components=parts.pop("latent_dim"), recon=parts.pop("recon").value,
                        **parts)
        d, spec = model.input_dim, state["model_spec"]
        scaling = spec.get("scaling")
        estimator.scaling_ = Scaling.from_dict(scaling) if scaling else \
            inputs.pixel_scaling(d)
        estimator.model_, estimator.image_shape_ = model.eval(), model.image_shape
        estimator.n_features_in_, estimator._n_features_out = d, model.latent_dim
        if scaling and scaling.get("features"):
            estimator.feature_names_in_ = np.asarray(scaling["features"], dtype=object)
        estimator.history_, estimator.n_iter_, estimator.placer_ = [], state["epoch"], None
        return estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # images (N, h, w)
        tags.transformer_tags.preserves_dtype = ["float32"]  # the codes are float32
        return tags

    def _model_settings(self) -> dict:
        return {"latent_dim": self.n_components, "recon": self.recon,
                "net": copy.deepcopy(self.part("net")),
                "embedding": copy.deepcopy(self.part("embedding")),
                "place": copy.deepcopy(self.part("place"))}

    def _check_parts(self, image_shape) -> None:
        for name, kind in self.part_types.items():
            part = self.part(name)
            if part is not None and not isinstance(part, kind):
                raise TypeError(f"{name} must be {kind.__name__} (or None: the defaults), "
                                f"not {part!r}")
        if isinstance(self.part("net"), Conv) and image_shape is None:
            raise ValueError("net=Conv(...) needs images: pass X as (N, height, width)")


class AutoencoderReducer(NetworkReducer):
    """The plain autoencoder (the command line's ``model=ae``)."""


class VAEReducer(NetworkReducer):
    """The VAE (``model=vae``, the command line's default); ``kl``: its ``KLWeighting``
    (beta, scaling, schedule). Adds ``sample``."""

    model_class = VAE
    parts, part_types = {**PARTS, "kl": KLWeighting}, {**PART_TYPES, "kl": KLWeighting}

    def __init__(self, n_components=NetworkSettings.latent_dim, *,
                 recon=NetworkSettings.recon.value, net=None, kl=None, embedding=None,
                 place=None, trainer=None, optimizer=None, scale=TableSettings.scale.value,
                 val_fraction=0.0, random_state=0, verbose=False):
        super().__init__(n_components, recon=recon, net=net, embedding=embedding,
                         place=place, trainer=trainer, optimizer=optimizer, scale=scale,
                         val_fraction=val_fraction, random_state=random_state, verbose=verbose)
        self.kl = kl

    def sample(self, n_samples: int = 1, random_state=None) -> np.ndarray:
        """``n_samples`` decoded draws from the prior N(0, I), in the inputs' units and shape."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "model_")
        generator = torch.Generator().manual_seed(inputs.seed(random_state))
        z = torch.randn(n_samples, self.n_components, generator=generator)
        return self.inverse_transform(z.numpy())

    def _model_settings(self) -> dict:
        return {**super()._model_settings(), "kl": copy.deepcopy(self.part("kl"))}

