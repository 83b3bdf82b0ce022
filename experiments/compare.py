"""Gather run folders into comparison tables and figures.

    python -m experiments.compare PATH [PATH ...] [--sort-by METRIC] [--out DIR]

The multirun callback calls the same code at the end of every sweep. A run folder is a folder
holding ``.hydra/`` or ``metrics.json``; one without ``metrics.json`` crashed or was killed
and is listed as ``failed``. Tables are built from the files alone.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from experiments.markdown import HEADLINE, markdown, seed_summary
from reducers.baselines import PROTOCOLS
from reducers.errors import ReducerError
from reducers.io import atomic_open
from reducers.scoring import DIRECTION

NOT_SETTINGS = ("paths.", "score.figures", "trainer.progress", "trainer.threads",
                "trainer.resume", "trainer.checkpoint_seconds")


def find_runs(paths: list[str | Path]) -> list[Path]:
    runs = set()
    for path in map(Path, paths):
        if not path.is_dir():
            raise ReducerError(f"{path}: no such folder (give sweep folders or run folders)")
        markers = [*path.rglob("metrics.json"), *path.rglob(".hydra")]
        runs.update(m.parent for m in markers if m.name == "metrics.json" or m.is_dir())
    if not runs:
        raise ReducerError(f"no run folders (with .hydra/ or metrics.json) under {paths}")
    return sorted(runs, key=lambda p: [int(s) if s.isdigit() else s for s in p.parts])


def _flatten(node: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in node.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif not key.startswith("_"):  # _target_, _partial_: implied by the group choice
            flat[prefix + key] = str(value) if isinstance(value, list) else value
    return flat


def _read_yaml(path: Path) -> dict:
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text()) or {}


def _read_record(path: Path) -> dict:
    """A run's metrics.json; a missing or unreadable one means the run did not finish."""
    if not path.exists():
        return {"status": "failed", "error": "no metrics.json: the run crashed or was killed"}
    try:
        record = json.loads(path.read_text())
        record["status"]
    except (ValueError, KeyError, TypeError) as exc:
        return {"status": "failed", "error": f"unreadable metrics.json ({exc})"}
    return record


def load_run(run_dir: Path) -> dict:
    """One table row: group choices, flattened settings, status and reason, metrics."""
    record = _read_record(run_dir / "metrics.json")
    if record.get("task") == "anomaly":
        raise ReducerError(f"{run_dir} is an anomaly-detection run: build its tables with "
                           "python -m experiments.anomaly_tables")
    config = _read_yaml(run_dir / ".hydra" / "config.yaml") or record.get("config", {})
    choices = _read_yaml(run_dir / ".hydra" / "hydra.yaml").get("hydra", {}).get(
        "runtime", {}).get("choices", {})
    row = {k: v for k, v in choices.items() if not k.startswith("hydra/") and v is not None}
    target = config.get("model", {}).get("_target_")
    if "model" not in row and target:  # a run made without Hydra: name it by its class
        row["model"] = target.rsplit(".", 1)[-1].lower()
    row.update(_flatten(config))
    row.update(record.get("metrics", {}), status=record["status"],
               protocol=record.get("protocol", "inductive"),
               kl_weight_effective=record.get("kl_weight_effective"),
               epochs_completed=record.get("epochs_completed"), reason=_reason(record))
    row["run"] = str(run_dir)
    return row


def _reason(record: dict) -> str:
    if record["status"] == "diverged":
        d = record["diverged"]
        return (f"diverged at epoch {d['epoch']}, step {d['step']} "
                f"(last finite loss {d['last_finite_loss']:.4g})")
    if record["status"] == "interrupted" and "interrupted" in record:
        i = record["interrupted"]
        return (f"interrupted by {i['signal']} after epoch {i['epochs_kept']}; "
                "continue with trainer.resume=true")
    return record.get("error", "")


