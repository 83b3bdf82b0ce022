"""``trainer.device``: cpu by default, cuda one setting away, auto picking cuda where there is
one. CI has no GPU: the CPU path runs everywhere, the cuda tests skip cleanly where PyTorch sees
no CUDA device (``pytest -rs`` says so) and run wherever one is."""

import json

import numpy as np
import pytest
import torch

from reducers import MLP, VAE, Autoencoder
from reducers.checkpoint import build_model, load_checkpoint, restore
from reducers.devices import Device, device_of, resolve_device
from reducers.errors import ConfigError
from reducers.scoring import encode
from tests.helpers import TINY, fit, run_cli

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="PyTorch sees no CUDA device here")


def test_cpu_is_the_default_and_auto_takes_cuda_only_where_there_is_one():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(Device.auto).type == ("cuda" if CUDA else "cpu")
    assert device_of(torch.nn.Module()) == torch.device("cpu")  # no parameters: the CPU


@pytest.mark.skipif(CUDA, reason="a CUDA device is present")
def test_cuda_without_a_device_is_refused_in_one_line_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="trainer.device=cuda: .*use trainer.device=cpu"):
        resolve_device("cuda")
    run = tmp_path / "run"
    proc = run_cli(*TINY, "trainer.device=cuda", f"hydra.run.dir={run}")
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]  # one line
    assert "trainer.device=cuda" in proc.stderr
    assert not (run / "metrics.json").exists() and not (run / "checkpoint.pt").exists()


def test_the_run_record_says_where_it_trained(tmp_path):
    run = tmp_path / "run"
    proc = run_cli(*TINY, "trainer.device=auto", f"hydra.run.dir={run}")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((run / "metrics.json").read_text())["device"] == \
        ("cuda:0" if CUDA else "cpu")


@needs_cuda
def test_a_model_on_the_gpu_trains_on_cpu_rows_and_evaluates_there(digits):
    x = torch.from_numpy(digits.x_train)
    for cls in (Autoencoder, VAE):
        torch.manual_seed(0)
        model = cls(input_dim=784, net=MLP(hidden=[64])).cuda()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        result = fit(model, optimizer, x, epochs=3, x_test=torch.from_numpy(digits.x_test))
        losses = [row["train_recon"] for row in result.history]
        assert losses[-1] < losses[0] and "test_recon" in result.history[-1]
        assert device_of(model).type == "cuda"
        codes = encode(model, x)  # on the model's device, back as a CPU array
        assert codes.shape == (len(x), 2) and np.isfinite(codes).all()


@needs_cuda
def test_a_gpu_run_matches_the_cpu_run_and_its_checkpoint_loads_on_the_cpu(tmp_path, digits):
    """The autoencoder draws no random numbers while training, so the two devices differ by
    rounding only (cuBLAS sums in another order): the same metrics within 0.03 and 5%."""
    runs = {}
    for device in ("cpu", "cuda"):
        runs[device] = tmp_path / device
        proc = run_cli(*TINY, "model=ae", f"trainer.device={device}",
                       f"hydra.run.dir={runs[device]}")
        assert proc.returncode == 0, proc.stderr
    cpu, gpu = (json.loads((runs[d] / "metrics.json").read_text()) for d in ("cpu", "cuda"))
    assert gpu["device"].startswith("cuda")
    assert abs(gpu["metrics"]["knn_acc"] - cpu["metrics"]["knn_acc"]) <= 0.03
    assert gpu["metrics"]["recon_mse"] == pytest.approx(cpu["metrics"]["recon_mse"], rel=0.05)
    state = load_checkpoint(runs["cuda"] / "checkpoint.pt")  # onto the CPU
    model = build_model(state)
    restore(model, None, state, runs["cuda"] / "checkpoint.pt")
    assert device_of(model).type == "cpu"
    test_codes = np.load(runs["cuda"] / "codes.npz")["test"]  # encoded after training
    assert np.allclose(encode(model, torch.from_numpy(digits.x_test)), test_codes, atol=1e-4)


def test_a_sweep_for_gpu_workers_composes_on_a_machine_without_one(compose_train):
    """The submitting machine (a cluster's login node, or a search sweeper checking its jobs)
    may have no GPU: the setting is checked there, and resolved by each job where it runs."""
    from experiments.schemas import validate

    assert validate(compose_train("trainer.device=cuda")).trainer.device is Device.cuda
