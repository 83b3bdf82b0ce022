"""The job runtime (experiments/runtime.py), in-process with Hydra's config installed as a
launcher would: the thread policy, what a job records when it fails or is interrupted, and what
an app returns to the sweeper or the shell."""

import signal

import pytest
import torch
from hydra.core.hydra_config import HydraConfig

from experiments import runtime
from experiments.cli import EXIT_LATER
from experiments.records import Detection, Diverged, Interrupted, Record
from experiments.results import read_record
from experiments.runtime import Job, auto_threads, finish, run_job
from reducers.ae import Autoencoder
from reducers.checkpoint import model_spec, save_checkpoint
from reducers.networks import MLP
from reducers.errors import DataError
from reducers.status import Status
from tests.helpers import composer


@pytest.fixture
def hydra_job(tmp_path, monkeypatch):
    """install(*overrides): Hydra's config of a job of the train app, as its launcher sets it;
    the job's folder is tmp_path / "job"."""
    monkeypatch.setattr(runtime, "available_cores", lambda: 8)
    monkeypatch.setattr(runtime, "STOP", runtime.StopRequest())

    def install(*overrides: str):
        cfg = composer("train", return_hydra_config=True)(*overrides)
        cfg.hydra.runtime.output_dir = str(tmp_path / "job")
        HydraConfig.instance().set_config(cfg)
        return composer("train")(*[o for o in overrides if "hydra" not in o])  # the job's
    yield install
    HydraConfig.instance().cfg = None


@pytest.mark.parametrize("overrides, threads", [
    ([], 8),                                              # one run at a time: every core
    (["hydra/launcher=joblib"], 1),                       # n_jobs -1: one job per core
    (["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], 4),
    (["hydra/launcher=joblib", "hydra.launcher.n_jobs=16"], 1),
    (["hydra/launcher=local"], 1),                        # submitit: its cpus_per_task
    (["hydra/launcher=slurm"], 2),
])
def test_jobs_times_threads_never_exceed_the_cores(hydra_job, overrides, threads):
    hydra_job(*overrides)
    assert auto_threads() == threads


def test_ray_tasks_get_the_cpus_they_reserve(hydra_job):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    hydra_job("hydra/launcher=ray")
    assert auto_threads() == 1
    hydra_job("hydra/launcher=ray", "+hydra.launcher.ray.remote.num_cpus=3")
    assert auto_threads() == 3


def test_a_failing_job_of_a_sweep_is_recorded_and_the_sweep_goes_on(hydra_job, tmp_path):
    cfg = hydra_job("hydra.mode=MULTIRUN")

    def fails(cfg, run_dir, stop):
        run_dir.mkdir(parents=True)
        raise DataError("data.path=x: no such file")
    job = run_job(fails, cfg)
    assert job.record is None and not job.single
    record = read_record(tmp_path / "job")
    assert (record.status, record.error) == (Status.failed,
                                             "DataError: data.path=x: no such file")
    assert record.epochs_completed == 0 and record.metrics == {}

    def interrupted_twice(cfg, run_dir, stop):  # after the checkpoint of epoch 3
        model = Autoencoder(input_dim=64, net=MLP(hidden=[8]))
        save_checkpoint(run_dir / "checkpoint.pt", model, torch.optim.Adam(model.parameters()),
                        epoch=3, model_spec=model_spec(model))
        raise KeyboardInterrupt
    job = run_job(interrupted_twice, cfg)
    record = read_record(tmp_path / "job")
    assert job.record == record and record.status is Status.interrupted
    assert "second signal" in record.error and record.epochs_completed == 3
    assert record.interrupted == Interrupted("SIGINT", "a second signal", 3,
                                             str(tmp_path / "job" / "checkpoint.pt"))
    assert runtime.STOP.signum == signal.SIGINT
    never = run_job(lambda *a: pytest.fail("a job started after the sweep was interrupted"),
                    cfg)
    assert never.record is None and "not started" in read_record(tmp_path / "job").error


def test_a_single_runs_bad_input_is_one_line_and_exit_2(hydra_job, capsys):
    cfg = hydra_job()

    def fails(cfg, run_dir, stop):
        raise DataError("blog.tsv, line 2, field 17: 'seven' is not a number")
    with pytest.raises(SystemExit) as exit_:
        run_job(fails, cfg)
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "error: blog.tsv, line 2, field 17: 'seven' is not a " \
                                      "number\n"


def test_what_the_app_returns_to_the_sweeper_and_the_shell(hydra_job, tmp_path):
    cfg = hydra_job("optimized_metric=silhouette")
    ok = Record(status=Status.ok, metrics={"knn_acc": 0.7, "silhouette": 0.05})
    assert finish(Job(ok, tmp_path, True), cfg) == 0.05
    assert finish(Job(None, tmp_path, False), cfg) is None
    seen = []
    interrupted = Record(status=Status.interrupted)
    assert finish(Job(interrupted, tmp_path, True), cfg, on_interrupt=seen.append) is None
    assert seen[0].record is interrupted
    diverged = Record(status=Status.diverged, diverged=Diverged(2, 7, float("inf"), 12.5),
                      detection=Detection("one_class", 0, "[8]->2", "", network="autoencoder"))
    assert finish(Job(diverged, tmp_path, False), cfg) is None  # in a sweep: a row, go on
    EXIT_LATER.reset()
    assert finish(Job(diverged, tmp_path, True), cfg) is None  # exit 3 once callbacks ran
    assert EXIT_LATER.code == 3 and EXIT_LATER.line == (
        "error: training of the autoencoder diverged at epoch 2, step 7 (loss inf, last finite "
        "loss 12.5); lower optim.lr or check the data")
    EXIT_LATER.reset()
