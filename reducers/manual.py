"""Training steps without autograd, which the autoencoder and the VAE offer the trainer through
``Reducer.manual_step(optimizer)``.

At the blog's batch of 10 a step costs about a millisecond, and most of it is not arithmetic:
autograd records a graph and walks it back, the optimiser's Python wrapper and ``zero_grad`` run,
and every weight gets a gradient tensor that is written once and read once. Both models are
chains of ``Linear`` layers and element-wise activations whose losses have short closed-form
gradients, so this module runs the forward pass without a graph, writes the backward pass by
hand (calling the same ATen backward kernels autograd calls) and then either

* writes each gradient into ``p.grad`` and calls ``optimizer.step()`` (any optimiser), or
* for plain SGD (no momentum, no weight decay) folds the update into the weight-gradient
  multiply, ``W.addmm_(dY.T, X, alpha=-lr)``: one kernel per layer and no gradient tensor.
  Each layer's input gradient is taken before its weights change, as autograd would.

The loss and its gradient are the model's own; only the rounding differs from autograd's
(``tests/test_manual.py`` compares gradients, loss curves and weights). ``build`` returns None
for anything it does not know (a layer that is not ``Linear`` or one of the activations below,
a frozen parameter, an optimiser that holds only some of them), and the models return None for
a subclass with its own ``loss`` or ``reconstruction``: those train through autograd.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from reducers.torch_internals import aten, step_function
from reducers.losses import kl_divergence, reconstruction_and_gradient

F = nn.functional


def _activation(m: nn.Module) -> tuple[Callable, Callable] | None:
    """An activation module as (forward(pre), backward(grad, pre, out) -> grad of pre), both
    the kernels the module and autograd call; None for one this module does not know, or
    whose backward kernel this torch lacks (``torch_internals``)."""
    kind = type(m)
    if kind is nn.ReLU and (k := aten("threshold_backward")):
        return torch.relu, lambda grad, pre, out: k(grad, out, 0)
    if kind is nn.LeakyReLU and (k := aten("leaky_relu_backward")):
        return (partial(F.leaky_relu, negative_slope=m.negative_slope),
                lambda grad, pre, out: k(grad, pre, m.negative_slope, False))
    if kind is nn.ELU and (k := aten("elu_backward")):
        return (partial(F.elu, alpha=m.alpha),
                lambda grad, pre, out: k(grad, m.alpha, 1, 1, False, pre))
    if kind is nn.GELU and (k := aten("gelu_backward")):
        return (partial(F.gelu, approximate=m.approximate),
                lambda grad, pre, out: k(grad, pre, approximate=m.approximate))
    if kind is nn.SiLU and (k := aten("silu_backward")):
        return F.silu, lambda grad, pre, out: k(grad, pre)
    if kind is nn.Tanh and (k := aten("tanh_backward")):
        return torch.tanh, lambda grad, pre, out: k(grad, out)
    return None


@dataclass
class Layer:
    """A Linear layer's parameters and the activation after it (None: none)."""
    weight: torch.Tensor  # (out, in)
    bias: torch.Tensor
    forward: Callable | None = None
    backward: Callable | None = None


def _layers(*modules: nn.Module) -> list[Layer] | None:
    """The Linear layers of ``modules`` in order, each with the activation after it; None if
    anything else is there."""
    flat = [m for module in modules
            for m in (module if isinstance(module, nn.Sequential) else [module])]
    layers: list[Layer] = []
    for module in flat:
        if type(module) is nn.Linear and module.bias is not None:
            layers.append(Layer(module.weight, module.bias))
        elif layers and layers[-1].forward is None and not getattr(module, "inplace", False) \
                and (pair := _activation(module)) is not None:
            layers[-1].forward, layers[-1].backward = pair
        else:
            return None
    return layers


