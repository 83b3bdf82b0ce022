"""Anomaly detection on real digits: detectors, the two protocols, the threshold rates, the
chain variants end to end, the command line and the sweep tables."""

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import torch

from experiments.anomaly import detect
from reducers.anomaly import (Reference, detection_metrics, fuse, protocol_split, vae_score)
from reducers.errors import DataError
from reducers.vae import VAE
from tests.conftest import StopAfter, run_cli

SHORT = ["trainer.epochs=4", "detector.hidden=[128]", "trainer.progress=false"]
TINY = ["trainer.epochs=2", "detector.hidden=[32]", "data.limit=1000", "trainer.progress=false"]


@pytest.mark.parametrize("detector", ["ae", "vae"])
def test_a_detector_trained_on_ones_scores_other_digits_higher(compose_anomaly, tmp_path,
                                                              detector):
    record = detect(compose_anomaly(*SHORT, f"detector={detector}", "anomaly.normal_class=1",
                                    "anomaly.figures=false"), tmp_path)
    assert record["status"] == "ok"
    assert record["sizes"] == {"train": 400, "test": 1000, "test_anomalous": 900, "held_out": 0}
    assert record["metrics"]["auroc"] > 0.9, record["metrics"]
    scores = np.load(tmp_path / "scores.npz")
    anomalous, normal = scores["test"][scores["is_anomaly"]], scores["test"][~scores["is_anomaly"]]
    assert anomalous.mean() > normal.mean()
    assert (scores["test_labels"] != 1).tolist() == scores["is_anomaly"].tolist()


def test_threshold_rates_follow_their_definition():
    train = np.arange(100, dtype=float)  # the 95% quantile is 94.05
    test = np.array([10, 95, 99, 50, 200, 20, 94.05])
    is_anomaly = np.array([False, False, False, False, True, True, True])
    m = detection_metrics(train, test, is_anomaly, quantile=0.95)
    assert m["threshold"] == pytest.approx(94.05)
    assert m["fpr"] == pytest.approx(2 / 4)  # 95 and 99 flagged among the normal
    assert m["fnr"] == pytest.approx(2 / 3)  # 20 and 94.05 (not above) missed
    assert m["train_flagged"] == pytest.approx(0.05)
    with pytest.raises(DataError, match="both normal and anomalous"):
        detection_metrics(train, test, np.zeros(7, bool))


def test_rates_of_a_real_run_match_its_scores(compose_anomaly, tmp_path):
    record = detect(compose_anomaly(*TINY, "anomaly.normal_class=3",
                                    "anomaly.threshold_quantile=0.9", "anomaly.figures=false"),
                    tmp_path)
    s = np.load(tmp_path / "scores.npz")
    m = record["metrics"]
    threshold = np.quantile(s["train"], 0.9)
    flagged = s["test"] > threshold
    assert m["threshold"] == pytest.approx(threshold)
    assert m["fpr"] == pytest.approx(flagged[~s["is_anomaly"]].mean())
    assert m["fnr"] == pytest.approx(1 - flagged[s["is_anomaly"]].mean())
    assert abs(m["train_flagged"] - 0.1) < 0.02


def test_a_held_out_threshold_uses_normal_images_kept_from_training(compose_anomaly, tmp_path):
    record = detect(compose_anomaly(*TINY, "anomaly.normal_class=5",
                                    "anomaly.held_out_fraction=0.25", "anomaly.figures=false"),
                    tmp_path)
    assert record["sizes"]["train"] == 60 and record["sizes"]["held_out"] == 20  # of 80 fives
    s = np.load(tmp_path / "scores.npz")
    assert len(s["train"]) == 60 and len(s["held_out"]) == 20
    m = record["metrics"]
    flagged = s["test"] > np.quantile(s["held_out"], 0.95)
    assert m["held_out_threshold"] == pytest.approx(np.quantile(s["held_out"], 0.95))
    assert m["held_out_fpr"] == pytest.approx(flagged[~s["is_anomaly"]].mean())
    assert m["held_out_fnr"] == pytest.approx(1 - flagged[s["is_anomaly"]].mean())


def test_protocols_pick_the_training_images_and_the_anomalies(digits):
    one = protocol_split(digits, "one_class", 4)
    assert set(one.y_train) == {4} and (one.is_anomaly == (digits.y_test != 4)).all()
    loo = protocol_split(digits, "leave_one_out", 4)
    assert 4 not in set(loo.y_train) and len(set(loo.y_train)) == 9
    assert (loo.is_anomaly == (digits.y_test == 4)).all()
    with pytest.raises(DataError, match=r"anomaly.anomaly_class=12 is invalid: .* 0, 1"):
        protocol_split(digits, "leave_one_out", 12)


def test_leave_one_out_runs_end_to_end(compose_anomaly, tmp_path):
    record = detect(compose_anomaly(*TINY, "anomaly.protocol=leave_one_out",
                                    "anomaly.anomaly_class=7"), tmp_path)
    assert record["status"] == "ok" and record["class"] == 7
    assert record["sizes"]["test_anomalous"] == 20  # 7s among 200 test digits
    assert 0 <= record["metrics"]["auroc"] <= 1


@pytest.mark.parametrize("variant", ["variant=fusion detector.fusion=mean",
                                     "variant=fusion detector.fusion=max",
                                     "variant=fusion detector.fusion=rank",
                                     "variant=latent", "variant=residual"])
