"""Sweeps through Hydra's launchers: same runs, same tables, jobs x threads <= cores."""

import json
import os
import signal

import pandas as pd
import pytest

from tests.helpers import run_cli

SWEEP = ["-m", "model.kl.beta=0.5,2", "trainer.epochs=1", "data.limit=400", "model.net.hidden=[32]",
         "trainer.progress=false", "score.figures=false"]
METRICS = ["knn_acc", "silhouette", "trustworthiness", "recon_mse"]


def _table(folder):
    return pd.read_csv(folder / "comparison.csv").sort_values("model.kl.beta")


@pytest.mark.slow
def test_joblib_jobs_share_the_cores_and_match_a_sequential_sweep(tmp_path):
    parallel = run_cli(*SWEEP, "hydra/launcher=joblib", f"hydra.sweep.dir={tmp_path / 'par'}")
    sequential = run_cli(*SWEEP, "trainer.threads=1", f"hydra.sweep.dir={tmp_path / 'seq'}")
    assert parallel.returncode == sequential.returncode == 0, parallel.stderr
    for run in (tmp_path / "par").glob("[0-9]"):  # n_jobs -1: one job per core, 1 thread each
        assert json.loads((run / "metrics.json").read_text())["threads"] == 1
    par, seq = _table(tmp_path / "par"), _table(tmp_path / "seq")
    assert par[METRICS].to_numpy().tolist() == seq[METRICS].to_numpy().tolist()
    assert (tmp_path / "par" / "embeddings.png").exists()


@pytest.mark.slow
def test_submitit_local_sweep_ends_with_the_comparison(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    proc = run_cli(*SWEEP, "hydra/launcher=local", f"hydra.sweep.dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    table = _table(tmp_path)
    assert len(table) == 2 and set(table.status) == {"ok"}
    assert (tmp_path / ".submitit").is_dir()  # the jobs really went through submitit
    assert json.loads((tmp_path / "0" / "metrics.json").read_text())["threads"] == 1


@pytest.mark.slow
def test_a_job_lost_on_a_worker_is_failed_and_the_sweep_finishes(tmp_path):
    proc = run_cli("-m", "trainer.epochs=1,5000", "data.limit=400", "trainer.progress=false",
                   "score.figures=false", "hydra/launcher=joblib", "hydra.launcher.timeout=15",
                   f"hydra.sweep.dir={tmp_path}")
    assert proc.returncode == 1, proc.stderr
    assert "error: 1 of 2 runs failed" in proc.stderr
    table = pd.read_csv(tmp_path / "comparison.csv").set_index("trainer.epochs")
    assert table.loc[1, "status"] == "ok"
    assert table.loc[5000, "status"] == "failed"
    assert "lost its worker twice" in table.loc[5000, "reason"]


@pytest.mark.slow
def test_ray_launcher_on_a_local_ray_instance(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    proc = run_cli(*SWEEP, "hydra/launcher=ray", "+hydra.launcher.ray.init.num_cpus=2",
                   "+hydra.launcher.ray.init.include_dashboard=false",
                   f"hydra.sweep.dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = _table(tmp_path)
    assert len(table) == 2 and set(table.status) == {"ok"}
    assert json.loads((tmp_path / "0" / "metrics.json").read_text())["threads"] == 1


def test_a_killed_joblib_tracker_is_relaunched_quietly_with_its_messages_in_the_log(
        tmp_path, capfd, caplog):
    """The relaunched tracker does not know the files its predecessor held: its tracebacks for
    them go to the sweep folder's log, the terminal gets one line."""
    from joblib.externals.loky.backend import resource_tracker as rt

    from hydra_plugins.reducer_sweep.tracker import quiet_relaunch

    log_file = tmp_path / "resource_tracker.log"
    quiet_relaunch(log_file)
    tracker = rt.ResourceTracker()
    tracker.ensure_running()
    os.kill(tracker._pid, signal.SIGKILL)
    os.waitpid(tracker._pid, 0)
    tracker._pid = None  # reaped here; loky would otherwise wait on it again
    with caplog.at_level("WARNING"):
        tracker.unregister(str(tmp_path / "held-by-the-dead-one"), "folder")  # relaunches
    assert tracker._pid is not None
    os.close(tracker._fd)  # the relaunched tracker reads to the end, then exits
    os.waitpid(tracker._pid, 0)
    assert "KeyError" in log_file.read_text() and "held-by-the-dead-one" in log_file.read_text()
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err and "died unexpectedly" not in captured.err
    assert [r.message for r in caplog.records if "tracker was killed" in r.message]
