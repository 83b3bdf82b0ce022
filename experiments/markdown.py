"""Markdown rendering of comparison tables: settings as given, metrics to 3 decimals, the
best value of each metric column in bold."""

import numpy as np
import pandas as pd

from reducers.scoring import DIRECTION

HEADLINE = ["knn_acc", "silhouette", "trustworthiness", "kmeans_vmeasure", "davies_bouldin",
            "recon_mse", "active_units"]
INTEGERS = {"active_units", "epochs_completed", "seeds"}


def fmt(value, column: str = "") -> str:
    """Settings as given (0.5, not 0.500), counts as integers, metrics to 3 decimals."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if column in INTEGERS and float(value).is_integer():
        return f"{int(value)}"
    if column not in DIRECTION and column not in INTEGERS:
        return f"{value:g}"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"


def markdown(table: pd.DataFrame, columns: list[str], best: list[str]) -> str:
    """A Markdown table; the best value of each column in ``best`` in bold."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    winners = {c: table[c].max() if DIRECTION[c] > 0 else table[c].min()
               for c in best if DIRECTION.get(c, 0) != 0 and table[c].notna().any()}
    for _, row in table.iterrows():
        cells = [fmt(row[c], c) for c in columns]
        cells = [f"**{cell}**" if c in winners and row[c] == winners[c] else cell
                 for c, cell in zip(columns, cells)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def seed_summary(ok: pd.DataFrame, varied: list[str], sort_by: str) -> str:
    """Mean ± std over seeds of each setting (every varied column but ``seed``)."""
    keys = [c for c in varied if c != "seed"]
    metrics = [m for m in HEADLINE if ok[m].notna().any()]
    grouped = ok.groupby(keys, sort=False, dropna=False) if keys \
        else ok.assign(_all="all").groupby("_all")
    means, stds = grouped[metrics].mean(), grouped[metrics].std(ddof=1)
    means = means.sort_values(sort_by, ascending=DIRECTION[sort_by] < 0) if sort_by in means \
        else means
    winners = {m: (means[m].max() if DIRECTION[m] > 0 else means[m].min()) for m in metrics
               if DIRECTION[m] != 0}
    lines = ["| " + " | ".join([*keys, "seeds", *metrics]) + " |",
             "|" + "---|" * (len(keys) + 1 + len(metrics))]
    for index in means.index:
        names = [fmt(v) for v in (index if isinstance(index, tuple) else
                                                 ([index] if keys else []))]
        cells = []
        for m in metrics:
            cell = f"{fmt(means.at[index, m], m)} ± {fmt(stds.at[index, m], m)}"
            cells.append(f"**{cell}**" if means.at[index, m] == winners.get(m) else cell)
        lines.append("| " + " | ".join([*names, str(grouped.size()[index]), *cells]) + " |")
    return "\n".join(lines)
