"""Figures for one run. Matplotlib only (Agg); every figure is saved atomically as PNG."""

import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from reducers.io import atomic_open  # noqa: E402

CLASS_COLOURS = plt.get_cmap("tab10")
MOST_POINTS = 20_000  # a scatter draws a random sample of this many of more points


def save(fig: Figure, path: str | Path) -> None:
    """PNG at zlib level 1: the same pixels as the default level 6, encoded 4x faster (a fifth
    of a run's figure time) into files about a third larger."""
    with atomic_open(path) as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight",
                    pil_kwargs={"compress_level": 1})
    plt.close(fig)


def draw_codes(ax, codes: np.ndarray, labels: np.ndarray | None, size: float = 5,
               class_names: tuple[str, ...] | None = None) -> None:
    """Scatter 2-D codes coloured by class, on equal axes (shared with the sweep grids); codes
    without labels coloured by their density. 1-D codes: a strip, jittered vertically."""
    if codes.shape[1] == 1:
        jitter = np.random.default_rng(0).uniform(-0.4, 0.4, len(codes))
        codes = np.column_stack([codes[:, 0], jitter * np.ptp(codes[:, 0]) / 4])
    if labels is None:
        ax.scatter(codes[:, 0], codes[:, 1], s=size, c=density(codes), cmap="viridis",
                   linewidths=0)
    else:
        for c in np.unique(labels):
            pts = codes[labels == c]
            ax.scatter(pts[:, 0], pts[:, 1], s=size, alpha=0.6,
                       color=CLASS_COLOURS(int(c) % 10), linewidths=0,
                       label=class_names[c] if class_names else str(c))
    ax.set_aspect("equal", adjustable="datalim")


def density(codes: np.ndarray) -> np.ndarray:
    """Each point's local density as the rank of its inverse distance to its k-th nearest
    neighbour (k about a tenth of the points, at most 15), in [0, 1]: 1 = densest."""
    from sklearn.neighbors import NearestNeighbors  # slow to import: only when drawn

    k = int(np.clip(len(codes) // 10, 1, 15))
    if len(codes) <= k:
        return np.ones(len(codes))
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(codes).kneighbors(codes)
    order = np.argsort(-distances[:, -1], kind="stable")  # farthest first
    ranks = np.empty(len(codes))
    ranks[order] = np.arange(len(codes))
    return ranks / max(len(codes) - 1, 1)


def scatter(codes: np.ndarray, labels: np.ndarray | None, title: str,
            class_names: tuple[str, ...] | None = None) -> Figure:
    """The test codes; by class, or (no labels) by density, which the title then says. Of
    more than ``MOST_POINTS`` codes a random sample of that many is drawn (the title says so):
    a million points draw no faster and no clearer than a sample of them."""
    if len(codes) > MOST_POINTS:
        title += f"\na random {MOST_POINTS:,} of the {len(codes):,} codes"
        sample = np.random.default_rng(0).choice(len(codes), MOST_POINTS, replace=False)
        codes, labels = codes[sample], None if labels is None else labels[sample]
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    draw_codes(ax, codes[:, :2], labels, size=8, class_names=class_names)
    one_d = codes.shape[1] == 1
    if labels is None:
        title += "\nno labels: coloured by density (light = dense)"
    ax.set(title=title, xlabel="z1", ylabel="jitter" if one_d else "z2")
    if one_d:
        ax.set_yticks([])
    if labels is not None:
        ax.legend(title="class", loc="center left", bbox_to_anchor=(1.01, 0.5),
                  markerscale=2.5, frameon=False)
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
    for ax, key in zip(axes[0], keys):
        for split, style in (("train", "-"), ("test", "o--")):  # test: the evaluated epochs
            rows = [row for row in history if f"{split}_{key}" in row]
            if rows:
                ax.plot([row["epoch"] for row in rows], [row[f"{split}_{key}"] for row in rows],
                        style, label=split, markersize=3)
        ax.set(title=names[key], xlabel="epoch")
        ax.legend(frameon=False)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@torch.inference_mode()
def feature_reconstructions(model, x: np.ndarray, feature_names: tuple[str, ...] | None,
                            most: int = 40, codes: np.ndarray | None = None) -> Figure:
    """For data that are not images: the test error of each feature (the ``most`` worst when
    there are more), and true against reconstructed values of the test entries; of a random
    ``MOST_POINTS`` test rows where there are more (the title says so). ``codes``: those of
    ``x``, when the caller has them (else encoded here)."""
    from reducers.scoring import decode, encode

    codes = encode(model, x) if codes is None else codes
    of, sample = "", np.arange(len(x))
    if len(x) > MOST_POINTS:  # a random sample of the rows, enough for both panels
        of = f", {MOST_POINTS:,} random rows of {len(x):,}"
        sample = np.sort(np.random.default_rng(0).choice(len(x), MOST_POINTS, replace=False))
    x, codes = x[sample], codes[sample]  # arrays (rows on disk are read here)
    recon = decode(model, torch.from_numpy(codes))  # (N, D)
    error = ((recon - x) ** 2).mean(axis=0)  # (D,)
    names = list(feature_names or [f"x{i}" for i in range(x.shape[1])])
    shown = np.argsort(error)[::-1][:most]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2),
                                      gridspec_kw={"width_ratios": [1.6, 1]})
    left.bar(range(len(shown)), error[shown], color="tab:blue")
    left.set_xticks(range(len(shown)), [names[i] for i in shown], rotation=90,
                    fontsize=7 if len(shown) > 20 else 9)
    worst = "" if len(shown) == len(names) else f" (the {len(shown)} worst of {len(names)})"
    left.set(title=f"test MSE per feature{worst}{of}", ylabel="mean squared error")
    sample = np.random.default_rng(0).choice(x.size, min(x.size, 20000), replace=False)
    right.scatter(x.ravel()[sample], recon.ravel()[sample], s=2, alpha=0.3, linewidths=0)
    lo, hi = float(min(x.min(), recon.min())), float(max(x.max(), recon.max()))
    right.plot([lo, hi], [lo, hi], color="grey", lw=1)
    right.set(title="test entries: true vs reconstructed", xlabel="true (scaled)",
              ylabel="reconstructed")
    fig.tight_layout()
    return fig


