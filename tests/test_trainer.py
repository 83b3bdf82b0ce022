"""The training loop (reducers/trainer.py) and its callbacks (reducers/callbacks.py) on real
digits: it learns, repeats itself for a seed, stops at the first non-finite loss, computes what a
textbook loop computes, logs each epoch, schedules, stops early and calls a caller's callbacks."""

import logging

import numpy as np
import pytest
import torch

from reducers import MLP, VAE, Autoencoder, KLWeighting
from reducers.callbacks import Callback, evaluate
from reducers.errors import DataError
from reducers.trainer import Trainer
from reducers.trainer_settings import TrainerSettings
from tests.helpers import fit, plain_loop


def _fit(model, x, lr=1e-3, epochs=3, seed=0, optim=torch.optim.Adam, x_test=None):
    return fit(model, optim(model.parameters(), lr=lr), x, epochs=epochs, batch_size=64,
               seed=seed, x_test=x_test, test_every=1)


@pytest.mark.parametrize("cls", [Autoencoder, VAE])
def test_the_trainer_lowers_the_loss_on_real_digits(cls, digits):
    torch.manual_seed(0)
    model = cls(input_dim=784, net=MLP(hidden=[128]), recon="bce")
    x, x_test = torch.from_numpy(digits.x_train), torch.from_numpy(digits.x_test)
    result = _fit(model, x, epochs=4, x_test=x_test)
    first, last = result.history[0], result.history[-1]
    assert result.status == "ok" and len(result.history) == 4
    assert last["train_recon"] < 0.9 * first["train_recon"]
    assert last["test_recon"] < first["test_recon"]  # held-out loss falls too
    assert result.state.samples_seen == 4 * len(x) and result.samples_per_second > 0


def test_no_training_rows_is_a_data_error_not_a_crash():
    model = Autoencoder(input_dim=64, net=MLP(hidden=[8]))
    with pytest.raises(DataError, match="no training rows"):
        fit(model, torch.optim.Adam(model.parameters()), torch.zeros(0, 64), epochs=1,
            batch_size=4)


def test_same_seed_same_history(digits):
    x = torch.from_numpy(digits.x_train)
    histories = []
    for _ in range(2):
        torch.manual_seed(5)
        result = _fit(VAE(input_dim=784, net=MLP(hidden=[32])), x, epochs=2, seed=5)
        histories.append([{k: v for k, v in row.items() if k != "seconds"}
                          for row in result.history])
    assert histories[0] == histories[1]


def test_nan_input_ends_the_run_as_diverged_at_once(digits, caplog):
    x = torch.from_numpy(digits.x_train.copy())
    x[0, 0] = float("nan")
    with caplog.at_level(logging.INFO, logger="reducers.trainer"):
        result = _fit(VAE(input_dim=784, net=MLP(hidden=[32])), x, epochs=3)
    assert result.status == "diverged"
    assert result.history == []
    assert result.diverged["epoch"] == 1 and result.diverged["step"] >= 1
    assert caplog.records[-1].levelname == "WARNING"
    assert caplog.records[-1].getMessage().startswith("diverged at epoch 1, step ")


def test_absurd_learning_rate_diverges_without_nan_rows(digits):
    torch.manual_seed(0)
    x = torch.from_numpy(digits.x_train)
    result = _fit(VAE(input_dim=784, net=MLP(hidden=[64]), recon="mse"), x, lr=1e12, epochs=3,
                  optim=torch.optim.SGD)
    assert result.status == "diverged"
    assert np.isfinite(result.diverged["last_finite_loss"])
    assert all(np.isfinite(v) for row in result.history for v in row.values())


def test_each_epoch_is_one_log_line(digits, caplog):
    x = torch.from_numpy(digits.x_train[:200])
    model = Autoencoder(input_dim=784, net=MLP(hidden=[32]))
    with caplog.at_level(logging.INFO, logger="reducers.trainer"):
        fit(model, torch.optim.Adam(model.parameters()), x, epochs=3, batch_size=50,
            progress=True)  # the live bar: on a terminal only, never in the log
    lines = [r.getMessage() for r in caplog.records if r.name == "reducers.trainer"]
    assert [line.split(" train_")[0] for line in lines] == ["epoch 1/3", "epoch 2/3",
                                                            "epoch 3/3"]
    assert all("train_recon=" in line for line in lines)


def test_the_trainer_with_fused_adam_follows_the_plain_loop(digits):
    x = torch.from_numpy(digits.x_train)
    curves = []
    for fused in (True, False):
        torch.manual_seed(0)
        model = VAE(input_dim=784, net=MLP(hidden=[128]))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused)
        if fused:  # the trainer, as every run uses it
            history = fit(model, optimizer, x, epochs=3, batch_size=64, seed=7).history
            curves.append([row["train_total"] for row in history])
        else:
            curves.append(plain_loop(model, optimizer, x, epochs=3, batch_size=64, seed=7))
    assert curves[0] == pytest.approx(curves[1], rel=1e-4)
    assert curves[0][-1] < curves[0][0]


def test_blog_scaling_is_standard_scaling_with_beta_times_bd_and_lr_over_d(digits):
    """The blog's loss is the standard one divided by D with beta x B x D: under SGD its run
    is the standard run with that beta and the learning rate divided by D, step for step."""
    x = torch.from_numpy(digits.x_train[:400])
    weights = []
    for kl_scaling, beta, lr in (("blog", 0.001, 0.01), ("standard", 0.001 * 10 * 784, 0.01 / 784)):
        torch.manual_seed(0)
        model = VAE(input_dim=784, net=MLP(hidden=[64]), recon="mse",
                    kl=KLWeighting(beta=beta, scaling=kl_scaling))
        fit(model, torch.optim.SGD(model.parameters(), lr=lr), x, epochs=2, batch_size=10,
            seed=0)
        weights.append(torch.cat([p.detach().ravel() for p in model.parameters()]))
    assert torch.allclose(weights[0], weights[1], rtol=1e-4, atol=1e-6)


