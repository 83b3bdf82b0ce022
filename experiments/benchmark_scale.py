"""Every part of a run as the rows grow: the scale section of ``python -m experiments.benchmark``
(``--scale``), or alone:

    python -m experiments.benchmark_scale [--sizes 4000 70000 1000000] [--table-rows 1000000]
                                          [--tiny] [--out outputs/benchmarks]

Each run is ``python -m experiments.train`` in a child process, one at a time, for as many
epochs as make at least 200,000 training samples (50,000 for the visual preset, 20x slower per
sample; one epoch at a million rows; samples/s, not convergence, is what is measured, and one
epoch of 3,200 rows would be 25 steps of warm-up),
on ``data=table``:
image rows are the real MNIST test digits (``../shared/data/mnist-t10k``, else the 5,000
default digits) tiled with random shifts of up to 2 pixels, in a uint8 ``.npy`` of
(N, 28, 28) read memory-mapped (``data.memory_map=true``); table rows a float32 (N, 50) ``.npy``
of 10 Gaussian clusters. The default AE and VAE run at every size; the visual preset (its t-SNE
term's graph on approximate neighbours above 40,000 rows) on the images up to 70,000 rows and
on the table (without its shifts and rotations, which move images). Per run, from its
``metrics.json`` and ``os.wait4``: wall time, each part's seconds, training samples/s, the
share of the wall outside training, and peak resident memory; per part that does not repeat
with the epochs, how its seconds grow with N (the exponent b of seconds ~ N^b between sizes).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from experiments.benchmark_runs import run_parts

ROOT = Path(__file__).resolve().parents[1]
T10K = ROOT.parent / "shared" / "data" / "mnist-t10k"
MODELS = {"ae": ["model=ae"], "vae": [], "visual": ["experiment=visual_vae"]}
SAMPLES = {"ae": 200_000, "vae": 200_000, "visual": 50_000}  # each run trains at least these
PER_EPOCH = ("training steps", "per-epoch evaluation", "checkpoints")  # repeated each epoch


def base_digits() -> tuple[np.ndarray, np.ndarray, str]:
    """Real digits as uint8 (n, 28, 28) with their labels, and where they came from."""
    from reducers import load_mnist5k
    from reducers.data.idx import load_idx
    from reducers.errors import DataError

    try:
        split, source = load_idx(str(T10K)), "the real MNIST test digits"
    except DataError:
        split, source = load_mnist5k(), "the 5,000 default digits"
    x = np.concatenate([split.x_train, split.x_test])
    y = np.concatenate([split.y_train, split.y_test])
    return np.rint(x * 255).astype(np.uint8).reshape(-1, 28, 28), y, source


def write_images(folder: Path, n: int, seed: int = 0) -> tuple[Path, Path]:
    """``images-<n>.npy`` (n, 28, 28) uint8 and its labels, written a block at a time: each
    real digit once as it is, then copies moved by up to 2 pixels along each axis."""
    x_path, y_path = folder / f"images-{n}.npy", folder / f"images-{n}-labels.npy"
    if x_path.exists() and y_path.exists():
        return x_path, y_path
    base, labels, _ = base_digits()
    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(x_path.with_suffix(".part.npy"), "w+", np.uint8,
                                    (n, 28, 28))
    for start in range(0, n, 65536):
        rows = np.arange(start, min(n, start + 65536))
        block = base[rows % len(base)].copy()
        shifts = rng.integers(-2, 3, size=(len(rows), 2))
        shifts[rows < len(base)] = 0  # the first copy of each digit stays where it is
        for dy, dx in set(map(tuple, shifts)):
            moved = np.flatnonzero((shifts[:, 0] == dy) & (shifts[:, 1] == dx))
            block[moved] = np.roll(block[moved], (dy, dx), axis=(1, 2))
        out[start:start + len(rows)] = block
    out.flush()
    del out
    np.save(y_path, labels[np.arange(n) % len(base)])
    x_path.with_suffix(".part.npy").rename(x_path)
    return x_path, y_path


def write_table(folder: Path, n: int, columns: int = 50, seed: int = 0) -> tuple[Path, Path]:
    """``table-<n>.npy`` (n, columns) float32 in 10 Gaussian clusters, and its labels."""
    x_path, y_path = folder / f"table-{n}x{columns}.npy", folder / f"table-{n}x{columns}-labels.npy"
    if x_path.exists() and y_path.exists():
        return x_path, y_path
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(10, columns)).astype(np.float32)
    y = rng.integers(0, 10, n)
    np.save(y_path, y)
    np.save(x_path, centres[y] + rng.normal(size=(n, columns)).astype(np.float32))
    return x_path, y_path


def run(folder: Path, data: tuple[Path, Path], overrides: list[str], samples: int) -> dict:
    """One training run in a child process, of at least ``samples`` training samples: its
    parts' seconds and its peak memory."""
    n_train = len(np.load(data[1], mmap_mode="r")) * 4 // 5  # data.test_fraction=0.2
    epochs = max(1, math.ceil(samples / n_train))
    command = [sys.executable, "-m", "experiments.train", "data=table", f"data.path={data[0]}",
               f"data.labels_path={data[1]}", "data.memory_map=true", f"trainer.epochs={epochs}",
               "trainer.progress=false", *overrides, f"hydra.run.dir={folder}"]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {child.stderr.read()[-2000:]}")
    record = json.loads((folder / "metrics.json").read_text())
    t, m = record["timings"], record["metrics"]
    parts = run_parts(folder, wall, imports=None)
    outside = wall - m["train_seconds"]
    return {"rows": record["data"]["n_train"] + record["data"]["n_test"], "epochs": epochs,
            "wall_seconds": wall, "parts": parts, "scoring": t["score_seconds"],
            "samples_per_second": m["samples_per_second"],
            "outside_training_share": outside / wall,
            "peak_memory_gib": usage.ru_maxrss / 2 ** 20, "overrides": overrides,
            "knn_acc": m.get("knn_acc")}