class ManualStep:
    """One model's forward pass (``loss``) and hand-written backward pass plus update (``step``).

    ``loss(x)`` returns the same terms as ``model.loss(x)`` (without a graph) and keeps what
    the backward pass needs; ``step()`` then updates the parameters."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                 encoder: list[Layer], decoder: list[Layer]):
        self.model, self.optimizer = model, optimizer
        self.encoder, self.decoder = encoder, decoder
        self.folded = _plain_sgd(optimizer)
        self._optimizer_update = step_function(optimizer)  # optimizer.step, minus the compiler
        self.group_of = {p: group for group in optimizer.param_groups for p in group["params"]}
        self._saved: dict = {}

    @property
    def kind(self) -> str:
        return "manual backward, SGD folded into it" if self.folded else \
            f"manual backward, {type(self.optimizer).__name__}.step()"

    @staticmethod
    def _forward(layers: list[Layer], x: torch.Tensor) -> tuple[torch.Tensor, list]:
        saved = []
        for layer in layers:
            pre = F.linear(x, layer.weight, layer.bias)
            out = pre if layer.forward is None else layer.forward(pre)
            saved.append((x, pre, out))
            x = out
        return x, saved

    def _backward(self, layers: list[Layer], saved: list, grad: torch.Tensor,
                  input_grad: bool) -> torch.Tensor | None:
        """Walks ``layers`` back from ``grad`` (of their output), updating each one; returns
        the gradient of their input when ``input_grad``."""
        for i in range(len(layers) - 1, -1, -1):
            layer, (x, pre, out) = layers[i], saved[i]
            if layer.backward is not None:
                grad = layer.backward(grad, pre, out)
            grad_in = grad @ layer.weight if i > 0 or input_grad else None  # before the update
            self._update(layer, grad, x)
            grad = grad_in
        return grad

    def _update(self, layer: Layer, grad: torch.Tensor, x: torch.Tensor) -> None:
        weight, bias = layer.weight, layer.bias
        if self.folded:
            weight.addmm_(grad.t(), x, alpha=-self.group_of[weight]["lr"])
            bias.add_(grad.sum(0), alpha=-self.group_of[bias]["lr"])
            return
        for p in (weight, bias):
            if p.grad is None:
                p.grad = torch.empty_like(p)
        torch.mm(grad.t(), x, out=weight.grad)
        torch.sum(grad, 0, out=bias.grad)

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def step(self) -> None:
        raise NotImplementedError

    def _optimizer_step(self) -> None:
        if not self.folded:
            self._optimizer_update()


class AEStep(ManualStep):
    @torch.no_grad()
    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        batch = x.shape[0]
        code, enc = self._forward(self.encoder, x)
        logits, dec = self._forward(self.decoder, code)
        recon_sum, grad_logits = reconstruction_and_gradient(logits, x, self.model.recon,
                                                             1 / batch)
        self._saved = {"enc": enc, "dec": dec, "grad_logits": grad_logits}
        recon = recon_sum / batch
        return {"total": recon, "recon": recon}

    @torch.no_grad()
    def step(self) -> None:
        s = self._saved
        grad_code = self._backward(self.decoder, s["dec"], s["grad_logits"], True)
        self._backward(self.encoder, s["enc"], grad_code, False)
        self._optimizer_step()


class VAEStep(ManualStep):
    @torch.no_grad()
    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        batch = x.shape[0]
        stats, enc = self._forward(self.encoder, x)
        mu, logvar = stats.chunk(2, dim=1)  # (B, d) each
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(mu)  # the same draw as VAE.loss
        z = mu + std * eps
        logits, dec = self._forward(self.decoder, z)
        kl_sum = kl_divergence(mu, logvar)
        weighting = self.model.weighting(batch)
        recon_weight, kl_weight = weighting.gradient_weights
        recon_sum, grad_logits = reconstruction_and_gradient(logits, x, self.model.recon,
                                                             recon_weight)
        self._saved = {"enc": enc, "dec": dec, "grad_logits": grad_logits, "mu": mu,
                       "var": logvar.exp(), "std": std, "eps": eps, "kl_weight": kl_weight}
        return {"total": weighting.objective(recon_sum, kl_sum),
                "recon": recon_sum / batch, "kl": kl_sum / batch}

    @torch.no_grad()
    def step(self) -> None:
        s = self._saved
        grad_z = self._backward(self.decoder, s["dec"], s["grad_logits"], True)
        w = s["kl_weight"]
        # z = mu + std * eps with std = exp(logvar / 2); d kl_sum = mu dmu + (var - 1) / 2 dlogvar
        # (the gradient of losses.kl_divergence), weighted as the objective weighs kl_sum
        grad_mu = torch.add(grad_z, s["mu"], alpha=w)
        grad_logvar = torch.addcmul((s["var"] - 1).mul_(0.5 * w), grad_z * s["eps"], s["std"],
                                    value=0.5)
        self._backward(self.encoder, s["enc"], torch.cat([grad_mu, grad_logvar], 1), False)
        self._optimizer_step()


def _plain_sgd(optimizer: torch.optim.Optimizer) -> bool:
    """True when ``optimizer.step()`` is exactly ``p -= lr * grad`` for every parameter."""
    return type(optimizer) is torch.optim.SGD and all(
        group["momentum"] == 0 and group["weight_decay"] == 0 and not group["maximize"]
        for group in optimizer.param_groups)


def build(step: type[ManualStep], model: nn.Module, optimizer: torch.optim.Optimizer,
          encoder: list[nn.Module], decoder: list[nn.Module]) -> ManualStep | None:
    """``step`` for ``model``, whose encoder and decoder are these modules in order (Linear
    layers and activations, or Sequentials of them), trained by ``optimizer``; None where
    autograd must do it."""
    encoder_layers, decoder_layers = _layers(*encoder), _layers(*decoder)
    trained = {p for group in optimizer.param_groups for p in group["params"]}
    if encoder_layers is None or decoder_layers is None or trained != set(model.parameters()) \
            or not all(p.requires_grad for p in model.parameters()) \
            or aten("sigmoid_backward") is None:  # the MSE's gradient (losses.py)
        return None
    return step(model, optimizer, encoder_layers, decoder_layers)
