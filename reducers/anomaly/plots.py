"""Figures of one anomaly-detection run: score histograms, ROC curve, extreme test images."""

import numpy as np
from matplotlib.figure import Figure

from reducers.plots import image_grid, plt


def score_histogram(scores: np.ndarray, is_anomaly: np.ndarray, threshold: float,
                    quantile: float, title: str) -> Figure:
    """Normal and anomalous test scores on shared bins, the training threshold marked."""
    fig, ax = plt.subplots(figsize=(7, 4))
    finite = scores[np.isfinite(scores)]
    low, high = np.quantile(finite, [0.0, 0.995])  # a few huge scores would squash the rest
    bins = np.linspace(low, max(high, threshold) * 1.0001 + 1e-12, 60)
    clipped = np.clip(scores, low, bins[-1])
    ax.hist(clipped[~is_anomaly], bins=bins, alpha=0.6, density=True,
            label=f"normal ({(~is_anomaly).sum()})")
    ax.hist(clipped[is_anomaly], bins=bins, alpha=0.6, density=True,
            label=f"anomalous ({is_anomaly.sum()})")
    ax.axvline(threshold, color="k", linestyle="--", linewidth=1,
               label=f"threshold: {quantile:.0%} of normal train scores")
    ax.set(title=title, xlabel="anomaly score (higher: more anomalous; top 0.5% clipped)",
           ylabel="density")
    ax.legend(frameon=False)
    return fig


def roc_figure(fpr: np.ndarray, tpr: np.ndarray, auroc: float, at_threshold: tuple[float, float],
               title: str) -> Figure:
    """The ROC curve and the operating point of the training threshold."""
    fig, ax = plt.subplots(figsize=(4.8, 4.5))
    ax.plot(fpr, tpr, label=f"AUROC {auroc:.3f}")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
    ax.plot(*at_threshold, "ko", label=f"threshold: FPR {at_threshold[0]:.2f}, "
            f"TPR {at_threshold[1]:.2f}")
    ax.set(title=title, xlabel="false-positive rate (normal flagged)",
           ylabel="true-positive rate (anomalies flagged)", xlim=(0, 1), ylim=(0, 1.01))
    ax.set_aspect("equal")
    ax.legend(loc="lower right", frameon=False)
    return fig


def extremes(x: np.ndarray, scores: np.ndarray, labels: np.ndarray, image_shape,
             n: int = 12, title: str = "") -> Figure:
    """The ``n`` most anomalous test images (top row) and the ``n`` least (bottom row), each
    with its class in the corner."""
    order = np.argsort(scores, kind="stable")
    most, least = order[::-1][:n], order[:n]
    fig = image_grid(np.concatenate([x[most], x[least]]), image_shape, ncols=n,
                     title=title, row_labels=["most\nanomalous", "least\nanomalous"])
    ax = fig.axes[0]
    h, w = image_shape[0] + 1, image_shape[1] + 1  # one pixel of padding between images
    for row, picks in enumerate((most, least)):
        for col, i in enumerate(picks):
            ax.annotate(str(labels[i]), (col * w + 1, row * h + 5), color="tab:red",
                        fontsize=7)
    return fig


def codes_figure(codes: np.ndarray, kinds: np.ndarray, title: str) -> Figure:
    """The first network's test codes (first two dimensions), normal vs anomalous."""
    fig, ax = plt.subplots(figsize=(6, 5.2))
    for kind, colour in (("normal", "tab:blue"), ("anomalous", "tab:orange")):
        pts = codes[kinds == kind]
        ax.scatter(pts[:, 0], pts[:, 1], s=6, alpha=0.5, color=colour, linewidths=0,
                   label=f"{kind} ({len(pts)})")
    ax.set_aspect("equal", adjustable="datalim")
    dims = "" if codes.shape[1] == 2 else f" (first 2 of {codes.shape[1]} dims)"
    ax.set(title=f"{title}\ntest codes{dims}", xlabel="z1", ylabel="z2")
    ax.legend(frameon=False, markerscale=2.5)
    return fig
