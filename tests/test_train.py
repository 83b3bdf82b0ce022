"""One run through the real entry points: every artifact, and the command-line behaviour."""

import json
import math

import numpy as np
import pytest
import torch

from experiments.train import train
from reducers.checkpoint import load_checkpoint
from tests.conftest import TINY, run_cli

ARTIFACTS = ["metrics.json", "history.csv", "codes.npz", "checkpoint.pt", "scatter.png",
             "reconstructions.png", "manifold.png", "loss_curves.png"]


def test_train_writes_every_artifact(compose_cfg, tmp_path):
    record = train(compose_cfg(*TINY), tmp_path)
    for name in ARTIFACTS + ["samples.png"]:
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["status"] == "ok" and saved["epochs_completed"] == 2
    assert saved["kl_weight_effective"] == 1.0 and saved["seed"] == 0
    assert saved["backward"] == "manual backward, Adam.step()"
    for key in ("knn_acc", "silhouette", "davies_bouldin", "calinski_harabasz",
                "trustworthiness", "kmeans_vmeasure", "recon_mse", "test_kl", "active_units",
                "train_seconds", "samples_per_second"):
        assert np.isfinite(saved["metrics"][key]), key
    assert saved["sample_sizes"]["trustworthiness"] == 200
    assert {"torch", "numpy", "scikit-learn", "hydra-core"} <= saved["versions"].keys()
    assert saved["metrics"] == pytest.approx(record["metrics"])
    assert len((tmp_path / "history.csv").read_text().splitlines()) == 1 + 2
    codes = np.load(tmp_path / "codes.npz")
    assert codes["train"].shape == (800, 2) and codes["test"].shape == (200, 2)
    assert load_checkpoint(tmp_path / "checkpoint.pt")["epoch"] == 2
    assert not list(tmp_path.glob(".*")), "temp files of atomic writes were left behind"


def test_autoencoder_run_has_no_prior_samples(compose_cfg, tmp_path):
    record = train(compose_cfg(*TINY, "model=ae"), tmp_path)
    assert record["status"] == "ok" and record["kl_weight_effective"] is None
    assert (tmp_path / "manifold.png").exists() and not (tmp_path / "samples.png").exists()


def test_diverged_run_is_recorded_not_scored(compose_cfg, tmp_path):
    record = train(compose_cfg(*TINY, "optim=sgd", "optim.lr=1e12", "model.recon=mse"),
                   tmp_path)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert record["status"] == saved["status"] == "diverged"
    assert saved["diverged"]["epoch"] >= 1 and "knn_acc" not in saved["metrics"]
    assert not (tmp_path / "checkpoint.pt").exists() and not (tmp_path / "scatter.png").exists()


def test_command_line_run(tmp_path):
    proc = run_cli(*TINY, "model.latent_dim=3", f"hydra.run.dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "ok"
    assert not (tmp_path / "manifold.png").exists()  # a grid needs exactly 2 latent dims
    assert (tmp_path / ".hydra" / "overrides.yaml").exists()


def test_command_line_divergence_exits_3(tmp_path):
    proc = run_cli(*TINY, "optim=sgd", "optim.lr=1e12", "model.recon=mse",
                   f"hydra.run.dir={tmp_path}")
    assert proc.returncode == 3, proc.stderr
    last_line = proc.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: training diverged at epoch 1, step "), last_line
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["status"] == "diverged" and record["diverged"]["epoch"] == 1
    assert not math.isfinite(record["diverged"]["loss"])
    # figures of a broken model would mislead: none but the loss curves (if an epoch ended)
    assert not {p.name for p in tmp_path.glob("*.png")} - {"loss_curves.png"}
    assert not (tmp_path / "codes.npz").exists()


def test_cfg_job_prints_the_resolved_config():
    proc = run_cli("--cfg", "job", "model=ae", "model.hidden=[8]")
    assert proc.returncode == 0
    assert "_target_: reducers.ae.Autoencoder" in proc.stdout and "- 8" in proc.stdout


@pytest.mark.slow
def test_blog_setup_collapses_and_standard_scaling_does_not(compose_cfg, tmp_path):
    """The blog's scaling (KL weight 7,840x) collapses the codes to one point; the same
    network and optimiser with the standard scaling separate the digits."""
    common = ["+experiment=seed_vae", "trainer.epochs=8", "trainer.progress=false",
              "score.figures=false"]
    blog = train(compose_cfg(*common), tmp_path / "blog")
    fixed = train(compose_cfg(*common, "model.kl_scaling=standard"), tmp_path / "fixed")
    assert blog["kl_weight_effective"] == 7840
    assert blog["metrics"]["knn_acc"] < 0.2 and blog["metrics"]["code_std"] < 0.05
    assert blog["metrics"]["active_units"] == 0
    assert fixed["metrics"]["knn_acc"] > 0.5 and fixed["metrics"]["active_units"] == 2


@pytest.mark.slow
def test_the_same_command_twice_gives_identical_metrics(tmp_path):
    """Seeded init, batch order and sampling, fixed threads: every number repeats exactly
    (timings aside)."""
    records = []
    for name in ("first", "second"):
        proc = run_cli(*TINY, "trainer.epochs=3", "trainer.threads=2", "score.figures=false",
                       f"hydra.run.dir={tmp_path / name}")
        assert proc.returncode == 0, proc.stderr
        record = json.loads((tmp_path / name / "metrics.json").read_text())
        for timing in ("train_seconds", "samples_per_second"):
            record["metrics"].pop(timing)
        records.append((record["metrics"], record["sample_sizes"], record["kl_weight_effective"]))
    assert records[0] == records[1]
    histories = [(tmp_path / n / "history.csv").read_text().splitlines() for n in ("first",
                                                                                   "second")]
    strip_seconds = [[line.rsplit(",", 1)[0] for line in h] for h in histories]
    assert strip_seconds[0] == strip_seconds[1]
