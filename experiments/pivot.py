"""The pivot of a sweep that varies two keys or more: the sort metric's mean ± std over seeds
(and their number) in a matrix, rows the key with the most values, columns the next; any
further key makes sections. The same as a heatmap (``pivot.png``), better always brighter."""

from pathlib import Path

import numpy as np
import pandas as pd

from experiments.markdown import fmt, header
from reducers.scoring import DIRECTION

MISSING = "—"  # a key a setting lacks (the AE's beta)


def layout(ok: pd.DataFrame, varied: list[str]) -> tuple[str, str, list[str]] | None:
    """(row key, column key, section keys), or None when fewer than two keys vary on a grid.
    A key whose value differs in every setting (a search's continuous values) is no axis."""
    keys = [k for k in varied if k != "seed" and k in ok]
    settings = len(ok[keys].astype(str).drop_duplicates())
    keys = [k for k in keys if ok[k].nunique(dropna=False) < settings]
    if len(keys) < 2:
        return None
    # settings before group choices (a choice such as model= decides which settings exist:
    # a section of its own), then the most values first; ties keep the sweep's order
    by_size = sorted(keys, key=lambda k: ("." not in k, -ok[k].nunique(dropna=False)))
    return by_size[0], by_size[1], [k for k in keys if k not in by_size[:2]]


def sections(ok: pd.DataFrame, rest: list[str]) -> list[tuple[str, pd.DataFrame]]:
    """The runs split by the section keys, each titled ``key=value, ...``."""
    if not rest:
        return [("", ok)]
    titled = ok.assign(_title=[", ".join(f"{k}={_label(row[k])}" for k in rest)
                               for _, row in ok.iterrows()])
    return [(title, group) for title, group in titled.groupby("_title", sort=False)]


def cells(runs: pd.DataFrame, rows: str, cols: str, metric: str) -> pd.DataFrame:
    """Mean, std and count of ``metric`` per (row value, column value), labels as text."""
    labelled = runs.assign(_row=runs[rows].map(_label), _col=runs[cols].map(_label))
    stats = labelled.groupby(["_row", "_col"], sort=False)[metric].agg(["mean", "std", "count"])
    return stats.reindex(pd.MultiIndex.from_product([_order(runs[rows]), _order(runs[cols])]))


def pivot_markdown(ok: pd.DataFrame, varied: list[str], metric: str) -> str:
    """The pivot as Markdown (a heading, then one table per section); '' when there is none."""
    found = layout(ok, varied)
    if found is None or metric not in ok or ok[metric].isna().all():
        return ""
    rows, cols, rest = found
    lines = [f"## {header(metric)} by {rows} × {cols}", "",
             "Mean ± std over seeds (their number); the best of each table in bold."
             + (f" One table per {', '.join(rest)}." if rest else ""), ""]
    for title, runs in sections(ok, rest):
        stats = cells(runs, rows, cols, metric)
        best = _best(stats["mean"], metric)
        col_values = _order(runs[cols])
        lines += ([f"### {title}", ""] if title else []) + [
            f"| {rows} \\ {cols} | " + " | ".join(col_values) + " |",
            "|---|" + "---|" * len(col_values)]
        for row_value in _order(runs[rows]):
            shown = [_cell(stats.loc[(row_value, c)], metric, best) for c in col_values]
            lines.append(f"| {row_value} | " + " | ".join(shown) + " |")
        lines.append("")
    return "\n".join(lines)


def write_heatmap(ok: pd.DataFrame, varied: list[str], metric: str, out: Path) -> bool:
    """``pivot.png``: one heatmap per section, each cell's mean written in it; whether drawn."""
    from reducers.plots import plt, save

    found = layout(ok, varied)
    if found is None or metric not in ok or ok[metric].isna().all():
        return False
    rows, cols, rest = found
    parts = sections(ok, rest)
    width = 1.2 + 1.1 * ok[cols].nunique(dropna=False) * len(parts)
    height = 1.4 + 0.45 * ok[rows].nunique(dropna=False)
    fig, axes = plt.subplots(1, len(parts), figsize=(width, height), squeeze=False)
    higher = DIRECTION.get(metric, 1) >= 0
    for ax, (title, runs) in zip(axes[0], parts):
        means = cells(runs, rows, cols, metric)["mean"].unstack().loc[_order(runs[rows]),
                                                                      _order(runs[cols])]
        values = means.to_numpy(float)
        ax.imshow(values, cmap="viridis" if higher else "viridis_r", aspect="auto")  # bright: best
        low, high = np.nanmin(values), np.nanmax(values)
        for (i, j), value in np.ndenumerate(values):
            if np.isfinite(value):  # white on the darker half of the colours
                brightness = (value - low) / (high - low) if high > low else 1.0
                dark = (brightness if higher else 1 - brightness) < 0.5
                ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
        ax.set_xticks(range(means.shape[1]), means.columns, fontsize=8)
        ax.set_yticks(range(means.shape[0]), means.index, fontsize=8)
        ax.set_xlabel(cols)
        ax.set_ylabel(rows)
        ax.set_title(title, fontsize=9)
    fig.suptitle(f"{header(metric)}: mean over seeds", fontsize=10)
    fig.tight_layout()
    save(fig, out / "pivot.png")
    return True


def _order(values: pd.Series) -> list[str]:
    """The distinct values as labels: numbers in increasing order, text as first seen, a
    missing value last."""
    present = values.dropna().unique()
    if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in present):
        present = sorted(present)
    labels = [_label(v) for v in present]
    return labels + ([MISSING] if values.isna().any() else [])


def _label(value) -> str:
    return MISSING if pd.isna(value) else fmt(value)


def _best(means: pd.Series, metric: str) -> float:
    return means.max() if DIRECTION.get(metric, 1) >= 0 else means.min()


def _cell(stats: pd.Series, metric: str, best: float) -> str:
    if pd.isna(stats["mean"]):
        return ""
    spread = f" ± {fmt(stats['std'], metric)}" if stats["count"] > 1 else ""
    text = f"{fmt(stats['mean'], metric)}{spread} ({int(stats['count'])})"
    return f"**{text}**" if stats["mean"] == best else text

