"""Experiment tracking (experiments/tracking.py) against the real libraries: an MLflow client
reads a joblib sweep back (a parent run, a child per job, with params, per-epoch metrics and
artifacts), TensorBoard's event reader reads a run's scalars back; and every optional feature
without its extra is one line naming the pip command."""

import csv
import json
import os
import re
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from experiments import tracking
from experiments.tracking import TrackingCallback
from reducers.errors import ConfigError
from tests.helpers import run_cli, run_cli_without, trained_run

FAST = ["trainer.epochs=2", "data.limit=500", "model.net.hidden=[32]", "trainer.progress=false"]


def history(run_dir) -> list[dict]:
    """history.csv's rows; a term an epoch did not evaluate (an empty cell) left out."""
    with open(run_dir / "history.csv") as f:
        return [{k: float(v) for k, v in row.items() if v} for row in csv.DictReader(f)]


@pytest.mark.slow  # end to end, tens of seconds: CI runs it with the slow tests
def test_mlflow_reads_back_a_joblib_sweep_as_a_parent_and_its_children(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "tracking=mlflow", "model.kl.beta=0.5,1,2,4", *FAST,
                   "hydra/launcher=joblib",
                   "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}",
                   f"paths.output_root={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("train")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 4
    parent = parents[0].info.run_id
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent}
    assert {a.path for a in client.list_artifacts(parent)} >= {"comparison.md",
                                                               "comparison.csv"}
    betas = set()
    for child in children:
        run_dir = sweep / child.data.tags["run_dir"].rsplit("/", 1)[-1]
        record = json.loads((run_dir / "metrics.json").read_text())
        assert child.info.status == "FINISHED" and child.data.tags["status"] == "ok"
        beta = record["config"]["model"]["kl"]["beta"]
        assert float(child.data.params["model.kl.beta"]) == beta
        assert child.data.params["trainer.epochs"] == "2"
        betas.add(float(child.data.params["model.kl.beta"]))
        assert child.data.metrics["knn_acc"] == pytest.approx(record["metrics"]["knn_acc"])
        curve = sorted(client.get_metric_history(child.info.run_id, "train_total"),
                       key=lambda m: m.step)
        rows = history(run_dir)
        assert [m.step for m in curve] == [row["epoch"] for row in rows] == [1, 2]
        assert [m.value for m in curve] == pytest.approx([row["train_total"] for row in rows])
        files = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"metrics.json", "history.csv", "scatter.png", "hydra"} <= files
    assert betas == {0.5, 1, 2, 4}
    # the same sweep logged again after the fact, by the command for runs made without tracking
    assert tracking.main([str(sweep), "--to", "mlflow", "--output-root", str(tmp_path),
                          "--experiment", "again"]) == 0
    again = client.search_runs([client.get_experiment_by_name("again").experiment_id])
    assert len(again) == 5
    assert sorted(r.data.metrics.get("knn_acc", -1) for r in again) == \
        sorted(r.data.metrics.get("knn_acc", -1) for r in runs)
    # and `mlflow ui`, started in this environment (with the [optuna] extra), serves them
    served = served_runs(f"sqlite:///{tmp_path / 'mlflow.db'}", experiment.experiment_id)
    assert sorted(r["info"]["run_id"] for r in served) == sorted(r.info.run_id for r in runs)


def served_runs(store: str, experiment_id: str) -> list[dict]:
    """The runs of an experiment as ``mlflow ui`` on a free loopback port serves them over
    HTTP (its REST API); the server is stopped after."""
    import signal
    import socket
    import subprocess
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri",
                               store, "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}/api/2.0/mlflow/runs/search"
    body = json.dumps({"experiment_ids": [experiment_id], "max_results": 100}).encode()
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=5) as answer:
                    return json.loads(answer.read())["runs"]
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("mlflow ui did not serve: " +
                                         server.stderr.read().decode()[-2000:]) from None
                time.sleep(0.5)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_a_server_that_does_not_answer_is_one_line_before_any_run(tmp_path, capsys):
    proc = run_cli("tracking=mlflow", "tracking.uri=http://127.0.0.1:9", *FAST,
                   f"hydra.run.dir={tmp_path / 'run'}")
    assert proc.returncode == 2 and proc.stderr.startswith(
        "error: tracking.uri=http://127.0.0.1:9: no MLflow server answers (")
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "run").exists()
    assert tracking.main([str(tmp_path), "--to", "mlflow", "--uri", "http://127.0.0.1:9"]) == 2
    assert capsys.readouterr().err.startswith("error: tracking.uri=http://127.0.0.1:9: no MLflow")


def test_mlflow_logs_a_single_run_that_diverged_and_it_still_exits_3(tmp_path):
    proc = run_cli("tracking=mlflow", "optim=sgd", "optim.lr=1e12", "model.recon=mse", *FAST,
                   f"hydra.run.dir={tmp_path / 'run'}", f"paths.output_root={tmp_path}")
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: training diverged at epoch 1")
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    [run] = client.search_runs([client.get_experiment_by_name("train").experiment_id])
    assert run.info.status == "FAILED" and run.data.tags["status"] == "diverged"
    assert run.data.tags["mlflow.note.content"].startswith("diverged at epoch 1")
    assert run.data.params["optim.lr"] == "1000000000000.0"


