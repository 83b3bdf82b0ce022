"""The tables' verdict (experiments/verdict.py): which setting is best and which cannot be told
apart from it, on constructed sweeps whose answer is known."""

import numpy as np
import pandas as pd
import pytest

from experiments.verdict import told_apart, verdict

VARIED = ["model.recon", "model.kl.beta", "seed"]


def sweep(means: dict, seeds=(0, 1, 2), noise=0.01, metric="knn_acc") -> pd.DataFrame:
    """Rows as compare.collect gives them: one per (setting, seed); each seed shifts every
    setting alike (its split and initialisation), plus a little noise of each run's own."""
    rng = np.random.default_rng(0)
    shared = {seed: rng.normal(0, 0.03) for seed in seeds}
    rows = [{"model.recon": recon, "model.kl.beta": beta, "seed": seed,
             metric: mean + shared[seed] + rng.normal(0, noise)}
            for (recon, beta), mean in means.items() for seed in seeds]
    return pd.DataFrame(rows)


def test_a_clear_winner_is_named_and_the_rest_are_worse():
    runs = sweep({("bce", 0.5): 0.80, ("bce", 1.0): 0.70, ("mse", 1.0): 0.60})
    found = verdict(runs, VARIED, "knn_acc")
    assert found.best == "model.recon=bce, model.kl.beta=0.5" and found.seeds == 3
    assert found.ties == []
    assert "Every other setting is worse" in found.sentence()
    assert "0.80" in found.sentence() and "over 3 seeds" in found.sentence()


def test_a_gap_inside_the_seed_noise_is_a_tie():
    runs = sweep({("bce", 0.5): 0.475, ("bce", 1.0): 0.468, ("mse", 1.0): 0.30}, noise=0.02)
    found = verdict(runs, VARIED, "knn_acc")  # either may come out on top: seed noise
    assert {found.best, *found.ties} == {"model.recon=bce, model.kl.beta=0.5",
                                         "model.recon=bce, model.kl.beta=1"}
    assert found.sentence().endswith(f"{found.ties[0]}.") and "mse" not in found.sentence()
    assert "Not told apart from it, 1 of the 2 other settings" in found.sentence()


def test_the_settings_not_told_apart_are_named_nearest_first():
    values = {0.5: [0.50, 0.55, 0.45], 1.0: [0.52, 0.45, 0.46], 2.0: [0.47, 0.50, 0.50],
              4.0: [0.20, 0.21, 0.19]}  # means 0.5, 0.477, 0.49, 0.2
    runs = pd.DataFrame([{"model.recon": "bce", "model.kl.beta": beta, "seed": seed,
                          "knn_acc": value} for beta, seeds in values.items()
                         for seed, value in enumerate(seeds)])
    found = verdict(runs, VARIED, "knn_acc")
    assert found.best == "model.recon=bce, model.kl.beta=0.5"
    assert found.ties == ["model.recon=bce, model.kl.beta=2", "model.recon=bce, model.kl.beta=1"]


def test_pairing_by_seed_removes_the_noise_seeds_share():
    """A gap of 0.01 under a seed spread of 0.03: told apart when paired by seed (each seed
    moves both settings alike), not when the seeds are not shared."""
    runs = sweep({("bce", 0.5): 0.51, ("bce", 1.0): 0.50}, seeds=(0, 1, 2, 3), noise=0.001)
    assert verdict(runs, VARIED, "knn_acc").ties == []
    unshared = runs.assign(seed=[s + 10 * (r == 1.0) for s, r in
                                 zip(runs.seed, runs["model.kl.beta"])])
    assert verdict(unshared, VARIED, "knn_acc").ties == ["model.recon=bce, model.kl.beta=1"]


def test_one_seed_says_that_nothing_can_be_told_apart():
    runs = sweep({("bce", 0.5): 0.80, ("mse", 1.0): 0.10}, seeds=(0,))
    found = verdict(runs, VARIED, "knn_acc")
    assert found.best == "model.recon=bce, model.kl.beta=0.5" and found.fewest_seeds == 1
    assert "cannot tell settings apart" in found.sentence()
    assert "seed=0,1,2" in found.sentence()


def test_lower_is_better_metrics_pick_the_lowest():
    runs = sweep({("bce", 0.5): 2.0, ("mse", 1.0): 1.0}, metric="davies_bouldin")
    found = verdict(runs, VARIED, "davies_bouldin")
    assert found.best == "model.recon=mse, model.kl.beta=1" and "lower is better" in \
        found.sentence()


def test_a_setting_without_a_key_is_named_without_it_and_no_verdict_without_a_choice():
    runs = pd.concat([sweep({("bce", 0.5): 0.5}),
                      sweep({("mse", np.nan): 0.9}).assign(model="ae")], ignore_index=True)
    found = verdict(runs, ["model", *VARIED], "knn_acc")
    assert found.best == "model=ae, model.recon=mse"
    only_seeds = sweep({("bce", 0.5): 0.5})
    assert verdict(only_seeds, ["seed"], "knn_acc") is None  # nothing to choose between
    assert verdict(runs.assign(knn_acc=np.nan), VARIED, "knn_acc") is None  # no labels


@pytest.mark.parametrize("a, b, apart", [
    ({0: 0.5, 1: 0.6}, {0: 0.5, 1: 0.6}, False),  # identical runs
    ({0: 0.5, 1: 0.6}, {0: 0.4, 1: 0.5}, True),  # a constant gap, paired: no doubt
    ({0: 0.5}, {1: 0.1}, False),  # one run each: nothing to go on
])
def test_told_apart_at_the_edges(a, b, apart):
    assert told_apart(a, b) is apart