def test_learning_rate_schedules_are_applied_step_by_step(digits):
    from reducers.schedules import LRSchedule, Schedule
    cosine = Schedule(LRSchedule.cosine, epochs=2)
    assert cosine.factor(1, 1, 10) == 1.0 and cosine.factor(2, 1, 10) == pytest.approx(0.5)
    assert cosine.factor(2, 10, 10) == pytest.approx(0.0062, abs=1e-3)
    onecycle = Schedule(LRSchedule.onecycle, epochs=10)
    factors = [onecycle.factor(e, 1, 1) for e in range(1, 11)]
    assert factors[0] == pytest.approx(1 / 25) and max(factors) == factors[3] == 1.0
    assert factors[-1] < factors[4] < 1
    step = Schedule(LRSchedule.step, epochs=30, step_epochs=10, gamma=0.5)
    assert [step.factor(e, 5, 9) for e in (1, 10, 11, 21)] == [1.0, 1.0, 0.5, 0.25]
    for backward in ("manual", "autograd"):
        model = Autoencoder(input_dim=784, net=MLP(hidden=[16]))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        result = fit(model, optimizer, torch.from_numpy(digits.x_train[:200]), epochs=2,
                     batch_size=50, backward=backward, lr_schedule="cosine")
        assert [row["lr"] for row in result.history] == pytest.approx([1e-2, 5e-3])
        assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-2 * cosine.factor(2, 4, 4))


def test_early_stopping_restores_the_best_validation_epoch(digits):
    torch.manual_seed(0)
    model = Autoencoder(input_dim=784, net=MLP(hidden=[256]))  # 100 to fit, 100 to validate
    x, x_val = torch.from_numpy(digits.x_train[:100]), torch.from_numpy(digits.x_train[100:200])
    result = fit(model, torch.optim.Adam(model.parameters(), lr=3e-3), x, epochs=200,
                 batch_size=20, x_val=x_val, early_stopping=5, restore_best=True)
    losses = [row["val_loss"] for row in result.history]
    assert result.stopped_early == len(losses) < 200  # stopped, 5 epochs after the best
    assert result.best_epoch == 1 + losses.index(min(losses)) == len(losses) - 5
    assert result.restored and result.status == "ok"
    assert evaluate(model, x_val)["recon"] == pytest.approx(min(losses), rel=1e-6)


def test_without_restore_the_last_epoch_stays(digits):
    torch.manual_seed(0)
    model = Autoencoder(input_dim=784, net=MLP(hidden=[256]))
    x, x_val = torch.from_numpy(digits.x_train[:100]), torch.from_numpy(digits.x_train[100:200])
    result = fit(model, torch.optim.Adam(model.parameters(), lr=3e-3), x, epochs=30,
                 batch_size=20, x_val=x_val)
    assert not result.restored and result.stopped_early is None and len(result.history) == 30
    assert evaluate(model, x_val)["recon"] == pytest.approx(result.history[-1]["val_loss"],
                                                            rel=1e-6)


class Recorder(Callback):
    """Every hook the trainer calls, in order (steps counted, not listed)."""

    def __init__(self):
        self.calls, self.steps, self.states = [], 0, []

    def on_fit_start(self, run):
        self.calls.append("fit_start")

    def on_epoch_start(self, run, epoch, row):
        self.calls.append(f"epoch_start {epoch}")
        row["marked"] = epoch  # a callback's value reaches the history row

    def on_step(self, run, epoch, step):
        self.steps += 1

    def on_epoch_end(self, run, epoch, row):
        self.calls.append(f"epoch_end {epoch} {sorted(k for k in row if k.startswith('train_'))}")

    def on_state(self, state):
        self.states.append(state)

    def on_fit_end(self, run, result):
        self.calls.append(f"fit_end {result.status.value}")


def test_a_callers_callback_sees_every_hook_and_a_state_that_later_epochs_leave_alone(digits):
    torch.manual_seed(0)
    x = torch.from_numpy(digits.x_train[:200])
    model = Autoencoder(input_dim=784, net=MLP(hidden=[16]))
    recorder = Recorder()
    result = Trainer(TrainerSettings(epochs=2, batch_size=50, progress=False),
                     callbacks=[recorder]).fit(model, torch.optim.Adam(model.parameters()), x)
    assert recorder.calls == ["fit_start", "epoch_start 1", "epoch_end 1 ['train_recon', "
                              "'train_total']", "epoch_start 2", "epoch_end 2 ['train_recon', "
                              "'train_total']", "fit_end ok"]
    assert recorder.steps == 2 * 4
    assert [s.epoch for s in recorder.states] == [1, 2]
    assert len(recorder.states[0].history) == 1  # a copy: epoch 2 did not add to it
    assert [row["marked"] for row in result.history] == [1, 2]


def test_the_trainer_settings_name_a_bad_setting_in_one_line():
    with pytest.raises(ValueError, match=r"^test_every=0 is invalid: must be >= 1"):
        TrainerSettings(test_every=0)
    with pytest.raises(ValueError, match=r"^lr_gamma=2 is invalid: must be in \(0, 1\]"):
        TrainerSettings(lr_gamma=2)
