"""Measure the engine against the machine and against the blog's own loop, in one process.

    python -m experiments.benchmark [--repeats 5] [--threads N] [--blog-epochs 2] [--quick]
                                    [--compile]

Prints a table and writes outputs/benchmarks/<timestamp>.json. Every figure is a median of
repeats, and the comparisons are ratios measured side by side (the machines are shared).
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from experiments.benchmark_loops import (blog_epoch_seconds, compiled_epoch_seconds,
                                         engine_epoch_seconds)
from reducers import VAE, fit, load_idx, load_mnist5k, score_codes
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
            model = VAE(input_dim=x.shape[1], hidden=[512, 256])
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)  # the default
            result = fit(model, optimizer, x, epochs=2, batch_size=batch_size, seed=repeat,
                         progress=False, backward=backward)
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
    try:
        split = load_idx(str(T10K))
        x = np.concatenate([split.x_train, split.x_test])[:limit]
        return torch.from_numpy(x), f"real MNIST test set ({len(x)} images)"
    except DataError:
        split = load_mnist5k()
        return torch.from_numpy(split.x_train), f"default data ({len(split.x_train)} images)"


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


def peak_memory_of_default_run(threads: int) -> float:
    """Peak resident memory (GiB) of `python -m experiments.train` in a child process."""
    out = ROOT / "outputs" / "benchmarks" / "peak-memory-run"
    subprocess.run([sys.executable, "-m", "experiments.train", "trainer.progress=false",
                    f"trainer.threads={threads}", f"hydra.run.dir={out}"], cwd=ROOT,
                   check=True, capture_output=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2 ** 20  # KiB -> GiB


SWEEP = ["model.beta=0.5,1,2,4", "seed=1,2", "trainer.epochs=20", "trainer.progress=false"]
SWEEP_MODES = {"sequential, all cores per run": [],
               "sequential, 1 thread per run": ["trainer.threads=1"],
               "joblib, 2 jobs x 1 thread": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]}


def sweep_speedup() -> dict:
    """Wall time of one 8-run sweep per launcher set-up, and whether the metrics agree."""
    import pandas as pd

    root = ROOT / "outputs" / "benchmarks" / f"sweeps-{datetime.now():%H-%M-%S-%f}"
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.benchmark",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--blog-epochs", type=int, default=2)
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats, no 70k scoring, no sweep timing")
    parser.add_argument("--compile", action="store_true",
                        help="also time torch.compile of the engine's step at the blog "
                             "configuration (compiling takes about 20 s)")
    args = parser.parse_args(argv)
    repeats = 2 if args.quick else args.repeats
    torch.set_num_threads(args.threads)
    report = {"machine": f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}",
              "threads": args.threads, "repeats": repeats}

    report["roofline_flops"] = roofline(repeats)
    x_default = torch.from_numpy(load_mnist5k().x_train)
    engine = engine_throughput(x_default, repeats)
    engine["fraction_of_roofline"] = engine["flops_per_second"] / report["roofline_flops"]
    engine["matmul_ceiling_fraction"] = engine["matmul_ceiling_flops"] / report["roofline_flops"]
    report["engine"] = engine

    x_blog, source = blog_data()
    blog, ours, autograd = [], [], []
    for r in range(repeats):  # interleaved: drift of a shared machine hits all alike
        blog.append(blog_epoch_seconds(x_blog, args.blog_epochs, seed=r))
        ours.append(engine_epoch_seconds(x_blog, args.blog_epochs, seed=r))
        autograd.append(engine_epoch_seconds(x_blog, args.blog_epochs, seed=r,
                                             backward="autograd"))
    blog_seconds = statistics.median(blog)
    report["blog_config"] = {"data": source, "epochs": args.blog_epochs,
                             "blog_loop_seconds_per_epoch": blog_seconds,
                             "engine_seconds_per_epoch": statistics.median(ours),
                             "speedup": blog_seconds / statistics.median(ours),
                             "autograd_engine_seconds_per_epoch": statistics.median(autograd),
                             "autograd_speedup": blog_seconds / statistics.median(autograd)}
    if args.compile:
        compile_seconds, epoch_seconds = compiled_epoch_seconds(x_blog, args.blog_epochs, 0)
        gain = statistics.median(ours) - epoch_seconds  # per epoch, over the eager engine
        report["blog_config"]["compiled"] = {
            "compile_seconds": compile_seconds, "seconds_per_epoch": epoch_seconds,
            "break_even_epochs": compile_seconds / gain if gain > 0 else None}
    report["scoring"] = [scoring_cost(n, repeats) for n in
                         ((10_000,) if args.quick else (10_000, 70_000))]
    report["peak_memory_gib"] = peak_memory_of_default_run(args.threads)
    if not args.quick:
        report["sweep"] = sweep_speedup()
    print_table(report)
    out = ROOT / "outputs" / "benchmarks" / f"{datetime.now():%Y-%m-%d_%H-%M-%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out}")
    return 0


def print_table(r: dict) -> None:
    e, b = r["engine"], r["blog_config"]
    rows = [
        ("machine", r["machine"] + f", {r['threads']} threads, median of {r['repeats']}"),
        ("fp32 matmul roofline", f"{r['roofline_flops'] / 1e9:.1f} GFLOP/s"),
        ("engine, default config, batch 128", f"{e['samples_per_second']:,.0f} samples/s = "
         f"{e['flops_per_second'] / 1e9:.1f} GFLOP/s = {e['fraction_of_roofline']:.2f} of "
         f"roofline (autograd: {e['autograd_samples_per_second']:,.0f} samples/s)"),
        ("  its matrix multiplies alone", f"{e['matmul_ceiling_flops'] / 1e9:.1f} GFLOP/s = "
         f"{e['matmul_ceiling_fraction']:.2f} of roofline"),
        (f"blog config, {b['data']}", f"blog loop {b['blog_loop_seconds_per_epoch']:.2f} s/epoch, "
         f"engine {b['engine_seconds_per_epoch']:.2f} s/epoch: {b['speedup']:.2f}x faster "
         f"(autograd engine {b['autograd_engine_seconds_per_epoch']:.2f} s/epoch: "
         f"{b['autograd_speedup']:.2f}x)"),
    ]
    if "compiled" in b:
        c = b["compiled"]
        pays = "never pays off" if c["break_even_epochs"] is None else \
            f"pays off after {c['break_even_epochs']:.0f} epochs"
        rows.append(("  torch.compile of the engine's step", f"{c['compile_seconds']:.1f} s to "
                     f"compile, then {c['seconds_per_epoch']:.2f} s/epoch: {pays}"))
    rows += [(f"scoring {s['n']:,} test codes", f"{s['total']:.2f} s (" + ", ".join(
        f"{k} {v:.2f}" for k, v in s["seconds"].items()) + ")") for s in r["scoring"]]
    rows.append(("peak memory, default train run", f"{r['peak_memory_gib']:.2f} GiB"))
    if "sweep" in r:
        w = r["sweep"]
        rows.append(("8-run sweep, 2 parallel jobs", ", ".join(
            f"{k} {v:.1f} s" for k, v in w["seconds"].items()) +
            f": {w['speedup_vs_sequential_same_threads']:.2f}x vs the same threads per run "
            f"(identical metrics: {w['same_metrics_as_sequential_same_threads']}), "
            f"{w['speedup_vs_sequential_all_cores']:.2f}x vs all cores per run"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    sys.exit(main())
