"""``search.md`` and ``search_history.png`` of a hyper-parameter search, from the files the
``search`` sweeper leaves in its sweep folder (``search.json``, ``trials.csv``).

    python -m experiments.search_report SWEEP_DIR [--out DIR]

The sweeper calls the same code when the search ends; the comparison tables of the runs
themselves are ``experiments.compare``'s, as for every sweep.
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from experiments.markdown import fmt  # noqa: E402
from experiments.results import table_command  # noqa: E402
from reducers.errors import ReducerError  # noqa: E402
from reducers.io import atomic_open  # noqa: E402
from reducers.plots import save  # noqa: E402

PROG = "python -m experiments.search_report"
DESCRIPTION = "Write search.md and search_history.png of a search's sweep folder."
FAILED_COLOUR = "tab:red"
ABOUT = ("study", "metric", "direction", "sampler")  # what search.json must hold
COLUMNS = ("trial", "state", "status", "value", "seconds", "overrides", "run_dir", "reason")


def read_search(folder: Path) -> tuple[dict, pd.DataFrame]:
    """(the search's settings, its trials), or a ReducerError naming what is missing."""
    try:
        about = json.loads((folder / "search.json").read_text())
        trials = pd.read_csv(folder / "trials.csv", keep_default_na=False,
                             na_values={"value": [""], "seconds": [""]})
    except (OSError, ValueError) as exc:
        raise ReducerError(f"{folder}: not a search's sweep folder (search.json and trials.csv "
                           f"from hparams_search=...): {exc}") from None
    lacking = [f"search.json's {k!r}" for k in ABOUT if not isinstance(about, dict) or
               k not in about] + [f"trials.csv's column {c!r}" for c in COLUMNS
                                  if c not in trials.columns]
    if lacking:
        raise ReducerError(f"{folder}: {', '.join(lacking)} missing: these files were not "
                           "written by the search sweeper, or were edited; re-run the search")
    return about, trials


def best_index(trials: pd.DataFrame, direction: str):
    done = trials[trials.state == "COMPLETE"]
    if done.empty:
        return None
    return done.value.idxmax() if direction == "maximize" else done.value.idxmin()


def history_figure(trials: pd.DataFrame, metric: str, direction: str):
    """Each trial's value, the best so far, and the trials without a value as crosses."""
    fig, ax = plt.subplots(figsize=(7, 4))
    done = trials[trials.state == "COMPLETE"]
    ax.plot(done.trial, done.value, "o", color="tab:blue", label="trial")
    if not done.empty:
        best = done.value.cummax() if direction == "maximize" else done.value.cummin()
        ax.step(done.trial, best, where="post", color="tab:orange", label="best so far")
    lost = trials[trials.state != "COMPLETE"]
    if not lost.empty:
        low = ax.get_ylim()[0] if not done.empty else 0.0
        ax.plot(lost.trial, np.full(len(lost), low), "x", color=FAILED_COLOUR, ms=9, mew=2,
                label="no value (" + ", ".join(sorted(set(lost.status))) + ")")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{metric} ({direction})")
    ax.set_title("optimisation history")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def run_name(run_dir: str, out: Path) -> str:
    """A trial's run folder, relative to ``out`` when it is there (a resumed study's earlier
    trials are in their own commands' folders)."""
    if not run_dir:
        return "—"
    try:
        return str(Path(run_dir).resolve().relative_to(out.resolve()))
    except ValueError:
        return run_dir


def report(about: dict, trials: pd.DataFrame, out: Path) -> str:
    metric, direction = about["metric"], about["direction"]
    counts = trials.status.value_counts()
    lines = [f"# Search `{about['study']}`: {direction} {metric}", "",
             f"Optuna {about.get('optuna', '?')}, {about['sampler']}; the study is "
             + (f"kept in `{about['storage']}` (re-running the command resumes it)"
                if about.get("storage") else "in memory (this command's trials only)")
             + f". {len(trials)} trials: "
             + ", ".join(f"{n} {status}" for status, n in counts.items()) + "."]
    if (trials.state == "PRUNED").any():
        lines.append("Diverged trials were told to Optuna as pruned, without a value: TPE "
                     "ranks them below every finished trial, and so learns to avoid where "
                     "they were.")
    if (trials.state == "FAIL").any():
        lines.append("Failed and interrupted trials were told to Optuna as failed: they say "
                     "nothing about their parameters, and its samplers leave them out.")
    best = best_index(trials, direction)
    if best is None:
        lines += ["", "**No trial finished**: nothing to choose from (the reasons are below)."]
    else:
        row = trials.loc[best]
        lines += ["", f"## Best: trial {row.trial}, {metric} = {row.value:.4f}", "",
                  f"- its values: `{row.overrides}`",
                  f"- the command's own settings: `{' '.join(about.get('command', []))}`",
                  f"- its run: `{row.run_dir}` (settings in `.hydra/config.yaml`, figures and "
                  "`metrics.json` beside them)"]
    lines += ["", "![optimisation history](search_history.png)", "", "## Trials", ""]
    params = [c for c in trials.columns if c.startswith("param:")]
    columns = ["trial", "status", metric, *(p[len("param:"):] for p in params), "seconds",
               "run", "reason"]
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for i, row in trials.iterrows():
        value = "—" if pd.isna(row.value) else f"{row.value:.4f}"
        value = f"**{value}**" if i == best else value
        cells = [str(row.trial), row.status, value,
                 *(fmt(row[p], p[len("param:"):]) for p in params),
                 "—" if pd.isna(row.seconds) else f"{row.seconds:.0f}",
                 fmt(run_name(str(row.run_dir), out)), fmt(str(row.reason))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_tables(paths: list[str | Path], out: Path, **_) -> pd.DataFrame:
    """``search.md`` and ``search_history.png`` in ``out`` from the search in ``paths[0]``;
    returns the trials (a table with a ``status`` column, as every table builder)."""
    if len(paths) != 1:
        raise ReducerError("give one search's sweep folder")
    about, trials = read_search(Path(paths[0]))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save(history_figure(trials, about["metric"], about["direction"]),
         out / "search_history.png")
    with atomic_open(out / "search.md", "w") as f:
        f.write(report(about, trials, out))
    return trials


def show(out: Path) -> str:
    return (out / "search.md").read_text() + f"\nwritten to {out}: search.md, search_history.png"


def main(argv: list[str] | None = None) -> int:
    return table_command(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
