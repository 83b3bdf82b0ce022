"""The Reducer contract (reducers/base.py) for the autoencoder and the VAE, on real digits."""

import pytest
import torch

from reducers import VAE, Autoencoder


def _model(kind, recon, input_dim=784, **kw):
    cls = Autoencoder if kind == "ae" else VAE
    return cls(input_dim=input_dim, hidden=[64, 32], recon=recon, **kw)


@pytest.mark.parametrize("kind", ["ae", "vae"])
@pytest.mark.parametrize("recon", ["mse", "bce"])
def test_contract_shapes_and_finite_losses(kind, recon, digits):
    torch.manual_seed(0)
    model = _model(kind, recon)
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
    model = VAE(input_dim=784, hidden=[32])
    x = torch.from_numpy(digits.x_test[:16])
    assert torch.equal(model.encode(x), model.encode(x))
    assert torch.equal(model.encode(x), model.posterior(x)[0])


def test_effective_kl_weight():
    assert Autoencoder(input_dim=4).effective_kl_weight(10) is None
    assert VAE(input_dim=4, beta=2.5).effective_kl_weight(10) == 2.5
    assert VAE(input_dim=4, beta=2.5, kl_scaling="blog").effective_kl_weight(10) == 100


@pytest.mark.parametrize("kwargs", [{"beta": -1.0}, {"hidden": [0]}, {"latent_dim": 0},
                                    {"recon": "l1"}, {"kl_scaling": "other"}])
def test_library_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        VAE(input_dim=784, **kwargs)
