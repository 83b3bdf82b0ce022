"""The Reducer contract (reducers/base.py) for the autoencoder and the VAE, on real digits."""

import pytest
import torch

from reducers import MLP, VAE, Autoencoder, Conv, KLWeighting
from reducers.errors import ConfigError
from tests.helpers import fit


def _model(kind, recon, input_dim=784, **kw):
    cls = Autoencoder if kind == "ae" else VAE
    return cls(input_dim=input_dim, recon=recon, **{"net": MLP(hidden=[64, 32]), **kw})


CONV = {"net": Conv(hidden=[64, 32], channels=[8, 16]), "image_shape": (28, 28)}


@pytest.mark.parametrize("kind", ["ae", "vae"])
@pytest.mark.parametrize("recon", ["mse", "bce"])
@pytest.mark.parametrize("net", ["mlp", "conv"])
def test_contract_shapes_and_finite_losses(kind, recon, net, digits):
    torch.manual_seed(0)
    model = _model(kind, recon, **(CONV if net == "conv" else {}))
    convolutions = [type(m) for m in model.modules()
                    if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert convolutions == ([torch.nn.ConvTranspose2d] * 2 + [torch.nn.Conv2d] * 2
                            if net == "conv" else [])  # the decoder is built first
    x = torch.from_numpy(digits.x_train[:32])
    codes = model.encode(x)
    assert codes.shape == (32, 2)
    out = model.decode(codes)
    assert out.shape == (32, 784) and out.min() >= 0 and out.max() <= 1
    terms = model.loss(x)
    assert {"total", "recon"} <= terms.keys()
    assert ("kl" in terms) == (kind == "vae")
    assert all(t.ndim == 0 and torch.isfinite(t) for t in terms.values())
    per_sample = model.reconstruction(model.decoder(codes), x, per_sample=True)
    assert per_sample.shape == (32,) and (per_sample > 0).all()


def test_vae_encode_is_deterministic_posterior_mean(digits):
    model = VAE(input_dim=784, net=MLP(hidden=[32]))
    x = torch.from_numpy(digits.x_test[:16])
    assert torch.equal(model.encode(x), model.encode(x))
    assert torch.equal(model.encode(x), model.posterior(x)[0])


def test_effective_kl_weight():
    assert Autoencoder(input_dim=4).effective_kl_weight(10) is None
    assert VAE(input_dim=4, kl=KLWeighting(beta=2.5)).effective_kl_weight(10) == 2.5
    blog = KLWeighting(beta=2.5, scaling="blog")
    assert VAE(input_dim=4, kl=blog).effective_kl_weight(10) == 100


@pytest.mark.parametrize("build, message", [
    (lambda: KLWeighting(beta=-1.0), "^beta=-1.0 is invalid: must be a finite number >= 0"),
    (lambda: MLP(hidden=[0]), r"^hidden=\[0\] is invalid: a list of layer sizes"),
    (lambda: VAE(input_dim=784, latent_dim=0), "^latent_dim=0 is invalid: must be >= 1"),
    (lambda: VAE(input_dim=784, recon="l1"), "'l1' is not a valid Recon"),
    (lambda: KLWeighting(scaling="other"), "'other' is not a valid KLScaling"),
    (lambda: KLWeighting(schedule="linear"), "^warmup_epochs=0 is invalid: schedule=linear "
                                             "ramps over >= 1 epoch; set warmup_epochs=N"),
    (lambda: VAE(input_dim=784, beta=2), "unexpected keyword argument 'beta'"),
    (lambda: Autoencoder(input_dim=784, kl=KLWeighting()), "unexpected keyword argument 'kl'")])
def test_the_library_rejects_bad_settings_naming_them(build, message):
    """Each part checks its own settings when it is made: one line naming the setting."""
    with pytest.raises((ValueError, TypeError), match=message):
        build()


def test_a_conv_network_needs_images():
    with pytest.raises(ConfigError, match="a conv network needs images"):
        Autoencoder(input_dim=784, net=Conv())


def test_beta_schedules_reach_beta_per_epoch():
    linear = KLWeighting(beta=2, schedule="linear", warmup_epochs=4)
    assert [linear.beta_at(e) for e in range(1, 8)] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    cyclical = KLWeighting(schedule="cyclical", warmup_epochs=2)
    assert [cyclical.beta_at(e) for e in range(1, 10)] == \
        [0.0, 0.5, 1.0, 1.0, 0.0, 0.5, 1.0, 1.0, 0.0]  # rise 2, hold 2
    assert {KLWeighting(beta=3).beta_at(e) for e in range(1, 5)} == {3.0}


@pytest.mark.parametrize("backward", ["manual", "autograd"])
def test_kl_warm_up_weighs_the_kl_by_the_epochs_beta(digits, backward):
    torch.manual_seed(0)
    model = VAE(input_dim=784, net=MLP(hidden=[32]),
                kl=KLWeighting(beta=2.0, schedule="linear", warmup_epochs=2))
    x = torch.from_numpy(digits.x_train[:300])
    result = fit(model, torch.optim.Adam(model.parameters(), lr=1e-3), x, epochs=4,
                 batch_size=100, backward=backward)
    assert [row["beta"] for row in result.history] == [0.0, 1.0, 2.0, 2.0]
    first = result.history[0]  # beta 0: the objective is the reconstruction alone
    assert first["train_total"] == pytest.approx(first["train_recon"], rel=1e-6)
    last = result.history[-1]
    assert last["train_total"] == pytest.approx(last["train_recon"] + 2.0 * last["train_kl"],
                                                rel=1e-5)
    assert model.effective_kl_weight(100) == 2.0  # the target, as the tables show


@pytest.mark.parametrize("extras", [{"batchnorm": True}, {"dropout": 0.2},
                                    {"input_dropout": 0.2}])
def test_batchnorm_and_dropout_train_by_autograd_and_encode_deterministically(extras, digits):
    from reducers.scoring import encode
    torch.manual_seed(0)
    model = VAE(input_dim=784, net=MLP(hidden=[64, 32], **extras))
    kind = torch.nn.BatchNorm1d if "batchnorm" in extras else torch.nn.Dropout
    layers = 1 if "input_dropout" in extras else 4  # the input; or 2 encoder + 2 decoder layers
    assert sum(isinstance(m, kind) for m in model.modules()) == layers
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    x = torch.from_numpy(digits.x_train)
    result = fit(model, optimizer, x, epochs=2, batch_size=100)
    assert result.backward == "autograd" and result.status == "ok"
    assert (encode(model, x[:50]) == encode(model, x[:50])).all()  # eval mode: no batch stats
    assert not model.training
