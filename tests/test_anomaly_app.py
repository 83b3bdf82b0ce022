"""The anomaly app (experiments/anomaly.py) on real digits: what a run records, the two
protocols, the held-out threshold, the chains end to end, and an interrupted run."""

import json

import numpy as np
import pytest

from experiments.anomaly import detect
from experiments.records import Detection, Task
from tests.helpers import SHARED_T10K, StopAfter, run_cli

TINY = ["trainer.epochs=2", "detector.net.hidden=[32]", "data.limit=1000",
        "trainer.progress=false"]


def test_a_run_records_its_rates_as_its_scores_give_them(compose_anomaly, tmp_path):
    record = detect(compose_anomaly(*TINY, "anomaly.normal_class=3",
                                    "anomaly.threshold_quantile=0.9", "anomaly.figures=false"),
                    tmp_path)
    assert record.status == "ok" and record.label == "ae"
    assert record.detection == Detection("one_class", 3, "[32]->2", record.detection.description)
    assert record.sizes == {"train": 80, "test": 200, "test_anomalous": 180, "val": 0}
    assert record.epochs_completed == 2 and record.task is Task.anomaly
    s = np.load(tmp_path / "scores.npz")
    m = record.metrics
    threshold = np.quantile(s["train"], 0.9)
    flagged = s["test"] > threshold
    assert m["threshold"] == pytest.approx(threshold)
    assert m["fpr"] == pytest.approx(flagged[~s["is_anomaly"]].mean())
    assert m["fnr"] == pytest.approx(1 - flagged[s["is_anomaly"]].mean())
    assert abs(m["train_flagged"] - 0.1) < 0.02
    assert (s["test_labels"] != 3).tolist() == s["is_anomaly"].tolist()
    assert json.loads((tmp_path / "metrics.json").read_text())["metrics"] == m


def test_the_same_command_twice_gives_the_same_scores(compose_anomaly, tmp_path):
    settings = [*TINY, "detector=vae", "anomaly.figures=false", "seed=7"]
    first = detect(compose_anomaly(*settings), tmp_path / "a")
    second = detect(compose_anomaly(*settings), tmp_path / "b")
    timings = ("train_seconds", "score_seconds")
    assert {k: v for k, v in first.metrics.items() if k not in timings} == \
        {k: v for k, v in second.metrics.items() if k not in timings}
    assert np.array_equal(np.load(tmp_path / "a" / "scores.npz")["test"],
                          np.load(tmp_path / "b" / "scores.npz")["test"])


def test_a_validation_threshold_uses_normal_images_kept_from_training(compose_anomaly, tmp_path):
    record = detect(compose_anomaly(*TINY, "anomaly.normal_class=5",
                                    "trainer.val_fraction=0.25", "anomaly.figures=false"),
                    tmp_path)
    assert record.sizes["train"] == 60 and record.sizes["val"] == 20  # of 80 fives
    s = np.load(tmp_path / "scores.npz")
    assert len(s["train"]) == 60 and len(s["val"]) == 20
    m = record.metrics
    flagged = s["test"] > np.quantile(s["val"], 0.95)
    assert m["val_threshold"] == pytest.approx(np.quantile(s["val"], 0.95))
    assert m["val_fpr"] == pytest.approx(flagged[~s["is_anomaly"]].mean())
    assert m["val_fnr"] == pytest.approx(1 - flagged[s["is_anomaly"]].mean())


def test_leave_one_out_runs_end_to_end(compose_anomaly, tmp_path):
    record = detect(compose_anomaly(*TINY, "anomaly.protocol=leave_one_out",
                                    "anomaly.anomaly_class=7", "anomaly.figures=false"),
                    tmp_path)
    assert record.status == "ok" and record.detection.anomaly_class == 7
    assert record.sizes["test_anomalous"] == 20  # 7s among 200 test digits
    assert 0 <= record.metrics["auroc"] <= 1


@pytest.mark.parametrize("variant", ["fusion detector.fusion=rank", "residual"])
def test_chains_run_end_to_end_with_every_file(compose_anomaly, tmp_path, variant):
    overrides = [f"detector.variant={variant.split()[0]}", *variant.split()[1:]]
    record = detect(compose_anomaly(*TINY, "detector=chain", *overrides), tmp_path)
    assert record.status == "ok", record
    written = {p.name for p in tmp_path.iterdir()}
    assert {"metrics.json", "scores.npz", "scores.png", "roc.png", "extremes.png",
            "codes.png", "history_autoencoder.csv", "history_vae.csv"} <= written
    if "rank" in variant:  # the mean of two percentiles of the training scores
        s = np.load(tmp_path / "scores.npz")["test"]
        assert s.min() >= 0 and s.max() <= 1 and record.label == "chain (fusion, rank)"


def test_an_interrupted_run_says_so_and_scores_nothing(compose_anomaly, tmp_path):
    record = detect(compose_anomaly(*TINY, "detector=chain"), tmp_path, StopAfter(5))
    assert record.status == "interrupted" and record.detection.network == "autoencoder"
    assert "interrupted by SIGTERM while training the autoencoder" in record.error
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "interrupted"
    assert not (tmp_path / "scores.npz").exists()


def test_another_dataset_tests_while_every_image_of_the_data_trains(compose_anomaly, tmp_path):
    """heldout: the data's both parts train (its own test split is not needed), every image
    of the other dataset (both parts) is tested; here mnist5k's first 1,000 on its next."""
    record = detect(compose_anomaly(*TINY, "anomaly.normal_class=2", "anomaly.figures=false",
                                    "heldout=mnist5k", "heldout.limit=2000"), tmp_path)
    assert record.status == "ok" and record.data["name"] == "mnist5k, tested on mnist5k"
    assert record.sizes["train"] == 100  # every 2 of data.limit=1000
    assert record.sizes["test"] == 2000 and record.sizes["test_anomalous"] == 1800


def test_a_test_set_of_another_image_size_is_refused_in_one_line(tmp_path):
    done = run_cli("heldout=digits", f"paths.output_root={tmp_path}",
                   module="experiments.anomaly")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == ("error: heldout: digits holds 8x8 images, but the detector trains on "
                         "28x28 images of mnist5k: pick test data of the same size (e.g. "
                         "heldout=mnist_t10k for 28x28 digits)"), done.stderr
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.rglob("metrics.json"))  # refused before any run wrote anything


@pytest.mark.skipif(not SHARED_T10K.is_dir(), reason="../shared/data/mnist-t10k is absent")
def test_conv_rapp_on_the_real_test_set(compose_anomaly, tmp_path):
    """The published protocol's shape: trained on mnist5k's 1s, tested on the real test set."""
    record = detect(compose_anomaly(
        "trainer.epochs=3", "trainer.progress=false", "anomaly.normal_class=1",
        "detector/net=conv", "detector.net.channels=[4,8]", "detector.net.hidden=[32]",
        "detector.latent_dim=8", "detector.score=rapp_nap", "trainer.augment_shift=1",
        "heldout=mnist_t10k", f"heldout.path={SHARED_T10K}", "heldout.limit=3000",
        "trainer.val_fraction=0.2"), tmp_path)
    assert record.status == "ok" and record.label == "ae (rapp_nap)"
    assert record.detection.architecture == "conv[4, 8]+[32]->8"
    assert record.data["name"] == "mnist5k, tested on mnist_t10k"
    assert record.sizes == {"train": 400, "test": 3000, "val": 100,
                            "test_anomalous": record.sizes["test_anomalous"]}
    assert record.metrics["auroc"] > 0.9
