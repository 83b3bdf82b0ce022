"""The tables of an anomaly-detection sweep: AUROC and average precision per class and
detector, and per detector the mean over classes with the false-positive and false-negative
rates at the training threshold.

    python -m experiments.anomaly_tables PATH [PATH ...] [--out DIR]

The multirun callback of ``experiments.anomaly`` calls the same code at the end of a sweep.
Runs are read from their files alone (``metrics.json``, ``.hydra/config.yaml``); a run folder
without ``metrics.json`` crashed or was killed and is listed as ``failed``.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.markdown import markdown_row
from experiments.records import Record, Task
from experiments.results import (UnreadableRun, find_runs, read_config, read_record,
                                 table_command)
from reducers.anomaly.settings import architecture, label
from reducers.errors import ReducerError
from reducers.io import atomic_open
from reducers.plots import plt, save
from reducers.status import Status

PROG = "python -m experiments.anomaly_tables"
DESCRIPTION = ("Build comparison.csv, comparison.md and auroc_per_class.png from anomaly sweep "
               "folders or trees of run folders (several are merged).")
RATES = ["auroc", "average_precision", "fpr", "fnr"]
VAL = ["val_fpr", "val_fnr"]  # at the threshold of the validation images (trainer.val_fraction)


def load_run(run_dir: Path) -> dict:
    record = read_record(run_dir)
    if record.status is Status.ok and record.task is not Task.anomaly:
        raise ReducerError(f"{run_dir} is not an anomaly-detection run: build its tables with "
                           "python -m experiments.compare")
    try:
        config, _ = read_config(run_dir, record)
    except UnreadableRun as exc:
        record, config = Record(status=Status.unreadable, error=str(exc)), {}
    settings = config.get("anomaly", {})
    protocol = settings.get("protocol", "one_class")
    detector = config.get("detector", {})
    data = str(record.data.get("name", ""))  # "mnist5k, tested on mnist_t10k"
    return {"detector": label(detector),
            "network": architecture(detector) if detector.get("net") is not None else "?",
            "test_set": data.split(", tested on ")[1] if ", tested on " in data else
            "the data's test split", "test_images": record.sizes.get("test"),
            "protocol": protocol,
            "class": settings.get("normal_class" if protocol == "one_class" else
                                  "anomaly_class"),
            "seed": config.get("seed"), "status": record.status.value,
            "reason": record.reason(),
            **{k: record.metrics.get(k, np.nan)
               for k in [*RATES, *VAL, "threshold", "train_seconds"]},
            "run": str(run_dir)}


def collect(paths: list[str | Path]) -> pd.DataFrame:
    table = pd.DataFrame([load_run(run) for run in find_runs(paths)])
    if table["network"].nunique() > 1:  # several architectures: keep them apart
        table["detector"] = table["detector"] + " " + table["network"]
    if table.loc[table.status == "ok", "test_set"].nunique() > 1:  # several test sets too
        table["detector"] = table["detector"] + " on " + table["test_set"]
    return table


def tested_on(ok: pd.DataFrame) -> str:
    """'Tested on mnist_t10k (10000 images).' for the table's header."""
    sets = ok.groupby("test_set")["test_images"].max()
    return "Tested on " + "; ".join(f"{name} ({int(n)} images)" if pd.notna(n) else name
                                    for name, n in sets.items()) + "."


def per_class(ok: pd.DataFrame, metric: str, order: list[str]) -> str:
    """Classes down, detectors across, mean over seeds; the best of each row in bold; a last
    row with the mean over classes."""
    pivot = ok.pivot_table(index=["protocol", "class"], columns="detector", values=metric,
                           aggfunc="mean")[order]
    lines = [markdown_row(["protocol", "class", *order]), "|" + "---|" * (2 + len(order))]
    rows = [(f"{p}", f"{c}", pivot.loc[(p, c)]) for p, c in pivot.index]
    rows.append(("", "**mean**", pivot.mean(axis=0)))
    for protocol, cls, values in rows:
        shown = [("—" if np.isnan(v) else f"{v:.3f}") for v in values]
        best = f"{values.max():.3f}"  # ties as shown are all bold
        cells = [f"**{cell}**" if cell == best else cell for cell in shown]
        lines.append(markdown_row([protocol, cls, *cells]))
    return "\n".join(lines)


