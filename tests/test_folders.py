"""A folder holding a finished run is never replaced by a command that did not ask to continue
it: train without resume, embed and anomaly pointed at it are refused in one line, exit 2, and
leave every file byte-identical (experiments/folders.py)."""

import hashlib

import pytest

from tests.helpers import run_cli, trained_run

RUN = ["trainer.epochs=1", "data.limit=300", "model.net.hidden=[16]", "trainer.progress=false"]


def fingerprint(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return trained_run(tmp_path_factory, "finished", *RUN)


@pytest.mark.parametrize("module, args, fix", [
    ("experiments.train", RUN, "continue it with trainer.resume=true, or name another folder"),
    ("experiments.train", [*RUN, "model=ae"], "continue it with trainer.resume=true"),
    ("experiments.embed", ["data=mnist5k"], "name another folder"),
    ("experiments.anomaly", ["trainer.epochs=1", "data.limit=300"], "name another folder"),
], ids=["train-again", "train-other-model", "embed", "anomaly"])
def test_a_finished_run_is_not_replaced(finished, module, args, fix):
    before = fingerprint(finished)
    extra = [f"checkpoint={finished}"] if module == "experiments.embed" else []
    proc = run_cli(*args, *extra, f"hydra.run.dir={finished}", module=module)
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: hydra.run.dir={finished} holds a finished train run (ok) "
                           "that this command would replace: ") and fix in line, line
    assert fingerprint(finished) == before


def test_asking_to_continue_it_is_allowed(finished, tmp_path):
    proc = run_cli(*RUN, "trainer.resume=true", f"hydra.run.dir={finished}")
    assert proc.returncode == 0, proc.stderr


SWEEP = ["-m", "trainer.epochs=1", "data.limit=300", "model.net.hidden=[16]",
         "score.figures=false", "trainer.progress=false"]


