"""Sweeps from the shell through the `grids` sweeper (hydra_plugins/reducer_sweep/grids.py):
stored sweeps without '+', their `also` variants, tables at the end, runs that diverge or fail
listed while the sweep goes on, every job's log telling its story, and sweep folders that
never collide."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.helpers import ROOT, run_cli

FAST = ["trainer.epochs=2", "data.limit=300", "model.net.hidden=[16]", "trainer.progress=false"]


@pytest.mark.slow  # 7 s on 2 cores: CI runs it with the slow tests
def test_a_stored_sweep_adds_the_autoencoder_and_ends_in_tables(tmp_path):
    proc = run_cli("sweep=beta_loss", "model.kl.beta=0,1", "seed=0", *FAST, "score.figures=false",
                   f"hydra.sweep.dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    csv = pd.read_csv(tmp_path / "comparison.csv")
    assert len(csv) == 6 and set(csv.status) == {"ok"}  # vae x {mse, bce} x beta {0, 1} + ae x 2
    ae = csv[csv.model == "ae"]
    assert len(ae) == 2 and ae["model.kl.beta"].isna().all()
    assert set(csv[csv.model == "vae"]["model.kl.beta"]) == {0.0, 1.0}
    assert set(csv["model.recon"]) == {"mse", "bce"}
    assert "sweep: 6/6 runs done, in " in proc.stderr  # the sweep's progress, and its log
    assert (tmp_path / "sweep.log").read_text().splitlines()[-1].split("] ")[1].startswith(
        "sweep: 6/6 runs done, in ")
    for name in ("comparison.md", "embeddings.png", "metrics_vs_beta.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    for job in range(6):  # each job's log: its epochs and its last line
        log = (tmp_path / str(job) / "train.log").read_text()
        assert "epoch 1/2 train_total=" in log and "epoch 2/2 train_total=" in log
        assert log.strip().splitlines()[-1].split(" - ")[1].startswith("ok in "), log


def test_a_diverging_or_failing_run_does_not_stop_the_sweep(tmp_path):
    proc = run_cli("-m", "optim=sgd", "optim.lr=0.01,1e12", "model.recon=mse", *FAST,
                   "score.figures=false", "data.limit=300,5", f"hydra.sweep.dir={tmp_path}")
    assert proc.returncode == 1 and proc.stderr.strip().splitlines()[-1] == (
        f"error: 2 of 4 runs failed; their reasons are in {tmp_path / 'comparison.md'}")
    csv = pd.read_csv(tmp_path / "comparison.csv")
    assert len(csv) == 4
    assert csv.status.value_counts().to_dict() == {"failed": 2, "ok": 1, "diverged": 1}
    failed = csv[csv.status == "failed"]
    assert failed.reason.str.contains("smaller than the number of classes").all()
    assert csv[csv.status == "diverged"]["optim.lr"].tolist() == [1e12]
    record = json.loads((tmp_path / "1" / "metrics.json").read_text())  # lr 0.01, limit 5
    assert record["status"] == "failed" and record["error"].startswith("DataError")
    assert "diverged at epoch 1" in (tmp_path / "2" / "train.log").read_text()


@pytest.mark.slow  # end to end, tens of seconds: CI runs it with the slow tests
def test_a_job_that_kills_its_worker_costs_only_itself(tmp_path):
    """Joblib loses every job of a batch when one worker dies: the ones beside it and the ones
    not started must still run, and the sweep must say that one failed."""
    proc = run_cli("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                   "model._target_=tests.helpers.vae_killing_its_worker_at_beta_2",
                   "model.kl.beta=0.5,1,2,4,8", *FAST, "score.figures=false",
                   f"hydra.sweep.dir={tmp_path}")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: 1 of 5 runs failed")
    assert "sweep: 5/5 runs done (1 failed), in " in proc.stderr  # progress under joblib
    table = pd.read_csv(tmp_path / "comparison.csv").set_index("model.kl.beta")
    assert sorted(table.index) == [0.5, 1, 2, 4, 8]  # every planned job has a row
    assert table.loc[2, "status"] == "failed" and "lost its worker twice" in table.loc[2, "reason"]
    assert (table.drop(index=2).status == "ok").all()


@pytest.mark.slow
def test_two_sweeps_started_together_never_share_a_folder(tmp_path):
    args = [sys.executable, "-m", "experiments.train", "-m", "model.kl.beta=1,2", *FAST,
            "score.figures=false", f"paths.output_root={tmp_path}"]
    procs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(2)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    sweeps = list((tmp_path / "train-multirun").glob("*/*"))
    assert len(sweeps) == 2
    assert all(len(pd.read_csv(s / "comparison.csv")) == 2 for s in sweeps)
    for sweep in sweeps:  # beta alone: one unlabelled series, figures all the same
        assert (sweep / "metrics_vs_beta.png").exists() and (sweep / "embeddings.png").exists()
