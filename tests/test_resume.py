"""Stopping and going on (experiments/resume.py): real signals through the command line, the
last whole epoch kept, and resumed runs that end bit for bit where uninterrupted ones end."""

import json
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from experiments.records import Interrupted
from experiments.results import read_record
from experiments.resume import resume_command
from experiments.train import train
from reducers.checkpoint import load_checkpoint
from reducers.errors import CheckpointError, ConfigError
from tests.helpers import (ROOT, TINY, StopAfter, run_cli, run_cli_read_only,
                           stopped_then_resumed, without_timings)

# small but slow enough per epoch (100 steps) that the signal lands mid-training
RUN = ["trainer.epochs=8", "data.limit=2000", "model.net.hidden=[64]", "trainer.batch_size=16",
       "trainer.threads=1", "score.figures=false", "trainer.progress=false",
       "trainer.checkpoint_seconds=0"]  # on disk after every epoch: the test waits for it


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "experiments.train", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_epoch(path: Path, epoch: int, proc: subprocess.Popen, limit: float = 120) -> None:
    """Until the checkpoint at ``path`` has ``epoch`` epochs (the run is then mid-training)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended before the signal:\n{proc.stdout.read()}"
        try:
            if path.exists() and load_checkpoint(path)["epoch"] >= epoch:
                return
        except CheckpointError:  # a reader never sees half a file; this is the rename race
            pass
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint of epoch {epoch} in {limit} s")


def same_weights(a: dict, b: dict) -> bool:
    return all(torch.equal(a["model"][name], b["model"][name]) for name in b["model"])


def signalled(run: Path, signum: int):
    """A run sent ``signum`` once its second epoch is on disk: (its output, its record)."""
    proc = start(*RUN, f"hydra.run.dir={run}")
    wait_for_epoch(run / "checkpoint.pt", 2, proc)
    proc.send_signal(signum)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 128 + signum, output
    record = read_record(run)
    assert record.status == "interrupted"
    assert record.interrupted.signal == signal.Signals(signum).name
    return output, record


def test_sighup_a_closed_terminal_stops_the_run_as_sigterm_does(tmp_path):
    run = tmp_path / "run"
    output, record = signalled(run, signal.SIGHUP)
    kept = record.interrupted.epochs_kept
    assert kept >= 2 and load_checkpoint(run / "checkpoint.pt")["epoch"] == kept
    assert "trainer.resume=true" in output and "Traceback" not in output


@pytest.mark.slow  # 9 s on 2 cores: CI runs it with the slow tests
def test_sigterm_then_resume_ends_with_the_uninterrupted_weights(tmp_path, compose_train):
    run = tmp_path / "run"
    output, record = signalled(run, signal.SIGTERM)
    kept = record.interrupted.epochs_kept
    assert 2 <= kept < 8 and record.epochs_completed == kept
    assert load_checkpoint(run / "checkpoint.pt")["epoch"] == kept
    assert len((run / "history.csv").read_text().splitlines()) == 1 + kept
    assert "trainer.resume=true" in output and "Traceback" not in output
    log = (run / "train.log").read_text()  # the log file tells what happened
    assert "SIGTERM received" in log and "resume with" in log
    assert not list(run.glob(".*tmp*")), "a temp file of an atomic write was left"

    resumed = run_cli(*RUN, "trainer.resume=true", f"hydra.run.dir={run}")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {run / 'checkpoint.pt'} after epoch {kept}" in resumed.stdout

    straight = train(compose_train(*RUN), tmp_path / "straight")  # the same, uninterrupted
    a, b = load_checkpoint(run), load_checkpoint(tmp_path / "straight")
    assert a["epoch"] == b["epoch"] == 8 and same_weights(a, b)
    after = read_record(run)
    assert after.status == "ok"
    assert without_timings(after.metrics) == without_timings(straight.metrics)


@pytest.mark.slow  # 13 s on 2 cores: CI runs it with the slow tests
def test_ctrl_c_stops_a_sweep_with_tables_and_the_sweep_resumes(tmp_path):
    sweep = tmp_path / "sweep"
    proc = start("-m", *RUN, "seed=1,2,3", f"hydra.sweep.dir={sweep}")
    wait_for_epoch(sweep / "0" / "checkpoint.pt", 1, proc)
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 128 + signal.SIGINT, output
    statuses = [json.loads((sweep / str(i) / "metrics.json").read_text())["status"]
                for i in range(3)]
    assert statuses == ["interrupted"] * 3  # the first stopped, the others never started
    assert "interrupted" in (sweep / "comparison.md").read_text()

    resumed = run_cli("-m", *RUN, "seed=1,2,3", "trainer.resume=true",
                      f"hydra.sweep.dir={sweep}")
    assert resumed.returncode == 0, resumed.stderr
    records = [read_record(sweep / str(i)) for i in range(3)]
    assert [r.status for r in records] == ["ok"] * 3
    assert [r.epochs_completed for r in records] == [8] * 3
    assert "resuming from" in resumed.stdout and "starting at epoch 1" in resumed.stdout


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            pass
    return out


@pytest.mark.slow  # 30 s: a sweep, its interruption and its resumption
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigterm_to_a_joblib_sweeps_command_stops_its_workers_and_records_every_job(tmp_path):
    """``kill PID`` of a sweep's command (not its workers): the running jobs stop after their
    step with their last whole epoch, the others record "not started", the tables are
    written, no worker is left training, and the printed command resumes the sweep."""
    sweep = tmp_path / "sweep"
    grid = ["-m", *RUN, "seed=1,2,3,4", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    proc = start(*grid, f"hydra.sweep.dir={sweep}")
    wait_for_epoch(sweep / "0" / "checkpoint.pt", 1, proc)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 128 + signal.SIGTERM, output
    records = [read_record(sweep / str(i)) for i in range(4)]
    # a job may finish before it looks for .stopping (once a second); none is left unrecorded
    assert {r.status for r in records} <= {"ok", "interrupted"}
    assert [r.error for r in records[2:]] == ["not started: the sweep was interrupted"] * 2
    for i, r in enumerate(records):
        if r.interrupted is not None and r.interrupted.epochs_kept:
            assert load_checkpoint(sweep / str(i) / "checkpoint.pt")["epoch"] == \
                r.interrupted.epochs_kept
    assert "interrupted" in (sweep / "comparison.md").read_text()
    assert not (sweep / ".stopping").exists() and not (sweep / ".lock").exists()
    time.sleep(1)
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists() and
             Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert alive == [], "workers left running"
    said = output.split("the sweep was interrupted by SIGTERM")[1].split("resume with\n")[1]
    command = said.splitlines()[0]
    assert command.split()[-1] == f"hydra.sweep.dir={sweep}" and "trainer.resume=true" in command
    resumed = run_cli(*shlex.split(command)[3:])
    assert resumed.returncode == 0, resumed.stderr
    assert [read_record(sweep / str(i)).epochs_completed for i in range(4)] == [8] * 4


def test_a_stop_between_disk_writes_still_keeps_the_last_whole_epoch(compose_train, tmp_path):
    """Checkpoints go to disk at most every trainer.checkpoint_seconds; a stop writes the
    in-memory copy of the last whole epoch, and resuming from it is exact."""
    run = [*TINY, "trainer.epochs=5", "trainer.batch_size=50", "trainer.threads=1",
           "score.figures=false"]  # 16 steps per epoch
    stopped = train(compose_train(*run, "trainer.checkpoint_seconds=3600"), tmp_path / "run",
                    StopAfter(16 * 3 + 5))  # in the 4th epoch
    assert stopped.status == "interrupted" and stopped.interrupted.epochs_kept == 3
    assert load_checkpoint(tmp_path / "run")["epoch"] == 3
    resumed = train(compose_train(*run, "trainer.resume=true"), tmp_path / "run")
    straight = train(compose_train(*run), tmp_path / "straight")
    a, b = load_checkpoint(tmp_path / "run"), load_checkpoint(tmp_path / "straight")
    assert resumed.status == "ok" and a["epoch"] == b["epoch"] == 5 and same_weights(a, b)
    assert without_timings(resumed.metrics) == without_timings(straight.metrics)


def test_resume_refuses_other_settings_and_fewer_epochs(compose_train, tmp_path):
    done = train(compose_train(*TINY, "score.figures=false"), tmp_path / "done")
    again = train(compose_train(*TINY, "score.figures=false", "trainer.resume=true"),
                  tmp_path / "done")  # a finished run of a resumed sweep: no steps, same scores
    assert again.epochs_completed == done.epochs_completed
    assert without_timings(again.metrics) == without_timings(done.metrics)
    resume = ["trainer.resume=true", f"trainer.resume_from={tmp_path / 'done'}"]
    with pytest.raises(ConfigError, match=r"model.kl.beta=1.0 there, 2.0 here"):
        train(compose_train(*TINY, *resume, "model.kl.beta=2"), tmp_path / "other")
    with pytest.raises(ConfigError, match=r"trainer.epochs=1 is invalid: .* completed 2 epochs"):
        train(compose_train(*TINY, *resume, "trainer.epochs=1"), tmp_path / "other")
    longer = train(compose_train(*TINY, *resume, "trainer.epochs=3", "score.figures=false",
                                 "optimized_metric=silhouette"), tmp_path / "longer")
    assert longer.status == "ok" and longer.epochs_completed == 3  # allowed changes


def test_the_resume_command_is_the_users_own_command_continued(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", ["train.py", "model.kl.beta=2", "hydra.run.dir=old",
                                      "trainer.resume=false"])
    assert resume_command(tmp_path / "run", multirun=False) == (
        "python -m experiments.train model.kl.beta=2 trainer.resume=true "
        f"hydra.run.dir={tmp_path}/run")
    assert resume_command(tmp_path / "sweep" / "3", multirun=True).endswith(
        f"trainer.resume=true hydra.sweep.dir={tmp_path}/sweep")


@pytest.mark.slow  # 10 s on 2 cores: CI runs it with the slow tests
def test_a_refused_command_leaves_the_run_folder_it_names_as_it_was(tmp_path):
    run = tmp_path / "run"
    done = run_cli(*TINY, "score.figures=false", f"hydra.run.dir={run}")
    assert done.returncode == 0, done.stderr
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    for refused in (["trainer.resume=true", "model=ae"],  # refused by the resume check
                    ["data=table", f"data.path={tmp_path / 'none.csv'}"]):  # by the data
        done = run_cli(*TINY, "score.figures=false", *refused, f"hydra.run.dir={run}")
        assert done.returncode == 2 and done.stderr.startswith("error: "), done.stderr
        after = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
        assert after.keys() == before.keys()
        assert [p for p in before if after[p] != before[p]] == []


def test_resume_in_a_read_only_run_folder_is_one_line_and_touches_nothing(tmp_path):
    run = tmp_path / "run"
    done = run_cli(*TINY, "score.figures=false", "trainer.epochs=1", f"hydra.run.dir={run}")
    assert done.returncode == 0, done.stderr
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    resumed = run_cli_read_only(run, *TINY, "score.figures=false", "trainer.epochs=2",
                                "trainer.resume=true", f"hydra.run.dir={run}")
    assert resumed.returncode == 2, resumed.stderr
    assert resumed.stderr.strip() == (f"error: cannot write {run}: Read-only file "
                                      "system; make it writable or choose another folder "
                                      "(paths.output_root=... or hydra.run.dir=...)")
    after = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert after == before


def test_a_signal_while_scoring_is_an_interruption_that_resume_finishes(
        compose_train, tmp_path, monkeypatch):
    from experiments import train as train_app
    from reducers.interrupt import StopRequest

    stop, scored = StopRequest(), train_app.score_codes

    def signal_while_scoring(*args, **kwargs):
        stop.signum = signal.SIGINT  # Ctrl-C while the metrics are computed
        return scored(*args, **kwargs)
    monkeypatch.setattr(train_app, "score_codes", signal_while_scoring)
    record = train(compose_train(*TINY), tmp_path, stop=stop)
    assert record.status == "interrupted" and record.epochs_completed == 2
    assert record.interrupted == Interrupted("SIGINT", "scoring", 2,
                                             str(tmp_path / "checkpoint.pt"))
    assert (tmp_path / "loss_curves.png").exists() and not (tmp_path / "scatter.png").exists()
    monkeypatch.setattr(train_app, "score_codes", scored)
    resumed = train(compose_train(*TINY, "trainer.resume=true"), tmp_path)
    assert resumed.status == "ok" and resumed.epochs_completed == 2
    assert without_timings(resumed.metrics)["knn_acc"] == record.metrics["knn_acc"]
    assert (tmp_path / "scatter.png").exists()


def test_schedules_resume_exactly(compose_train, tmp_path):
    """A learning-rate schedule and a KL warm-up are functions of the position: a run stopped
    and resumed ends with the weights of one never stopped."""
    scheduled = [*TINY, "trainer.epochs=4", "trainer.lr_schedule=cosine",
                 "model.kl.schedule=linear", "model.kl.warmup_epochs=3", "trainer.threads=1",
                 "trainer.checkpoint_seconds=0", "score.figures=false"]
    stopped_then_resumed(compose_train, scheduled, tmp_path, stop_after=25, epochs=4)
    history = (tmp_path / "straight" / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,beta,lr,")


def test_early_stopping_resumes_exactly_and_keeps_the_scored_weights(compose_train, tmp_path):
    validated = [*TINY, "data.limit=400", "trainer.epochs=40", "model=ae", "model.net.hidden=[128]",
                 "optim.lr=3e-3", "trainer.batch_size=32", "trainer.val_fraction=0.25",
                 "trainer.early_stopping=3", "trainer.restore_best=true", "trainer.threads=1",
                 "trainer.checkpoint_seconds=0", "score.figures=false"]
    straight = train(compose_train(*validated), tmp_path / "straight")
    assert straight.stopped_early is not None and straight.best_epoch is not None
    assert straight.best_epoch == straight.stopped_early - 3
    stopped = train(compose_train(*validated), tmp_path / "run", StopAfter(30))
    assert stopped.status == "interrupted"
    resumed = train(compose_train(*validated, "trainer.resume=true"), tmp_path / "run")
    assert (resumed.best_epoch, resumed.stopped_early) == \
        (straight.best_epoch, straight.stopped_early)
    assert without_timings(resumed.metrics) == without_timings(straight.metrics)
    a, b = load_checkpoint(tmp_path / "run"), load_checkpoint(tmp_path / "straight")
    assert same_weights(a, b)  # the restored best epoch's weights, what was scored
    from reducers.checkpoint import build_model
    from reducers.scoring import encode
    model = build_model(b, tmp_path / "straight")
    codes = np.load(tmp_path / "straight" / "codes.npz")["test"]
    from reducers.data import load_mnist5k
    x_test = torch.from_numpy(load_mnist5k(limit=400).x_test)
    assert np.allclose(encode(model, x_test), codes, atol=1e-6)
