"""Convolutional encoders/decoders (``model/net=conv``; their contract: tests/test_models.py)
and image augmentation, on real digits."""

import numpy as np
import pytest
import torch

from experiments.embed import embed
from experiments.train import train
from reducers import MLP, VAE, Autoencoder, Conv
from reducers.augment import Augment
from reducers.errors import ConfigError
from tests.helpers import TINY, fit, run_cli


def _conv(kind, recon):
    cls = Autoencoder if kind == "ae" else VAE
    return cls(input_dim=784, recon=recon, net=Conv(hidden=[32], channels=[8, 16]),
               image_shape=(28, 28))


def test_conv_nets_train_through_autograd_and_learn(digits):
    torch.manual_seed(0)
    model = _conv("ae", "bce")
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    result = fit(model, optimizer, torch.from_numpy(digits.x_train), epochs=3, batch_size=64)
    assert result.backward == "autograd"  # the hand-written step serves MLPs only
    losses = [row["train_recon"] for row in result.history]
    assert losses[-1] < 0.8 * losses[0]


@pytest.mark.parametrize("shape", [(28, 28), (8, 8), (7, 9), (5, 12)])
@pytest.mark.parametrize("channels", [[4], [4, 8], [4, 8, 8]])
def test_the_decoder_retraces_every_image_size(shape, channels):
    """Odd and even sides, several convolutions: the mirror ends at the image's own size."""
    conv, pixels = Conv(hidden=[16], channels=channels), shape[0] * shape[1]
    encoder = conv.encoder(pixels, [2], last_activation=False, image_shape=shape)
    decoder = conv.decoder(2, pixels, image_shape=shape)
    x = torch.rand(3, pixels)
    assert encoder(x).shape == (3, 2)
    assert decoder(encoder(x)).shape == x.shape


def test_conv_needs_an_image_shape_and_an_odd_kernel():
    with pytest.raises(ConfigError, match="a conv network needs images"):
        Autoencoder(input_dim=30, net=Conv())
    with pytest.raises(ConfigError, match="^kernel_size=4 is invalid: an odd number"):
        Conv(channels=[8], kernel_size=4)
    with pytest.raises(ConfigError, match="image_shape \\(5, 5\\) does not hold 30 pixels"):
        Autoencoder(input_dim=30, net=Conv(), image_shape=(5, 5))


def test_augmentation_is_seeded_reproducible_and_moves_digits(digits):
    x = torch.from_numpy(digits.x_train[:64])
    augment = Augment((28, 28), shift=2, degrees=10)
    first = augment(x, torch.Generator().manual_seed(3))
    again = augment(x, torch.Generator().manual_seed(3))
    other = augment(x, torch.Generator().manual_seed(4))
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert first.shape == x.shape and first.min() >= 0 and first.max() <= 1
    moved = (first - x).abs().sum(1)
    assert (moved > 1).all()  # every image moved
    # a rigid motion of a few pixels keeps the ink: total intensity within 15 %
    ratio = first.sum(1) / x.sum(1)
    assert ((ratio > 0.85) & (ratio < 1.15)).all()


def test_a_pure_shift_moves_the_ink_by_whole_pixels():
    image = torch.zeros(1, 8 * 8)
    image[0, 3 * 8 + 3] = 1.0  # one bright pixel at (3, 3)
    generator = torch.Generator().manual_seed(0)
    draws = torch.rand(1, 3, generator=torch.Generator().manual_seed(0)).mul(2).sub(1)
    moved = Augment((8, 8), shift=1, degrees=0)(image, generator).view(8, 8)
    rows, cols = torch.arange(8.0), torch.arange(8.0)
    centre = ((moved.sum(1) * rows).sum() / moved.sum(), (moved.sum(0) * cols).sum() / moved.sum())
    # sampling at x + t moves the content by -t pixels: draws (angle, x, y) in [-1, 1)
    assert centre[1].item() == pytest.approx(3 - draws[0, 1].item(), abs=1e-4)
    assert centre[0].item() == pytest.approx(3 - draws[0, 2].item(), abs=1e-4)


def test_an_augmented_run_is_reproducible_and_differs_from_a_plain_one(digits):
    x = torch.from_numpy(digits.x_train)

    def run(augment):
        torch.manual_seed(0)
        model = Autoencoder(input_dim=784, net=MLP(hidden=[32]))
        fit(model, torch.optim.Adam(model.parameters()), x, epochs=2, batch_size=50, seed=1,
            augment=augment)
        return model.encode(x[:20])

    augment = Augment((28, 28), shift=1, degrees=5)
    assert torch.equal(run(augment), run(augment))
    assert not torch.equal(run(augment), run(None))


def test_a_conv_run_trains_scores_and_embeds_from_its_checkpoint(
        compose_train, compose_embed, tmp_path):
    """The run rebuilds nothing by hand: embed reads the image shape from the checkpoint."""
    record = train(compose_train(*TINY, "model=vae", "model/net=conv", "model.net.channels=[4,8]",
                                 "trainer.augment_shift=1", "score.figures=false"),
                   tmp_path / "run")
    assert record.status == "ok" and record.backward == "autograd"
    assert record.metrics["knn_acc"] > 0.2  # chance: 0.1
    codes = np.load(tmp_path / "run" / "codes.npz")
    embed(compose_embed(f"checkpoint={tmp_path / 'run'}", "data.limit=1000"), tmp_path / "e")
    assert np.allclose(np.load(tmp_path / "e" / "codes.npz")["test"], codes["test"], atol=1e-5)


def test_conv_or_augmentation_on_a_feature_table_is_one_line(compose_train, tmp_path):
    from sklearn.datasets import load_breast_cancer
    path = tmp_path / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    table = ["data=table", f"data.path={path}", "data.label=target", "trainer.epochs=1"]
    for option, message in [("model/net=conv", "model/net='conv' is invalid: needs images, "
                                               "but cancer.csv holds feature rows"),
                            ("trainer.augment_degrees=5", "trainer.augment_degrees=5.0 is "
                                                          "invalid: moves images")]:
        with pytest.raises(ConfigError, match=message):
            train(compose_train(*table, option), tmp_path / option)
    done = run_cli(*table, "model/net=conv", f"hydra.run.dir={tmp_path / 'cli'}")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(
        "error: model/net='conv' is invalid: needs images")
