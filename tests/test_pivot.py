"""The pivot of a sweep over two keys or more (experiments/pivot.py) on constructed runs."""

import matplotlib.image
import numpy as np
import pandas as pd

from experiments.pivot import heatmap, layout, pivot_markdown, write_heatmap

VARIED = ["model", "model.recon", "model.kl.beta", "seed"]


def runs(with_ae=True, seeds=(0, 1, 2)) -> pd.DataFrame:
    """VAE over beta x loss, knn_acc = beta / 10 + (0.1 for bce) + seed / 100; the AE without
    beta at 0.9 and 0.95."""
    rows = [{"model": "vae", "model.recon": recon, "model.kl.beta": beta, "seed": seed,
             "knn_acc": beta / 10 + (0.1 if recon == "bce" else 0) + seed / 100}
            for recon in ("mse", "bce") for beta in (4.0, 0.5, 1.0) for seed in seeds]
    if with_ae:
        rows += [{"model": "ae", "model.recon": recon, "model.kl.beta": np.nan, "seed": seed,
                  "knn_acc": 0.9 + (0.05 if recon == "bce" else 0)}
                 for recon in ("mse", "bce") for seed in seeds]
    return pd.DataFrame(rows)


def table_rows(md: str) -> dict:
    """{row label: [cells]} of every table row in ``md`` (a later section overwrites)."""
    return {cells[0]: cells[1:] for cells in
            ([c.strip() for c in line.strip("|").split("|")] for line in md.splitlines()
             if line.startswith("| ") and "\\" not in line)}


def test_two_keys_make_one_matrix_with_the_best_in_bold():
    two = runs(with_ae=False)
    assert layout(two, ["model.recon", "model.kl.beta", "seed"]) == \
        ("model.kl.beta", "model.recon", [])  # rows: the key with the most values
    md = pivot_markdown(two, ["model.recon", "model.kl.beta", "seed"], "knn_acc")
    assert md.startswith("## knn_acc ↑ by model.kl.beta × model.recon")
    assert "| model.kl.beta \\ model.recon | mse | bce |" in md
    rows = table_rows(md)
    assert list(rows) == ["0.5", "1", "4"]  # numbers in increasing order
    assert rows["0.5"] == ["0.060 ± 0.010 (3)", "0.160 ± 0.010 (3)"]
    assert rows["4"][1] == "**0.510 ± 0.010 (3)**" and md.count("**") == 2


def test_a_third_key_makes_sections_and_a_missing_key_is_a_row_of_its_own():
    md = pivot_markdown(runs(), VARIED, "knn_acc")
    assert "One table per model." in md
    vae, ae = md.split("### model=vae")[1].split("### model=ae")
    assert "**0.510 ± 0.010 (3)**" in vae and "**0.950 ± 0.000 (3)**" in ae
    assert table_rows(ae) == {"—": ["0.900 ± 0.000 (3)", "**0.950 ± 0.000 (3)**"]}


def test_lower_is_better_marks_the_lowest_and_one_key_has_no_pivot():
    flipped = runs(with_ae=False).rename(columns={"knn_acc": "davies_bouldin"})
    md = pivot_markdown(flipped, ["model.recon", "model.kl.beta", "seed"], "davies_bouldin")
    assert table_rows(md)["0.5"][0] == "**0.060 ± 0.010 (3)**"
    assert pivot_markdown(runs(), ["model.kl.beta", "seed"], "knn_acc") == ""
    assert pivot_markdown(runs().assign(knn_acc=np.nan), VARIED, "knn_acc") == ""  # no labels


def test_one_seed_shows_no_spread():
    md = pivot_markdown(runs(with_ae=False, seeds=(0,)), VARIED[1:], "knn_acc")
    assert table_rows(md)["0.5"] == ["0.050 (1)", "0.150 (1)"]


def test_the_heatmap_has_a_panel_per_section(tmp_path):
    for name in ("two", "one", "none"):
        (tmp_path / name).mkdir()
    assert write_heatmap(runs(), VARIED, "knn_acc", tmp_path / "two")
    assert write_heatmap(runs(with_ae=False), VARIED, "knn_acc", tmp_path / "one")
    assert matplotlib.image.imread(tmp_path / "two" / "pivot.png").shape[1] > 300
    two = heatmap(runs(), VARIED, "knn_acc")  # the AE's section, the VAE's
    assert [ax.get_title() for ax in two.axes] == ["model=vae", "model=ae"]
    assert [len(ax.images) for ax in two.axes] == [1, 1]
    assert len({ax.images[0].get_clim() for ax in two.axes}) == 1  # one colour scale
    boxed = [p for ax in two.axes for p in ax.patches]
    assert len(boxed) == 1 and boxed[0].axes.get_title() == "model=ae"  # the best: AE bce 0.95
    assert len(heatmap(runs(with_ae=False), VARIED, "knn_acc").axes) == 1
    assert not write_heatmap(runs(), ["model.kl.beta"], "knn_acc", tmp_path / "none")
    assert not list((tmp_path / "none").iterdir())


def test_a_search_whose_values_never_repeat_gets_no_pivot():
    """An Optuna search: every trial has its own beta and lr, so no grid to lay them on."""
    rng = np.random.default_rng(0)
    search = pd.DataFrame({"model.kl.beta": rng.uniform(0.1, 8, 12),
                           "optim.lr": 10 ** rng.uniform(-4, -2, 12),
                           "model.net.hidden": ["[256, 128]", "[512, 256]"] * 6,
                           "knn_acc": rng.uniform(0.5, 0.9, 12)})
    varied = ["model.kl.beta", "optim.lr", "model.net.hidden"]
    assert layout(search, varied) is None and pivot_markdown(search, varied, "knn_acc") == ""
    grid = runs(with_ae=False)  # the same check keeps a grid's two keys
    assert layout(grid, ["model.recon", "model.kl.beta", "seed"]) is not None
