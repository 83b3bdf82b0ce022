"""Sweep figures: headline metrics against beta, and a small-multiples grid of the 2-D test
embeddings (rows: model and loss, columns: beta), coloured as in the single-run scatter."""

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from reducers.plots import CLASS_COLOURS, draw_codes, plt, save

METRICS = ["knn_acc", "silhouette", "trustworthiness", "kmeans_vmeasure"]
X = "model.beta"


def _series(ok: pd.DataFrame, varied: list[str]) -> list[tuple[str, pd.DataFrame]]:
    """Runs split by every varied setting except beta and seed, e.g. ('vae bce', rows)."""
    keys = [c for c in varied if c not in (X, "seed")]
    if not keys:
        return [("", ok)]
    groups = ok.groupby([ok[k].astype(str) for k in keys], sort=True, dropna=False)
    names = [k.rsplit(".", 1)[-1] + "=" if "." in k else "" for k in keys]  # recon=, not model=
    return [(" ".join(n + v for n, v in zip(names, vs if isinstance(vs, tuple) else (vs,))), g)
            for vs, g in groups]


def _beta_axis(ax, betas: np.ndarray) -> None:
    positive = betas[betas > 0]
    if len(positive) and positive.max() / positive.min() >= 100:  # values span decades
        ax.set_xscale("symlog", linthresh=positive.min(), linscale=0.5)  # keeps beta = 0
    ax.set_xticks(betas, [f"{b:g}" for b in betas], fontsize=8)
    ax.set_xlabel("beta")


def metrics_vs_beta(ok: pd.DataFrame, varied: list[str]):
    fig, axes = plt.subplots(1, len(METRICS), figsize=(4.2 * len(METRICS), 3.6))
    betas = np.sort(ok[X].dropna().unique().astype(float))
    for i, (label, group) in enumerate(_series(ok, varied)):
        colour = plt.get_cmap("tab10")(i % 10)
        with_beta = group[group[X].notna()]
        for ax, metric in zip(axes, METRICS):
            if with_beta.empty:  # no KL term (the AE): a reference line across the axis
                ax.axhline(group[metric].mean(), ls="--", color=colour, label=label)
                continue
            stats = with_beta.groupby(X)[metric].agg(["mean", "std"])
            ax.errorbar(stats.index, stats["mean"], yerr=stats["std"].fillna(0), marker="o",
                        ms=4, capsize=3, color=colour, label=label)
    for ax, metric in zip(axes, METRICS):
        _beta_axis(ax, betas)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
    axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle("held-out metrics against beta (mean ± std over seeds; dashed: no KL term)")
    fig.tight_layout()
    return fig


def embedding_grid(ok: pd.DataFrame, varied: list[str], max_cols: int = 12):
    rows = _series(ok, varied)
    betas = list(np.sort(ok[X].dropna().unique())) if X in varied else None
    ncols = len(betas) if betas else min(max(len(g) for _, g in rows), max_cols)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(2.1 * ncols + 0.6, 2.2 * len(rows) + 0.5),
                             squeeze=False)
    for r, (label, group) in enumerate(rows):
        group = group.sort_values(["seed", "run"] if "seed" in group else "run")
        if betas and group[X].notna().any():
            cells = [(f"beta={b:g}", group[group[X] == b]) for b in betas]
        else:
            cells = [(Path(run).name, group[group.run == run]) for run in group.run[:ncols]]
        for c, ax in enumerate(axes[r]):
            if c >= len(cells) or cells[c][1].empty:
                ax.axis("off")
                continue
            title, run = cells[c][0], cells[c][1].iloc[0]  # the lowest seed
            codes = np.load(Path(run.run) / "codes.npz")
            draw_codes(ax, codes["test"][:, :2], codes["test_labels"], size=2)
            ax.set_title(f"{title}\nknn_acc {run.knn_acc:.3f}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        if label:
            axes[r][0].set_ylabel(label, fontsize=10)
    handles = [Line2D([], [], ls="", marker="o", color=CLASS_COLOURS(c), label=str(c))
               for c in range(10)]
    fig.legend(handles=handles, loc="lower center", ncol=10, frameon=False, title="class")
    fig.tight_layout(rect=(0, 0.08 if len(rows) < 3 else 0.04, 1, 1))
    return fig


def write_sweep_figures(ok: pd.DataFrame, varied: list[str], out: Path) -> None:
    if ok.empty:
        return
    if X in varied:
        save(metrics_vs_beta(ok, varied), out / "metrics_vs_beta.png")
    save(embedding_grid(ok, varied), out / "embeddings.png")
