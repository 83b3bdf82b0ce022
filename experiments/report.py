"""``report.html`` beside ``comparison.md``: one self-contained page (no file or network beside
it) to open in a browser. It holds what ``comparison.md`` says (the verdict, the table, sortable
by any column with a click on its header, the pivot), the sweep's figures, and each finished
run's test codes drawn as a small scatter in the table's order."""

import base64
import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.markdown import fmt
from experiments.md_html import to_html
from experiments.report_page import PAGE
from reducers.io import atomic_open

FIGURES = ("pivot.png", "metrics_vs_beta.png", "frontier.png", "metric_vs_params.png",
           "search_history.png", "embeddings.png")  # the sweep's figures, in this order
CAPTIONS = {"pivot.png": "the pivot as a heatmap: brighter is better",
            "metrics_vs_beta.png": "held-out metrics against beta, mean ± std over seeds",
            "frontier.png": "held-out 5-NN accuracy against held-out trustworthiness, "
                            "mean ± std over seeds, and the settings no other beats on both",
            "metric_vs_params.png": "each trial's metric against each searched setting",
            "search_history.png": "the search's trials in order, and the best so far",
            "embeddings.png": "test codes: each setting's lowest seed, or a search's best "
                              "trials"}
MAX_POINTS = 1500  # per scatter: enough to see the clusters, a page that opens at once
GRID = 1000  # the codes are sent as integers on a GRID x GRID square


def scatter_points(run_dir: Path) -> dict | None:
    """A run's test codes (the extra test set's when it has one), at most ``MAX_POINTS`` of
    them, scaled onto the grid, with their labels; None when the run kept no codes."""
    try:
        with np.load(Path(run_dir) / "codes.npz") as codes:
            part = "heldout" if "heldout" in codes else "test"
            xy = np.asarray(codes[part], float)[:, :2]
            labels = codes[f"{part}_labels"] if f"{part}_labels" in codes else None
    except (OSError, KeyError, ValueError):
        return None
    keep = np.isfinite(xy).all(axis=1)
    if xy.ndim != 2 or xy.shape[1] < 2 or not keep.any():
        return None
    pick = np.flatnonzero(keep)
    if len(pick) > MAX_POINTS:
        pick = np.sort(np.random.default_rng(0).choice(pick, MAX_POINTS, replace=False))
    xy = xy[pick]
    low, span = xy.min(axis=0), np.ptp(xy, axis=0).max() or 1.0
    grid = np.rint((xy - low) / span * (GRID - 1)).astype(int)
    return {"x": grid[:, 0].tolist(), "y": grid[:, 1].tolist(),
            "c": None if labels is None else np.asarray(labels)[pick].astype(int).tolist()}


def _figures(out: Path) -> str:
    """The sweep's PNG figures, inline."""
    found = [out / name for name in FIGURES if (out / name).is_file()]
    parts = []
    for path in found:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        caption = f"<code>{path.name}</code>" + (f": {CAPTIONS[path.name]}"
                                                  if path.name in CAPTIONS else "")
        parts.append(f'<figure><img alt="{path.name}" src="data:image/png;base64,{data}">'
                     f"<figcaption>{caption}</figcaption></figure>")
    return "\n".join(parts) or "<p>No figures were written (score.figures=false?).</p>"


def _caption(run: pd.Series, varied: list[str], metric: str) -> str:
    settings = [f"{k}={fmt(run[k])}" for k in varied if k in run and not pd.isna(run[k])]
    value = run.get(metric)
    score = "" if value is None or pd.isna(value) else f" · {metric} {fmt(value, metric)}"
    return " ".join(settings) + score


def _scatters(ok: pd.DataFrame, varied: list[str], metric: str) -> tuple[str, dict]:
    """The gallery's HTML and the points it draws, per run in the table's order."""
    tiles, points = [], {}
    for i, (_, run) in enumerate(ok.iterrows()):
        found = scatter_points(Path(run.run))
        if found is None:
            continue
        points[str(i)] = found
        caption = _caption(run, varied, metric)
        tiles.append(f'<figure class="run"><canvas width="180" height="180" data-run="{i}">'
                     f'</canvas><figcaption>{html.escape(caption)}<br><code>'
                     f'{html.escape(str(run.get("folder", run.run)))}</code></figcaption></figure>')
    return "\n".join(tiles) or "<p>No run kept its codes.</p>", points


def write_report(out: Path, markdown: str, ok: pd.DataFrame, varied: list[str],
                 metric: str) -> Path:
    """``out/report.html`` from ``comparison.md``'s text, the figures in ``out`` and the
    finished runs' codes (``ok`` in the table's order)."""
    gallery, points = _scatters(ok, varied, metric)
    title = markdown.splitlines()[0].lstrip("# ") if markdown else "Comparison"
    page = (PAGE.replace("{{title}}", html.escape(title))
            .replace("{{comparison}}", to_html(markdown))
            .replace("{{figures}}", _figures(out))
            .replace("{{runs}}", gallery)
            .replace("{{points}}", json.dumps(points, separators=(",", ":"))
                     .replace("</", "<\\/")))
    path = Path(out) / "report.html"
    with atomic_open(path, "w") as f:
        f.write(page)
    return path