def growth(rows: list[dict]) -> dict:
    """Per part that does not repeat each epoch, the exponent b of seconds ~ N^b between each
    pair of successive sizes."""
    out = {}
    for small, large in zip(rows, rows[1:]):
        ratio = math.log(large["rows"] / small["rows"])
        out[f"{small['rows']}->{large['rows']}"] = {
            part: math.log(large["parts"][part] / small["parts"][part]) / ratio
            for part in small["parts"] if part not in PER_EPOCH
            and small["parts"][part] > 0.01 and large["parts"].get(part, 0) > 0.01}
    return out


def measure(out: Path, sizes: list[int], table_rows: int, tiny: bool = False) -> dict:
    """Every model at every size on the images, and on the table; each run alone."""
    data_dir = out / "scale-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    runs_dir = out / f"scale-{datetime.now():%Y-%m-%d_%H-%M-%S-%f}"
    small = ["model.net.hidden=[32]"] if tiny else []
    report = {"source": base_digits()[2], "images": {}, "table": {}}
    for name, overrides in MODELS.items():
        rows, samples = [], 2_000 if tiny else SAMPLES[name]
        for n in sizes:
            if name == "visual" and n > 70_000:
                continue  # on a million images its graph alone would take most of an hour
            extra = ["model.embedding.batch=64"] if tiny and name == "visual" else []
            rows.append(run(runs_dir / f"{name}-images-{n}", write_images(data_dir, n),
                            overrides + small + extra, samples))
            print(f"scale: {name} on {n:,} images: {rows[-1]['wall_seconds']:.1f} s",
                  file=sys.stderr)
        report["images"][name] = {"runs": rows, "growth": growth(rows)}
        extra = ["trainer.augment_shift=0", "trainer.augment_degrees=0"] if name == "visual" \
            else []  # the preset's shifts and rotations move images
        extra += ["model.embedding.batch=64"] if tiny and name == "visual" else []
        report["table"][name] = run(runs_dir / f"{name}-table-{table_rows}",
                                    write_table(data_dir, table_rows),
                                    overrides + small + extra, samples)
        print(f"scale: {name} on the {table_rows:,}-row table: "
              f"{report['table'][name]['wall_seconds']:.1f} s", file=sys.stderr)
    return report


def print_table(report: dict) -> None:
    print(f"scale (image rows from {report['source']}):")
    print(f"  {'run':<28}{'epochs':>7}{'wall s':>8}{'samples/s':>11}{'outside':>9}"
          f"{'peak GiB':>10}  the largest parts outside training")
    rows = [(f"{name}, {r['rows']:,} images", r) for name, part in report["images"].items()
            for r in part["runs"]]
    rows += [(f"{name}, {r['rows']:,}-row table", r) for name, r in report["table"].items()]
    for label, r in rows:
        parts = sorted(((s, p) for p, s in r["parts"].items() if p != "training steps"),
                       reverse=True)[:3]
        print(f"  {label:<28}{r['epochs']:>7}{r['wall_seconds']:>8.1f}"
              f"{r['samples_per_second']:>11,.0f}"
              f"{r['outside_training_share']:>9.2f}{r['peak_memory_gib']:>10.2f}  "
              + ", ".join(f"{p} {s:.1f}" for s, p in parts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.benchmark_scale",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4_000, 70_000, 1_000_000])
    parser.add_argument("--table-rows", type=int, default=1_000_000)
    parser.add_argument("--tiny", action="store_true",
                        help="toy sizes (1,000 and 3,000 rows): checks the script")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "benchmarks")
    args = parser.parse_args(argv)
    sizes, table_rows = ([1_000, 3_000], 3_000) if args.tiny else (args.sizes, args.table_rows)
    report = measure(args.out, sizes, table_rows, args.tiny)
    print_table(report)
    path = args.out / f"scale-{datetime.now():%Y-%m-%d_%H-%M-%S}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
