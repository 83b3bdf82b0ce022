"""The optimised engine computes what a plain loop computes; the benchmark script runs."""

import json

import pytest
import torch

from reducers import VAE, fit
from tests.conftest import ROOT, run_cli


def plain_loop(model, optimizer, x, epochs, batch_size, seed):
    """The textbook loop: same permutations as the engine, one step per batch."""
    generator = torch.Generator().manual_seed(seed)
    curve = []
    for _ in range(epochs):
        perm, total = torch.randperm(len(x), generator=generator), 0.0
        for start in range(0, len(x), batch_size):
            xb = x[perm[start:start + batch_size]]
            loss = model.loss(xb)["total"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        curve.append(total / len(x))
    return curve


def test_engine_with_fused_adam_follows_the_plain_loop(digits):
    x = torch.from_numpy(digits.x_train)
    curves = []
    for fused in (True, False):
        torch.manual_seed(0)
        model = VAE(input_dim=784, hidden=[128])
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused)
        if fused:  # the engine, as every run uses it
            history = fit(model, optimizer, x, epochs=3, batch_size=64, seed=7,
                          progress=False).history
            curves.append([row["train_total"] for row in history])
        else:
            curves.append(plain_loop(model, optimizer, x, epochs=3, batch_size=64, seed=7))
    assert curves[0] == pytest.approx(curves[1], rel=1e-4)
    assert curves[0][-1] < curves[0][0]


@pytest.mark.slow
def test_benchmark_script_writes_every_figure():
    before = set((ROOT / "outputs" / "benchmarks").glob("*.json"))
    proc = run_cli("--quick", "--blog-epochs", "1", module="experiments.benchmark", timeout=600)
    assert proc.returncode == 0, proc.stderr
    written = set((ROOT / "outputs" / "benchmarks").glob("*.json")) - before
    report = json.loads(written.pop().read_text())
    assert report["roofline_flops"] > 1e9
    assert 0 < report["engine"]["fraction_of_roofline"] < 1.5
    assert report["blog_config"]["speedup"] > 0 and report["peak_memory_gib"] > 0.1
    assert report["scoring"][0]["n"] == 10_000 and report["scoring"][0]["total"] > 0
    assert "roofline" in proc.stdout and "blog loop" in proc.stdout
