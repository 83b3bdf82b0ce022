"""Measure the engine against the machine, its peers and the blog's own loop, and where the
seconds of a run and of a sweep go, in one command.

    python -m experiments.benchmark [--repeats 5] [--peer-repeats 3] [--threads N]
                                    [--blog-epochs 2] [--quick] [--compile] [--scale] [--tiny]
                                    [--out DIR]

Prints a table and writes <out>/<timestamp>.json (default out: outputs/benchmarks). Every figure
is a median of repeats, and the comparisons are ratios measured side by side (the machines are
shared). ``--tiny`` runs every measurement at toy sizes: a check that the script works, whose
figures mean nothing. ``--scale`` adds every part of a run at 4,000, 70,000 and 1,000,000 rows
(``experiments.benchmark_scale``, about 20 minutes; alone: ``python -m
experiments.benchmark_scale``).
"""

import argparse
import json
import os
import statistics
import sys
from datetime import datetime
from pathlib import Path

import torch

from experiments.benchmark_conv import conv_throughput
from experiments.benchmark_loops import (blog_epoch_seconds, compiled_epoch_seconds,
                                         engine_epoch_seconds)
from experiments.benchmark_parts import (ROOT, blog_data, cpu_name, engine_throughput,
                                         peak_memory_of_run, roofline, scoring_cost,
                                         sweep_speedup, table_load)
from experiments.benchmark_peers import measure as measure_peers
from experiments.benchmark_runs import run_breakdown, sweep_overhead
from experiments.benchmark_scale import measure as measure_scale, print_table as print_scale
from reducers import load_mnist5k
from reducers.torch_internals import denormals_flushed

TINY_RUN = ["trainer.epochs=1", "data.limit=300", "model.net.hidden=[32]", "score.figures=false"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.benchmark",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peer-repeats", type=int, default=3,
                        help="child processes per peer and denormal mode (each trains the "
                             "default configuration's 50 epochs)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--blog-epochs", type=int, default=2)
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats, no 70k scoring, no sweep timing")
    parser.add_argument("--compile", action="store_true",
                        help="also time torch.compile of the engine's step at the blog "
                             "configuration (compiling takes about 20 s)")
    parser.add_argument("--scale", action="store_true",
                        help="add the scale section: every part of a run at 4,000, 70,000 and "
                             "1,000,000 rows, one run at a time (about 20 minutes)")
    parser.add_argument("--tiny", action="store_true",
                        help="toy sizes, one repeat, no sweep: checks the script, not the machine")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "benchmarks",
                        help="folder of the JSON report (and of the runs it starts)")
    args = parser.parse_args(argv)
    with denormals_flushed():  # as the apps run the engine, before any parallel work
        report = measure(args)
    print_table(report)
    if "scale" in report:
        print_scale(report["scale"])
    out = args.out / f"{datetime.now():%Y-%m-%d_%H-%M-%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out}")
    return 0


def measure(args: argparse.Namespace) -> dict:
    repeats = 1 if args.tiny else 2 if args.quick else args.repeats
    images = 400 if args.tiny else None  # per measurement; None: all
    torch.set_num_threads(args.threads)
    report = {"machine": f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}",
              "threads": args.threads, "repeats": repeats, "tiny": args.tiny}

    report["run"] = run_breakdown(repeats, args.out, TINY_RUN if args.tiny else [])
    report["peers"] = measure_peers(1 if args.tiny or args.quick else args.peer_repeats,
                                    epochs=1 if args.tiny else 50, limit=images,
                                    threads=args.threads, workdir=args.out / "peers")
    report["roofline_flops"] = roofline(repeats, n=256 if args.tiny else 1024)
    engine = engine_throughput(torch.from_numpy(load_mnist5k().x_train[:images]), repeats)
    engine["fraction_of_roofline"] = engine["flops_per_second"] / report["roofline_flops"]
    engine["matmul_ceiling_fraction"] = engine["matmul_ceiling_flops"] / report["roofline_flops"]
    report["engine"] = engine
    report["conv"] = conv_throughput(torch.from_numpy(load_mnist5k().x_train[:images]), repeats)

    x_blog, source = blog_data(images or 10_000)
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
    sizes = (1_000,) if args.tiny else (10_000,) if args.quick else (10_000, 70_000)
    report["scoring"] = [scoring_cost(n, repeats) for n in sizes]
    report["table_load"] = table_load(args.out, 2_000 if args.tiny else 200_000, 50, repeats)
    report["peak_memory_gib"] = peak_memory_of_run(args.threads, args.out,
                                                   TINY_RUN if args.tiny else [])
    if not (args.quick or args.tiny):
        report["sweep"] = sweep_speedup(args.out)
        report["beta_loss_sweep"] = sweep_overhead(args.out, [])
    if args.scale:
        sizes, table_rows = ([1_000, 3_000], 3_000) if args.tiny else \
            ([4_000, 70_000, 1_000_000], 1_000_000)
        report["scale"] = measure_scale(args.out, sizes, table_rows, tiny=args.tiny)
    return report


