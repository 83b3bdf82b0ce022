"""The Reducer contract. A reducer is a ``torch.nn.Module`` over flattened images ``x`` of shape
(B, D), values in [0, 1]:

    encode(x) -> (B, d)  deterministic codes; a VAE returns its posterior mean.
    decode(z) -> (B, D)  reconstructions in [0, 1].
    loss(x)   -> dict    "total" (what the optimiser minimises), "recon" and, for a VAE, "kl";
                         each a scalar tensor, a mean over the batch (``reducers.losses``).

A neighbour-embedding term (``embedding=TSNETerm(...)`` or ``UMAPTerm``,
``reducers.embedding_terms``) adds its ``weight`` times itself to "total" and reports itself
under its name ("tsne", "umap") while training; it needs ``fit_neighbours(x_train)`` first, and
evaluation (``eval()`` mode) leaves it out.

Optionally ``manual_step(optimizer)`` returns an object whose ``loss(x)`` gives the same terms
and whose ``step()`` then updates the parameters by a hand-written backward pass
(``reducers.manual``); the trainer uses it where offered and autograd on ``loss`` otherwise.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import torch
from torch import nn

from reducers import losses
from reducers.checks import at_least
from reducers.devices import device_of
from reducers.embedding_terms import EmbeddingTerm, NeighbourTerm
from reducers.losses import Recon
from reducers.networks import MLP
from reducers.placement import Placement


@dataclass(kw_only=True)
class NetworkSettings:
    """A network reducer's settings, the one home of their defaults (the command line's
    ``model.*``): the code size, the reconstruction loss and the parts it is assembled from,
    each holding its own settings: the encoder's and decoder's layers (``net``,
    ``reducers.networks``), a neighbour-embedding term (``embedding``,
    ``reducers.embedding_terms``) and how new rows are placed (``place``,
    ``reducers.placement``)."""

    latent_dim: int = 2  # dimensions of the code (2: a map to look at)
    recon: Recon = Recon.bce  # bce | mse
    net: MLP = field(default_factory=MLP)  # model/net=conv: strided convolutions first
    embedding: EmbeddingTerm | None = None  # model/embedding=tsne | umap: a term that keeps
    #                                         the training data's neighbourhoods in the codes
    place: Placement | None = None  # model/place=neighbours: new rows' codes moved among
    #                                 their nearest training rows' (reducers.placement)

    def __post_init__(self):
        at_least(self.latent_dim, "latent_dim", 1)
        self.recon = Recon(self.recon)

    def as_dict(self) -> dict:
        """The settings as keyword arguments (parts as they are)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Reducer(nn.Module):
    """What the autoencoder and the VAE share. Keyword-only: the data's size (``input_dim``;
    ``image_shape`` for a conv network) and the ``Settings``' fields, e.g.
    ``VAE(input_dim=784, net=MLP(hidden=[400]), kl=KLWeighting(beta=4))``. The decoder is
    built here, before the encoder, so that a seed gives the same weights as ever."""

    Settings = NetworkSettings
    has_prior = False  # True when decoding N(0, I) samples is meaningful (a VAE)

    def __init__(self, *, input_dim: int, image_shape: Sequence[int] | None = None,
                 **settings):
        super().__init__()
        at_least(input_dim, "input_dim", 1)
        self.settings = self.Settings(**settings)
        self.input_dim, self.latent_dim = input_dim, self.settings.latent_dim
        self.recon, self.net = self.settings.recon, self.settings.net
        self.image_shape = None if image_shape is None else tuple(image_shape)
        self.decoder = self.net.decoder(self.latent_dim, input_dim, self.image_shape)
        embedding = self.settings.embedding
        self.neighbours = None if embedding is None else NeighbourTerm(embedding)

    def describe(self) -> str:
        """A short label, e.g. 'VAE [512, 256]->2 bce beta=1 + tsne x300' (', placed': new
        rows placed among the training codes, ``place``)."""
        label = f"{type(self).__name__} {self.net.describe()}->{self.latent_dim} " \
                f"{self.recon.value}{self.describe_objective()}"
        if self.neighbours is not None:
            label += f" + {self.neighbours.kind} x{self.neighbours.weight:g}"
        return label + (", placed" if self.settings.place is not None else "")

    def describe_objective(self) -> str:
        """What the label says of the objective beyond the reconstruction ('' here)."""
        return ""

    def fit_neighbours(self, x_train: torch.Tensor, augment=None) -> float | None:
        """Give the neighbour-embedding term its training rows (N, D) and build its graph; the
        seconds that took, or None without such a term. ``augment``: the run's augmentation,
        applied to the rows the term encodes too."""
        if self.neighbours is None:
            return None
        return self.neighbours.fit(x_train, augment, device_of(self))

    def with_neighbours(self, terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``terms`` with the neighbour-embedding term added while training."""
        if self.neighbours is None or not self.training:
            return terms
        term = self.neighbours(self.encode)
        return {**terms, "total": terms["total"] + self.neighbours.weight * term,
                self.neighbours.kind: term}

    def trunk(self, out: list[int], last_activation: bool) -> nn.Sequential:
        """The encoder from (B, D) through the network's layers and then ``out`` (sizes of
        more fully connected layers)."""
        return self.net.encoder(self.input_dim, out, last_activation, self.image_shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z))  # (B, D) in [0, 1]

    def reconstruction(self, logits: torch.Tensor, x: torch.Tensor,
                       per_sample: bool = False) -> torch.Tensor:
        """The reconstruction term of the decoder's ``logits``: summed over batch and features,
        or (B,) per sample."""
        return losses.reconstruction(logits, x, self.recon, per_sample)

    def manual_step(self, optimizer: torch.optim.Optimizer):
        """A faster training step (``reducers.manual.ManualStep``) or None: autograd."""
        return None

    def _own_loss(self, cls: type) -> bool:
        """True when the loss is not ``cls``'s plain one, which the hand-written backward pass
        knows: a neighbour-embedding term is on, or a subclass replaced ``cls``'s loss or the
        reconstruction term in it."""
        return self.neighbours is not None or type(self).loss is not cls.loss or \
            type(self).reconstruction is not Reducer.reconstruction

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def effective_kl_weight(self, batch_size: int) -> float | None:
        """Weight on the standard-scaled KL in the objective; None for models without a KL."""
        return None
