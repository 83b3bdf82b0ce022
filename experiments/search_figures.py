"""Figures for a search (``hparams_search=...``), whose every trial has values of its own: a
grid of beta against the other keys would be mostly empty panels under labels such as
``lr=0.00011222339994168177``. Instead, beside the comparison, the metric against each searched
key (``metric_vs_params.png``) and the best runs' codes (``embeddings.png``); in ``search.md``
(``experiments.search_report``) the optimisation history, the values the trials reported epoch
by epoch (a search with a pruner) and the Pareto front (a search of several objectives)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from experiments.markdown import header
from experiments.sweep_plots import class_legend, draw_run
from reducers.plots import plt, save
from reducers.scoring import DIRECTION

BEST = 8  # runs in the search's embeddings.png
FAILED_COLOUR = "tab:red"  # search.md's trials without a value
PRUNED_COLOUR = "0.55"


def searched(ok: pd.DataFrame) -> bool:
    """Whether the runs are a search's trials (Hydra's sweeper choice, as each run kept it)."""
    return "sweeper" in ok and len(ok) > 0 and (ok["sweeper"] == "search").all()


def short(value) -> str:
    """A searched value in 3 significant digits: ``lr=0.000112``, ``beta=2.4``."""
    if isinstance(value, (float, np.floating)) and np.isfinite(value):
        return f"{value:.3g}"
    return "—" if pd.isna(value) else str(value)


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and values.notna().any()


def metric_vs_params(ok: pd.DataFrame, params: list[str], metric: str):
    """One panel per searched key: each trial's metric against its value (log scale where the
    values span a decade), the best trial ringed; a choice among a few values as a strip."""
    fig, axes = plt.subplots(1, len(params), figsize=(3.8 * len(params) + 0.4, 3.4),
                             squeeze=False, sharey=True)
    sign = 1 if DIRECTION.get(metric, 1) >= 0 else -1
    best = ok.loc[(sign * ok[metric]).idxmax()] if ok[metric].notna().any() else None
    for ax, key in zip(axes[0], params):
        if _numeric(ok[key]):
            x = ok[key].astype(float)
            positive = x[x > 0]
            if len(positive) == len(x) and positive.max() / positive.min() >= 10:
                ax.set_xscale("log")
        else:  # a choice: one column per value, jittered
            order = sorted(ok[key].astype(str).unique(), key=lambda v: (len(v), v))  # [256,..]
            x = ok[key].astype(str).map(order.index) + np.random.default_rng(0).uniform(
                -0.15, 0.15, len(ok))
            ax.set_xticks(range(len(order)), order, fontsize=8, rotation=20)
        ax.scatter(x, ok[metric], s=22, alpha=0.75, color="tab:blue")
        if best is not None:
            ax.scatter(x[best.name], best[metric], s=120, facecolors="none",
                       edgecolors="tab:red", linewidths=2, label="best trial")
        ax.set_xlabel(key)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(header(metric))
    if best is not None:
        axes[0][0].legend(loc="best", fontsize=8)
    fig.suptitle(f"{header(metric)} of each trial against each searched setting")
    fig.tight_layout()
    return fig


def best_runs(ok: pd.DataFrame, params: list[str], metric: str, n: int = BEST):
    """The ``n`` best trials' codes, best first, titled with their values in 3 digits."""
    sign = 1 if DIRECTION.get(metric, 1) >= 0 else -1
    top = ok.assign(_key=sign * ok[metric]).sort_values("_key", ascending=False,
                                                         na_position="last").head(n)
    ncols = min(4, len(top))
    nrows = int(np.ceil(len(top) / ncols))
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(2.6 * ncols + 0.4, 2.7 * nrows + 0.8))
    classes = {}
    for ax, (rank, (_, run)) in zip(axes.flat, enumerate(top.iterrows(), 1)):
        values = " ".join(f"{k.rsplit('.', 1)[-1]}={short(run[k])}" for k in params
                          if k in run)
        classes.update(draw_run(ax, run, f"#{rank} {values}"))
        ax.title.set_fontsize(7.5)
    for ax in axes.flat[len(top):]:
        ax.axis("off")
    class_legend(fig, classes)
    fig.suptitle(f"the {len(top)} best trials by {header(metric)}", fontsize=10)
    fig.tight_layout(rect=(0, 0.8 / (2.7 * nrows + 0.8), 1, 1))
    return fig


