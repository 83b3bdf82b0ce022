"""Where a run's and a sweep's seconds go, measured from outside the process as a user meets
them: the default run broken into its parts (from the timings each run records in
``metrics.json``), and the stored ``sweep=beta_loss`` at one seed (18 runs) under the joblib
launcher against its ideal, the sum of its runs' training-step seconds over the parallel jobs."""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def run_parts(folder: Path, wall: float, imports: float | None) -> dict[str, float]:
    """One run's seconds by part, from its ``metrics.json``; they add up to ``wall``.
    ``imports``: the seconds to the end of the imports, measured apart; None: the start-up is
    one part."""
    record = json.loads((folder / "metrics.json").read_text())
    t, m = record["timings"], record["metrics"]
    inside = {"data": t["data_seconds"],
              **({"neighbour graph": t["neighbour_graph_seconds"]}
                 if "neighbour_graph_seconds" in t else {}),
              "training steps": m["train_seconds"],
              "per-epoch evaluation": t["eval_seconds"],
              "checkpoints": t["checkpointing_seconds"],
              "encoding, model metrics": t["encode_seconds"],
              "scoring": sum(t["score_seconds"].values()),
              "codes.npz": t["codes_write_seconds"],
              **{f"figure {name}": s for name, s in t.get("figure_seconds", {}).items()}}
    hydra = "Hydra: composing, run folder, logging"
    start = {"start-up": t["startup_seconds"]} if imports is None else \
        {"imports": imports, hydra: t["startup_seconds"] - imports}
    return {**start,
            **inside,
            "rest of the run (model, logs, metrics.json)":
                t["total_seconds"] - sum(inside.values()),
            "exit": wall - t["startup_seconds"] - t["total_seconds"]}


def run_breakdown(repeats: int, out: Path, overrides: list[str]) -> dict:
    """``python -m experiments.train`` (the default run) ``repeats`` times in child processes:
    medians of its wall time, of each part, and of wall / training-step seconds."""
    python = sys.executable
    imports = statistics.median(float(subprocess.run(  # to the end of the imports, no exit
        [python, "-c", "import experiments.train\n"
         "from experiments.timings import seconds_since_process_start as age\nprint(age())"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout) for _ in range(repeats))
    walls, parts, ratios = [], [], []
    for r in range(repeats):
        folder = out / f"breakdown-{r}"
        shutil.rmtree(folder, ignore_errors=True)
        wall = _seconds([python, "-m", "experiments.train", "trainer.progress=false",
                         f"hydra.run.dir={folder}", *overrides])
        walls.append(wall)
        parts.append(run_parts(folder, wall, imports))
        ratios.append(wall / parts[-1]["training steps"])
    return {"wall_seconds": statistics.median(walls),
            "parts": {k: statistics.median(p[k] for p in parts) for k in parts[0]},
            "wall_over_training_steps": statistics.median(ratios),
            "overrides": overrides}


def sweep_overhead(out: Path, overrides: list[str]) -> dict:
    """The stored ``sweep=beta_loss`` at one seed (18 runs) through the joblib launcher, one job
    per core: its wall time against the sum of its runs' training-step seconds over the jobs."""
    folder = out / f"beta-loss-{time.strftime('%H-%M-%S')}"
    jobs = len(os.sched_getaffinity(0))
    wall = _seconds([sys.executable, "-m", "experiments.train", "sweep=beta_loss", "seed=0",
                     "hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}",
                     "trainer.progress=false", f"hydra.sweep.dir={folder}", *overrides])
    records = [json.loads(p.read_text()) for p in sorted(folder.glob("*/metrics.json"))]
    train = sum(r["metrics"]["train_seconds"] for r in records)
    in_runs = sum(r["timings"]["total_seconds"] for r in records)
    return {"runs": len(records), "jobs": jobs, "wall_seconds": wall,
            "training_step_seconds": train, "ideal_seconds": train / jobs,
            "wall_over_ideal": wall / (train / jobs),
            "run_seconds_outside_training": (in_runs - train) / jobs,
            "overrides": overrides, "folder": str(folder)}
