"""Flags on runs whose numbers should not decide anything alone (experiments/flags.py), and
the verdict's warning when the best setting carries one."""

import pandas as pd
import pytest

from experiments.flags import FEW_STEPS, legend, optimiser_steps, run_flags, still_improving
from experiments.verdict import verdict


def history(tmp_path, losses):
    path = tmp_path / "history.csv"
    pd.DataFrame({"epoch": range(1, len(losses) + 1), "train_total": losses}).to_csv(path)
    return path


NETWORK = {"model": "vae", "epochs_completed": 50, "trainer.batch_size": 128, "active_units": 2}


@pytest.mark.parametrize("change, n_train, expected", [
    ({}, 4000, []),  # 50 x 32 = 1,600 steps, two active units
    ({"active_units": 0}, 4000, ["collapsed"]),
    ({"epochs_completed": 5}, 4000, ["few steps"]),  # 5 x 32 = 160
    ({"active_units": 0, "epochs_completed": 1}, 240, ["collapsed", "few steps"]),
    ({"model": "pca", "epochs_completed": 0}, 4000, []),  # fitted in one go: no epochs
])
def test_collapsed_and_few_steps(tmp_path, change, n_train, expected):
    assert run_flags({**NETWORK, **change}, tmp_path, n_train) == expected


def test_steps_are_epochs_times_batches_and_unknown_without_the_sizes():
    assert optimiser_steps(NETWORK, 4000) == 50 * 32
    assert optimiser_steps(NETWORK, 4097) == 50 * 33  # the last, smaller batch counts
    assert optimiser_steps(NETWORK, None) is None
    assert optimiser_steps({**NETWORK, "epochs_completed": 3}, 100 * 128) == 300 < FEW_STEPS


@pytest.mark.parametrize("losses, improving", [
    ([10, 8, 6, 5, 4.5, 4.2, 4.0, 3.9, 3.8, 3.7], True),  # 3.9 -> 3.7 over the last fifth
    ([10, 8, 6, 5, 4, 4, 4, 4, 4, 3.99], False),  # a 0.25% fall: settled
    ([10, 5], False),  # too few epochs to tell
    ([10, 8, 6, 7, 9], False),  # rising: not improving (maybe worse, but not this flag)
])
def test_still_improving_over_the_last_fifth(tmp_path, losses, improving):
    assert still_improving(history(tmp_path, losses)) is improving


def test_a_run_without_a_readable_history_is_not_flagged(tmp_path):
    assert not still_improving(tmp_path / "history.csv")
    (tmp_path / "history.csv").write_text("epoch,other\n1,2\n")
    assert not still_improving(tmp_path / "history.csv")
    history(tmp_path, [10, 9, 8, 7, 6])
    assert run_flags(NETWORK, tmp_path, 4000) == ["still improving"]


def test_the_legend_explains_only_the_flags_shown():
    assert legend(pd.Series(["", "", ""])) == ""
    said = legend(pd.Series(["collapsed, few steps", "", "few steps"]))
    assert said.startswith("Flags: *collapsed*: no active code dimension")
    assert f"fewer than {FEW_STEPS} optimiser steps" in said and "still improving" not in said


def test_the_verdict_warns_when_the_best_setting_is_flagged():
    rows = [{"model.kl.beta": beta, "seed": seed, "knn_acc": acc + 0.01 * seed, "flags": flags}
            for beta, acc, flags in ((0.5, 0.3, "collapsed"), (4.0, 0.2, ""))
            for seed in range(3)]
    said = verdict(pd.DataFrame(rows), ["model.kl.beta", "seed"], "knn_acc").sentence()
    assert said.startswith("Best `knn_acc` (higher is better): model.kl.beta=0.5")
    assert said.endswith("Beware: its runs are flagged collapsed (see the note under the table).")
    unflagged = pd.DataFrame(rows).assign(flags="")
    assert "Beware" not in verdict(unflagged, ["model.kl.beta", "seed"], "knn_acc").sentence()
