"""One run of the train app (experiments/train.py): every artifact, divergence, determinism, and
the command line's exit codes."""

import json
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from experiments.results import read_record
from experiments.train import train
from reducers.checkpoint import load_checkpoint
from reducers.errors import ConfigError, DataError
from tests.helpers import SHARED_T10K, TINY, run_cli, without_timings

ARTIFACTS = ["metrics.json", "history.csv", "codes.npz", "checkpoint.pt", "scatter.png",
             "reconstructions.png", "manifold.png", "loss_curves.png"]


def test_train_writes_every_artifact(compose_train, tmp_path):
    record = train(compose_train(*TINY), tmp_path)
    for name in ARTIFACTS + ["samples.png"]:
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["status"] == "ok" and saved["epochs_completed"] == 2
    assert saved["kl_weight_effective"] == 1.0 and saved["seed"] == 0
    assert saved["backward"] == "manual backward, Adam.step()"
    assert saved["embedding_protocol"] == "inductive"
    for key in ("knn_acc", "silhouette", "davies_bouldin", "calinski_harabasz",
                "trustworthiness", "kmeans_vmeasure", "recon_mse", "test_kl", "active_units",
                "train_seconds", "samples_per_second"):
        assert np.isfinite(saved["metrics"][key]), key
    assert saved["sizes"]["trustworthiness"] == 200 and saved["task"] == "train"
    assert {"torch", "numpy", "scikit-learn", "hydra-core"} <= saved["versions"].keys()
    assert saved["config"]["model"]["net"]["hidden"] == [64]
    assert saved["metrics"] == pytest.approx(record.metrics)
    assert len((tmp_path / "history.csv").read_text().splitlines()) == 1 + 2
    codes = np.load(tmp_path / "codes.npz")
    assert codes["train"].shape == (800, 2) and codes["test"].shape == (200, 2)
    assert load_checkpoint(tmp_path / "checkpoint.pt")["epoch"] == 2
    assert not list(tmp_path.glob(".*")), "temp files of atomic writes were left behind"


def test_autoencoder_run_has_no_prior_samples(compose_train, tmp_path):
    record = train(compose_train(*TINY, "model=ae"), tmp_path)
    assert record.status == "ok" and record.kl_weight_effective is None
    assert (tmp_path / "manifold.png").exists() and not (tmp_path / "samples.png").exists()


def test_diverged_run_is_recorded_not_scored(compose_train, tmp_path):
    record = train(compose_train(*TINY, "optim=sgd", "optim.lr=1e12", "model.recon=mse"),
                   tmp_path)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert record.status == saved["status"] == "diverged"
    assert saved["diverged"]["epoch"] >= 1 and "knn_acc" not in saved["metrics"]
    assert not (tmp_path / "checkpoint.pt").exists() and not (tmp_path / "scatter.png").exists()


@pytest.mark.slow  # 14 s on 2 cores: CI runs it with the slow tests
def test_the_same_settings_twice_give_identical_metrics_and_history(compose_train, tmp_path):
    """Seeded init, batch order and sampling, fixed threads: every number repeats exactly
    (timings aside)."""
    runs = [train(compose_train(*TINY, "trainer.epochs=3", "trainer.threads=2",
                                "score.figures=false"), tmp_path / name)
            for name in ("first", "second")]
    assert without_timings(runs[0].metrics) == without_timings(runs[1].metrics)
    histories = [(tmp_path / n / "history.csv").read_text().splitlines()
                 for n in ("first", "second")]
    without_seconds = [[line.rsplit(",", 1)[0] for line in h] for h in histories]
    assert without_seconds[0] == without_seconds[1]


def test_blog_setup_collapses_and_standard_scaling_does_not(compose_train, tmp_path):
    """The blog's scaling (KL weight 7,840x) collapses the codes to one point; the same
    network and optimiser with the standard scaling separate the digits."""
    common = ["trainer.epochs=8", "trainer.progress=false", "score.figures=false"]
    blog = train(compose_train("experiment=blog_vae", *common), tmp_path / "blog")
    fixed = train(compose_train("experiment=blog_vae_fixed", *common), tmp_path / "fixed")
    assert blog.kl_weight_effective == 7840
    assert blog.metrics["knn_acc"] < 0.2 and blog.metrics["code_std"] < 0.05
    assert blog.metrics["active_units"] == 0
    assert fixed.metrics["knn_acc"] > 0.5 and fixed.metrics["active_units"] == 2


