import numpy as np
import pytest
import torch

from reducers import VAE, Autoencoder, fit
from reducers.checkpoint import load_checkpoint, save_checkpoint
from reducers.errors import CheckpointError


def _fit(model, x, lr=1e-3, epochs=3, seed=0, optim=torch.optim.Adam, x_test=None):
    return fit(model, optim(model.parameters(), lr=lr), x, epochs=epochs, batch_size=64,
               seed=seed, x_test=x_test, progress=False)


@pytest.mark.parametrize("cls", [Autoencoder, VAE])
def test_engine_lowers_the_loss_on_real_digits(cls, digits):
    torch.manual_seed(0)
    model = cls(input_dim=784, hidden=[128], recon="bce")
    x, x_test = torch.from_numpy(digits.x_train), torch.from_numpy(digits.x_test)
    result = _fit(model, x, epochs=4, x_test=x_test)
    first, last = result.history[0], result.history[-1]
    assert result.status == "ok" and len(result.history) == 4
    assert last["train_recon"] < 0.9 * first["train_recon"]
    assert last["test_recon"] < first["test_recon"]  # held-out loss falls too
    assert result.samples_seen == 4 * len(x) and result.samples_per_second > 0


def test_same_seed_same_history(digits):
    x = torch.from_numpy(digits.x_train)
    histories = []
    for _ in range(2):
        torch.manual_seed(5)
        result = _fit(VAE(input_dim=784, hidden=[32]), x, epochs=2, seed=5)
        histories.append([{k: v for k, v in row.items() if k != "seconds"}
                          for row in result.history])
    assert histories[0] == histories[1]


def test_nan_input_ends_the_run_as_diverged_at_once(digits):
    x = torch.from_numpy(digits.x_train.copy())
    x[0, 0] = float("nan")
    result = _fit(VAE(input_dim=784, hidden=[32]), x, epochs=3)
    assert result.status == "diverged"
    assert result.history == []
    assert result.diverged["epoch"] == 1 and result.diverged["step"] >= 1


def test_absurd_learning_rate_diverges_without_nan_rows(digits):
    torch.manual_seed(0)
    x = torch.from_numpy(digits.x_train)
    result = _fit(VAE(input_dim=784, hidden=[64], recon="mse"), x, lr=1e12, epochs=3,
                  optim=torch.optim.SGD)
    assert result.status == "diverged"
    assert np.isfinite(result.diverged["last_finite_loss"])
    assert all(np.isfinite(v) for row in result.history for v in row.values())


def test_checkpoint_round_trip_and_refusals(tmp_path, digits):
    model = VAE(input_dim=784, hidden=[16])
    optimizer = torch.optim.Adam(model.parameters())
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, model, optimizer, epoch=3, model_spec={"target": "reducers.vae.VAE"})
    state = load_checkpoint(path)  # weights_only=True inside
    assert state["epoch"] == 3
    restored = VAE(input_dim=784, hidden=[16])
    restored.load_state_dict(state["model"])
    x = torch.from_numpy(digits.x_test[:8])
    assert torch.equal(restored.encode(x), model.encode(x))
    assert not list(tmp_path.glob(".*tmp*")), "the temp file of the atomic write was left"

    (tmp_path / "truncated.pt").write_bytes(path.read_bytes()[:1000])
    (tmp_path / "foreign.pt").write_bytes(b"not a checkpoint")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    for name in ("truncated.pt", "foreign.pt", "other.pt", "missing.pt"):
        with pytest.raises(CheckpointError, match=name):
            load_checkpoint(tmp_path / name)


def test_seed_scaling_is_standard_scaling_with_beta_times_bd_and_lr_over_d(digits):
    """The blog's loss is the standard one divided by D with beta x B x D: under SGD its run
    is the standard run with that beta and the learning rate divided by D, step for step."""
    x = torch.from_numpy(digits.x_train[:400])
    weights = []
    for kl_scaling, beta, lr in (("seed", 0.001, 0.01), ("standard", 0.001 * 10 * 784, 0.01 / 784)):
        torch.manual_seed(0)
        model = VAE(input_dim=784, hidden=[64], recon="mse", beta=beta, kl_scaling=kl_scaling)
        fit(model, torch.optim.SGD(model.parameters(), lr=lr), x, epochs=2, batch_size=10,
            seed=0, progress=False)
        weights.append(torch.cat([p.detach().ravel() for p in model.parameters()]))
    assert torch.allclose(weights[0], weights[1], rtol=1e-4, atol=1e-6)
