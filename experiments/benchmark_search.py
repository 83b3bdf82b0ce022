"""What a pruner saves a search: the same search with and without one, over several seeds of
the search, measured from outside as a user runs it.

    python -m experiments.benchmark_search [--trials 40] [--epochs 20] [--seeds 0 1 2]
        [--pruner "hydra/sweeper/pruner=median ..."]... [--out outputs/benchmarks]
        [-- overrides for every search]

Each seed runs ``reducer-train hparams_search=vae_optuna hydra.sweeper.n_trials=N
trainer.epochs=E seed=S`` without a pruner, then with each ``--pruner`` (a pruner's option and
settings, as overrides; ``hydra/sweeper/pruner=median`` when none is given), one after the
other, so that a busy host slows all alike, and records the wall seconds, the best value, the
trials pruned and the epochs trained. Writes ``search-pruning-<time>.json`` and prints a table
per pruner (each seed's ratio of wall times and best values, and the median ratio).
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]


def search(folder: Path, seed: int, trials: int, epochs: int, pruner: str | None,
           more: list[str]) -> dict:
    """One search in ``folder`` (``pruner``: its overrides, None for none): its wall seconds,
    best value and what it trained."""
    command = [sys.executable, "-m", "experiments.train", "hparams_search=vae_optuna",
               f"hydra.sweeper.n_trials={trials}", f"trainer.epochs={epochs}", f"seed={seed}",
               "trainer.progress=false", f"hydra.sweep.dir={folder}",
               *(pruner.split() if pruner else []), *more]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    best = yaml.safe_load((folder / "optimization_results.yaml").read_text())
    table = pd.read_csv(folder / "trials.csv")
    pruned = table[table.status == "pruned"]
    done = int((table.status != "pruned").sum())
    return {"seed": seed, "pruner": pruner or "none", "wall_seconds": wall,
            "best_value": best["best_value"], "best_params": best["best_params"],
            "trials": len(table), "pruned": len(pruned),
            "epochs_trained": int(pruned.pruned_at.sum()) + done * epochs,
            "epochs_without_pruning": len(table) * epochs, "folder": str(folder)}


def summary(rows: list[dict]) -> str:
    """A markdown table per pruner: per seed, the search with it beside the one without; the
    median ratio of wall times."""
    pruners = list(dict.fromkeys(r["pruner"] for r in rows if r["pruner"] != "none"))
    return "\n\n".join(f"`{pruner}`:\n\n" + pruner_table(rows, pruner) for pruner in pruners)


def pruner_table(rows: list[dict], pruner: str) -> str:
    """The table of one pruner against the searches without one."""
    lines = ["| seed | wall without (s) | wall with (s) | ratio | best without | best with | "
             "difference | pruned | epochs trained |", "|---|---|---|---|---|---|---|---|---|"]
    ratios = []
    for seed in sorted({r["seed"] for r in rows}):
        plain, pruned = (next(r for r in rows if r["seed"] == seed and r["pruner"] == name)
                         for name in ("none", pruner))
        ratio = pruned["wall_seconds"] / plain["wall_seconds"]
        ratios.append(ratio)
        lines.append(f"| {seed} | {plain['wall_seconds']:.0f} | {pruned['wall_seconds']:.0f} | "
                     f"{ratio:.2f} | {plain['best_value']:.4f} | {pruned['best_value']:.4f} | "
                     f"{pruned['best_value'] - plain['best_value']:+.4f} | "
                     f"{pruned['pruned']}/{pruned['trials']} | {pruned['epochs_trained']}/"
                     f"{pruned['epochs_without_pruning']} |")
    lines.append(f"\nmedian ratio of wall times (with / without): {statistics.median(ratios):.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.benchmark_search",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pruner", action="append", metavar="OVERRIDES",
                        help="a pruner as overrides, e.g. 'hydra/sweeper/pruner=percentile "
                        "hydra.sweeper.pruner.n_warmup_steps=4' (again for another)")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "benchmarks")
    parser.add_argument("more", nargs="*", help="more overrides for every search")
    args = parser.parse_args(argv)
    pruners = args.pruner or ["hydra/sweeper/pruner=median"]
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    scratch = args.out / f"search-pruning-{stamp}"
    rows = []
    for seed in args.seeds:
        for number, pruner in enumerate([None, *pruners]):
            rows.append(search(scratch / f"seed{seed}-{number}", seed, args.trials,
                               args.epochs, pruner, args.more))
            print(json.dumps(rows[-1]), flush=True)
    table = summary(rows)
    (args.out / f"search-pruning-{stamp}.json").write_text(json.dumps(
        {"trials": args.trials, "epochs": args.epochs, "pruners": pruners,
         "overrides": args.more, "runs": rows, "table": table}, indent=2))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
