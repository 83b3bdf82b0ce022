import math

import pytest
import torch
import torch.nn.functional as F

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


def _hand_vae(recon, beta, kl_scaling):
    """input_dim 2, latent 1, no hidden layer; mu = 0.5, logvar = 0 for every input, and a
    decoder whose weight is 0 so logits are 0 (output 0.5) whatever z is: no randomness left."""
    model = VAE(input_dim=2, hidden=[], latent_dim=1, recon=recon, beta=beta,
                kl_scaling=kl_scaling)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.tensor([0.5, 0.0]))  # (mu, logvar)
        for p in model.decoder.parameters():
            p.zero_()
    return model


X_HAND = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])  # B = 4, D = 2
KL_PER_SAMPLE = -0.5 * (1 + 0 - 0.25 - 1)  # 0.125


@pytest.mark.parametrize("recon, recon_per_sample", [
    ("bce", 2 * math.log(2)),  # -log 0.5 per pixel, summed over 2 pixels
    ("mse", 2 * 0.25),         # (0.5 - x)^2 = 0.25 per pixel
])
def test_standard_scaling_hand_computed(recon, recon_per_sample):
    terms = _hand_vae(recon, beta=3.0, kl_scaling="standard").loss(X_HAND)
    assert terms["recon"].item() == pytest.approx(recon_per_sample)
    assert terms["kl"].item() == pytest.approx(KL_PER_SAMPLE)
    assert terms["total"].item() == pytest.approx(recon_per_sample + 3.0 * KL_PER_SAMPLE)


def test_seed_scaling_hand_computed():
    model = _hand_vae("mse", beta=1.0, kl_scaling="seed")
    terms = model.loss(X_HAND)
    # element-mean MSE (0.25) + KL summed over the batch of 4
    assert terms["total"].item() == pytest.approx(0.25 + 4 * KL_PER_SAMPLE)
    assert terms["recon"].item() == pytest.approx(0.5)  # still reported in standard scaling
    assert model.effective_kl_weight(batch_size=4) == 4 * 2


def test_seed_scaling_is_the_blog_formula(digits):
    """The blog's loss, written as the blog wrote it, on real digits with the blog's network."""
    torch.manual_seed(0)
    model = VAE(input_dim=784, hidden=[400], recon="mse", kl_scaling="seed")
    x = torch.from_numpy(digits.x_train[:10])
    torch.manual_seed(1)
    ours = model.loss(x)["total"]
    torch.manual_seed(1)
    mu, logvar = model.posterior(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    blog = F.mse_loss(model.decode(z), x) - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    assert ours.item() == pytest.approx(blog.item(), rel=1e-5)
    assert model.effective_kl_weight(batch_size=10) == 7840


def test_vae_encode_is_deterministic_posterior_mean(digits):
    model = VAE(input_dim=784, hidden=[32])
    x = torch.from_numpy(digits.x_test[:16])
    assert torch.equal(model.encode(x), model.encode(x))
    assert torch.equal(model.encode(x), model.posterior(x)[0])


def test_effective_kl_weight():
    assert Autoencoder(input_dim=4).effective_kl_weight(10) is None
    assert VAE(input_dim=4, beta=2.5).effective_kl_weight(10) == 2.5
    assert VAE(input_dim=4, beta=2.5, kl_scaling="seed").effective_kl_weight(10) == 100


@pytest.mark.parametrize("kwargs", [{"beta": -1.0}, {"hidden": [0]}, {"latent_dim": 0},
                                    {"recon": "l1"}, {"kl_scaling": "blog"}])
def test_library_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        VAE(input_dim=784, **kwargs)
