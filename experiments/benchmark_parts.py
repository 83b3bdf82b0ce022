"""The benchmark's measurements (``python -m experiments.benchmark`` runs them): the machine's
matrix-multiply roofline, the engine's throughput and its step's own ceiling, scoring cost, peak
memory of a run, loading a large feature table, and a sweep's speed-up through the joblib
launcher."""

import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from reducers import (MLP, VAE, Trainer, TrainerSettings, load_idx, load_mnist5k,
                      score_codes)
from reducers.data import load_table
from reducers.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
T10K = ROOT.parent / "shared" / "data" / "mnist-t10k"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def roofline(repeats: int, n: int = 1024) -> float:
    """fp32 matrix-multiply FLOP/s at the current thread count."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)  # warm-up
    return 2 * n ** 3 / median_time(lambda: torch.mm(a, b), repeats)


def train_flops_per_sample(model: torch.nn.Module) -> float:
    """Forward (2 per multiply-add) + backward (4: input and weight gradients) of the linear
    layers; the first layer needs no input gradient. Activations and the loss are left out."""
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    macs = [m.in_features * m.out_features for m in linears]
    return 6 * sum(macs) - 2 * max(m.in_features * m.out_features for m in linears
                                   if m.in_features == model.input_dim)


def engine_throughput(x: torch.Tensor, repeats: int, batch_size: int = 128) -> dict:
    """The default config (VAE 784-512-256-2, BCE, Adam) through the engine, with its
    hand-written backward pass (the default) and with autograd, interleaved."""
    rates = {"manual": [], "autograd": []}
    for repeat in range(repeats):
        for backward, runs in rates.items():
            torch.manual_seed(repeat)
            model = VAE(input_dim=x.shape[1], net=MLP(hidden=[512, 256]))
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)  # the default
            settings = TrainerSettings(epochs=2, batch_size=batch_size, progress=False,
                                       backward=backward)
            result = Trainer(settings).fit(model, optimizer, x, seed=repeat)
            runs.append(result.samples_per_second)
    flops = train_flops_per_sample(model)
    rate = statistics.median(rates["manual"])
    return {"batch_size": batch_size, "samples_per_second": rate,
            "autograd_samples_per_second": statistics.median(rates["autograd"]),
            "flops_per_sample": flops, "flops_per_second": rate * flops,
            "matmul_ceiling_flops": matmul_ceiling(model, batch_size, repeats)}


def matmul_ceiling(model: torch.nn.Module, batch_size: int, repeats: int) -> float:
    """FLOP/s of one training step's matrix multiplies alone (forward, weight gradient, input
    gradient of every Linear at this batch size): what the step could reach if nothing else
    took time."""
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    x = {m: torch.rand(batch_size, m.in_features) for m in linears}
    grad = {m: torch.rand(batch_size, m.out_features) for m in linears}
    weight_grad = {m: torch.empty_like(m.weight) for m in linears}

    def multiplies():
        for m in linears:
            torch.addmm(m.bias, x[m], m.weight.t())
            torch.mm(grad[m].t(), x[m], out=weight_grad[m])
            if m.in_features != model.input_dim:  # the first layer needs no input gradient
                torch.mm(grad[m], m.weight)

    with torch.no_grad():
        multiplies()  # warm-up
        seconds = median_time(lambda: [multiplies() for _ in range(20)], repeats) / 20
    return train_flops_per_sample(model) * batch_size / seconds


def blog_data(limit: int = 10_000) -> tuple[torch.Tensor, str]:
    """The first ``limit`` images of the real MNIST test set when present, else the default
    data's training images."""
    try:
        split = load_idx(str(T10K))
        x = np.concatenate([split.x_train, split.x_test])[:limit]
        return torch.from_numpy(x), f"real MNIST test set ({len(x)} images)"
    except DataError:
        x = load_mnist5k().x_train[:limit]
        return torch.from_numpy(x), f"default data ({len(x)} images)"