def write_run_figures(run_dir: Path, model, split, history: list[dict], label: str,
                      codes: np.ndarray | None, knn_acc: float | None) -> dict[str, float]:
    """All figures of one run from its test ``codes`` (M, d); only the loss curves when there
    is no trained model to show (``codes`` None). Image figures only for images; other data
    get a per-feature reconstruction figure. Returns the seconds each took, drawn and saved."""
    run_dir = Path(run_dir)
    figures = {}  # file name -> what draws it
    if history:
        figures["loss_curves.png"] = lambda: loss_curves(history, label)
    if codes is not None:
        dims = "" if model.latent_dim <= 2 else f" (first 2 of {model.latent_dim} dims)"
        score = "" if knn_acc is None else f", knn_acc={knn_acc:.3f}"
        figures["scatter.png"] = lambda: scatter(
            codes, split.y_test, f"{label}\n{split.name} test codes{dims}{score}",
            split.class_names)
    if codes is not None and getattr(model, "has_decoder", True):  # baselines: no decoder
        figures.update(_decoder_figures(model, split, codes))
    seconds = {}
    for name, draw in figures.items():
        started = time.perf_counter()
        save(draw(), run_dir / name)
        seconds[name] = time.perf_counter() - started
    return seconds


def _decoder_figures(model, split, codes: np.ndarray) -> dict:
    if split.image_shape is None:
        return {"reconstructions.png": lambda: feature_reconstructions(
            model, split.x_test, split.feature_names, codes=codes)}
    labels = split.y_test if split.labelled else np.arange(len(split.x_test)) % 10  # 20 images
    figures = {"reconstructions.png": lambda: reconstructions(model, split.x_test, labels,
                                                              split.image_shape)}
    if model.has_prior:
        figures["samples.png"] = lambda: prior_samples(model, split.image_shape)
    if model.latent_dim == 2:
        figures["manifold.png"] = lambda: manifold(model, codes, split.image_shape)
    return figures
