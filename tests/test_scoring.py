import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

from reducers import MLP, VAE, score_codes, score_model
from reducers.scoring import ScoreSettings


def _blobs(seed):
    """Ten well-separated 2-D blobs; 'pixels' are the codes plus 8 noise dimensions."""
    codes, labels = make_blobs(n_samples=1200, centers=10, n_features=2, cluster_std=0.3,
                               center_box=(-40, 40), random_state=seed)
    noise = np.random.default_rng(seed).normal(0, 0.1, (len(codes), 8))
    return codes, labels, np.hstack([codes, noise])


def test_well_separated_blobs_score_near_perfect():
    codes, labels, pixels = _blobs(0)
    metrics, sizes, seconds = score_codes(codes[:1000], labels[:1000], codes[1000:],
                                          labels[1000:], pixels[1000:])
    assert metrics["knn_acc"] > 0.98
    assert metrics["silhouette"] > 0.8
    assert metrics["kmeans_vmeasure"] > 0.9
    assert metrics["trustworthiness"] > 0.9
    assert metrics["davies_bouldin"] < 0.5
    assert set(seconds) >= {"knn_acc", "silhouette", "trustworthiness", "kmeans"}


def test_shuffled_labels_score_near_chance():
    codes, labels, pixels = _blobs(1)
    shuffled = np.random.default_rng(0).permutation(labels)
    metrics, _, _ = score_codes(codes[:1000], shuffled[:1000], codes[1000:], shuffled[1000:],
                                pixels[1000:])
    assert 0.0 <= metrics["knn_acc"] < 0.25  # chance is 0.1 for ten classes
    assert metrics["silhouette"] < 0.05
    assert metrics["kmeans_vmeasure"] < 0.15


def test_quadratic_metrics_are_subsampled_and_say_so():
    codes, labels, pixels = _blobs(2)
    _, sizes, _ = score_codes(codes[:1000], labels[:1000], codes[1000:], labels[1000:],
                              pixels[1000:], ScoreSettings(max_pairwise=50))
    assert sizes == {"silhouette": 50, "trustworthiness": 50, "test": 200}


def test_model_metrics_of_a_vae(digits):
    torch.manual_seed(0)
    model = VAE(input_dim=784, net=MLP(hidden=[32]))
    out = score_model(model, torch.from_numpy(digits.x_test))
    assert 0 < out["recon_mse"] < 1
    assert out["test_kl"] >= 0 and out["test_recon"] > 0
    assert not model.training  # scoring leaves the model in eval mode, gradients off


@pytest.mark.parametrize("varying, active", [((), 0), ((0,), 1), ((0, 2), 2)])
def test_active_units_count_the_dimensions_whose_mean_varies_with_the_input(
        digits, varying, active):
    """Burda et al.'s count: a unit is active when Var_x E[z_i | x] > 0.01. The head is set so
    that exactly the ``varying`` dimensions of the posterior mean follow the input."""
    model = VAE(input_dim=784, net=MLP(hidden=[]), latent_dim=3)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
        for i in varying:
            model.head.weight[i] = torch.linspace(-1, 1, 784)  # mean varies across digits
        model.head.weight[1] = 1e-4  # varies, but far below the threshold
    out = score_model(model, torch.from_numpy(digits.x_test))
    assert out["active_units"] == active
