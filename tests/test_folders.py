"""A folder holding a finished run is never replaced by a command that did not ask to continue
it: train without resume, embed and anomaly pointed at it are refused in one line, exit 2, and
leave every file byte-identical (experiments/folders.py)."""

import hashlib

import pytest

from tests.helpers import run_cli

RUN = ["trainer.epochs=1", "data.limit=300", "model.net.hidden=[16]", "trainer.progress=false"]


def fingerprint(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run = tmp_path_factory.mktemp("finished") / "run"
    proc = run_cli(*RUN, f"hydra.run.dir={run}")
    assert proc.returncode == 0, proc.stderr
    return run


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
    same = run_cli(*SWEEP, "model.kl.beta=0,1", "trainer.resume=true",
                   f"hydra.sweep.dir={sweep}")
    assert same.returncode == 0, same.stderr  # continuing it with the same grid is allowed
