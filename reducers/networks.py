"""The network part of a reducer: its encoder and decoder, as settings (``MLP``, ``Conv``) that
build the layers once the data's size is known.

Either way the reducers see (B, D) rows: a conv encoder unflattens them to (B, 1, h, w) itself,
and its decoder flattens back. The defaults here are the only ones: the command line's
``model.net.*`` and ``detector.net.*`` are these fields.
"""

from dataclasses import dataclass, field
from enum import Enum

from torch import nn

from reducers.checks import at_least, layer_sizes, require
from reducers.errors import ConfigError


class Activation(str, Enum):
    relu = "relu"
    elu = "elu"
    gelu = "gelu"
    silu = "silu"
    tanh = "tanh"
    leaky_relu = "leaky_relu"


_ACTIVATIONS = {
    Activation.relu: nn.ReLU,
    Activation.elu: nn.ELU,
    Activation.gelu: nn.GELU,
    Activation.silu: nn.SiLU,
    Activation.tanh: nn.Tanh,
    Activation.leaky_relu: nn.LeakyReLU,
}
ACTIVATION_TYPES = tuple(_ACTIVATIONS.values())  # the modules that end a layer


@dataclass(kw_only=True)
class MLP:
    """Fully connected layers: the encoder from the input through ``hidden``, the decoder the
    mirror image. Batch norm (between a layer and its activation), dropout (after it) and
    dropout of the input take a network off the hand-written backward pass (``manual.py``
    knows Linear layers and activations only)."""

    hidden: list[int] = field(default_factory=lambda: [512, 256])  # encoder layer sizes
    activation: Activation = Activation.relu  # relu | elu | gelu | silu | tanh | leaky_relu
    batchnorm: bool = False  # batch normalisation before each hidden activation
    dropout: float = 0.0  # after each hidden activation, in [0, 1)
    input_dropout: float = 0.0  # of the encoder's input pixels, in [0, 1): a denoising encoder

    def __post_init__(self):
        layer_sizes(self.hidden, "hidden")
        for key in ("dropout", "input_dropout"):
            require(0 <= getattr(self, key) < 1, key, getattr(self, key), "must be in [0, 1)")
        self.hidden, self.activation = list(self.hidden), Activation(self.activation)

    def describe(self) -> str:
        """'[512, 256]': for labels and tables."""
        return str(self.hidden)

    def encoder(self, input_dim: int, out: list[int], last_activation: bool,
                image_shape=None) -> nn.Sequential:
        """(B, D) through ``hidden`` and then ``out`` (sizes of more layers), activated after
        the last one when ``last_activation``."""
        net = self.layers([input_dim, *self.hidden, *out], last_activation)
        return self._with_input_dropout(net)

    def decoder(self, latent_dim: int, output_dim: int, image_shape=None) -> nn.Sequential:
        """Codes (B, d) to (B, D) logits through ``hidden`` reversed."""
        return self.layers([latent_dim, *reversed(self.hidden), output_dim], False)

    def width(self, input_dim: int, image_shape=None) -> int:
        """The width of ``encoder(input_dim, [], True)``'s output."""
        return self.hidden[-1] if self.hidden else input_dim

    def layers(self, sizes: list[int], last_activation: bool) -> nn.Sequential:
        """Linear layers through ``sizes``, each but the last (or every one) activated, with
        batch norm and dropout."""
        act = _ACTIVATIONS[self.activation]
        layers: list[nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(fan_in, fan_out))
            if last_activation or i < len(sizes) - 2:
                if self.batchnorm:
                    layers.append(nn.BatchNorm1d(fan_out))
                layers.append(act())
                if self.dropout > 0:
                    layers.append(nn.Dropout(self.dropout))
        return nn.Sequential(*layers)

    def _with_input_dropout(self, net: nn.Sequential) -> nn.Sequential:
        if self.input_dropout > 0:  # the loss still compares with the clean input
            net.insert(0, nn.Dropout(self.input_dropout))
        return net


