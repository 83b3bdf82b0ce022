"""The sweep figures' layout, read back from the figures drawn (experiments/sweep_plots.py and
experiments/search_figures.py) over run folders holding real digits' codes."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from experiments.search_figures import best_runs, metric_vs_params, searched, short
from experiments.sweep_plots import embedding_grid, write_sweep_figures
from reducers.plots import plt


@pytest.fixture(scope="module")
def codes(tmp_path_factory):
    """One codes.npz of real digits' 2-D PCA codes, shared by every constructed run."""
    x, y = load_digits(return_X_y=True)
    path = tmp_path_factory.mktemp("codes") / "codes.npz"
    np.savez(path, test=PCA(2).fit_transform(x[:300]), test_labels=y[:300])
    return path


def runs(tmp_path, codes, rows: list[dict]) -> pd.DataFrame:
    for i, row in enumerate(rows):
        folder = tmp_path / str(i)
        folder.mkdir()
        (folder / "codes.npz").write_bytes(codes.read_bytes())
        row.setdefault("knn_acc", 0.5 + i / 100)
        row.update(run=str(folder), trustworthiness=0.8, seed=0)
    return pd.DataFrame(rows)


def titles(fig) -> list[list[str]]:
    """Each row's panel titles (first line), blank panels as ''."""
    axes = sorted(fig.axes[:], key=lambda a: (-round(a.get_position().y0, 3),
                                             a.get_position().x0))
    by_row = {}
    for ax in axes:
        by_row.setdefault(round(ax.get_position().y0, 3), []).append(
            ax.get_title().split("\n")[0])
    plt.close(fig)
    return list(by_row.values())


def test_the_grid_puts_each_beta_in_one_column_in_increasing_order(tmp_path, codes):
    """Jobs in the order 4, 2, 0.5 and the AE reference in one row only (the other's failed):
    every row still has the AE's column first and beta increasing, one beta per column."""
    rows = [{"model": "vae", "model.recon": recon, "model.kl.beta": beta}
            for recon in ("mse", "bce") for beta in (4.0, 2.0, 0.5)]
    rows.append({"model": "ae", "model.recon": "bce", "model.kl.beta": np.nan})
    ok = runs(tmp_path, codes, rows)
    grid = titles(embedding_grid(ok, ["model", "model.recon", "model.kl.beta"]))
    assert grid == [["ae", "beta=0.5", "beta=2", "beta=4"],  # bce
                    ["", "beta=0.5", "beta=2", "beta=4"]]  # mse: its AE column left blank


def test_a_search_gets_its_metric_against_each_setting_and_its_best_runs(tmp_path, codes):
    rng = np.random.default_rng(0)
    rows = [{"model.kl.beta": b, "optim.lr": lr, "model.net.hidden": h, "sweeper": "search"}
            for b, lr, h in zip(rng.uniform(1, 8, 10), 10 ** rng.uniform(-4, -2, 10),
                                ["[256, 128]", "[512, 256]"] * 5)]
    ok = runs(tmp_path, codes, rows)
    params = ["model.kl.beta", "optim.lr", "model.net.hidden"]
    assert searched(ok) and not searched(ok.assign(sweeper="grids"))
    fig = metric_vs_params(ok, params, "knn_acc")
    panels = fig.axes[:3]
    assert [ax.get_xlabel() for ax in panels] == params
    assert panels[1].get_xscale() == "log" and panels[0].get_xscale() == "linear"
    assert [t.get_text() for t in panels[2].get_xticklabels()] == ["[256, 128]", "[512, 256]"]
    plt.close(fig)
    best = [t for row in titles(best_runs(ok, params, "knn_acc")) for t in row if t]
    assert len(best) == 8 and best[0].startswith("#1 beta=") and "lr=" in best[0]
    top = ok.sort_values("knn_acc", ascending=False).iloc[0]  # the best, in 3 digits
    assert f"lr={short(top['optim.lr'])} " in best[0] and len(short(top["optim.lr"])) <= 9
    write_sweep_figures(ok, [*params, "seed"], tmp_path, "knn_acc")
    assert {p.name for p in tmp_path.glob("*.png")} == {"metric_vs_params.png",
                                                         "embeddings.png"}