def test_chain_variants_run_end_to_end(compose_anomaly, tmp_path, variant):
    overrides = [f"detector.{variant.split()[0]}", *variant.split()[1:]]
    record = detect(compose_anomaly(*TINY, "detector=chain", *overrides), tmp_path)
    assert record["status"] == "ok", record
    assert 0 <= record["metrics"]["auroc"] <= 1
    written = {p.name for p in tmp_path.iterdir()}
    assert {"metrics.json", "scores.npz", "scores.png", "roc.png", "extremes.png",
            "codes.png", "history_autoencoder.csv", "history_vae.csv"} <= written
    if "rank" in variant:  # the mean of two percentiles of the training scores
        s = np.load(tmp_path / "scores.npz")["test"]
        assert s.min() >= 0 and s.max() <= 1


def test_fusion_puts_scores_on_their_training_scale():
    rng = np.random.default_rng(0)
    a, b = rng.normal(100, 10, 1000), rng.normal(-5, 0.1, 1000)
    refs = [Reference.of(a), Reference.of(b)]
    fused = fuse([a, b], refs, "mean")
    assert abs(fused.mean()) < 1e-9  # both z-scored on the same data: mean 0
    ranks = fuse([a, b], refs, "rank")
    assert 0 < ranks.min() and ranks.max() <= 1
    own = np.sort(fuse([a], refs[:1], "rank"))  # a training score's rank among its own
    np.testing.assert_allclose(own, np.arange(1, 1001) / 1000)
    assert (fuse([a, b], refs, "max") >= fused).all()


def test_elbo_is_the_reconstruction_probability_plus_the_kl(digits):
    torch.manual_seed(0)
    vae = VAE(digits.input_dim, hidden=[32], latent_dim=2)
    x = torch.from_numpy(digits.x_test[:50])
    elbo = vae_score(vae, x, "elbo", n_samples=5, seed=3)
    recon = vae_score(vae, x, "recon_prob", n_samples=5, seed=3)
    mu, logvar = vae.posterior(x)
    kl = (-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)).detach().numpy()
    np.testing.assert_allclose(elbo - recon, kl, rtol=1e-4, atol=1e-3)
    assert (elbo >= recon).all()


BAD = [("anomaly.normal_class=11", "anomaly.normal_class=11 is invalid"),
       ("detector=vae detector.n_samples=0", "detector.n_samples=0 is invalid"),
       ("anomaly.threshold_quantile=1", "must be in (0, 1)"),
       ("anomaly.held_out_fraction=0.9", "must be in [0, 0.5]"),
       ("detector.variant=latent", "Key 'variant' not in 'AEDetectorConfig'"),
       ("detector=chain detector.fusion=median", "expected one of [mean, max"),
       ("anomaly.protocol=all", "anomaly.protocol=all"),
       ("trainer.resume=true", "does not resume"),
       ("detector.kind=vae", "choose detector=vae instead")]


def test_command_line_run_and_bad_input(tmp_path):
    def attempt(case):
        index, (override, _) = case
        folder = tmp_path / str(index)
        return folder, run_cli(*TINY, *override.split(), f"hydra.run.dir={folder}",
                               module="experiments.anomaly")
    good = tmp_path / "good"
    with ThreadPoolExecutor(2) as pool:  # each is a fresh Python: ~3 s
        ok = pool.submit(run_cli, *TINY, "detector=vae", "anomaly.normal_class=2",
                         f"hydra.run.dir={good}", module="experiments.anomaly")
        bad = list(pool.map(attempt, enumerate(BAD)))
    assert ok.result().returncode == 0, ok.result().stderr
    assert json.loads((good / "metrics.json").read_text())["status"] == "ok"
    for (override, message), (folder, proc) in zip(BAD, bad):
        assert proc.returncode == 2, (override, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (override, proc.stderr)
        assert not (folder / "metrics.json").exists()


def test_a_sweep_ends_with_per_class_tables(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", *TINY, "detector=ae,vae", "anomaly.normal_class=0,1",
                   "anomaly.figures=false", f"hydra.sweep.dir={sweep}",
                   module="experiments.anomaly")
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(sweep / "comparison.csv")
    assert sorted(zip(table.detector, table["class"])) == [("ae", 0), ("ae", 1), ("vae", 0),
                                                          ("vae", 1)]
    assert (table.status == "ok").all()
    md = (sweep / "comparison.md").read_text()
    assert "## AUROC per class" in md and "| one_class | 0 |" in md and "**mean**" in md
    ae_mean = table[table.detector == "ae"].auroc.mean()
    assert f"{ae_mean:.3f}" in md.split("## Average precision")[0]
    assert (sweep / "auroc_per_class.png").exists()

    rebuilt = run_cli(str(sweep), "--out", str(tmp_path / "again"),
                      module="experiments.anomaly_tables")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (tmp_path / "again" / "comparison.md").read_text() == md
    wrong = run_cli(str(sweep), module="experiments.compare")  # the reducers' table builder
    assert wrong.returncode == 2 and "python -m experiments.anomaly_tables" in wrong.stderr


def test_an_interrupted_run_says_so_and_scores_nothing(compose_anomaly, tmp_path):
    record = detect(compose_anomaly(*TINY, "detector=chain"), tmp_path, StopAfter(5))
    assert record["status"] == "interrupted" and record["network"] == "autoencoder"
    assert "interrupted by SIGTERM while training the autoencoder" in record["error"]
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "interrupted"
    assert not (tmp_path / "scores.npz").exists()