def test_tensorboard_event_files_read_back(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli("tracking=tensorboard", *FAST, f"hydra.run.dir={run_dir}", "model.kl.beta=2")
    assert proc.returncode == 0, proc.stderr
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    rows = history(run_dir)
    for key, epochs in (("train_total", [1, 2]), ("test_recon", [2])):  # test: the last epoch
        logged = [row for row in rows if key in row]
        assert [s.step for s in events.Scalars(key)] == [row["epoch"] for row in logged] == epochs
        assert [s.value for s in events.Scalars(key)] == \
            pytest.approx([row[key] for row in logged], rel=1e-6)
    record = json.loads((run_dir / "metrics.json").read_text())
    [final] = events.Scalars("final/knn_acc")
    assert final.step == 2 and final.value == pytest.approx(record["metrics"]["knn_acc"])
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hparams = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
    assert hparams["model.kl.beta"].number_value == 2 and hparams["model"].string_value == "VAE"
    projector = run_dir / "tensorboard" / "projector_config.pbtxt"
    assert "test_codes" in projector.read_text()


def test_a_tracker_without_its_package_is_one_line_before_any_run(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow raises ImportError
    with pytest.raises(ConfigError, match=r"^tracking=mlflow needs mlflow, the optional extra: "
                                          r"pip install -c constraints.txt -e '\.\[mlflow\]'$"):
        TrackingCallback(OmegaConf.create({"kind": "mlflow", "uri": None, "experiment": None,
                                           "checkpoint": False}), "outputs")


@pytest.mark.parametrize("modules, args, package, extra", [
    (["optuna"], ["hparams_search=vae_optuna"], "optuna", "optuna"),
    (["hydra_plugins.hydra_submitit_launcher"], ["-m", "hydra/launcher=slurm"],
     "hydra-submitit-launcher", "cluster"),
    (["hydra_plugins.hydra_ray_launcher"], ["-m", "hydra/launcher=ray"], "hydra-ray-launcher",
     "ray"),
    (["mlflow"], ["tracking=mlflow"], "mlflow", "mlflow"),
    (["tensorboard"], ["tracking=tensorboard"], "tensorboard", "tensorboard"),
    (["umap"], ["-m", "model=pca,umap"], "umap-learn", "umap"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_each_optional_feature_without_its_extra_is_one_line(modules, args, package, extra,
                                                             tmp_path):
    proc = run_cli_without(modules, *args, f"paths.output_root={tmp_path}")
    assert proc.returncode == 2
    assert proc.stderr == (f"error: {args[-1]} needs {package}, the optional extra: pip install "
                           f"-c constraints.txt -e '.[{extra}]'\n")
    assert not any(tmp_path.iterdir())  # nothing written


def test_a_run_whose_config_cannot_be_read_is_logged_as_unreadable(tmp_path):
    from experiments.tracking_writers import run_contents
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text("model: [unclosed")
    (tmp_path / "metrics.json").write_text(json.dumps({"status": "ok",
                                                       "metrics": {"knn_acc": 0.5}}))
    run = run_contents(tmp_path)
    assert run["status"] == "unreadable" and run["params"] == {}
    assert run["reason"].startswith("unreadable .hydra/config.yaml")
    assert run["metrics"] == {"knn_acc": 0.5}


@pytest.mark.parametrize("store, message", [
    ("folder", r"mlflow\.db is a folder, not a database file; name another file"),
    ("corrupt", r"mlflow\.db is not an SQLite database \(it starts b'not a da'\)"),
    ("below_a_file", r"a-file is a file, not a folder; name another file"),
])
def test_a_store_sqlite_cannot_use_is_one_line_before_training(tmp_path, store, message):
    db = tmp_path / "store" / "mlflow.db"
    db.parent.mkdir()
    if store == "folder":
        db.mkdir()
    elif store == "corrupt":
        db.write_text("not a database, notes")
    else:
        (tmp_path / "a-file").write_text("x")
        db = tmp_path / "a-file" / "mlflow.db"
    before = sorted(p.name for p in db.parent.iterdir()) if db.parent.is_dir() else None
    proc = run_cli("tracking=mlflow", f"tracking.uri=sqlite:///{db}", *FAST,
                   f"hydra.run.dir={tmp_path / 'run'}")
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: tracking.uri=sqlite:///{db}: ")
    assert re.search(message, line) and not (tmp_path / "run").exists()  # before training
    if before is not None:
        assert sorted(p.name for p in db.parent.iterdir()) == before


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    return trained_run(tmp_path_factory, "tracked", *FAST)


@pytest.mark.slow  # end to end, tens of seconds: CI runs it with the slow tests
def test_two_first_time_trackers_at_once_both_log_and_artifacts_stay_beside_the_store(
        tmp_path, finished_run):
    """Two commands that find no store yet set it up at the same moment (a lock serialises
    them: without it one fails on the other's half-made tables); their artifacts go beside
    the store named by --uri, not into the folder the command ran in."""
    import subprocess
    db = tmp_path / "elsewhere" / "store.db"
    cwd = tmp_path / "here"
    cwd.mkdir()
    command = [sys.executable, "-m", "experiments.tracking", str(finished_run), "--to",
               "mlflow", "--uri", f"sqlite:///{db}"]
    env = {**__import__("os").environ, "PYTHONPATH": str(tracking.__file__).rsplit("/", 2)[0]}
    procs = [subprocess.Popen(command, cwd=cwd, env=env, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    client = MlflowClient(f"sqlite:///{db}")
    runs = client.search_runs([client.get_experiment_by_name("train").experiment_id])
    assert len(runs) == 2 and all(r.info.status == "FINISHED" for r in runs)
    assert list(cwd.iterdir()) == []  # no mlruns/ where the command ran
    for run in runs:
        stored = run.info.artifact_uri
        assert stored.startswith((db.parent / "mlartifacts").as_uri() + "/")
        assert (Path(stored[len("file://"):]) / "metrics.json").read_bytes() == \
            (finished_run / "metrics.json").read_bytes()