def test_the_frontier_takes_means_over_seeds_and_keeps_the_undominated(tmp_path, codes):
    """Separation against faithfulness: a, b and UMAP trade one for the other (the frontier),
    c and PCA are beaten on both by a; t-SNE has no held-out figures (it cannot place unseen
    rows), so its own split's stand in, drawn hollow and left off the frontier."""
    from experiments.frontier_plot import points, write

    def setting(name, model, knn, trust, seeds=(1, 2), heldout=True):
        return [{"experiment": name, "model": model, "seed": s, "knn_acc": knn[i] - 0.01,
                 "trustworthiness": trust[i] - 0.01,
                 "heldout_knn_acc": knn[i] if heldout else np.nan,
                 "heldout_trustworthiness": trust[i] if heldout else np.nan}
                for i, s in enumerate(seeds)]
    rows = [*setting("a", "ae", (0.90, 0.92), (0.90, 0.90)),
            *setting("b", "vae", (0.85, 0.85), (0.95, 0.97)),
            *setting("c", "vae", (0.80, 0.82), (0.88, 0.90)),
            *setting("pca", "pca", (0.43,), (0.75,), seeds=(1,)),
            *setting("umap", "umap", (0.86,), (0.945,), seeds=(1,)),
            *setting("tsne", "tsne", (0.93,), (0.97,), seeds=(1,), heldout=False)]
    ok = runs(tmp_path, codes, [dict(r) for r in rows])
    ok[["knn_acc", "trustworthiness"]] = pd.DataFrame(rows)[["knn_acc", "trustworthiness"]]
    table = points(ok, ["experiment", "model", "seed"]).set_index("label")
    assert table.loc["a", "knn"] == pytest.approx(0.91) and table.loc["a", "seeds"] == 2
    assert table.loc["a", "knn_std"] == pytest.approx(np.std([0.90, 0.92], ddof=1))
    assert table.frontier.to_dict() == {"a": True, "b": True, "c": False, "pca": False,
                                        "tsne": False, "umap": True}
    tsne = table.loc["tsne"]
    assert tsne.transductive and tsne.knn == pytest.approx(0.92)  # its own split's
    write(ok, ["experiment", "model", "seed"], tmp_path)
    assert (tmp_path / "frontier.png").stat().st_size > 10_000
    write(ok.drop(columns=["heldout_knn_acc", "heldout_trustworthiness"]), ["model"],
          tmp_path / "none")
    assert not (tmp_path / "none").exists()  # no held-out set: no figure


def test_the_frontiers_labels_name_what_was_changed_not_what_a_preset_sets():
    from experiments.frontier_plot import label_of

    text = pd.DataFrame({"experiment": ["a", "a", "a", "b", "—", "—"],
                         "trainer.epochs": ["100", "100", "100", "130", "—", "—"],
                         "trainer.augment_shift": ["2", "1", "2", "2", "—", "—"],
                         "model.embedding.dof": ["1", "1", "0.5", "—", "—", "—"],
                         "model": ["vae", "vae", "vae", "ae", "pca", "umap"]})
    keys = list(text)
    assert [label_of(text, keys, i) for i in range(6)] == [
        "a", "a augment_shift=1", "a dof=0.5", "b", "pca", "umap"]


def test_a_sweep_over_presets_labels_each_row_by_what_it_changed(tmp_path, codes):
    rows = [{"experiment": e, "model": m, "trainer.epochs": n, "trainer.augment_shift": s}
            for e, m, n, s in [("visual_vae", "vae", 100, 2), ("visual_vae", "vae", 100, 1),
                               ("visual_vae", "vae", 100, 2.5), ("quality_ae", "ae", 100, 0)]]
    rows.append({"experiment": np.nan, "model": "pca", "trainer.epochs": 50,
                 "trainer.augment_shift": 0})
    ok = runs(tmp_path, codes, rows)
    fig = embedding_grid(ok, ["experiment", "model", "trainer.epochs", "trainer.augment_shift"])
    labels = sorted(ax.get_ylabel() for ax in fig.axes if ax.get_ylabel())
    plt.close(fig)
    assert labels == sorted(["visual_vae\naugment_shift=1", "visual_vae\naugment_shift=2.5",
                             "visual_vae\naugment_shift=2", "quality_ae", "pca"])
