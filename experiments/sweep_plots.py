"""Sweep figures: headline metrics against beta, and a small-multiples grid of the 2-D test
embeddings (rows: model and loss, columns: beta), coloured as in the single-run scatter."""

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from experiments.frontier_plot import as_text, label_of
from experiments.results import HEADLINE
from reducers.plots import CLASS_COLOURS, draw_codes, plt, save

X = "model.kl.beta"


def _series(ok: pd.DataFrame, keys: list[str]) -> list[tuple[str, pd.DataFrame]]:
    """Runs split by ``keys``, labelled e.g. 'vae recon=bce' (group choices by value alone)."""
    if not keys:
        return [("", ok)]
    as_text = [ok[k].map(lambda v: "—" if pd.isna(v) else str(v)) for k in keys]
    groups = ok.groupby(as_text, sort=True)
    names = [k.rsplit(".", 1)[-1] + "=" if "." in k else "" for k in keys]
    return [(" ".join(n + v for n, v in zip(names, vs if isinstance(vs, tuple) else (vs,))), g)
            for vs, g in groups]


def _line_keys(varied: list[str]) -> list[str]:
    return [c for c in varied if c not in (X, "seed")]


def _beta_axis(ax, betas: np.ndarray) -> None:
    positive = betas[betas > 0]
    if len(positive) and positive.max() / positive.min() >= 10:  # values span decades
        ax.set_xscale("symlog", linthresh=positive.min(), linscale=0.7)  # keeps beta = 0
    ax.set_xticks(betas, [f"{b:g}" for b in betas], fontsize=8)
    ax.set_xlabel("beta")


def metrics_vs_beta(ok: pd.DataFrame, varied: list[str]):
    fig, axes = plt.subplots(1, len(HEADLINE), figsize=(4.2 * len(HEADLINE), 3.6))
    betas = np.sort(ok[X].dropna().unique().astype(float))
    for i, (label, group) in enumerate(_series(ok, _line_keys(varied))):
        colour = plt.get_cmap("tab10")(i % 10)
        with_beta = group[group[X].notna()]
        for ax, metric in zip(axes, HEADLINE):
            if with_beta.empty:  # no KL term (the AE): a reference line across the axis
                ax.axhline(group[metric].mean(), ls="--", color=colour, label=label)
                continue
            stats = with_beta.groupby(X)[metric].agg(["mean", "std"])
            ax.errorbar(stats.index, stats["mean"], yerr=stats["std"].fillna(0), marker="o",
                        ms=4, capsize=3, color=colour, label=label)
    for ax, metric in zip(axes, HEADLINE):
        _beta_axis(ax, betas)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    if labels:  # a sweep over beta alone has one unlabelled line
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), frameon=False)
    fig.suptitle("held-out metrics against beta (mean ± std over seeds; dashed: no KL term)")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def _columns(ok: pd.DataFrame, betas: list | None) -> list[str]:
    """The grid's column titles, the same in every row: each model without beta (a
    reference) first, then each beta in increasing order; without beta, run folders."""
    if betas is None:
        return []
    no_beta = ok[ok[X].isna()]
    refs = sorted(no_beta["model"].astype(str).unique()) if "model" in ok else \
        (["no beta"] if len(no_beta) else [])
    return refs + [f"beta={b:g}" for b in betas]


def _grid_cells(group: pd.DataFrame, columns: list[str],
                max_cols: int) -> list[tuple[str, pd.DataFrame]]:
    """One row's panels under ``columns`` (an empty frame where the row has no such run)."""
    if not columns:
        return [(Path(run).name, group[group.run == run]) for run in group.run[:max_cols]]
    beta = group[X].map(lambda b: None if pd.isna(b) else f"beta={b:g}")
    ref = group["model"].astype(str) if "model" in group else pd.Series("no beta", group.index)
    title = beta.where(beta.notna(), ref)
    return [(column, group[title == column]) for column in columns]