@pytest.mark.slow  # end to end, tens of seconds: CI runs it with the slow tests
def test_a_finished_sweep_is_not_replaced_by_another_grid_or_written_over(tmp_path):
    sweep = tmp_path / "sweep"
    assert run_cli(*SWEEP, "model.kl.beta=0,1", f"hydra.sweep.dir={sweep}").returncode == 0
    before = fingerprint(sweep)
    again = run_cli(*SWEEP, "model.kl.beta=2,4", f"hydra.sweep.dir={sweep}")
    assert again.returncode == 2 and again.stderr.strip().splitlines()[-1] == (
        f"error: hydra.sweep.dir={sweep} holds a sweep with 2 finished runs that this command "
        "would replace: continue it with trainer.resume=true and the same grid, or name "
        "another folder (or leave hydra.sweep.dir out: each sweep gets a new one)")
    other = run_cli(*SWEEP, "model.kl.beta=2,4", "trainer.resume=true",
                    f"hydra.sweep.dir={sweep}")
    assert other.returncode == 2 and other.stderr.strip().splitlines()[-1].endswith(
        "its job 0 ran with model.kl.beta=0 (here 2): resume with the grid that made it, or "
        "name another folder for this one")
    assert fingerprint(sweep) == before  # every finished run's files as they were
    checkpoint = sweep / "1" / "checkpoint.pt"
    whole = checkpoint.read_bytes()
    checkpoint.write_bytes(whole[:len(whole) // 2])
    before = fingerprint(sweep)
    broken = run_cli(*SWEEP, "model.kl.beta=0,1", "trainer.resume=true",
                     f"hydra.sweep.dir={sweep}")
    assert broken.returncode == 2, broken.stderr
    [line] = broken.stderr.strip().splitlines()
    assert line.startswith(f"error: hydra.sweep.dir={sweep} holds a sweep with 2 finished runs; "
                           "job 1's checkpoint cannot be read (") and line.endswith(
        f"): move {sweep / '1'} away to run that job afresh, or name another folder")
    assert fingerprint(sweep) == before  # job 0's record not rewritten, job 1's not failed
    checkpoint.write_bytes(whole)
    same = run_cli(*SWEEP, "model.kl.beta=0,1", "trainer.resume=true",
                   f"hydra.sweep.dir={sweep}")
    assert same.returncode == 0, same.stderr  # continuing it with the same grid is allowed


LONG = ["trainer.epochs=150", "data.limit=2000", "model.net.hidden=[32]", "score.figures=false",
        "trainer.progress=false", "trainer.threads=1"]


def start(*args):
    import subprocess
    import sys

    from tests.helpers import ROOT
    return subprocess.Popen([sys.executable, "-m", "experiments.train", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path, proc, limit=120):
    import time

    for _ in range(int(limit / 0.05)):
        if path.exists():
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"no {path} in {limit} s")


@pytest.mark.slow  # a 150-epoch run to race against: CI runs it with the slow tests
def test_two_runs_into_one_folder_at_once_the_second_is_refused(tmp_path):
    run = tmp_path / "run"
    first = start(*LONG, f"hydra.run.dir={run}")
    wait_for(run / ".lock", first)
    second = run_cli(*LONG, f"hydra.run.dir={run}")
    assert second.returncode == 2 and second.stderr.strip().splitlines()[-1] == (
        f"error: hydra.run.dir={run} is being written by another command (process "
        f"{first.pid}): wait for it to end, or name another folder")
    assert first.wait(timeout=300) == 0, first.communicate()
    log = (run / "train.log").read_text()  # the first run's story, whole
    assert log.count(" - epoch ") == 150 and "ok in" in log.splitlines()[-1]
    assert not (run / ".lock").exists()


@pytest.mark.slow
def test_two_sweeps_into_one_folder_at_once_one_is_refused_and_the_table_is_true(tmp_path):
    sweep = tmp_path / "sweep"
    first = start("-m", *LONG, "model.kl.beta=0.5,2", f"hydra.sweep.dir={sweep}")
    wait_for(sweep / ".lock", first)
    second = run_cli("-m", *LONG, "model.kl.beta=1,4", f"hydra.sweep.dir={sweep}")
    assert second.returncode == 2 and "is being written by another command" in second.stderr
    assert first.wait(timeout=300) == 0, first.communicate()
    import pandas as pd
    table = pd.read_csv(sweep / "comparison.csv")
    assert sorted(table["model.kl.beta"]) == [0.5, 2.0] and set(table.status) == {"ok"}
    for job, beta in ((0, "0.5"), (1, "2")):  # each row's settings are its own run's
        assert f"model.kl.beta={beta}" in (sweep / str(job) / ".hydra" / "overrides.yaml"
                                           ).read_text()


@pytest.mark.parametrize("module, args", [
    ("experiments.train", ["data=digits", "score.knn_k=100000", "trainer.epochs=1"]),
    ("experiments.embed", ["checkpoint={run}", "data=digits"]),
], ids=["train-knn-k-too-large", "embed-other-size"])
def test_a_run_refused_after_its_folder_was_made_leaves_no_folder(finished, tmp_path, module,
                                                                  args):
    root = tmp_path / "outputs"
    proc = run_cli(*(a.format(run=finished) for a in args), f"paths.output_root={root}",
                   module=module)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error: "), proc.stderr
    assert not root.exists() or not any(root.iterdir()), sorted(root.rglob("*"))


@pytest.mark.parametrize("args", [["-m", "model.kl.beta=abc,1"],
                                  ["hparams_search=vae_optuna", "model.kl.beta=choice(abc,1)"]],
                         ids=["grid", "search"])
def test_a_sweep_refused_for_a_value_leaves_no_folder_and_runs_nothing(tmp_path, args):
    proc = run_cli(*RUN, *args, f"paths.output_root={tmp_path / 'out'}")
    assert proc.returncode == 2
    assert proc.stderr == ("error: Error merging override model.kl.beta=abc (Value 'abc' of "
                           "type 'str' could not be converted to Float)\n")
    assert not (tmp_path / "out").exists()  # no multirun.yaml, no trial run before the error