def summary(ok: pd.DataFrame, order: list[str]) -> str:
    """Per detector: the mean over classes (and seeds) of each metric, the number of runs."""
    grouped = ok.groupby("detector")
    metrics = RATES + [m for m in VAL if ok[m].notna().any()]
    means = grouped[[*metrics, "train_seconds"]].mean().loc[order]
    names = ["AUROC", "AP", "FPR (train thr.)", "FNR (train thr.)", "FPR (val. thr.)",
             "FNR (val. thr.)"][:len(metrics)]
    lines = [markdown_row(["detector", "runs", *names, "train s"]),
             "|" + "---|" * (len(names) + 3)]
    best = {m: f"{means[m].max() if m in ('auroc', 'average_precision') else means[m].min():.3f}"
            for m in metrics}
    for name, row in means.iterrows():
        cells = [f"**{row[m]:.3f}**" if f"{row[m]:.3f}" == best[m] else f"{row[m]:.3f}"
                 for m in metrics]
        lines.append(markdown_row([name, str(grouped.size()[name]), *cells,
                                   f"{row['train_seconds']:.1f}"]))
    return "\n".join(lines)


def auroc_figure(ok: pd.DataFrame, order: list[str]):
    pivot = ok.pivot_table(index="class", columns="detector", values="auroc",
                           aggfunc="mean")[order]
    fig, ax = plt.subplots(figsize=(max(7, 0.9 * len(pivot) + 2), 4))
    width = 0.8 / len(order)
    x = np.arange(len(pivot))
    for i, name in enumerate(order):
        ax.bar(x + (i - (len(order) - 1) / 2) * width, pivot[name], width, label=name)
    ax.axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
    ax.set(xticks=x, xticklabels=[str(c) for c in pivot.index], xlabel="class",
           ylabel="AUROC (mean over seeds)",
           ylim=(max(0.0, min(0.5, np.nanmin(pivot.to_numpy()) - 0.05)), 1.0),
           title="AUROC per class and detector (0.5: chance)")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def write_tables(paths: list[str | Path], out: str | Path) -> pd.DataFrame:
    """comparison.csv, comparison.md and auroc_per_class.png in ``out``."""
    out = Path(out)
    table = collect(paths)
    out.mkdir(parents=True, exist_ok=True)  # only once the inputs are known to be good
    with atomic_open(out / "comparison.csv", "w") as f:
        table.to_csv(f, index=False)
    ok = table[table.status == Status.ok]
    seeds = table["seed"].nunique()
    parts = [f"# Anomaly detection: {len(table)} runs ({len(ok)} finished)", ""]
    if len(ok):
        order = sorted(ok["detector"].unique(),
                       key=lambda d: -ok[ok.detector == d]["auroc"].mean())
        note = "" if seeds == 1 else f" (mean over {seeds} seeds)"
        parts += [tested_on(ok), "", f"## AUROC per class{note}", "",
                  per_class(ok, "auroc", order), "",
                  f"## Average precision per class{note}", "",
                  per_class(ok, "average_precision", order), "",
                  "## Per detector, mean over classes", "",
                  "FPR: normal test images above the threshold; FNR: anomalies not above "
                  "it. The train threshold is a quantile (`anomaly.threshold_quantile`) of "
                  "the scores of the images the detector was trained on; the validation "
                  "one (with `trainer.val_fraction` > 0) of normal images kept from "
                  "training.", "", summary(ok, order), ""]
        save(auroc_figure(ok, order), out / "auroc_per_class.png")
    unfinished = table[table.status != Status.ok]
    if len(unfinished):
        parts += ["## Runs that did not finish", "",
                  markdown_row(["detector", "class", "status", "reason", "run"]),
                  "|---|---|---|---|---|"]
        parts += [markdown_row([r.detector, str(r["class"]), r.status, r.reason or "—",
                                r.run]) for _, r in unfinished.iterrows()]
    with atomic_open(out / "comparison.md", "w") as f:
        f.write("\n".join(parts) + "\n")
    return table


def show(out: Path) -> str:
    return (out / "comparison.md").read_text()


def main(argv: list[str] | None = None) -> int:
    return table_command(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
