"""The pivot of a sweep that varies two keys or more: the sort metric's mean ± std over seeds
(and their number) in a matrix, rows the key with the most values, columns the next; any
further key makes sections. The same as a heatmap (``pivot.png``), better always brighter."""

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

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
    """``pivot.png`` (``heatmap``); whether drawn."""
    from reducers.plots import save

    fig = heatmap(ok, varied, metric)
    if fig is not None:
        save(fig, out / "pivot.png")
    return fig is not None


def heatmap(ok: pd.DataFrame, varied: list[str], metric: str):
    """One heatmap per section on one colour scale, cells of one size, each cell's mean
    written in it, the best boxed; None without a pivot."""
    from reducers.plots import plt

    found = layout(ok, varied)
    if found is None or metric not in ok or ok[metric].isna().all():
        return None
    rows, cols, rest = found
    panels = [(title, cells(runs, rows, cols, metric)["mean"].unstack()
               .loc[_order(runs[rows]), _order(runs[cols])]) for title, runs in sections(ok, rest)]
    low = min(np.nanmin(m.to_numpy(float)) for _, m in panels)
    high = max(np.nanmax(m.to_numpy(float)) for _, m in panels)
    widths = [m.shape[1] for _, m in panels]
    fig, axes = plt.subplots(1, len(panels), squeeze=False, gridspec_kw={"width_ratios": widths},
                             figsize=(1.6 + 1.1 * sum(widths),
                                      1.6 + 0.45 * max(m.shape[0] for _, m in panels)))
    for ax, (title, means) in zip(axes[0], panels):
        _heatmap(ax, means, metric, low, high)
        ax.set_xlabel(cols)
        ax.set_ylabel(rows)
        ax.set_title(title, fontsize=9)
    fig.suptitle(f"{header(metric)}: mean over seeds (one colour scale; boxed: the best)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def _heatmap(ax, means: pd.DataFrame, metric: str, low: float, high: float) -> None:
    """One section's cells, brighter better, each cell as tall as any other panel's."""
    higher = DIRECTION.get(metric, 1) >= 0
    values = means.to_numpy(float)
    ax.imshow(values, cmap="viridis" if higher else "viridis_r", aspect="auto", vmin=low,
              vmax=high)
    ax.set_box_aspect(0.45 * values.shape[0] / (1.1 * values.shape[1]))
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):  # white on the darker half of the colours
            brightness = (value - low) / (high - low) if high > low else 1.0
            dark = (brightness if higher else 1 - brightness) < 0.5
            ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")
            if value == (high if higher else low):  # the best of every panel: boxed
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="#d62728",
                                       lw=2.5))
    ax.set_xticks(range(values.shape[1]), means.columns, fontsize=8)
    ax.set_yticks(range(values.shape[0]), means.index, fontsize=8)


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

