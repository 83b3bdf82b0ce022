"""RaPP's scores (reducers/anomaly/rapp.py): SAP and NAP checked against values worked out by
hand on a network small enough to follow, the pathway of each kind of network, and the
detectors that use them on real digits."""

import numpy as np
import pytest
import torch

from reducers.ae import Autoencoder
from reducers.anomaly.metrics import detection_metrics
from reducers.anomaly.protocols import protocol_split
from reducers.anomaly.rapp import NAP, pathway, pathway_differences, pathway_scores, sap
from reducers.anomaly.settings import ae, chain, vae
from reducers.networks import MLP, Conv
from reducers.vae import VAE
from tests.helpers import fit


def hand_network() -> Autoencoder:
    """2 pixels -> relu(identity) -> code x1 + x2; a decoder that always gives (0.5, 0.5)
    (zero weights, zero logits). So for x >= 0 the pathway differences are
    d(x) = (x1 - .5, x2 - .5 | x1 - .5, x2 - .5 | x1 + x2 - 1)."""
    net = Autoencoder(input_dim=2, net=MLP(hidden=[2]), latent_dim=1, recon="mse")
    with torch.no_grad():
        first, code = net.encoder[0], net.encoder[2]
        first.weight.copy_(torch.eye(2))
        first.bias.zero_()
        code.weight.copy_(torch.tensor([[1.0, 1.0]]))
        code.bias.zero_()
        for module in net.decoder:
            if isinstance(module, torch.nn.Linear):
                module.weight.zero_()
                module.bias.zero_()
    return net


def test_the_pathway_differences_are_the_hand_computed_ones():
    x = torch.tensor([[1.0, 0.0], [0.2, 0.9]])
    d = pathway_differences(hand_network(), x)
    assert d.numpy() == pytest.approx(np.array([[0.5, -0.5, 0.5, -0.5, 0.0],
                                                [-0.3, 0.4, -0.3, 0.4, 0.1]]), abs=1e-6)
    # SAP: the squared differences summed over every layer
    assert sap(d) == pytest.approx([1.0, 0.51], abs=1e-6)


def test_nap_whitens_by_the_training_differences():
    """Training images (1, .5), (0, .5), (.5, 1), (.5, 0): their differences are +-a and +-b
    with a = (.5, 0, .5, 0, .5), b = (0, .5, 0, .5, .5); mean 0, scatter 2(aa' + bb'). For
    d = alpha a + beta b that makes NAP = (alpha^2 + beta^2) / 2, and the three directions no
    training image moves in are dropped, not divided by ~0."""
    net = hand_network()
    train = torch.tensor([[1.0, 0.5], [0.0, 0.5], [0.5, 1.0], [0.5, 0.0]])
    nap = NAP.fit(pathway_differences(net, train))
    assert nap.singular_values.shape == (2,)
    test = torch.tensor([[1.0, 1.0], [1.0, 0.5], [0.2, 0.9], [0.5, 0.5]])
    # (1, 1): a + b; (1, .5): a; (.2, .9): -.6 a + .8 b; (.5, .5): the mean
    scores = nap.score(pathway_differences(net, test))
    assert scores == pytest.approx([1.0, 0.5, 0.5, 0.0], abs=1e-6)


def test_scores_in_batches_are_the_scores_of_all_at_once_and_networks_join_side_by_side():
    torch.manual_seed(0)
    x = torch.rand(50, 784)
    first = Autoencoder(input_dim=784, net=MLP(hidden=[16]), latent_dim=2)
    second = VAE(input_dim=784, net=MLP(hidden=[8]))
    both = pathway_differences([first, second], x)
    assert torch.equal(both, torch.cat([pathway_differences(first, x),
                                        pathway_differences(second, x)], 1))
    nap = NAP.fit(both[:30])
    assert pathway_scores([first, second], x, nap, batch=7) == pytest.approx(nap.score(both))
    assert pathway_scores(first, x, batch=7) == pytest.approx(sap(both[:, :784 + 16 + 2]))


def test_the_pathway_of_each_network_kind():
    x = torch.rand(3, 784)
    mlp = Autoencoder(input_dim=784, net=MLP(hidden=[64, 32]), latent_dim=4)
    assert [h.shape[1] for h in pathway(mlp, x)] == [784, 64, 32, 4]
    assert torch.equal(pathway(mlp, x)[-1], mlp.encode(x))
    conv = Autoencoder(input_dim=784, net=Conv(hidden=[32], channels=[4, 8]), latent_dim=4,
                       image_shape=(28, 28))
    assert [h.shape[1] for h in pathway(conv, x)] == [784, 4 * 14 * 14, 8 * 7 * 7, 32, 4]
    v = VAE(input_dim=784, net=MLP(hidden=[64]), latent_dim=3)
    v.eval()
    layers = pathway(v, x)
    assert [h.shape[1] for h in layers] == [784, 64, 3]
    assert torch.equal(layers[-1], v.encode(x))  # the mean path: no sampling


def trainer(epochs: int):
    def train(model, x, name):
        fit(model, torch.optim.Adam(model.parameters(), lr=1e-3), x, epochs=epochs,
            batch_size=32)
    return train


@pytest.mark.parametrize("build, settings", [
    (ae, {"score": "rapp_sap"}), (ae, {"score": "rapp_nap"}), (vae, {"score": "rapp_nap"}),
    (ae, {"score": "rapp_nap", "net": Conv(hidden=[64], channels=[4, 8]),
          "image_shape": (28, 28)}),
    (chain, {"score": "rapp_nap", "ae_score": "rapp_nap"}), (chain, {"variant": "joint"})])
def test_rapp_detectors_tell_other_digits_from_ones(digits, build, settings):
    part = protocol_split(digits, "one_class", 1)
    torch.manual_seed(0)
    detector = build(input_dim=784, **{"net": MLP(hidden=[64]), **settings}, latent_dim=8)
    # SAP needs more than a few epochs: after 4 it ranks the ones highest (AUROC 0.2)
    detector.fit(torch.from_numpy(part.x_train), trainer(20 if "rapp_sap" in
                                                         settings.values() else 4))
    scores = detector.score(torch.from_numpy(part.x_test))
    assert scores.shape == (len(part.x_test),) and np.isfinite(scores).all()
    auroc = detection_metrics(detector.score(torch.from_numpy(part.x_train)), scores,
                              part.is_anomaly)["auroc"]
    assert auroc > 0.9, auroc


def test_the_fusion_chain_calibrates_on_held_out_images(digits):
    part = protocol_split(digits, "one_class", 7)
    x = torch.from_numpy(part.x_train)
    detector = chain(input_dim=784, net=MLP(hidden=[32]), latent_dim=4)
    detector.fit(x[:60], trainer(2))
    on_training = [ref.mean for ref in detector.references]
    detector.calibrate(x[60:])
    held = [part.score(x[60:]) for part in detector.parts]
    assert [ref.mean for ref in detector.references] == pytest.approx([h.mean() for h in held])
    assert [ref.mean for ref in detector.references] != pytest.approx(on_training)
