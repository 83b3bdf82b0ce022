"""The detectors (reducers/anomaly/detectors.py), built from their settings as conf/detector/
builds them (reducers/anomaly/settings.py) and fitted by the trainer on real digits, without
Hydra."""

import numpy as np
import pytest
import torch

from reducers.anomaly.metrics import detection_metrics
from reducers.anomaly.protocols import protocol_split
from reducers.anomaly.settings import ae, architecture, chain, label, vae
from reducers.networks import MLP
from tests.helpers import fit


def _train(model, x, name):
    fit(model, torch.optim.Adam(model.parameters(), lr=1e-3), x, epochs=4, batch_size=32)


@pytest.mark.parametrize("build, settings", [
    (ae, {}), (vae, {}), (vae, {"score": "recon_prob"}), (chain, {"fusion": "rank"}),
    (chain, {"variant": "latent"}), (chain, {"variant": "residual"})])
def test_a_detector_trained_on_ones_scores_other_digits_higher(digits, build, settings):
    part = protocol_split(digits, "one_class", 1)
    torch.manual_seed(0)
    detector = build(input_dim=784, net=MLP(hidden=[64]), **settings)
    detector.fit(torch.from_numpy(part.x_train), _train)
    scores = detector.score(torch.from_numpy(part.x_test))
    assert scores.shape == (len(part.x_test),) and np.isfinite(scores).all()
    auroc = detection_metrics(detector.score(torch.from_numpy(part.x_train)), scores,
                              part.is_anomaly)["auroc"]
    assert auroc > (0.55 if settings.get("variant") == "latent" else 0.85), auroc
    codes = detector.codes(torch.from_numpy(part.x_test))
    assert codes.shape == (len(part.x_test), 2)


def test_labels_name_what_the_configs_build():
    targets = {"ae": "reducers.anomaly.settings.ae", "vae": "reducers.anomaly.settings.vae",
               "chain": "reducers.anomaly.settings.chain"}
    assert label({"_target_": targets["ae"]}) == "ae"
    assert label({"_target_": targets["vae"], "score": "elbo"}) == "vae"
    assert label({"_target_": targets["vae"], "score": "recon_prob"}) == "vae (recon_prob)"
    assert label({"_target_": targets["chain"], "variant": "fusion", "fusion": "max"}) == \
        "chain (fusion, max)"
    assert label({"_target_": targets["chain"], "variant": "residual"}) == "chain (residual)"
    assert label({"kind": "chain", "variant": "latent"}) == "chain (latent)"  # older runs
    assert label({"_target_": targets["ae"], "score": "rapp_nap"}) == "ae (rapp_nap)"
    assert label({"_target_": targets["chain"], "variant": "joint"}) == "chain (joint)"
    assert label({"_target_": targets["chain"], "variant": "fusion", "fusion": "mean",
                  "ae_score": "rapp_nap", "score": "elbo"}) == \
        "chain (fusion, mean, rapp_nap+elbo)"
    # runs recorded before the parts: their targets and flat network settings
    old = {"_target_": "reducers.anomaly.detectors.chain", "variant": "joint", "net": "conv",
           "channels": [32, 64], "kernel_size": 3, "hidden": [512], "latent_dim": 16}
    assert label(old) == "chain (joint)"
    assert architecture(old) == "conv[32, 64]+[512]->16"
    assert architecture({"net": {"hidden": [512, 256]}, "latent_dim": 2}) == "[512, 256]->2"


def test_the_settings_name_a_bad_setting_and_their_parts_check_their_own():
    with pytest.raises(ValueError, match="^n_samples=0 is invalid: must be >= 1"):
        vae(input_dim=784, n_samples=0)
    with pytest.raises(ValueError, match="^second_hidden=\\[0\\] is invalid"):
        chain(input_dim=784, second_hidden=[0])
    with pytest.raises(ValueError, match="^dropout=1 is invalid"):
        ae(input_dim=784, net=MLP(dropout=1))