def write(ok: pd.DataFrame, varied: list[str], out: Path, metric: str) -> None:
    """``metric_vs_params.png`` and ``embeddings.png`` of a search's finished trials."""
    params = [k for k in varied if k != "seed"]
    if params and metric in ok and ok[metric].notna().any():
        save(metric_vs_params(ok, params, metric), Path(out) / "metric_vs_params.png")
    save(best_runs(ok, params, metric), Path(out) / "embeddings.png")


def history_figure(trials: pd.DataFrame, metrics: list[str], directions: list[str]):
    """Each trial's values (a panel per objective), the best so far for one objective, and
    the trials without a value as crosses."""
    width = 7 if len(metrics) == 1 else 4.6 * len(metrics)
    fig, axes = plt.subplots(1, len(metrics), figsize=(width, 4), squeeze=False)
    done = trials[trials.state == "COMPLETE"]
    lost = trials[trials.state != "COMPLETE"]
    for ax, metric, direction, column in zip(axes[0], metrics, directions, columns(metrics)):
        ax.plot(done.trial, done[column], "o", color="tab:blue", label="trial")
        if not done.empty and len(metrics) == 1:
            best = done[column].cummax() if direction == "maximize" else done[column].cummin()
            ax.step(done.trial, best, where="post", color="tab:orange", label="best so far")
        if not lost.empty:
            low = ax.get_ylim()[0] if not done.empty else 0.0
            ax.plot(lost.trial, np.full(len(lost), low), "x", color=FAILED_COLOUR, ms=9,
                    mew=2, label="no value (" + ", ".join(sorted(set(lost.status))) + ")")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("trial")
        ax.set_ylabel(f"{metric} ({direction})")
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle("optimisation history")
    return fig


def columns(metrics: list[str]) -> list[str]:
    """``trials.csv``'s column of each objective's value."""
    return ["value"] if len(metrics) == 1 else [f"value:{m}" for m in metrics]


def reported(trials: pd.DataFrame) -> dict[int, dict[int, float]]:
    """Each trial's reported values by epoch (a search with a pruner), from ``trials.csv``."""
    if "reported" not in trials:
        return {}
    return {int(row.trial): {int(k): float(v) for k, v in json.loads(row.reported).items()}
            for row in trials.itertuples() if isinstance(row.reported, str) and row.reported}


def pruning_figure(trials: pd.DataFrame, metric: str):
    """The value each trial reported after each epoch: the pruned ones grey, ending in a cross
    where the pruner stopped them; the finished ones blue, with their final score."""
    fig, ax = plt.subplots(figsize=(7, 4))
    curves = reported(trials)
    for row in trials.itertuples():
        points = sorted(curves.get(int(row.trial), {}).items())
        pruned = row.status == "pruned"
        if row.state == "COMPLETE" and points and pd.notna(row.value):
            points.append((points[-1][0] + 1, float(row.value)))  # the run's own score
        if not points:
            continue
        epochs, values = zip(*points)
        ax.plot(epochs, values, "-", color=PRUNED_COLOUR if pruned else "tab:blue",
                alpha=0.6 if pruned else 0.9, lw=1)
        if pruned:
            ax.plot(epochs[-1], values[-1], "x", color=PRUNED_COLOUR, ms=6)
    ax.plot([], [], "-", color="tab:blue", label="finished (last point: its score)")
    ax.plot([], [], "-x", color=PRUNED_COLOUR, label="pruned (x: where)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title("what each trial reported, epoch by epoch")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def pareto_figure(trials: pd.DataFrame, metrics: list[str], directions: list[str]):
    """The finished trials on the first two objectives, the Pareto front joined and numbered."""
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    x, y = (f"value:{m}" for m in metrics[:2])
    done = trials[trials.state == "COMPLETE"]
    front = done[done.pareto.astype(str) == "True"].sort_values(x)
    ax.plot(done[x], done[y], "o", color="0.7", label="trial")
    ax.plot(front[x], front[y], "o-", color="tab:orange", label="Pareto front")
    for _, row in front.iterrows():
        ax.annotate(str(int(row.trial)), (row[x], row[y]), textcoords="offset points",
                    xytext=(4, 4), fontsize=8)
    ax.set_xlabel(f"{metrics[0]} ({directions[0]})")
    ax.set_ylabel(f"{metrics[1]} ({directions[1]})")
    ax.set_title("Pareto front" + (f" (the first two of {len(metrics)} objectives)"
                                   if len(metrics) > 2 else ""))
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return fig
