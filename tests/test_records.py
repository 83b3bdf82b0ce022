"""The run record (experiments/records.py): one typed record written and read by every app, and
the records of earlier versions read into it."""

import json

import pytest

from experiments.records import FORMAT, Detection, Diverged, Interrupted, Record, Task
from experiments.results import read_record
from reducers.status import Status


def test_a_record_round_trips_through_its_json_with_its_version_first(tmp_path):
    record = Record(status=Status.interrupted, label="VAE [8]->2 bce beta=1", epochs_completed=3,
                    metrics={"train_seconds": 1.5},
                    interrupted=Interrupted("SIGTERM", "training", 3, "run/checkpoint.pt"),
                    sizes={"test": 200}, config={"seed": 0})
    record.write(tmp_path)
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert next(iter(data)) == "format" and data["format"] == FORMAT
    assert data["status"] == "interrupted" and data["interrupted"]["signal"] == "SIGTERM"
    assert read_record(tmp_path) == record
    assert record.reason() == "interrupted by SIGTERM after epoch 3; continue with " \
                              "trainer.resume=true"


def test_reasons_in_one_line():
    diverged = Record(status=Status.diverged, diverged=Diverged(3, 9, float("nan"), 1234.5))
    assert diverged.reason() == "diverged at epoch 3, step 9 (last finite loss 1234)"
    noted = Diverged(5, 0, float("nan"), float("nan"), note="non-finite anomaly scores")
    assert Record(status=Status.diverged, diverged=noted).reason() == "non-finite anomaly scores"
    assert Record(status=Status.failed, error="DataError:\n x").reason() == "DataError: x"
    assert Record(status=Status.ok).reason() == ""
    assert not Status.failed.finished and Status.diverged.finished


# what each app wrote before this version: its own dict, its own keys
TRAIN_1 = {"status": "ok", "model": "VAE [512, 256]->2 bce beta=1", "kl_weight_effective": 1.0,
           "embedding_protocol": "inductive", "embedding_protocol_note": "fitted on ...",
           "epochs_completed": 50, "diverged": None, "best_epoch": None, "stopped_early": None,
           "backward": "manual backward, Adam.step()",
           "metrics": {"knn_acc": 0.664, "train_seconds": 8.0},
           "sample_sizes": {"trustworthiness": 1000, "test": 1000}, "timings": {"x": 1.0},
           "seed": 0, "threads": 2, "data": {"name": "mnist5k"}, "versions": {},
           "config": {"model": {"hidden": [512, 256], "beta": 1.0}}}
ANOMALY_1 = {"task": "anomaly", "detector": "ae (rapp_nap)", "architecture": "[512, 256]->2",
             "anomaly_protocol": "one_class", "class": 2, "description": "trained on 2",
             "seed": 0, "threads": 2, "data": {}, "versions": {}, "config": {},
             "status": "ok", "metrics": {"auroc": 0.97, "held_out_fpr": 0.08},
             "sizes": {"train": 320, "test": 1000, "test_anomalous": 900, "held_out": 80},
             "total_seconds": 12.5}
STOPPED_1 = {"task": "anomaly", "detector": "vae", "architecture": "[64]->2",
             "anomaly_protocol": "leave_one_out", "class": 7, "description": "...",
             "status": "diverged", "network": "VAE", "metrics": {}, "train_seconds": 3.0,
             "diverged": {"epoch": 2, "step": 5, "loss": float("nan"),
                          "last_finite_loss": 10.0}}
EMBED_1 = {"status": "ok", "checkpoint": "run", "checkpoint_epoch": 50,
           "model_spec": {"target": "reducers.vae.VAE"}, "trained_with": {},
           "metrics": {"knn_acc": 0.9}, "sample_sizes": {"test": 10}, "timings": {}}
FAILED_1 = {"status": "failed", "error": "DataError: x", "epochs_completed": 0, "metrics": {}}


@pytest.mark.parametrize("old", [TRAIN_1, ANOMALY_1, STOPPED_1, EMBED_1, FAILED_1],
                         ids=["train", "anomaly", "anomaly-diverged", "embed", "failed"])
def test_records_of_the_earlier_version_are_read(old, tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps(old))
    record = read_record(tmp_path)
    assert record.status is Status(old["status"]) and record.metrics.get("knn_acc") == \
        old["metrics"].get("knn_acc")
    if old is TRAIN_1:
        assert record.label == old["model"] and record.sizes == old["sample_sizes"]
        assert record.task is Task.train and record.epochs_completed == 50
    if old is ANOMALY_1:  # its held-out images are the validation set now
        assert record.detection == Detection("one_class", 2, "[512, 256]->2", "trained on 2")
        assert record.metrics["val_fpr"] == 0.08 and record.sizes["val"] == 80
        assert record.timings["total_seconds"] == 12.5 and record.label == "ae (rapp_nap)"
    if old is STOPPED_1:
        assert record.detection.network == "VAE" and record.timings["train_seconds"] == 3.0
        assert record.reason() == "diverged at epoch 2, step 5 (last finite loss 10)"
    if old is EMBED_1:
        assert record.task is Task.embed and record.embedding.checkpoint_epoch == 50