def scoring_cost(n: int, repeats: int) -> dict:
    """Seconds per metric for n synthetic 2-D test codes (and as many train codes)."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 2 * n)
    codes = rng.normal(size=(2 * n, 2)) + labels[:, None]
    pixels = rng.random((n, 784), dtype=np.float32)
    runs = [score_codes(codes[:n], labels[:n], codes[n:], labels[n:], pixels)[2]
            for _ in range(repeats)]
    per_metric = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return {"n": n, "seconds": per_metric, "total": sum(per_metric.values())}


def table_load(out: Path, rows: int, columns: int, repeats: int) -> dict:
    """Seconds to load a (rows, columns) float CSV with a label column through ``data=table``
    (median), and the peak memory of a process that only loads it."""
    path = out / f"table-{rows}x{columns}.csv"
    if not path.exists():  # written once: ~10 s for 200,000 rows
        rng = np.random.default_rng(0)
        frame = pd.DataFrame(rng.normal(size=(rows, columns)),
                             columns=[f"f{i}" for i in range(columns)])
        frame["label"] = rng.integers(0, 10, rows)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False, float_format="%.6g")
    seconds = median_time(lambda: load_table(str(path), label="label"), repeats)
    child = subprocess.run(
        [sys.executable, "-c", "import resource, sys\nfrom reducers.data import load_table\n"
         "load_table(sys.argv[1], label='label')\n"
         "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)", str(path)],
        cwd=ROOT, check=True, capture_output=True, text=True)
    return {"rows": rows, "columns": columns, "megabytes": path.stat().st_size / 2 ** 20,
            "seconds": seconds, "peak_memory_gib": int(child.stdout) / 2 ** 20}


def peak_memory_of_run(threads: int, out: Path, overrides: list[str]) -> float:
    """Peak resident memory (GiB) of `python -m experiments.train` in a child process: its own
    (``os.wait4``), not the largest of every child this process has had."""
    child = subprocess.Popen([sys.executable, "-m", "experiments.train", "trainer.progress=false",
                              f"trainer.threads={threads}", *overrides,
                              f"hydra.run.dir={out / 'peak-memory-run'}"], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, child.args)
    return usage.ru_maxrss / 2 ** 20  # KiB -> GiB


SWEEP = ["model.beta=0.5,1,2,4", "seed=1,2", "trainer.epochs=20", "trainer.progress=false"]
SWEEP_MODES = {"sequential, all cores per run": [],
               "sequential, 1 thread per run": ["trainer.threads=1"],
               "joblib, 2 jobs x 1 thread": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]}


def sweep_speedup(out: Path) -> dict:
    """Wall time of one 8-run sweep per launcher set-up, and whether the metrics agree."""
    import pandas as pd

    root = out / f"sweeps-{datetime.now():%H-%M-%S-%f}"
    seconds, tables = {}, {}
    for i, (name, extra) in enumerate(SWEEP_MODES.items()):
        folder = root / str(i)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "experiments.train", "-m", *SWEEP, *extra,
                        f"hydra.sweep.dir={folder}"], cwd=ROOT, check=True, capture_output=True)
        seconds[name] = time.perf_counter() - started
        table = pd.read_csv(folder / "comparison.csv").sort_values(["model.beta", "seed"])
        tables[name] = table[["knn_acc", "silhouette", "trustworthiness", "recon_mse"]].to_numpy()
    parallel, one_thread, all_cores = (seconds[k] for k in
                                       ("joblib, 2 jobs x 1 thread", "sequential, 1 thread per run",
                                        "sequential, all cores per run"))
    return {"runs": 8, "seconds": seconds,
            "speedup_vs_sequential_same_threads": one_thread / parallel,
            "speedup_vs_sequential_all_cores": all_cores / parallel,
            "same_metrics_as_sequential_same_threads": bool(np.array_equal(
                tables["joblib, 2 jobs x 1 thread"], tables["sequential, 1 thread per run"]))}
