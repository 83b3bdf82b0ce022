"""``search.md`` and ``search_history.png`` of a hyper-parameter search, from the files the
``search`` sweeper leaves in its sweep folder (``search.json``, ``trials.csv``).

    python -m experiments.search_report SWEEP_DIR [--out DIR]

The sweeper calls the same code when the search ends; the comparison tables of the runs
themselves are ``experiments.compare``'s, as for every sweep.
"""

import json
import sys
from pathlib import Path

import pandas as pd

from experiments.markdown import fmt
from experiments.results import table_command
from experiments.search_figures import columns, history_figure, pareto_figure, pruning_figure
from reducers.errors import ReducerError
from reducers.io import atomic_open
from reducers.plots import save

PROG = "python -m experiments.search_report"
DESCRIPTION = "Write search.md and search_history.png of a search's sweep folder."
ABOUT = ("study", "metric", "direction", "sampler")  # what search.json must hold
COLUMNS = ("trial", "state", "status", "value", "seconds", "overrides", "run_dir", "reason")


def read_search(folder: Path) -> tuple[dict, pd.DataFrame]:
    """(the search's settings, its trials), or a ReducerError naming what is missing."""
    try:
        about = json.loads((folder / "search.json").read_text())
        trials = pd.read_csv(folder / "trials.csv", keep_default_na=False)
        for column in trials.columns:  # the numbers ("" where none), not the text
            if column in ("value", "seconds", "pruned_at") or column.startswith("value:"):
                trials[column] = pd.to_numeric(trials[column].mask(trials[column] == ""))
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


def objectives(about: dict) -> tuple[list[str], list[str]]:
    """The search's metrics and directions (a search of one before several were possible
    wrote ``metric`` and ``direction`` alone)."""
    return (list(about.get("metrics") or [about["metric"]]),
            list(about.get("directions") or [about["direction"]]))


def best_index(trials: pd.DataFrame, direction: str):
    done = trials[trials.state == "COMPLETE"]
    if done.empty:
        return None
    return done.value.idxmax() if direction == "maximize" else done.value.idxmin()


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
    metrics, directions = objectives(about)
    counts = trials.status.value_counts()
    lines = [f"# Search `{about['study']}`: "
             + ", ".join(f"{d} {m}" for d, m in zip(directions, metrics)), "",
             f"Optuna {about.get('optuna', '?')}, {about['sampler']}"
             + (f", {about['pruner']}" if about.get("pruner") else "") + "; the study is "
             + (f"kept in `{about['storage']}` (re-running the command resumes it)"
                if about.get("storage") else "in memory (this command's trials only)")
             + f". {len(trials)} trials: "
             + ", ".join(f"{n} {status}" for status, n in counts.items()) + ".", *notes(trials)]
    best = best_index(trials, directions[0]) if len(metrics) == 1 else None
    marked = {best} if best is not None else set()  # bold in the trials' table
    if "pareto" in trials:
        marked = set(trials.index[trials.pareto.astype(str) == "True"])
    if len(metrics) > 1:
        lines += pareto_section(trials, metrics, out)
    elif best is None:
        lines += ["", "**No trial finished**: nothing to choose from (the reasons are below)."]
    else:
        row = trials.loc[best]
        lines += ["", f"## Best: trial {row.trial}, {metrics[0]} = {row.value:.4f}", "",
                  f"- its values: `{row.overrides}`",
                  f"- the command's own settings: `{' '.join(about.get('command', []))}`",
                  f"- its run: `{row.run_dir}` (settings in `.hydra/config.yaml`, figures and "
                  "`metrics.json` beside them)"]
    lines += ["", "![optimisation history](search_history.png)", ""]
    if (trials.status == "pruned").any():
        lines += ["![what each trial reported, epoch by epoch](search_pruning.png)", ""]
    return "\n".join(lines + ["## Trials", ""] + trials_table(trials, metrics, marked, out)) + "\n"