@pytest.mark.slow  # 12 s on 2 cores: CI runs it with the slow tests
def test_command_line_run_and_divergence(tmp_path):
    runs = {"ok": [*TINY, "model.latent_dim=3"],
            "diverged": [*TINY, "optim=sgd", "optim.lr=1e12", "model.recon=mse"]}
    with ThreadPoolExecutor(2) as pool:
        procs = {name: pool.submit(run_cli, *args, f"hydra.run.dir={tmp_path / name}")
                 for name, args in runs.items()}
        procs = {name: future.result() for name, future in procs.items()}
    ok, diverged = procs["ok"], procs["diverged"]
    assert ok.returncode == 0, ok.stderr
    assert json.loads((tmp_path / "ok" / "metrics.json").read_text())["status"] == "ok"
    assert not (tmp_path / "ok" / "manifold.png").exists()  # a grid needs exactly 2 latent dims
    assert (tmp_path / "ok" / ".hydra" / "overrides.yaml").exists()
    log = (tmp_path / "ok" / "train.log").read_text()
    assert "epoch 2/2 train_total=" in log and "ok in " in log  # the log tells the story

    assert diverged.returncode == 3, diverged.stderr
    last_line = diverged.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: training diverged at epoch 1, step "), last_line
    record = read_record(tmp_path / "diverged")
    assert record.status == "diverged" and record.diverged.epoch == 1
    assert not math.isfinite(record.diverged.loss)
    # figures of a broken model would mislead: none but the loss curves (if an epoch ended)
    assert not {p.name for p in (tmp_path / "diverged").glob("*.png")} - {"loss_curves.png"}
    assert not (tmp_path / "diverged" / "codes.npz").exists()
    assert "diverged at epoch 1" in (tmp_path / "diverged" / "train.log").read_text()


def test_one_dimensional_codes_are_drawn_as_a_strip(compose_train, compose_embed, tmp_path):
    for name, model in (("vae", ["model.latent_dim=1"]),
                        ("pca", ["model=pca", "model.latent_dim=1"])):
        run = tmp_path / name
        overrides = [o for o in TINY if not o.startswith("model.net.hidden") or len(model) == 1]
        record = train(compose_train(*overrides, *model), run)
        assert record.status == "ok" and np.isfinite(record.metrics["knn_acc"])
        assert (run / "scatter.png").stat().st_size > 0
        assert not (run / "manifold.png").exists()  # a grid over a 2-D code space only
    from experiments.embed import embed
    embedded = embed(compose_embed(f"checkpoint={tmp_path / 'vae'}",
                                   "data.limit=300"), tmp_path / "embedded")
    assert embedded.status == "ok" and (tmp_path / "embedded" / "scatter.png").exists()


@pytest.mark.skipif(not SHARED_T10K.is_dir(), reason="../shared/data/mnist-t10k is absent")
def test_an_extra_held_out_set_is_scored_with_the_training_codes(compose_train, tmp_path):
    held = ["heldout=mnist_t10k", f"heldout.path={SHARED_T10K}", "heldout.limit=2000"]
    record = train(compose_train(*TINY, *held), tmp_path / "vae")
    metrics = record.metrics
    assert record.sizes["heldout"] == 2000
    assert 0.2 < metrics["heldout_knn_acc"] <= 1  # chance: 0.1
    for key in ("heldout_silhouette", "heldout_trustworthiness", "heldout_continuity",
                "heldout_kmeans_vmeasure", "heldout_recon_mse"):
        assert np.isfinite(metrics[key]), key
    codes = np.load(tmp_path / "vae" / "codes.npz")  # the held-out codes, for figures
    assert codes["heldout"].shape == (2000, 2) and codes["heldout_labels"].shape == (2000,)
    pca = train(compose_train(*TINY[:2], "model=pca", *held), tmp_path / "pca")
    assert "heldout_knn_acc" in pca.metrics and "heldout_recon_mse" not in pca.metrics
    with pytest.raises(ConfigError, match="TSNE embeds only the rows it is fitted with"):
        train(compose_train(*TINY[:2], "model=tsne", *held), tmp_path / "tsne")
    with pytest.raises(DataError, match="heldout: mnist_t10k has 784 features per row, the "
                                        "training "
                                        "data digits 64"):
        train(compose_train(*TINY, "data=digits", *held), tmp_path / "digits")
    assert not (tmp_path / "digits" / "metrics.json").exists()
