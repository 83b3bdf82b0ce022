"""The loss, written once (reducers/losses.py): the terms against hand computations and textbook
formulas, and the weighting's objective, gradients and effective KL weight against each other."""

import math

import pytest
import torch
import torch.nn.functional as F

from reducers import MLP, VAE, KLWeighting
from reducers.losses import (KLScaling, Recon, Weighting, gaussian_reconstruction,
                             kl_divergence, reconstruction, reconstruction_and_gradient)


def _hand_vae(recon, beta, kl_scaling):
    """input_dim 2, latent 1, no hidden layer; mu = 0.5, logvar = 0 for every input, and a
    decoder whose weight is 0 so logits are 0 (output 0.5) whatever z is: no randomness left."""
    model = VAE(input_dim=2, net=MLP(hidden=[]), latent_dim=1, recon=recon,
                kl=KLWeighting(beta=beta, scaling=kl_scaling))
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


def test_blog_scaling_hand_computed():
    model = _hand_vae("mse", beta=1.0, kl_scaling="blog")
    terms = model.loss(X_HAND)
    # element-mean MSE (0.25) + KL summed over the batch of 4
    assert terms["total"].item() == pytest.approx(0.25 + 4 * KL_PER_SAMPLE)
    assert terms["recon"].item() == pytest.approx(0.5)  # still reported in standard scaling
    assert model.effective_kl_weight(batch_size=4) == 4 * 2


def test_blog_scaling_is_the_blog_formula(digits):
    """The blog's loss, written as the blog wrote it, on real digits with the blog's network."""
    torch.manual_seed(0)
    model = VAE(input_dim=784, net=MLP(hidden=[400]), recon="mse",
                kl=KLWeighting(scaling="blog"))
    x = torch.from_numpy(digits.x_train[:10])
    torch.manual_seed(1)
    ours = model.loss(x)["total"]
    torch.manual_seed(1)
    mu, logvar = model.posterior(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    blog = F.mse_loss(model.decode(z), x) - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    assert ours.item() == pytest.approx(blog.item(), rel=1e-5)
    assert model.effective_kl_weight(batch_size=10) == 7840


@pytest.mark.parametrize("kl_scaling, batch, features, beta", [
    ("standard", 128, 784, 1.0), ("standard", 10, 784, 0.1), ("blog", 10, 784, 1.0),
    ("blog", 7, 64, 2.5)])
def test_weighting_gradients_and_effective_weight_agree_with_its_objective(
        kl_scaling, batch, features, beta):
    w = Weighting.of(kl_scaling, beta, batch, features)
    recon_sum = torch.tensor(123.0, dtype=torch.float64, requires_grad=True)
    kl_sum = torch.tensor(4.5, dtype=torch.float64, requires_grad=True)
    w.objective(recon_sum, kl_sum).backward()
    assert (recon_sum.grad.item(), kl_sum.grad.item()) == pytest.approx(w.gradient_weights)
    # the KL's weight relative to the reconstruction's
    assert w.effective_kl_weight == pytest.approx(kl_sum.grad.item() / recon_sum.grad.item())
    expected = beta if kl_scaling == "standard" else beta * batch * features
    assert w.effective_kl_weight == expected  # exactly: records compare it


def test_the_terms_per_sample_add_up_to_the_batch_sums(digits):
    torch.manual_seed(0)
    x = torch.from_numpy(digits.x_train[:16])
    logits, mu, logvar = torch.randn(16, 784), torch.randn(16, 2), torch.randn(16, 2)
    for recon in ("bce", "mse"):
        per_sample = reconstruction(logits, x, recon, per_sample=True)
        assert per_sample.shape == (16,)
        assert per_sample.sum().item() == pytest.approx(reconstruction(logits, x, recon).item(),
                                                        rel=1e-5)
    kl = kl_divergence(mu, logvar, per_sample=True)
    textbook = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)  # KL(N(mu, s^2) || N(0, 1))
    torch.testing.assert_close(kl, textbook)
    assert kl.sum().item() == pytest.approx(kl_divergence(mu, logvar).item(), rel=1e-5)
    out = torch.randn(16, 5)
    assert gaussian_reconstruction(out, torch.zeros(16, 5), per_sample=True).tolist() == \
        pytest.approx((0.5 * out.pow(2).sum(1)).tolist())


@pytest.mark.parametrize("recon", ["bce", "mse"])
def test_the_reconstruction_gradient_is_autograds(recon, digits):
    x = torch.from_numpy(digits.x_train[:8])
    logits = torch.randn(8, 784, generator=torch.Generator().manual_seed(0), requires_grad=True)
    reconstruction(logits, x, recon).backward()
    total, grad = reconstruction_and_gradient(logits.detach(), x, Recon(recon), 0.25)
    assert total.item() == pytest.approx(reconstruction(logits, x, recon).item(), rel=1e-6)
    torch.testing.assert_close(grad, 0.25 * logits.grad, rtol=1e-5, atol=1e-7)


def test_runs_recorded_with_the_old_name_of_the_blog_scaling_still_load():
    assert KLScaling("seed") is KLScaling.blog  # checkpoints from before the rename
    with pytest.raises(ValueError):
        KLScaling("sead")
