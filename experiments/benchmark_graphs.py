"""What the neighbour-embedding graphs cost as the training rows grow, searched exactly and
approximately, and how far the approximate graphs are from the exact ones.

    python -m experiments.benchmark_graphs [--rows 4000 20000 70000] [--exact-up-to 70000]
        [--table-rows 1000000] [--out outputs/benchmarks]

Image rows: the real MNIST test digits (``../shared/data/mnist-t10k``, else the 5,000 default
digits), tiled with random shifts of up to 2 pixels, scaled to [0, 1]. Table rows: a table of
50 columns, 10 Gaussian clusters. For each size it times the visual preset's graph (UMAP's
fuzzy graph, 15 neighbours) and t-SNE's affinities (perplexity 30: 91 neighbours) on
``neighbours=exact`` (up to ``--exact-up-to`` rows) and ``approximate`` (pynndescent), and,
where both ran, the share of the exact neighbours the approximate search found (recall) and
the graphs' distance (the share of the exact graph's weight that moved). Writes
``graphs-<time>.json`` and prints a table.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from reducers.nearest import Neighbours, nearest
from reducers.neighbour_graphs import fuzzy_graph, tsne_graph

ROOT = Path(__file__).resolve().parents[1]
T10K = ROOT.parent / "shared" / "data" / "mnist-t10k"


def shifted_digits(n: int, seed: int = 0) -> np.ndarray:
    """``n`` digits (n, 784) float32: real ones, each copy moved by up to 2 pixels."""
    from reducers import load_mnist5k
    from reducers.data.idx import load_idx
    from reducers.errors import DataError

    try:
        split = load_idx(str(T10K))
        base = np.concatenate([split.x_train, split.x_test])
    except DataError:
        base = load_mnist5k().x_train
    rng = np.random.default_rng(seed)
    picks = np.arange(n) % len(base)
    images = base[picks].reshape(n, 28, 28).copy()
    moved = np.arange(n) >= len(base)  # the first copy of each digit stays where it is
    shifts = rng.integers(-2, 3, size=(n, 2))
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            rows = np.flatnonzero(moved & (shifts[:, 0] == dy) & (shifts[:, 1] == dx))
            images[rows] = np.roll(images[rows], (dy, dx), axis=(1, 2))
    return images.reshape(n, 784).astype(np.float32)


def clustered_table(n: int, columns: int = 50, seed: int = 0) -> np.ndarray:
    """``n`` rows of ``columns`` float32 features in 10 Gaussian clusters."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(10, columns)).astype(np.float32)
    return centres[rng.integers(0, 10, n)] + rng.normal(size=(n, columns)).astype(np.float32)


def timed(fn):
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def measure(x: np.ndarray, exact: bool) -> dict:
    """The graphs of ``x`` both ways (exact only when asked), their seconds and distance."""
    row = {"rows": len(x), "columns": x.shape[1]}
    graphs = {}
    for how in ([Neighbours.exact] if exact else []) + [Neighbours.approximate]:
        (knn, row[f"knn15_{how.value}_s"]) = timed(
            lambda: nearest(x, 15, how, with_self=True))
        graphs[how, "umap"], row[f"umap_graph_{how.value}_s"] = timed(
            lambda: fuzzy_graph(x, 15, how).matrix())
        graphs[how, "tsne"], row[f"tsne_graph_{how.value}_s"] = timed(
            lambda: tsne_graph(x, 30.0, how))
        graphs[how, "knn"] = knn[1]
    if exact:
        a, b = graphs[Neighbours.exact, "knn"], graphs[Neighbours.approximate, "knn"]
        row["recall15"] = float(np.mean([len(set(p) & set(q)) / len(p) for p, q in zip(a, b)]))
        for kind in ("umap", "tsne"):
            e, p = graphs[Neighbours.exact, kind], graphs[Neighbours.approximate, kind]
            row[f"{kind}_weight_moved"] = float(abs(e - p).sum() / e.sum() / 2)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.benchmark_graphs",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[4000, 20000, 70000])
    parser.add_argument("--exact-up-to", type=int, default=70000,
                        help="the largest image set searched exactly too")
    parser.add_argument("--table-rows", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "benchmarks")
    args = parser.parse_args(argv)
    nearest(shifted_digits(500), 15, Neighbours.approximate, with_self=True)  # compiles numba
    rows = []
    for n in args.rows:
        rows.append({"data": "digits", **measure(shifted_digits(n), n <= args.exact_up_to)})
        print(json.dumps(rows[-1]), flush=True)
    for n in args.table_rows:
        rows.append({"data": "table", **measure(clustered_table(n), False)})
        print(json.dumps(rows[-1]), flush=True)
    out = args.out / f"graphs-{time.strftime('%Y-%m-%d_%H-%M-%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"runs": rows}, indent=2))
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
