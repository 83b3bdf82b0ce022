"""Anomaly scores, their scale on training scores (scores.py) and the detection metrics
(metrics.py), against their definitions."""

import numpy as np
import pytest
import torch

from reducers import MLP, VAE, Autoencoder
from reducers.anomaly.metrics import detection_metrics
from reducers.anomaly.scores import Reference, fuse, reconstruction_error, vae_score
from reducers.errors import DataError


def test_threshold_rates_follow_their_definition():
    train = np.arange(100, dtype=float)  # the 95% quantile is 94.05
    test = np.array([10, 95, 99, 50, 200, 20, 94.05])
    is_anomaly = np.array([False, False, False, False, True, True, True])
    m = detection_metrics(train, test, is_anomaly, quantile=0.95)
    assert m["threshold"] == pytest.approx(94.05)
    assert m["fpr"] == pytest.approx(2 / 4)  # 95 and 99 flagged among the normal
    assert m["fnr"] == pytest.approx(2 / 3)  # 20 and 94.05 (not above) missed
    assert m["train_flagged"] == pytest.approx(0.05)
    assert m["auroc"] == pytest.approx(7 / 12)  # of 12 (anomalous, normal) pairs, 7 ranked right
    with pytest.raises(DataError, match="both normal and anomalous"):
        detection_metrics(train, test, np.zeros(7, bool))


def test_fusion_puts_scores_on_their_training_scale():
    rng = np.random.default_rng(0)
    a, b = rng.normal(100, 10, 1000), rng.normal(-5, 0.1, 1000)
    refs = [Reference.of(a), Reference.of(b)]
    fused = fuse([a, b], refs, "mean")
    assert abs(fused.mean()) < 1e-9  # both z-scored on the same data: mean 0
    ranks = fuse([a, b], refs, "rank")
    assert 0 < ranks.min() and ranks.max() <= 1
    own = np.sort(fuse([a], refs[:1], "rank"))  # a training score's rank among its own
    np.testing.assert_allclose(own, np.arange(1, 1001) / 1000)
    assert (fuse([a, b], refs, "max") >= fused).all()


def test_elbo_is_the_reconstruction_probability_plus_the_kl(digits):
    torch.manual_seed(0)
    vae = VAE(input_dim=digits.input_dim, net=MLP(hidden=[32]), latent_dim=2)
    x = torch.from_numpy(digits.x_test[:50])
    elbo = vae_score(vae, x, "elbo", n_samples=5, seed=3)
    recon = vae_score(vae, x, "recon_prob", n_samples=5, seed=3)
    mu, logvar = vae.posterior(x)
    kl = (-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)).detach().numpy()
    np.testing.assert_allclose(elbo - recon, kl, rtol=1e-4, atol=1e-3)
    assert (elbo >= recon).all()
    np.testing.assert_array_equal(elbo, vae_score(vae, x, "elbo", n_samples=5, seed=3))


def test_reconstruction_error_is_the_models_own_loss_per_image(digits):
    torch.manual_seed(0)
    ae = Autoencoder(input_dim=784, net=MLP(hidden=[32]), recon="mse")
    x = torch.from_numpy(digits.x_test[:20])
    errors = reconstruction_error(ae, x)
    expected = ((ae.reconstruct(x) - x) ** 2).sum(1).detach().numpy()
    np.testing.assert_allclose(errors, expected, rtol=1e-5)
