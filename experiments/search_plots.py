"""The figures of ``search.md`` (``experiments.search_report``): the optimisation history, the
values the trials reported epoch by epoch (a search with a pruner) and the Pareto front (a
search of several objectives)."""

import json

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from reducers.plots import plt

FAILED_COLOUR = "tab:red"
PRUNED_COLOUR = "0.55"


def history_figure(trials: pd.DataFrame, metrics: list[str], directions: list[str]):
    """Each trial's values (a panel per objective), the best so far for one objective, and
    the trials without a value as crosses."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(7 if len(metrics) == 1 else 4.6
                                                      * len(metrics), 4), squeeze=False)
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
