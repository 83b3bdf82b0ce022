"""The Reducer contract. A reducer is a ``torch.nn.Module`` over flattened images ``x`` of shape
(B, D), values in [0, 1]:

    encode(x) -> (B, d)  deterministic codes; a VAE returns its posterior mean.
    decode(z) -> (B, D)  reconstructions in [0, 1].
    loss(x)   -> dict    "total" (what the optimiser minimises), "recon" and, for a VAE, "kl";
                         each a scalar tensor, a mean over the batch (``reducers.losses``).

A neighbour-embedding term (``embedding_loss="tsne"|"umap"``, ``reducers.neighbours``) adds
``embedding_weight`` times itself to "total" and reports itself under its name ("tsne",
"umap") while training; it needs ``fit_neighbours(x_train)`` first, and evaluation (``eval()``
mode) leaves it out.

Optionally ``manual_step(optimizer)`` returns an object whose ``loss(x)`` gives the same terms
and whose ``step()`` then updates the parameters by a hand-written backward pass
(``reducers.manual``); the engine uses it where offered and autograd on ``loss`` otherwise.
"""

from collections.abc import Sequence

import torch
from torch import nn

from reducers import losses
from reducers.losses import Recon
from reducers.neighbours import Embedding, NeighbourTerm
from reducers.networks import (ConvShape, Extras, Net, check_sizes, conv_decoder, conv_encoder,
                               mlp)


class Reducer(nn.Module):
    """Shared parts: the decoder (MLP, or transposed convolutions for ``net="conv"``) with a
    sigmoid output, the encoder's trunk, and the contract's defaults. The defaults of every
    constructor argument are the YAML's (``conf/model/``), checked by a test; ``image_shape``
    comes from the data (needed by ``net="conv"`` only)."""

    has_prior = False  # True when decoding N(0, I) samples is meaningful (a VAE)

    def __init__(self, input_dim: int, hidden: Sequence[int], latent_dim: int, activation: str,
                 recon: str, net: str = "mlp", channels: Sequence[int] = (32, 64),
                 kernel_size: int = 3, batchnorm: bool = False, dropout: float = 0.0,
                 input_dropout: float = 0.0, image_shape: Sequence[int] | None = None,
                 embedding_loss: str = "none", embedding_weight: float = 1.0,
                 perplexity: float = 30.0, n_neighbors: int = 15, min_dist: float = 0.1,
                 negative_rate: int = 5, embedding_batch: int = 512,
                 embedding_scale: float = 1.0):
        super().__init__()
        if not (0 <= dropout < 1 and 0 <= input_dropout < 1):
            raise ValueError(f"dropouts must be in [0, 1), got {dropout} and {input_dropout}")
        hidden = list(hidden)
        check_sizes(input_dim, hidden, latent_dim)
        self.input_dim, self.latent_dim = input_dim, latent_dim
        self.hidden, self.activation = hidden, activation
        self.extras = Extras(bool(batchnorm), float(dropout), float(input_dropout))
        self.recon = Recon(recon)
        self.net = Net(net)
        self.image_shape = None if image_shape is None else tuple(image_shape)
        self.conv = ConvShape.of(self.image_shape, channels, kernel_size) \
            if self.net is Net.conv else None
        if self.conv is not None and self.conv.image_shape[0] * self.conv.image_shape[1] \
                != input_dim:
            raise ValueError(f"image_shape {self.image_shape} does not hold {input_dim} pixels")
        self.decoder = mlp([latent_dim, *reversed(hidden), input_dim], activation,
                           extras=self.extras) if self.conv is None else \
            conv_decoder(self.conv, latent_dim, hidden, activation, self.extras)
        self.neighbours = None if Embedding(embedding_loss) is Embedding.none else NeighbourTerm(
            embedding_loss, embedding_weight, perplexity, n_neighbors, min_dist, negative_rate,
            embedding_batch, embedding_scale)

    def fit_neighbours(self, x_train: torch.Tensor, augment=None) -> float | None:
        """Give the neighbour-embedding term its training rows (N, D) and build its graph; the
        seconds that took, or None without such a term. ``augment``: the run's augmentation,
        applied to the rows the term encodes too."""
        return None if self.neighbours is None else self.neighbours.fit(x_train, augment)

    def with_neighbours(self, terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``terms`` with the neighbour-embedding term added while training."""
        if self.neighbours is None or not self.training:
            return terms
        term = self.neighbours(self.encode)
        return {**terms, "total": terms["total"] + self.neighbours.weight * term,
                self.neighbours.kind.value: term}

    def trunk(self, out: list[int], last_activation: bool) -> nn.Sequential:
        """The encoder from (B, D) through ``hidden`` and then ``out`` (sizes of more fully
        connected layers): an MLP, or convolutions first for ``net="conv"``."""
        if self.conv is None:
            net = mlp([self.input_dim, *self.hidden, *out], self.activation, last_activation,
                      self.extras)
        else:
            net = conv_encoder(self.conv, [*self.hidden, *out], self.activation,
                               last_activation, self.extras)
        if self.extras.input_dropout > 0:  # the loss still compares with the clean input
            net.insert(0, nn.Dropout(self.extras.input_dropout))
        return net

    @property
    def trunk_features(self) -> int:
        """The width of ``trunk([], True)``'s output."""
        if self.hidden:
            return self.hidden[-1]
        return self.input_dim if self.conv is None else self.conv.flat

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