def draw_run(ax, run: pd.Series, title: str) -> dict:
    """One run's test codes (the extra test set's when kept) in ``ax``, titled with its
    score; the classes drawn, {label: name}."""
    codes = np.load(Path(run.run) / "codes.npz")
    part = "heldout" if "heldout_labels" in codes else "test"  # the larger test set
    labels = codes[f"{part}_labels"] if f"{part}_labels" in codes else None  # density
    draw_codes(ax, codes[part][:, :2], labels, size=2 if len(codes[part]) < 5000 else 0.5)
    classes = {}
    if labels is not None:
        names = codes["class_names"].tolist() if "class_names" in codes else None
        classes = {int(c): names[c] if names else str(c) for c in np.unique(labels)}
    score = ("trustworthiness", run.trustworthiness) if pd.isna(run.knn_acc) else \
        ("knn_acc", run.knn_acc)
    if part == "heldout":
        score = ("heldout_knn_acc", run.heldout_knn_acc)
    ax.set_title(f"{title}\n{score[0]} {score[1]:.3f}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return classes


def class_legend(fig, classes: dict) -> None:
    """The classes' colours under the panels, or what the colours mean without labels."""
    handles = [Line2D([], [], ls="", marker="o", color=CLASS_COLOURS(c % 10), label=name)
               for c, name in sorted(classes.items())]
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 10),
                   frameon=False)
    else:
        fig.text(0.5, 0.01, "no labels: points coloured by density (light = dense)",
                 ha="center")


def embedding_grid(ok: pd.DataFrame, varied: list[str], max_cols: int = 12):
    """Rows: every varied setting but beta and seed (and the model, when only one model has a
    beta); columns: the references without beta, then beta, aligned across rows. One panel =
    the lowest seed."""
    betas = list(np.sort(ok[X].dropna().unique())) if X in varied else None
    row_keys = _line_keys(varied)
    if betas and "model" in row_keys and ok[ok[X].notna()]["model"].nunique() == 1:
        row_keys.remove("model")  # e.g. the AE reference becomes a column of each loss's row
    rows = [(label, group.sort_values(["seed", "run"] if "seed" in group else "run"))
            for label, group in _series(ok, row_keys)]
    if "experiment" in row_keys:  # presets set tens of keys: name what each row changed
        keys = ["experiment"] + [k for k in row_keys if k != "experiment"]
        text = as_text(ok, keys)
        rows = [(label_of(text, keys, group.index[0]), group) for _, group in rows]
    columns = _columns(ok, betas)
    cells = [_grid_cells(group, columns, max_cols) for _, group in rows]
    classes = {}  # label -> its name, from the panels drawn
    ncols = max(len(c) for c in cells)
    fig, axes = plt.subplots(len(rows), ncols, squeeze=False,
                             figsize=(2.1 * ncols + 0.6, 2.2 * len(rows) + 0.7))
    for r, (label, _) in enumerate(rows):
        for c, ax in enumerate(axes[r]):
            if c >= len(cells[r]) or cells[r][c][1].empty:  # blank, keeping the row's label
                ax.set_xticks([])
                ax.set_yticks([])
                ax.spines[:].set_visible(False)
                continue
            classes.update(draw_run(ax, cells[r][c][1].iloc[0], cells[r][c][0]))
        if label:  # one setting per line when they would not fit beside a panel
            axes[r][0].set_ylabel(label if len(label) <= 24 else label.replace(" ", "\n"),
                                  fontsize=10 if len(label) <= 24 else 8)
    class_legend(fig, classes)
    fig.tight_layout(rect=(0, 0.7 / (2.2 * len(rows) + 0.7), 1, 1))
    return fig


def write_sweep_figures(ok: pd.DataFrame, varied: list[str], out: Path,
                        metric: str = "knn_acc") -> None:
    """The sweep's figures; a search's suit its continuous values (``search_figures``)."""
    from experiments import frontier_plot, search_figures

    if ok.empty:
        return
    if search_figures.searched(ok):
        search_figures.write(ok, varied, out, metric)
        return
    if X in varied:
        save(metrics_vs_beta(ok, varied), out / "metrics_vs_beta.png")
    frontier_plot.write(ok, varied, out)
    save(embedding_grid(ok, varied), out / "embeddings.png")