@dataclass(kw_only=True)
class Conv(MLP):
    """Strided convolutions before the fully connected layers (images only): each a
    ``kernel_size`` convolution with stride 2 and 'same' padding, so an h x w map becomes
    ceil(h/2) x ceil(w/2); the decoder retraces the sizes exactly with transposed ones."""

    channels: list[int] = field(default_factory=lambda: [32, 64])  # per convolution
    kernel_size: int = 3  # odd

    def __post_init__(self):
        super().__post_init__()
        require(len(self.channels) >= 1 and all(c >= 1 for c in self.channels), "channels",
                self.channels, "one entry per convolution, each >= 1 (e.g. [32,64])")
        at_least(self.kernel_size, "kernel_size", 1)
        require(self.kernel_size % 2 == 1, "kernel_size", self.kernel_size,
                "an odd number >= 1 (e.g. 3), so that 'same' padding keeps the image centred")
        self.channels = list(self.channels)

    def describe(self) -> str:
        return f"conv{self.channels}+{self.hidden}"

    def encoder(self, input_dim, out, last_activation, image_shape=None):
        """(B, h*w) rows -> (B, 1, h, w) -> convolutions -> flattened -> the layers."""
        shape = self.maps(input_dim, image_shape)
        pad = self.kernel_size // 2
        layers: list[nn.Module] = [nn.Unflatten(1, (1, *shape[0]))]
        for c_in, c_out in zip((1, *self.channels), self.channels):
            layers += [nn.Conv2d(c_in, c_out, self.kernel_size, stride=2, padding=pad),
                       _ACTIVATIONS[self.activation]()]
        layers.append(nn.Flatten())
        if self.hidden or out:
            layers += list(self.layers([self._flat(shape), *self.hidden, *out],
                                       last_activation))
        return self._with_input_dropout(nn.Sequential(*layers))

    def decoder(self, latent_dim, output_dim, image_shape=None):
        """Codes (B, d) -> ``hidden`` reversed -> the last feature maps -> transposed
        convolutions back to (B, 1, h, w) -> (B, h*w) logits."""
        maps, pad = self.maps(output_dim, image_shape), self.kernel_size // 2
        layers = [*self.layers([latent_dim, *reversed(self.hidden), self._flat(maps)], True),
                  nn.Unflatten(1, (self.channels[-1], *maps[-1]))]
        outs = (*reversed(self.channels[:-1]), 1)
        for i, (c_in, c_out) in enumerate(zip(reversed(self.channels), outs)):
            (h_in, w_in), (h, w) = maps[-1 - i], maps[-2 - i]
            # stride 2, 'same' padding of an odd kernel: (n - 1) * 2 + 1 before the padding
            extra = (h - (2 * h_in - 1), w - (2 * w_in - 1))
            layers.append(nn.ConvTranspose2d(c_in, c_out, self.kernel_size, stride=2,
                                             padding=pad, output_padding=extra))
            if c_out != 1:
                layers.append(_ACTIVATIONS[self.activation]())
        layers.append(nn.Flatten())
        return nn.Sequential(*layers)

    def width(self, input_dim, image_shape=None):
        return self.hidden[-1] if self.hidden else self._flat(self.maps(input_dim, image_shape))

    def maps(self, input_dim: int, image_shape) -> list[tuple[int, int]]:
        """(h, w) before each convolution and after the last: len(channels) + 1 sizes."""
        if image_shape is None:
            raise ConfigError("a conv network needs images, but this data has no image shape "
                              "(a feature table): use model/net=mlp, or give "
                              "data.image_shape=[h,w]")
        h, w = image_shape
        if h * w != input_dim:
            raise ConfigError(f"image_shape {tuple(image_shape)} does not hold {input_dim} "
                              "pixels")
        sizes = [(int(h), int(w))]
        for _ in self.channels:
            h, w = sizes[-1]
            sizes.append(((h + 1) // 2, (w + 1) // 2))
        return sizes

    def _flat(self, maps: list[tuple[int, int]]) -> int:
        """Features after the last convolution, flattened."""
        h, w = maps[-1]
        return self.channels[-1] * h * w