def notes(trials: pd.DataFrame) -> list[str]:
    """What the trials without a value were told to Optuna as, and why."""
    lines = []
    if (trials.status == "diverged").any():
        lines.append("Diverged trials were told to Optuna as pruned, without a value: TPE "
                     "ranks them below every finished trial, and so learns to avoid where "
                     "they were.")
    pruned = trials[trials.status == "pruned"]
    if not pruned.empty:
        at = pd.to_numeric(pruned.pruned_at, errors="coerce")
        lines.append(f"{len(pruned)} trials were stopped by the pruner, after epoch "
                     f"{int(at.min())}" + (f" to {int(at.max())}" if at.max() > at.min() else "")
                     + " (the value each had there is in its reason; their runs are not "
                     "scored): told to Optuna as pruned, with the values they reported.")
    if (trials.state == "FAIL").any():
        lines.append("Failed and interrupted trials were told to Optuna as failed: they say "
                     "nothing about their parameters, and its samplers leave them out.")
    return lines


def pareto_section(trials: pd.DataFrame, metrics: list[str], out: Path) -> list[str]:
    """The Pareto front: the finished trials that no other beats on every objective."""
    done = trials[trials.state == "COMPLETE"]
    if done.empty:
        return ["", "**No trial finished**: no Pareto front (the reasons are below)."]
    front = done[done.pareto.astype(str) == "True"].sort_values(f"value:{metrics[0]}")
    params = [c for c in trials.columns if c.startswith("param:")]
    head = ["trial", *metrics, *(p[len("param:"):] for p in params), "run"]
    lines = ["", f"## Pareto front: {len(front)} of {len(done)} finished trials", "",
             "No other trial is as good on every objective and better on one; each is the "
             "best choice for some weighing of them.", "",
             "![Pareto front](search_pareto.png)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, row in front.iterrows():
        cells = [str(row.trial), *(f"{row[f'value:{m}']:.4f}" for m in metrics),
                 *(fmt(row[p], p[len("param:"):]) for p in params),
                 fmt(run_name(str(row.run_dir), out))]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def trials_table(trials: pd.DataFrame, metrics: list[str], marked: set,
                 out: Path) -> list[str]:
    """Every trial; the best one's values (or the Pareto front's) in bold."""
    params = [c for c in trials.columns if c.startswith("param:")]
    head = ["trial", "status", *metrics, *(p[len("param:"):] for p in params), "seconds",
            "run", "reason"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, row in trials.iterrows():
        values = ["—" if row.state != "COMPLETE" or pd.isna(row[c]) else f"{row[c]:.4f}"
                  for c in columns(metrics)]  # a pruned trial's is in its reason
        values = [f"**{v}**" if i in marked else v for v in values]
        cells = [str(row.trial), row.status, *values,
                 *(fmt(row[p], p[len("param:"):]) for p in params),
                 "—" if pd.isna(row.seconds) else f"{row.seconds:.0f}",
                 fmt(run_name(str(row.run_dir), out)), fmt(str(row.reason))]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_tables(paths: list[str | Path], out: Path, **_) -> pd.DataFrame:
    """``search.md`` and its figures in ``out`` from the search in ``paths[0]``; returns the
    trials (a table with a ``status`` column, as every table builder)."""
    if len(paths) != 1:
        raise ReducerError("give one search's sweep folder")
    about, trials = read_search(Path(paths[0]))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    metrics, directions = objectives(about)
    save(history_figure(trials, metrics, directions), out / "search_history.png")
    if (trials.status == "pruned").any():
        save(pruning_figure(trials, metrics[0]), out / "search_pruning.png")
    if len(metrics) > 1 and (trials.state == "COMPLETE").any():
        save(pareto_figure(trials, metrics, directions), out / "search_pareto.png")
    with atomic_open(out / "search.md", "w") as f:
        f.write(report(about, trials, out))
    return trials


def show(out: Path) -> str:
    figures = ", ".join(p.name for p in sorted(out.glob("search_*.png")))
    return (out / "search.md").read_text() + f"\nwritten to {out}: search.md, {figures}"


def main(argv: list[str] | None = None) -> int:
    return table_command(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
