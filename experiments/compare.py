"""Gather run folders into comparison tables and figures.

    python -m experiments.compare PATH [PATH ...] [--sort-by METRIC] [--out DIR]

The multirun callback calls the same code at the end of every sweep. A run folder is a folder
holding ``.hydra/`` or ``metrics.json``; one without ``metrics.json`` crashed or was killed
and is listed as ``failed``. Tables are built from the files alone.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from experiments import flags, pivot
from experiments.markdown import TABLE_METRICS, legend, markdown, seed_summary
from experiments.records import Record, Task
from experiments.results import (HEADLINE, UnreadableRun, find_runs, flatten, read_config,
                                 read_record, table_command)
from experiments.schemas.checks import names
from experiments.verdict import verdict
from reducers.baselines import EMBEDDING_PROTOCOLS
from reducers.errors import ReducerError
from reducers.io import atomic_open
from reducers.status import Status
from reducers.scoring import DIRECTION, LABEL_FREE

LABEL_METRICS = [m for m in DIRECTION if m not in LABEL_FREE]

PROG = "python -m experiments.compare"
DESCRIPTION = ("Build comparison.csv, comparison.md, figures and report.html from sweep folders "
               "or trees of run folders (several are merged into one table).")
NOT_SETTINGS = ("paths.", "score.figures", "trainer.progress", "trainer.threads",
                "trainer.resume", "trainer.checkpoint_seconds", "optimized_", "compare.")


def load_run(run_dir: Path) -> dict:
    """One table row: group choices, flattened settings, status and reason, metrics. A run
    whose files cannot be read is a row with status ``unreadable`` and the reason."""
    record = read_record(run_dir)
    if record.task is Task.anomaly:
        raise ReducerError(f"{run_dir} is an anomaly-detection run: build its tables with "
                           "python -m experiments.anomaly_tables")
    try:
        config, row = read_config(run_dir, record)
    except UnreadableRun as exc:
        record, config, row = Record(status=Status.unreadable, error=str(exc)), {}, {}
    row = {k: v for k, v in row.items() if v is not None}
    target = config.get("model", {}).get("_target_") if isinstance(config.get("model"), dict) \
        else None
    if "model" not in row and target:  # a run made without Hydra: name it by its class
        row["model"] = target.rsplit(".", 1)[-1].lower()
    row.update({k: str(v) if isinstance(v, list) else v for k, v in flatten(config).items()
                if not k.rsplit(".", 1)[-1].startswith("_")})  # _target_: implied by choices
    data = record.data if isinstance(record.data, dict) else {}
    row.update(record.metrics, status=record.status.value,
               embedding_protocol=record.embedding_protocol or "inductive",
               kl_weight_effective=record.kl_weight_effective,
               epochs_completed=record.epochs_completed, reason=record.reason(),
               labelled=data.get("labelled", True))
    row["flags"] = ", ".join(flags.run_flags(row, run_dir, data.get("n_train"))) \
        if record.status is Status.ok else ""
    row["run"] = str(run_dir)
    row["metric_keys"] = tuple(record.metrics)  # e.g. train_tsne: not a setting
    return row


def collect(paths: list[str | Path]) -> tuple[pd.DataFrame, list[str]]:
    """All runs under ``paths`` and the setting columns that vary between them; the metrics
    the runs recorded besides the scores (e.g. ``train_tsne``) in ``table.attrs["extra"]``."""
    table = pd.DataFrame([load_run(run) for run in find_runs(paths)])
    recorded = set().union(*table.pop("metric_keys"))
    metrics = set(DIRECTION) | recorded | {"status", "reason", "run", "kl_weight_effective",
                                           "epochs_completed", "embedding_protocol", "labelled",
                                           "flags", "sweeper"}
    settings = [c for c in table.columns if c not in metrics and not c.startswith(NOT_SETTINGS)]
    varied = [c for c in settings if table[c].nunique() > 1]  # keys a model lacks: implied
    for metric in DIRECTION:  # runs that never scored still get every metric column
        table[metric] = table[metric] if metric in table else np.nan
    table.attrs["extra"] = sorted(recorded - set(DIRECTION))
    return table, varied


def label_free(table: pd.DataFrame, sort_by: str) -> str:
    """``sort_by``, or trustworthiness when no run has ``sort_by`` because none had labels."""
    if sort_by in DIRECTION and sort_by not in LABEL_FREE and table[sort_by].isna().all() \
            and not table.labelled.astype(bool).any():
        return "trustworthiness"
    return sort_by


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


def _results(ok: pd.DataFrame, varied: list[str], sort_by: str, shown: list[str]) -> list[str]:
    """The finished runs' tables. Over seeds, each setting's mean ± std comes first (what a
    decision rests on), then the pivot, then every run; else every run, then the pivot."""
    if not len(ok):
        return ["No run finished.", ""]
    notes = [legend(shown), "", flags.legend(ok["flags"]), ""]
    every = [markdown(ok, shown, best=shown), ""]
    pivoted = [pivot.pivot_markdown(ok, varied, sort_by)]
    if "seed" not in varied:
        return every + notes + pivoted
    return (["## Mean ± std over seeds", "", seed_summary(ok, varied, sort_by), ""] + notes
            + pivoted + ["## Every run", ""] + every)


def write_tables(paths: list[str | Path], out: str | Path,
                 sort_by: str | list = "knn_acc") -> pd.DataFrame:
    """Write comparison.csv, comparison.md, the figures and report.html into ``out``, sorted by
    ``sort_by`` (a list of metrics, as a search of several objectives has: by its first);
    return the table."""
    from experiments import report, sweep_plots

    out = Path(out)
    sort_by = names(sort_by)[0]
    table, varied = collect(paths)
    asked, sort_by = sort_by, label_free(table, sort_by)
    table = sort_table(table, sort_by)
    out.mkdir(parents=True, exist_ok=True)  # only once the inputs are known to be good
    metrics = [m for m in DIRECTION if table[m].notna().any()]
    columns = [*varied, "status", *metrics, *table.attrs.get("extra", []),
               "kl_weight_effective", "embedding_protocol", "epochs_completed", "flags",
               "reason", "run"]
    with atomic_open(out / "comparison.csv", "w") as f:
        table[[c for c in columns if c in table]].to_csv(f, index=False)

    table["folder"] = [_relative(run, out) for run in table.run]
    ok, bad = table[table.status == Status.ok], table[table.status != Status.ok]
    counts = table.status.value_counts().to_dict()
    protocols = sorted(set(ok.embedding_protocol))
    shown = [*varied, *[m for m in TABLE_METRICS if m in metrics or m in HEADLINE],
             "kl_weight_effective",
             *(["embedding_protocol"] if len(protocols) > 1 else []),
             *(["flags"] if (ok["flags"] != "").any() else []), "folder"]
    text = [f"# Comparison of {len(table)} runs",
            ", ".join(f"{n} {status}" for status, n in counts.items()) + ". Sorted by "
            f"`{sort_by}` ({'higher' if DIRECTION[sort_by] >= 0 else 'lower'} is better"
            f"{f'; no run has labels for {asked}' if asked != sort_by else ''}); the "
            "best value of each column in bold. All metrics on the held-out test split"
            + ("; `heldout_*` on the extra test set (`heldout=`), its kNN fitted on the "
               "training codes." if "heldout_knn_acc" in metrics else "."), ""]
    found = verdict(ok, varied, sort_by)
    text += [f"**Verdict.** {found.sentence()}", ""] if found else []
    text += _results(ok, varied, sort_by, shown)
    unlabelled = ok[~ok.labelled.astype(bool)] if len(ok) else ok
    if len(unlabelled):
        which = "every run's" if len(unlabelled) == len(ok) else f"{len(unlabelled)} runs'"
        text += [f"—: {which} data had no labels, so the label metrics "
                 f"({', '.join(m for m in LABEL_METRICS if m in TABLE_METRICS)}) were not "
                 "computed; trustworthiness and continuity need no labels.", ""]
    if len(protocols) > 1:
        text += [f"Embedding protocol `{p}`: {EMBEDDING_PROTOCOLS.get(p, p)}."
                 for p in protocols] + [""]
    if len(bad):
        text += ["## Runs that did not finish", "",
                 markdown(bad, [*varied, "status", "reason", "folder"], best=[]), ""]
    text += ["Runs: " + ", ".join(f"`{p}`" for p in map(str, paths)), ""]
    with atomic_open(out / "comparison.md", "w") as f:
        f.write("\n".join(text))
    for stale in report.FIGURES:  # an earlier build's figures: this one draws its own
        if stale != "search_history.png":  # the search report's, not the tables'
            (out / stale).unlink(missing_ok=True)
    sweep_plots.write_sweep_figures(ok, varied, out, sort_by)
    pivot.write_heatmap(ok, varied, sort_by, out)
    report.write_report(out, "\n".join(text), ok, varied, sort_by)
    return table


def show(out: Path) -> str:
    return (out / "comparison.md").read_text() + \
        f"\nwritten to {out}: comparison.csv, comparison.md, figures, report.html"


def main(argv: list[str] | None = None) -> int:
    return table_command(sys.modules[__name__], argv, {"--sort-by": dict(
        default="knn_acc", metavar="METRIC",
        help=f"metric to sort by (default knn_acc): {', '.join(DIRECTION)}")})


if __name__ == "__main__":
    sys.exit(main())
