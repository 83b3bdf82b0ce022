"""The tables of an anomaly-detection sweep: AUROC and average precision per class and
detector, and per detector the mean over classes with the false-positive and false-negative
rates at the training threshold.

    python -m experiments.anomaly_tables PATH [PATH ...] [--out DIR]

The multirun callback of ``experiments.anomaly`` calls the same code at the end of a sweep.
Runs are read from their files alone (``metrics.json``, ``.hydra/config.yaml``); a run folder
without ``metrics.json`` crashed or was killed and is listed as ``failed``.
"""

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from experiments.compare import _read_record, _read_yaml, _reason, find_runs
from experiments.markdown import markdown_row
from reducers.errors import ReducerError
from reducers.io import atomic_open
from reducers.plots import plt, save

log = logging.getLogger(__name__)
RATES = ["auroc", "average_precision", "fpr", "fnr"]
HELD_OUT = ["held_out_fpr", "held_out_fnr"]  # at the threshold of held-out normal images
NAMES = {"auroc": "AUROC", "average_precision": "AP", "fpr": "FPR", "fnr": "FNR"}


def detector_label(detector: dict) -> str:
    """'ae', 'vae', 'vae (recon_prob)', 'chain (fusion, mean)', 'chain (latent)', ..."""
    kind = detector.get("kind", "?")
    if kind == "vae" and detector.get("score", "elbo") != "elbo":
        return f"vae ({detector['score']})"
    if kind == "chain":
        variant = detector.get("variant", "fusion")
        return f"chain ({variant}, {detector.get('fusion')})" if variant == "fusion" \
            else f"chain ({variant})"
    return kind


def load_run(run_dir: Path) -> dict:
    record = _read_record(run_dir / "metrics.json")
    if record["status"] == "ok" and record.get("task") != "anomaly":
        raise ReducerError(f"{run_dir} is not an anomaly-detection run: build its tables with "
                           "python -m experiments.compare")
    config = _read_yaml(run_dir / ".hydra" / "config.yaml") or record.get("config", {})
    settings = config.get("anomaly", {})
    protocol = settings.get("protocol", "one_class")
    detector = config.get("detector", {})
    return {"detector": detector_label(detector),
            "network": f"{detector.get('hidden')}->{detector.get('latent_dim')}",
            "protocol": protocol,
            "class": settings.get("normal_class" if protocol == "one_class" else
                                  "anomaly_class"),
            "seed": config.get("seed"), "status": record["status"], "reason": _reason(record),
            **{k: record.get("metrics", {}).get(k, np.nan)
               for k in [*RATES, *HELD_OUT, "threshold", "train_seconds"]},
            "run": str(run_dir)}


def collect(paths: list[str | Path]) -> pd.DataFrame:
    table = pd.DataFrame([load_run(run) for run in find_runs(paths)])
    if table["network"].nunique() > 1:  # several architectures: keep them apart
        table["detector"] = table["detector"] + " " + table["network"]
    return table


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
    metrics = RATES + [m for m in HELD_OUT if ok[m].notna().any()]
    means = grouped[[*metrics, "train_seconds"]].mean().loc[order]
    names = ["AUROC", "AP", "FPR (train thr.)", "FNR (train thr.)", "FPR (held-out thr.)",
             "FNR (held-out thr.)"][:len(metrics)]
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
    ok = table[table.status == "ok"]
    seeds = table["seed"].nunique()
    parts = [f"# Anomaly detection: {len(table)} runs ({len(ok)} finished)", ""]
    if len(ok):
        order = sorted(ok["detector"].unique(),
                       key=lambda d: -ok[ok.detector == d]["auroc"].mean())
        note = "" if seeds == 1 else f" (mean over {seeds} seeds)"
        parts += [f"## AUROC per class{note}", "", per_class(ok, "auroc", order), "",
                  f"## Average precision per class{note}", "",
                  per_class(ok, "average_precision", order), "",
                  "## Per detector, mean over classes", "",
                  "FPR: normal test images above the threshold; FNR: anomalies not above "
                  "it. The train threshold is a quantile (`anomaly.threshold_quantile`) of "
                  "the scores of the images the detector was trained on; the held-out one "
                  "(with `anomaly.held_out_fraction` > 0) of normal images kept from "
                  "training.", "", summary(ok, order), ""]
        save(auroc_figure(ok, order), out / "auroc_per_class.png")
    unfinished = table[table.status != "ok"]
    if len(unfinished):
        parts += ["## Runs that did not finish", "",
                  markdown_row(["detector", "class", "status", "reason", "run"]),
                  "|---|---|---|---|---|"]
        parts += [markdown_row([r.detector, str(r["class"]), r.status, r.reason or "—",
                                r.run]) for _, r in unfinished.iterrows()]
    with atomic_open(out / "comparison.md", "w") as f:
        f.write("\n".join(parts) + "\n")
    return table


class AnomalyCompareCallback(Callback):
    """Runs once, in the submitting process, after every job of the sweep has returned."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            table = write_tables([sweep_dir], sweep_dir)
        except Exception:  # a bug must not cost the sweep: its runs are all on disk
            log.exception("no tables written; once fixed, rebuild them with "
                          "python -m experiments.anomaly_tables %s", sweep_dir)
            return
        log.info("tables of %d runs (%s) -> %s", len(table),
                 ", ".join(f"{n} {s}" for s, n in table.status.value_counts().items()),
                 sweep_dir / "comparison.md")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.anomaly_tables",
        description="Build comparison.csv, comparison.md and auroc_per_class.png from anomaly "
                    "sweep folders or trees of run folders (several are merged).")
    parser.add_argument("paths", nargs="+", help="anomaly sweep folders or run folders")
    parser.add_argument("--out", help="output folder (default: PATH when one is given)")
    args = parser.parse_args(argv)
    if args.out is None and len(args.paths) > 1:
        parser.error("--out is required when several PATHs are merged")
    try:
        write_tables(args.paths, args.out or args.paths[0])
    except ReducerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print((Path(args.out or args.paths[0]) / "comparison.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