def print_table(r: dict) -> None:
    e, b, run, peers = r["engine"], r["blog_config"], r["run"], r["peers"]
    rows = [
        ("machine", r["machine"] + f", {r['threads']} threads, median of {r['repeats']}"),
        ("default run, start to exit", f"{run['wall_seconds']:.2f} s = "
         f"{run['wall_over_training_steps']:.2f}x its training steps"),
        *[(f"  {part}", f"{seconds:.3f} s") for part, seconds in run["parts"].items()],
        (f"peers, default config, {peers['epochs']} epochs", ", ".join(
            f"{mode}: " + " ".join(f"{k} {v:.2f} s" for k, v in row.items())
            for mode, row in peers["seconds"].items())),
        ("  engine's speed-up", ", ".join(f"{k} {v:.2f}x" for k, v in peers["speedup"].items())
         + ("" if peers["pythae"] is True else f" (pythae {peers['pythae']})")),
        ("fp32 matmul roofline", f"{r['roofline_flops'] / 1e9:.1f} GFLOP/s"),
        ("engine, default config, batch 128", f"{e['samples_per_second']:,.0f} samples/s = "
         f"{e['flops_per_second'] / 1e9:.1f} GFLOP/s = {e['fraction_of_roofline']:.2f} of "
         f"roofline (autograd: {e['autograd_samples_per_second']:,.0f} samples/s)"),
        ("  its matrix multiplies alone", f"{e['matmul_ceiling_flops'] / 1e9:.1f} GFLOP/s = "
         f"{e['matmul_ceiling_fraction']:.2f} of roofline"),
        *[(f"conv VAE (32, 64 channels), {fmt.replace('_', ' ')}",
           f"{c['samples_per_second']:,.0f} samples/s; its convolutions alone take "
           f"{c['fraction_of_conv_ceiling']:.2f} of each step") for fmt, c in r["conv"].items()],
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
    t = r["table_load"]
    rows.append((f"loading a {t['rows']:,} x {t['columns']} CSV (data=table)",
                 f"{t['seconds']:.2f} s for {t['megabytes']:.0f} MB, peak memory "
                 f"{t['peak_memory_gib']:.2f} GiB"))
    rows.append(("peak memory, default train run", f"{r['peak_memory_gib']:.2f} GiB"))
    if "sweep" in r:
        w = r["sweep"]
        rows.append(("8-run sweep, 2 parallel jobs", ", ".join(
            f"{k} {v:.1f} s" for k, v in w["seconds"].items()) +
            f": {w['speedup_vs_sequential_same_threads']:.2f}x vs the same threads per run "
            f"(identical metrics: {w['same_metrics_as_sequential_same_threads']}), "
            f"{w['speedup_vs_sequential_all_cores']:.2f}x vs all cores per run"))
    if "beta_loss_sweep" in r:
        w = r["beta_loss_sweep"]
        rows.append((f"sweep=beta_loss, {w['runs']} runs, joblib x {w['jobs']}",
                     f"{w['wall_seconds']:.1f} s against {w['ideal_seconds']:.1f} s of training "
                     f"steps per job: {w['wall_over_ideal']:.2f}x"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    sys.exit(main())
