"""The hand-written backward pass computes what autograd computes, for every model it accepts,
and hands every other model back to autograd."""

import copy

import pytest
import torch

from reducers import MLP, VAE, Autoencoder, KLWeighting
from reducers.anomaly.detectors import GaussianVAE
from tests.helpers import fit, plain_loop

OPTIMIZERS = {
    "sgd": lambda params: torch.optim.SGD(params, lr=0.05),  # folded into the backward pass
    "sgd_momentum": lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9,
                                                   weight_decay=1e-3),
    "adam": lambda params: torch.optim.Adam(params, lr=1e-3, fused=True),
}


def train_steps(model, optimizer_name, x, by_hand, steps=6, batch_size=32):
    """``steps`` updates on consecutive batches of ``x``; the loss terms of each and the final
    parameters."""
    model = copy.deepcopy(model)
    optimizer = OPTIMIZERS[optimizer_name](model.parameters())
    step = model.manual_step(optimizer) if by_hand else None
    assert (step is not None) == by_hand
    torch.manual_seed(1)  # the VAE's noise: the same draws either way
    terms = []
    for i in range(steps):
        xb = x[i * batch_size:(i + 1) * batch_size]
        if by_hand:
            loss = step.loss(xb)
            step.step()
        else:
            loss = model.loss(xb)
            optimizer.zero_grad()
            loss["total"].backward()
            optimizer.step()
        terms.append({k: v.item() for k, v in loss.items()})
    return terms, torch.cat([p.detach().ravel() for p in model.parameters()]), step


def _net(hidden, activation):
    return MLP(hidden=hidden, activation=activation)


MODELS = {
    "vae-bce-relu": lambda: VAE(input_dim=784, net=_net([64], "relu"), recon="bce"),
    "vae-mse-seed-tanh": lambda: VAE(input_dim=784, net=_net([64], "tanh"), recon="mse",
                                     kl=KLWeighting(beta=1e-3, scaling="blog")),
    "vae-bce-gelu-deep-beta4": lambda: VAE(input_dim=784, net=_net([64, 32], "gelu"),
                                           latent_dim=3, kl=KLWeighting(beta=4.0)),
    "vae-mse-silu-no-hidden": lambda: VAE(input_dim=784, net=_net([], "silu"), recon="mse"),
    "ae-mse-elu": lambda: Autoencoder(input_dim=784, net=_net([64, 32], "elu"), recon="mse"),
    "ae-bce-leaky": lambda: Autoencoder(input_dim=784, net=_net([64], "leaky_relu")),
}


@pytest.mark.parametrize("name", MODELS)
def test_gradients_match_autograd_on_real_digits(name, digits):
    x = torch.from_numpy(digits.x_train[:64])
    torch.manual_seed(0)
    model = MODELS[name]()
    twin = copy.deepcopy(model)
    torch.manual_seed(1)
    model.loss(x)["total"].backward()
    step = twin.manual_step(torch.optim.SGD(twin.parameters(), lr=0.0, momentum=0.5))
    torch.manual_seed(1)
    step.loss(x)
    step.step()  # writes p.grad; lr 0 leaves the weights as they were
    for (key, p), q in zip(model.named_parameters(), twin.parameters()):
        scale = p.grad.abs().max().item()
        assert scale > 0, key
        assert (p.grad - q.grad).abs().max().item() <= 1e-5 * scale, key


@pytest.mark.parametrize("optimizer_name", OPTIMIZERS)
@pytest.mark.parametrize("name", MODELS)
def test_manual_steps_match_autograd_on_real_digits(name, optimizer_name, digits):
    x = torch.from_numpy(digits.x_train[:192])
    torch.manual_seed(0)
    model = MODELS[name]()
    expected, expected_params, _ = train_steps(model, optimizer_name, x, by_hand=False)
    got, params, step = train_steps(model, optimizer_name, x, by_hand=True)
    assert step.folded == (optimizer_name == "sgd")
    assert list(got[0]) == list(expected[0])  # total, recon (and kl), in the model's order
    for row, want in zip(got, expected):
        assert row == pytest.approx(want, rel=1e-4, abs=1e-5)
    start = torch.cat([p.detach().ravel() for p in model.parameters()])
    moved = (expected_params - start).norm()
    assert moved > 1e-3  # the steps did change the weights
    assert (params - expected_params).norm() < 1e-3 * moved  # and both ways alike


def test_blog_configuration_follows_the_blogs_own_loop(digits):
    """The blog's setting (784-400-2, mse_loss(mean) + batch-summed KL, plain SGD lr 0.01,
    batch 10) through the trainer, whose SGD step is folded into the backward pass, against a
    textbook autograd loop with the same batches and noise: the same loss curve."""
    x = torch.from_numpy(digits.x_train)
    curves = []
    for trainer in (True, False):
        torch.manual_seed(0)
        model = VAE(input_dim=784, net=MLP(hidden=[400]), recon="mse",
                    kl=KLWeighting(scaling="blog"))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        if trainer:
            result = fit(model, optimizer, x, epochs=3, batch_size=10, seed=3)
            assert result.backward == "manual backward, SGD folded into it"
            curves.append([row["train_total"] for row in result.history])
        else:
            curves.append(plain_loop(model, optimizer, x, epochs=3, batch_size=10, seed=3))
    assert curves[0] == pytest.approx(curves[1], rel=1e-4)
    assert curves[0][-1] < curves[0][0]


class LinearMap(torch.nn.Module):
    """The contract's ``loss`` and nothing else (no ``manual_step``)."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(784, 784)

    def loss(self, x):
        recon = (self.linear(x) - x).pow(2).sum(1).mean()
        return {"total": recon, "recon": recon}


class OwnLoss(VAE):
    def loss(self, x):
        terms = super().loss(x)
        return {**terms, "total": terms["total"] + self.head.weight.pow(2).sum()}


def test_models_it_does_not_know_train_through_autograd(digits):
    x = torch.from_numpy(digits.x_train[:256])
    small = MLP(hidden=[32])
    frozen = VAE(input_dim=784, net=small)
    frozen.head.requires_grad_(False)
    partial = VAE(input_dim=784, net=small)
    cases = {  # model, the parameters the optimiser holds
        "gaussian vae (own reconstruction)": (GaussianVAE(input_dim=784, net=small), None),
        "subclass with its own loss": (OwnLoss(input_dim=784, net=small), None),
        "frozen head": (frozen, [p for p in frozen.parameters() if p.requires_grad]),
        "optimiser holds part of the model": (partial, list(partial.decoder.parameters())),
        "a module that is no Reducer": (LinearMap(), None),
    }
    for name, (model, params) in cases.items():
        optimizer = torch.optim.SGD(params or model.parameters(), lr=1e-3)
        assert getattr(model, "manual_step", lambda _: None)(optimizer) is None, name
        result = fit(model, optimizer, x, epochs=1, batch_size=64)
        assert result.status == "ok" and result.backward == "autograd", name
    model = VAE(input_dim=784, net=small)
    result = fit(model, torch.optim.Adam(model.parameters()), x, epochs=1, batch_size=64,
                 backward="autograd")
    assert result.backward == "autograd"
    result = fit(model, torch.optim.Adam(model.parameters()), x, epochs=1, batch_size=64)
    assert result.backward == "manual backward, Adam.step()"
