"""The trade between separation and faithfulness, drawn for a sweep scored on a held-out set
(``heldout=``): each setting's held-out 5-NN accuracy against its held-out trustworthiness,
mean ± std over seeds, the baselines (PCA, UMAP, t-SNE) with markers of their own, and the
settings that no other beats on both joined as the frontier. t-SNE cannot place unseen rows:
its point is its own test split's, embedded with the training rows (hollow, left off the
frontier)."""

from pathlib import Path

import numpy as np
import pandas as pd

from reducers.plots import plt, save

KNN, TRUST = "heldout_knn_acc", "heldout_trustworthiness"
OWN_SPLIT = {KNN: "knn_acc", TRUST: "trustworthiness"}  # where t-SNE has its figures
MARKERS = {"pca": "s", "umap": "D", "tsne": "^"}  # baselines; networks are circles


def drawable(ok: pd.DataFrame) -> bool:
    """Whether the sweep has held-out figures of both kinds for two settings or more."""
    return all(m in ok for m in (KNN, TRUST)) and ok[[KNN, TRUST]].notna().all(axis=1).sum() >= 2


def points(ok: pd.DataFrame, varied: list[str]) -> pd.DataFrame:
    """One row per setting (the varied keys but the seed): its label, model, the means and
    stds of both figures, its seeds, whether it is transductive, and whether it is on the
    frontier (no inductive setting at least as good on both and better on one)."""
    keys = [k for k in varied if k != "seed"]
    text = as_text(ok, keys)
    rows = []
    for _, same in (text.groupby(keys, sort=True) if keys else [((), text)]):
        group = ok.loc[same.index]
        transductive = group[KNN].isna().all() if KNN in group else True
        columns = [OWN_SPLIT[m] if transductive else m for m in (KNN, TRUST)]
        values = group[columns].dropna()
        if values.empty:
            continue
        model = str(group["model"].iloc[0]) if "model" in group else ""
        label = label_of(text, keys, same.index[0]) or model
        rows.append({"label": label if len(label) <= 72 else label[:71] + "…", "model": model,
                     "seeds": len(values),
                     "knn": values[columns[0]].mean(), "knn_std": values[columns[0]].std(),
                     "trust": values[columns[1]].mean(), "trust_std": values[columns[1]].std(),
                     "transductive": bool(transductive)})
    table = pd.DataFrame(rows, columns=["label", "model", "seeds", "knn", "knn_std", "trust",
                                        "trust_std", "transductive"])
    table["frontier"] = [_undominated(row, table) for _, row in table.iterrows()]
    return table


def as_text(ok: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The ``keys`` columns of ``ok`` as text, a missing value as "—"."""
    return pd.DataFrame({k: ok[k].map(_text) for k in keys}, index=ok.index)


def _text(value) -> str:
    if pd.isna(value):
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def label_of(text: pd.DataFrame, keys: list[str], row) -> str:
    """A setting's label: the first key's value (a preset, a model), then the keys where the
    setting departs from the others that share that value (from their most common value), or
    that tell them all apart (the baselines' models). A preset's own settings are left out,
    so a sweep over ``experiment=`` names what was changed, not the tens of keys it sets."""
    if not keys:
        return ""
    mine = text.loc[row]
    peers = text[text[keys[0]] == mine[keys[0]]].drop_duplicates()
    parts = [] if mine[keys[0]] == "—" else [mine[keys[0]]]
    for key in keys[1:]:
        value, values = mine[key], peers[key]
        alike = values.nunique() < len(values)  # else the key tells each setting apart
        choice = not parts and "." not in key  # no preset: a group's choice names it (pca)
        if value == "—" or (not choice and (len(values) == 1 or
                                            (alike and value == values.mode()[0]))):
            continue
        parts.append(value if "." not in key else f"{key.rsplit('.', 1)[-1]}={value}")
    return " ".join(parts)


def _undominated(row: pd.Series, table: pd.DataFrame) -> bool:
    if row.transductive:
        return False
    others = table[~table.transductive]
    better = (others.knn >= row.knn) & (others.trust >= row.trust) & \
        ((others.knn > row.knn) | (others.trust > row.trust))
    return not better.any()


def frontier_figure(table: pd.DataFrame):
    """The scatter: numbered points, their settings listed beside."""
    fig, (ax, key) = plt.subplots(1, 2, figsize=(13, 5.6), width_ratios=[1.3, 1])
    line = table[table.frontier].sort_values("trust")
    ax.plot(line.trust, line.knn, color="0.6", lw=1, zorder=1, label="frontier")
    for i, row in enumerate(table.itertuples(), start=1):
        colour = plt.get_cmap("tab10")((i - 1) % 10)
        ax.errorbar(row.trust, row.knn, xerr=np.nan_to_num(row.trust_std),
                    yerr=np.nan_to_num(row.knn_std), fmt=MARKERS.get(row.model, "o"), ms=7,
                    color=colour, mfc="white" if row.transductive else colour, capsize=2,
                    zorder=2)
        ax.annotate(str(i), (row.trust, row.knn), xytext=(4, 4), textcoords="offset points",
                    fontsize=8)
    ax.set_xlabel("held-out trustworthiness(5): neighbourhoods kept  →")
    ax.set_ylabel("held-out 5-NN accuracy: classes apart  →")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    seeds = sorted(set(table.seeds))
    ax.set_title(f"separation against faithfulness ({'/'.join(map(str, seeds))} seed"
                 f"{'s' if seeds != [1] else ''} each; hollow: t-SNE on its own split)",
                 fontsize=10)
    key.axis("off")
    lines = [f"{i:>2}  {'*' if row.frontier else ' '} {row.knn:.3f} {row.trust:.3f}  "
             f"{row.label}" for i, row in enumerate(table.itertuples(), start=1)]
    key.text(0, 1, "    5-NN  trust  setting (* frontier)\n" + "\n".join(lines),
             va="top", family="monospace", fontsize=7, wrap=True)
    fig.tight_layout()
    return fig


def write(ok: pd.DataFrame, varied: list[str], out: Path) -> None:
    """``frontier.png`` of a sweep scored on a held-out set; nothing otherwise."""
    if drawable(ok):
        save(frontier_figure(points(ok, varied)), Path(out) / "frontier.png")
