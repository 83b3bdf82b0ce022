"""Markdown rendering of comparison tables: settings as given, metrics to 3 decimals, each
metric's direction in its header (↑ higher is better, ↓ lower), the best value in bold."""

import numpy as np
import pandas as pd

from experiments.results import HEADLINE
from reducers.scoring import DIRECTION

# comparison.md's columns, when any run has them: the extra test set's first (``heldout=``)
TABLE_METRICS = ("heldout_knn_acc", "heldout_silhouette", "heldout_trustworthiness",
                 *HEADLINE[:3], "continuity", *HEADLINE[3:], "davies_bouldin", "recon_mse",
                 "active_units")
INTEGERS = {"active_units", "epochs_completed", "seeds"}
ARROWS = {1: " ↑", -1: " ↓", 0: ""}
# What each column of comparison.md measures, for the legend under it (scored on the held-out
# test split; heldout_* the same on the extra test set, heldout=)
MEANING = {
    "knn_acc": "accuracy of a k-NN classifier (score.knn_k) fitted on the training codes",
    "silhouette": "how far each code sits from other classes relative to its own, -1 to 1",
    "trustworthiness": "code-space neighbours (score.trust_k) that are neighbours in the input",
    "continuity": "input neighbours that stay neighbours in the codes",
    "kmeans_vmeasure": "agreement of k-means clusters of the codes with the classes, 0 to 1",
    "davies_bouldin": "spread of each class against the distance between classes",
    "recon_mse": "mean squared reconstruction error per pixel or feature",
    "active_units": "code dimensions the model uses (0: collapsed, every input one code)",
    "kl_weight_effective": "weight of the KL term against a per-pixel reconstruction",
}


def fmt(value, column: str = "") -> str:
    """Settings as given (0.5, not 0.500), counts as integers, metrics to 3 decimals."""
    if isinstance(value, str):  # one table cell: no line breaks, no column separators
        return " ".join(value.split()).replace("|", "\\|")
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if column in INTEGERS and float(value).is_integer():
        return f"{int(value)}"
    if column not in DIRECTION and column not in INTEGERS:
        return f"{value:g}"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"


def markdown(table: pd.DataFrame, columns: list[str], best: list[str]) -> str:
    """A Markdown table; the best value of each column in ``best`` in bold."""
    lines = [markdown_row([header(c) for c in columns]), "|" + "---|" * len(columns)]
    winners = {c: table[c].max() if DIRECTION[c] > 0 else table[c].min()
               for c in best if DIRECTION.get(c, 0) != 0 and table[c].notna().any()}
    for _, row in table.iterrows():
        cells = [fmt(row[c], c) for c in columns]
        cells = [f"**{cell}**" if c in winners and row[c] == winners[c] else cell
                 for c, cell in zip(columns, cells)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def seed_summary(ok: pd.DataFrame, varied: list[str], sort_by: str) -> str:
    """Mean ± std over seeds of each setting (every varied column but ``seed``); settings a
    model lacks (the AE's beta) group as missing, positionally, never as index labels."""
    keys = [c for c in varied if c != "seed"]
    metrics = [m for m in TABLE_METRICS if m in ok and ok[m].notna().any()]
    grouped = ok.assign(_all="all").groupby(keys or ["_all"], sort=False, dropna=False)
    means = grouped[metrics].mean().reset_index()  # same group order in all three
    stds = grouped[metrics].std(ddof=1).reset_index()
    means["seeds"] = grouped.size().to_numpy()
    flagged = bool("flags" in ok and (ok["flags"].fillna("") != "").any())
    if flagged:  # any run of the setting flagged: the setting is
        means["flags"] = grouped["flags"].agg(
            lambda cells: ", ".join(sorted({f for c in cells.fillna("") for f in c.split(", ")
                                            if f}))).to_numpy()
    if sort_by in means:
        means = means.sort_values(sort_by, ascending=DIRECTION[sort_by] < 0, na_position="last")
    winners = {m: (means[m].max() if DIRECTION[m] > 0 else means[m].min()) for m in metrics
               if DIRECTION[m] != 0}
    extra = ["flags"] if flagged else []
    lines = [markdown_row([*keys, "seeds", *map(header, metrics), *extra]),
             "|" + "---|" * (len(keys) + 1 + len(metrics) + len(extra))]
    for i in means.index:
        cells = [fmt(means.at[i, k]) for k in keys] + [str(means.at[i, "seeds"])]
        for m in metrics:
            cell = fmt(means.at[i, m], m)
            cell += f" ± {fmt(stds.at[i, m], m)}" if pd.notna(means.at[i, m]) else ""
            cells.append(f"**{cell}**" if means.at[i, m] == winners.get(m) else cell)
        lines.append(markdown_row(cells + ([means.at[i, "flags"]] if flagged else [])))
    return "\n".join(lines)


def markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def header(column: str) -> str:
    """A column's name with its direction: ``knn_acc ↑``, ``davies_bouldin ↓``."""
    return column + ARROWS[DIRECTION.get(column, 0)]


def legend(columns: list[str]) -> str:
    """The lines under a table that say what its metric columns measure."""
    base = {c: c.removeprefix("heldout_") for c in columns}
    said = [f"`{c}`: {MEANING[b]}" for c, b in base.items() if b in MEANING]
    return ("↑ higher is better, ↓ lower is better; " + "; ".join(said) + "."
            if said else "")
