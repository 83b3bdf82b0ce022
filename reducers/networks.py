"""The networks the reducers are built from: multi-layer perceptrons over flattened inputs, and
convolutional encoders/decoders over images (``Net.conv``). Either way the reducers see (B, D)
rows: a conv encoder unflattens them to (B, 1, h, w) itself, and its decoder flattens back."""

from dataclasses import dataclass
from enum import Enum

from torch import nn

from reducers.errors import ConfigError


class Activation(str, Enum):
    relu = "relu"
    elu = "elu"
    gelu = "gelu"
    silu = "silu"
    tanh = "tanh"
    leaky_relu = "leaky_relu"


class Net(str, Enum):
    """The encoder/decoder kind: fully connected layers only, or strided convolutions (and
    transposed ones in the decoder) before the fully connected ``hidden`` layers."""

    mlp = "mlp"
    conv = "conv"


_ACTIVATIONS = {
    Activation.relu: nn.ReLU,
    Activation.elu: nn.ELU,
    Activation.gelu: nn.GELU,
    Activation.silu: nn.SiLU,
    Activation.tanh: nn.Tanh,
    Activation.leaky_relu: nn.LeakyReLU,
}
ACTIVATION_TYPES = tuple(_ACTIVATIONS.values())  # the modules that end a layer


@dataclass(frozen=True)
class Extras:
    """What may follow each activated Linear layer: batch normalisation (between the layer and
    its activation) and dropout (after the activation); and dropout of the encoder's input. Any
    of them takes a network off the hand-written backward pass (``reducers.manual`` knows
    Linear layers and activations only)."""

    batchnorm: bool = False
    dropout: float = 0.0
    input_dropout: float = 0.0  # of the encoder's input pixels (a denoising autoencoder)


def mlp(sizes: list[int], activation: Activation | str, last_activation: bool = False,
        extras: Extras = Extras()) -> nn.Sequential:
    """Linear layers through ``sizes`` with ``activation`` between them (and after the last),
    each activated one with ``extras``."""
    act = _ACTIVATIONS[Activation(activation)]
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if last_activation or i < len(sizes) - 2:
            if extras.batchnorm:
                layers.append(nn.BatchNorm1d(fan_out))
            layers.append(act())
            if extras.dropout > 0:
                layers.append(nn.Dropout(extras.dropout))
    return nn.Sequential(*layers)


def check_sizes(input_dim: int, hidden: list[int], latent_dim: int) -> None:
    if input_dim < 1 or latent_dim < 1 or any(h < 1 for h in hidden):
        raise ValueError(
            f"sizes must be >= 1: input_dim={input_dim}, hidden={hidden}, latent_dim={latent_dim}"
        )


@dataclass(frozen=True)
class ConvShape:
    """The convolution stack of one image size: each layer a ``kernel_size`` convolution with
    stride 2 and 'same' padding, so an h x w map becomes ceil(h/2) x ceil(w/2) with the
    layer's channels; the decoder retraces the sizes exactly with transposed convolutions."""

    image_shape: tuple[int, int]
    channels: tuple[int, ...]
    kernel_size: int

    @classmethod
    def of(cls, image_shape, channels, kernel_size: int) -> "ConvShape":
        if image_shape is None:
            raise ConfigError("model.net=conv needs images, but this data has no image shape "
                              "(a feature table): use model.net=mlp, or give "
                              "data.image_shape=[h,w]")
        if not channels or any(c < 1 for c in channels):
            raise ConfigError(f"model.channels={list(channels)} is invalid: one entry per "
                              "convolution, each >= 1 (e.g. [32,64])")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ConfigError(f"model.kernel_size={kernel_size} is invalid: an odd number >= 1 "
                              "(e.g. 3), so that 'same' padding keeps the image centred")
        return cls(tuple(image_shape), tuple(channels), int(kernel_size))

    @property
    def maps(self) -> list[tuple[int, int]]:
        """(h, w) before each convolution and after the last: len(channels) + 1 sizes."""
        sizes = [self.image_shape]
        for _ in self.channels:
            h, w = sizes[-1]
            sizes.append(((h + 1) // 2, (w + 1) // 2))
        return sizes

    @property
    def flat(self) -> int:
        """Features after the last convolution, flattened."""
        h, w = self.maps[-1]
        return self.channels[-1] * h * w


def conv_encoder(shape: ConvShape, hidden: list[int], activation: Activation | str,
                 last_activation: bool = True, extras: Extras = Extras()) -> nn.Sequential:
    """(B, h*w) rows -> (B, 1, h, w) -> convolutions -> flattened -> ``hidden`` layers
    (activated after the last unless told otherwise)."""
    act = _ACTIVATIONS[Activation(activation)]
    pad = shape.kernel_size // 2
    layers: list[nn.Module] = [nn.Unflatten(1, (1, *shape.image_shape))]
    for c_in, c_out in zip((1, *shape.channels), shape.channels):
        layers += [nn.Conv2d(c_in, c_out, shape.kernel_size, stride=2, padding=pad), act()]
    layers.append(nn.Flatten())
    if hidden:
        layers += list(mlp([shape.flat, *hidden], activation, last_activation, extras))
    return nn.Sequential(*layers)


def conv_decoder(shape: ConvShape, latent_dim: int, hidden: list[int],
                 activation: Activation | str, extras: Extras = Extras()) -> nn.Sequential:
    """The mirror: codes (B, d) -> ``hidden`` reversed -> the last feature maps -> transposed
    convolutions back to (B, 1, h, w) -> (B, h*w) logits."""
    act = _ACTIVATIONS[Activation(activation)]
    pad = shape.kernel_size // 2
    maps = shape.maps
    layers: list[nn.Module] = [*mlp([latent_dim, *reversed(hidden), shape.flat], activation,
                                    last_activation=True, extras=extras),
                               nn.Unflatten(1, (shape.channels[-1], *maps[-1]))]
    outs = (*reversed(shape.channels[:-1]), 1)
    for i, (c_in, c_out) in enumerate(zip(reversed(shape.channels), outs)):
        (h_in, w_in), (h, w) = maps[-1 - i], maps[-2 - i]
        # stride 2, 'same' padding of an odd kernel: (n - 1) * 2 + 1 before the output padding
        extra = (h - (2 * h_in - 1), w - (2 * w_in - 1))
        layers.append(nn.ConvTranspose2d(c_in, c_out, shape.kernel_size, stride=2, padding=pad,
                                         output_padding=extra))
        if c_out != 1:
            layers.append(act())
    layers.append(nn.Flatten())
    return nn.Sequential(*layers)
