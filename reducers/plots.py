"""Figures for one run. Matplotlib only (Agg); every figure is saved atomically as PNG."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from reducers.io import atomic_open  # noqa: E402

CLASS_COLOURS = plt.get_cmap("tab10")


def save(fig: Figure, path: str | Path) -> None:
    with atomic_open(path) as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def draw_codes(ax, codes: np.ndarray, labels: np.ndarray, size: float = 5) -> None:
    """Scatter 2-D codes coloured by class, on equal axes (shared with the sweep grids)."""
    for c in np.unique(labels):
        pts = codes[labels == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=size, alpha=0.6, color=CLASS_COLOURS(int(c) % 10),
                   label=str(c), linewidths=0)
    ax.set_aspect("equal", adjustable="datalim")


def scatter(codes: np.ndarray, labels: np.ndarray, title: str) -> Figure:
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    draw_codes(ax, codes[:, :2], labels, size=8)
    ax.set(title=title, xlabel="z1", ylabel="z2")
    ax.legend(title="class", loc="center left", bbox_to_anchor=(1.01, 0.5), markerscale=2.5,
              frameon=False)
    return fig


def tile(images: np.ndarray, ncols: int, pad: int = 1, pad_value: float = 0.15) -> np.ndarray:
    """(N, h, w) images -> one (rows*(h+pad)-pad, ncols*(w+pad)-pad) array; the padding is
    light grey under the ``gray_r`` colour map (0 = white paper, 1 = black ink)."""
    n, h, w = images.shape
    nrows = -(-n // ncols)
    out = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad), pad_value, np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = img
    return out


def image_grid(images: np.ndarray, image_shape: tuple[int, int], ncols: int, title: str,
               row_labels: list[str] | None = None) -> Figure:
    grid = tile(images.reshape(-1, *image_shape), ncols)
    nrows = -(-len(images) // ncols)
    cell = 0.5 if ncols <= 12 else 0.32  # inches per image
    fig, ax = plt.subplots(figsize=(cell * ncols + 1, cell * nrows + 0.6))
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[:].set_visible(False)
    if row_labels:
        h = image_shape[0] + 1
        ax.set_yticks([h * i + h / 2 - 1 for i in range(nrows)], row_labels)
        ax.tick_params(left=False)
    return fig


def first_per_class(labels: np.ndarray, per_class: int = 2) -> np.ndarray:
    """Indices of the first ``per_class`` examples of each class, interleaved by class."""
    picks = [np.flatnonzero(labels == c)[:per_class] for c in np.unique(labels)]
    return np.array([p[i] for i in range(per_class) for p in picks if i < len(p)])


@torch.inference_mode()
def reconstructions(model, x: np.ndarray, labels: np.ndarray, image_shape) -> Figure:
    idx = first_per_class(labels)
    ncols = len(np.unique(labels))
    xs = torch.from_numpy(x[idx])
    recon = model.reconstruct(xs).numpy()
    rows = []  # input row, then its reconstruction row
    for r in range(0, len(idx), ncols):
        rows += [x[idx][r:r + ncols], recon[r:r + ncols]]
    return image_grid(np.concatenate(rows), image_shape, ncols, "test images and reconstructions",
                      row_labels=["input", "reconstruction"] * (len(rows) // 2))


@torch.inference_mode()
def prior_samples(model, image_shape, n: int = 100, seed: int = 0) -> Figure:
    z = torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    return image_grid(model.decode(z).numpy(), image_shape, 10, "decoded samples from the prior")


@torch.inference_mode()
def manifold(model, codes: np.ndarray, image_shape, n: int = 16) -> Figure:
    """Decode an n x n grid spanning the 1st-99th percentile of the test codes (2-D codes)."""
    lo, hi = np.percentile(codes, [1, 99], axis=0)
    z1 = np.linspace(lo[0], hi[0], n)
    z2 = np.linspace(hi[1], lo[1], n)  # top row = high z2, as on a scatter plot
    grid = np.stack(np.meshgrid(z1, z2), axis=-1).reshape(-1, 2).astype(np.float32)
    images = model.decode(torch.from_numpy(grid)).numpy()
    fig = image_grid(images, image_shape, n,
                     "decoded latent manifold (1st-99th percentile of test codes)")
    ax = fig.axes[0]
    ax.set_xticks([0, ax.get_xlim()[1]], [f"z1={lo[0]:.2g}", f"{hi[0]:.2g}"])
    ax.set_yticks([0, ax.get_ylim()[0]], [f"z2={hi[1]:.2g}", f"{lo[1]:.2g}"])
    return fig


def loss_curves(history: list[dict], title: str) -> Figure:
    keys = [k for k in ("total", "recon", "kl") if f"train_{k}" in history[0]]
    names = {"total": "objective (as optimised)", "recon": "reconstruction", "kl": "KL"}
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), squeeze=False)
    epochs = [row["epoch"] for row in history]
    for ax, key in zip(axes[0], keys):
        for split, style in (("train", "-"), ("test", "--")):
            if f"{split}_{key}" in history[0]:
                ax.plot(epochs, [row[f"{split}_{key}"] for row in history], style, label=split)
        ax.set(title=names[key], xlabel="epoch")
        ax.legend(frameon=False)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def write_run_figures(run_dir: Path, model, split, history: list[dict], label: str,
                      codes: np.ndarray | None, knn_acc: float | None) -> None:
    """All figures of one run from its test ``codes`` (M, d); only the loss curves when there
    is no trained model to show (``codes`` None)."""
    run_dir = Path(run_dir)
    if history:
        save(loss_curves(history, label), run_dir / "loss_curves.png")
    if codes is None:
        return
    dims = "" if model.latent_dim == 2 else f" (first 2 of {model.latent_dim} dims)"
    save(scatter(codes, split.y_test, f"{label}\n{split.name} test codes{dims}, "
                 f"knn_acc={knn_acc:.3f}"), run_dir / "scatter.png")
    if not getattr(model, "has_decoder", True):  # baselines: nothing to decode
        return
    save(reconstructions(model, split.x_test, split.y_test, split.image_shape),
         run_dir / "reconstructions.png")
    if model.has_prior:
        save(prior_samples(model, split.image_shape), run_dir / "samples.png")
    if model.latent_dim == 2:
        save(manifold(model, codes, split.image_shape), run_dir / "manifold.png")