def collect(paths: list[str | Path]) -> tuple[pd.DataFrame, list[str]]:
    """All runs under ``paths`` and the setting columns that vary between them."""
    table = pd.DataFrame([load_run(run) for run in find_runs(paths)])
    metrics = set(DIRECTION) | {"status", "reason", "run", "kl_weight_effective",
                                "epochs_completed", "protocol"}
    settings = [c for c in table.columns if c not in metrics and not c.startswith(NOT_SETTINGS)]
    varied = [c for c in settings if table[c].nunique() > 1]  # keys a model lacks: implied
    for metric in DIRECTION:  # runs that never scored still get every metric column
        table[metric] = table[metric] if metric in table else np.nan
    return table, varied


def sort_table(table: pd.DataFrame, sort_by: str) -> pd.DataFrame:
    if sort_by not in DIRECTION:
        raise ReducerError(f"--sort-by {sort_by}: not a metric; choose from {sorted(DIRECTION)}")
    return table.sort_values(sort_by, ascending=DIRECTION[sort_by] < 0, na_position="last",
                             kind="stable")


def _relative(run: str, out: Path) -> str:
    try:
        return str(Path(run).resolve().relative_to(out.resolve()))
    except ValueError:
        return run


def write_comparison(paths: list[str | Path], out: str | Path, sort_by: str = "knn_acc"
                     ) -> tuple[pd.DataFrame, str]:
    """Write comparison.csv, comparison.md and the figures into ``out``; return the table and
    its Markdown."""
    from experiments import sweep_plots

    out = Path(out)
    table, varied = collect(paths)
    table = sort_table(table, sort_by)
    out.mkdir(parents=True, exist_ok=True)  # only once the inputs are known to be good
    metrics = [m for m in DIRECTION if table[m].notna().any()]
    columns = [*varied, "status", *metrics, "kl_weight_effective", "protocol",
               "epochs_completed", "reason", "run"]
    with atomic_open(out / "comparison.csv", "w") as f:
        table[[c for c in columns if c in table]].to_csv(f, index=False)

    table["folder"] = [_relative(run, out) for run in table.run]
    ok, bad = table[table.status == "ok"], table[table.status != "ok"]
    counts = table.status.value_counts().to_dict()
    protocols = sorted(set(ok.protocol))
    shown = [*varied, *[m for m in HEADLINE if m in metrics], "kl_weight_effective",
             *(["protocol"] if len(protocols) > 1 else []), "folder"]
    text = [f"# Comparison of {len(table)} runs",
            ", ".join(f"{n} {status}" for status, n in counts.items()) + ". Sorted by "
            f"`{sort_by}` ({'higher' if DIRECTION[sort_by] >= 0 else 'lower'} is better); the "
            "best value of each column in bold. All metrics on the held-out test split.", "",
            markdown(ok, shown, best=shown) if len(ok) else "No run finished.", ""]
    if len(protocols) > 1:
        text += [f"Protocol `{p}`: {PROTOCOLS.get(p, p)}." for p in protocols] + [""]
    if "seed" in varied and len(ok):
        text += ["## Mean ± std over seeds", "", seed_summary(ok, varied, sort_by), ""]
    if len(bad):
        text += ["## Runs that did not finish", "",
                 markdown(bad, [*varied, "status", "reason", "folder"], best=[]), ""]
    text += ["Runs: " + ", ".join(f"`{p}`" for p in map(str, paths)), ""]
    md = "\n".join(text)
    with atomic_open(out / "comparison.md", "w") as f:
        f.write(md)
    sweep_plots.write_sweep_figures(ok, varied, out)
    return table, md


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.compare",
        description="Build comparison.csv, comparison.md and figures from sweep folders or "
                    "trees of run folders (several are merged into one table).")
    parser.add_argument("paths", nargs="+", help="sweep folders, run folders or trees of them")
    parser.add_argument("--sort-by", default="knn_acc", metavar="METRIC",
                        help=f"metric to sort by (default knn_acc): {', '.join(DIRECTION)}")
    parser.add_argument("--out", help="output folder (default: PATH when one is given)")
    args = parser.parse_args(argv)
    if args.out is None and len(args.paths) > 1:
        parser.error("--out is required when several PATHs are merged")
    try:
        _, md = write_comparison(args.paths, args.out or args.paths[0], args.sort_by)
    except ReducerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(md)
    print(f"written to {args.out or args.paths[0]}: comparison.csv, comparison.md, figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
