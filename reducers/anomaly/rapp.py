"""RaPP scores (Kim et al., "RaPP: Novelty Detection with Reconstruction along Projection
Pathway", ICLR 2020): an image and its reconstruction are both fed through the encoder, and
their activations are compared layer by layer, not only at the input.

The pathway of an image ``x`` is ``h_0 = x``, the output of each activation of the encoder
(convolutional feature maps flattened), and the code: the autoencoder's output, the VAE's
posterior mean. The reconstruction is the deterministic one: ``decode(encode(x))``, for a VAE
through its mean. With ``d_i = h_i(x) - h_i(x_hat)``:

- SAP (simple aggregation along pathway): ``sum_i ||d_i||^2``.
- NAP (normalised aggregation along pathway): the differences of all layers side by side,
  centred by their mean ``mu`` on the normal training images and whitened by the singular
  value decomposition of the centred training differences ``D - mu = U S V^T``:
  ``||(d - mu) V S^-1||^2``. Directions in which normal images differ a lot count less.
  Directions with a singular value below ``tolerance`` times the largest are dropped (with
  fewer training images than features, the smallest are rounding noise, and dividing by them
  would let noise decide).
"""

from dataclasses import dataclass
from enum import Enum

import numpy as np
import torch
from torch import nn

from reducers.networks import ACTIVATION_TYPES


class PathwayScore(str, Enum):
    rapp_sap = "rapp_sap"
    rapp_nap = "rapp_nap"


def pathway(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """``[x, each activation of the encoder (B, -1), the code]`` of a reducer: an
    ``Autoencoder`` (``encoder``) or a ``VAE`` (``body`` then the mean half of ``head``)."""
    if hasattr(model, "encoder"):  # an autoencoder: its encoder ends with the code
        trunk, head = model.encoder, None
    else:
        trunk, head = model.body, model.head
    layers, h = [x], x
    for module in trunk:
        h = module(h)
        if isinstance(module, ACTIVATION_TYPES):
            layers.append(h.flatten(1))
    layers.append(h if head is None else head(h).chunk(2, dim=1)[0])
    return layers


@torch.inference_mode()
def pathway_differences(networks: nn.Module | list[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """(N, F): ``h_i(x) - h_i(x_hat)`` of every layer of the pathway, side by side; of several
    networks, theirs side by side in turn."""
    out = []
    for model in networks if isinstance(networks, list) else [networks]:
        model.eval()
        layers = pathway(model, x)  # its last layer is the code: decoded, the reconstruction
        out += [a - b for a, b in zip(layers, pathway(model, model.decode(layers[-1])))]
    return torch.cat(out, dim=1)


def sap(differences: torch.Tensor) -> np.ndarray:
    return differences.square().sum(1).numpy()


def pathway_scores(networks: nn.Module | list[nn.Module], x: torch.Tensor,
                   nap: "NAP | None" = None, batch: int = 1024) -> np.ndarray:
    """SAP (``nap`` None) or NAP of each image, ``batch`` images at a time: the differences of
    10,000 images through a conv net would take gigabytes at once."""
    score = sap if nap is None else nap.score
    return np.concatenate([score(pathway_differences(networks, x[start:start + batch]))
                           for start in range(0, len(x), batch)])


@dataclass
class NAP:
    """The normalisation of NAP, fitted on the normal training images' differences."""
    mean: torch.Tensor  # (F,)
    directions: torch.Tensor  # (F, k): the right singular vectors kept
    singular_values: torch.Tensor  # (k,)

    @classmethod
    def fit(cls, differences: torch.Tensor, tolerance: float = 1e-6) -> "NAP":
        if len(differences) < 2:
            raise ValueError("NAP needs at least 2 training images to normalise by")
        d = differences.double()
        mean = d.mean(0)
        _, s, vh = torch.linalg.svd(d - mean, full_matrices=False)
        keep = s > s.max() * tolerance if s.max() > 0 else s > 0
        if not keep.any():  # every training image differs identically: plain distances
            features = d.shape[1]
            return cls(mean, torch.eye(features, dtype=d.dtype),
                       torch.ones(features, dtype=d.dtype))
        return cls(mean, vh[keep].T, s[keep])

    def score(self, differences: torch.Tensor) -> np.ndarray:
        z = (differences.double() - self.mean) @ self.directions / self.singular_values
        return z.square().sum(1).numpy()
