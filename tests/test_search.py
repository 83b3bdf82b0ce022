"""Optuna searches (``hparams_search=...``, the ``search`` sweeper of
hydra_plugins/reducer_sweep/search.py) against the real hydra-optuna-sweeper and Optuna: the
comparison and search.md at the end, trials that diverge told to Optuna as pruned while the
search goes on, a kept study resumed by the same command and refused to another."""

import json

import optuna
import pandas as pd
import pytest
import yaml

from experiments import search_report
from tests.helpers import run_cli

FAST = ["trainer.epochs=2", "data.limit=500", "model.net.hidden=[32]", "trainer.progress=false",
        "score.figures=false"]
SEARCH = ["hparams_search=vae_optuna", "model.net.hidden=[32]"]  # width fixed: a small search


def search(tmp_path, name: str, *args: str):
    return run_cli(*SEARCH, *FAST, *args, f"hydra.sweep.dir={tmp_path / name}")


def test_a_search_ends_with_the_comparison_and_its_report(tmp_path):
    proc = search(tmp_path, "s", "hydra.sweeper.n_trials=3")
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "s"
    table = pd.read_csv(folder / "comparison.csv")
    assert len(table) == 3 and set(table.status) == {"ok"}
    trials = pd.read_csv(folder / "trials.csv")
    assert trials.trial.tolist() == [0, 1, 2] and set(trials.state) == {"COMPLETE"}
    for _, trial in trials.iterrows():  # the value Optuna got is the run's own knn_acc
        record = json.loads((folder / str(trial.trial) / "metrics.json").read_text())
        assert trial.value == pytest.approx(record["metrics"]["knn_acc"])
        config = yaml.safe_load((folder / str(trial.trial) / ".hydra" / "config.yaml").open())
        assert config["model"]["kl"]["beta"] == pytest.approx(trial["param:model.kl.beta"])
        assert 0.05 <= config["model"]["kl"]["beta"] <= 20 and 1e-4 <= config["optim"]["lr"] <= 3e-2
    best = trials.loc[trials.value.idxmax()]
    assert yaml.safe_load((folder / "optimization_results.yaml").open())["best_value"] == \
        pytest.approx(best.value)
    report = (folder / "search.md").read_text()
    assert f"## Best: trial {best.trial}, knn_acc = {best.value:.4f}" in report
    assert "3 trials: 3 ok" in report and (folder / "search_history.png").stat().st_size > 0


def test_a_diverging_trial_is_listed_and_the_search_goes_on(tmp_path):
    proc = search(tmp_path, "s", "hydra.sweeper.n_trials=4", "optim.lr=choice(0.001,1000.0)")
    assert proc.returncode == 0, proc.stderr
    trials = pd.read_csv(tmp_path / "s" / "trials.csv")
    diverged = trials[trials["param:optim.lr"] == 1000.0]
    assert len(diverged) and len(diverged) < 4  # the seed draws both
    assert set(diverged.state) == {"PRUNED"} and set(diverged.status) == {"diverged"}
    assert diverged.value.isna().all() and diverged.reason.str.startswith("diverged at").all()
    assert set(trials[trials["param:optim.lr"] == 0.001].state) == {"COMPLETE"}
    table = pd.read_csv(tmp_path / "s" / "comparison.csv")
    assert sorted(table[table.status == "diverged"]["optim.lr"]) == [1000.0] * len(diverged)
    report = (tmp_path / "s" / "search.md").read_text()
    assert "Diverged trials were told to Optuna as pruned" in report and "| diverged |" in report


def test_a_search_in_which_no_trial_finishes_says_so(tmp_path):
    proc = search(tmp_path, "s", "hydra.sweeper.n_trials=2", "optim.lr=1000")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "error: no trial of study vae_optuna finished")
    assert "**No trial finished**" in (tmp_path / "s" / "search.md").read_text()


@pytest.mark.slow  # end to end, tens of seconds: CI runs it with the slow tests
def test_a_kept_study_is_resumed_by_the_same_command_and_refused_to_another(tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna' / 'study.db'}"  # its folder does not exist yet
    keep = [f"hydra.sweeper.storage={storage}"]
    assert search(tmp_path, "first", *keep, "hydra.sweeper.n_trials=2").returncode == 0
    study = optuna.load_study(study_name="vae_optuna", storage=storage)
    study.ask()  # a trial whose command was killed: left running in the study
    proc = search(tmp_path, "second", *keep, "hydra.sweeper.n_trials=3")
    assert proc.returncode == 0, proc.stderr
    trials = pd.read_csv(tmp_path / "second" / "trials.csv")
    assert trials.state.tolist() == ["COMPLETE", "COMPLETE", "FAIL", "COMPLETE"]
    assert trials.status.tolist() == ["ok", "ok", "interrupted", "ok"]  # not counted: run again
    assert len(pd.read_csv(tmp_path / "second" / "comparison.csv")) == 1  # this command's run
    assert "(re-running the command resumes it)" in (tmp_path / "second" / "search.md").read_text()
    again = search(tmp_path, "third", *keep, "hydra.sweeper.n_trials=3")
    assert again.returncode == 0 and len(pd.read_csv(tmp_path / "third" / "trials.csv")) == 4
    other = search(tmp_path, "other", *keep, "hydra.sweeper.n_trials=3", "trainer.epochs=3")
    assert other.returncode == 2 and other.stderr.strip().splitlines()[-1] == (
        f"error: study 'vae_optuna' in {storage} was made by another command (trainer.epochs: "
        "2 then, 3 now): re-run its own command to resume it, or name a new study "
        "(hydra.sweeper.study_name=...)")


def test_a_stored_grid_and_a_search_in_one_command_is_one_line():
    proc = run_cli("sweep=beta_loss", "hparams_search=vae_optuna")
    assert proc.returncode == 2 and proc.stderr == (
        "error: sweep=beta_loss is a stored grid and hparams_search=vae_optuna an Optuna search: "
        "a command runs one or the other (search over a grid's keys by naming them in the "
        "search, e.g. 'model.recon=choice(mse,bce)')\n")


def test_the_report_from_the_files_alone(tmp_path, capsys):
    (tmp_path / "search.json").write_text(json.dumps({
        "study": "s", "storage": None, "sampler": "TPESampler", "optuna": "2.10.1",
        "metric": "davies_bouldin", "direction": "minimize", "command": ["x=1"]}))
    pd.DataFrame({"trial": [0, 1, 2], "state": ["COMPLETE", "PRUNED", "COMPLETE"],
                  "status": ["ok", "diverged", "ok"], "value": [0.9, None, 0.7],
                  "param:model.kl.beta": [1.0, 2.0, 4.0],
                  "run_dir": [str(tmp_path / str(i)) for i in range(3)],
                  "reason": ["", "diverged at epoch 1, step 2", ""],
                  "overrides": ["model.kl.beta=1.0", "model.kl.beta=2.0", "model.kl.beta=4.0"],
                  "started": ["", "", ""], "seconds": [1.0, None, 2.0]}
                 ).to_csv(tmp_path / "trials.csv", index=False)
    table = search_report.write_tables([tmp_path], tmp_path)
    assert table.status.tolist() == ["ok", "diverged", "ok"]
    report = (tmp_path / "search.md").read_text()
    assert "## Best: trial 2, davies_bouldin = 0.7000" in report  # minimised
    assert "| 2 | ok | **0.7000** | 4 | 2 | 2 |  |" in report
    assert "| 1 | diverged | — | 2 | — | 1 | diverged at epoch 1, step 2 |" in report
    assert "in memory (this command's trials only). 3 trials: 2 ok, 1 diverged." in report
    about = json.loads((tmp_path / "search.json").read_text())
    del about["metric"]
    (tmp_path / "search.json").write_text(json.dumps(about))
    trials = pd.read_csv(tmp_path / "trials.csv").drop(columns="state")
    trials.to_csv(tmp_path / "trials.csv", index=False)
    before = report
    assert search_report.main([str(tmp_path)]) == 2  # one line, not a KeyError
    assert capsys.readouterr().err == (f"error: {tmp_path}: search.json's 'metric', trials.csv's "
                                       "column 'state' missing: these files were not written "
                                       "by the search sweeper, or were edited; re-run the "
                                       "search\n")
    assert (tmp_path / "search.md").read_text() == before


@pytest.mark.slow  # 30 s: four searches
def test_a_search_folder_and_a_kept_study_have_one_writer_at_a_time(tmp_path):
    """A kept study continued in its own folder numbers its new trials after the old ones; a
    search whose study is not kept does not write over a finished one's folder; a second
    command searching a kept study while another does is refused (it would take the first's
    running trials for interrupted ones)."""
    import subprocess
    import sys
    import time

    from tests.helpers import ROOT

    storage = f"sqlite:///{tmp_path / 'optuna' / 'study.db'}"
    keep = [f"hydra.sweeper.storage={storage}"]
    folder = tmp_path / "s"
    assert search(tmp_path, "s", *keep, "hydra.sweeper.n_trials=1").returncode == 0
    first = (folder / "0" / "metrics.json").read_bytes()
    proc = search(tmp_path, "s", *keep, "hydra.sweeper.n_trials=2")
    assert proc.returncode == 0, proc.stderr
    assert (folder / "0" / "metrics.json").read_bytes() == first
    assert json.loads((folder / "1" / "metrics.json").read_text())["status"] == "ok"
    files = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    proc = search(tmp_path, "s", "hydra.sweeper.n_trials=1")
    assert proc.returncode == 2 and proc.stderr == (
        f"error: hydra.sweep.dir={folder} holds a search with 2 finished trials that this "
        "command would replace: name another folder (or leave hydra.sweep.dir out), or keep "
        "the study in a file to continue it (hydra.sweeper.storage=sqlite:///FILE)\n")
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == files

    command = [sys.executable, "-m", "experiments.train", *SEARCH, *FAST, *keep,
               "hydra.sweeper.n_trials=40", f"hydra.sweep.dir={tmp_path / 'long'}"]
    long = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        lock = tmp_path / "optuna" / ".study.db.vae_optuna.lock"
        deadline = time.monotonic() + 120
        while not lock.exists() and long.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lock.exists(), "the first search never began"
        other = search(tmp_path, "other", *keep, "hydra.sweeper.n_trials=40")
        assert other.returncode == 2 and other.stderr == (
            f"error: study 'vae_optuna' in {storage} is being searched by another command "
            f"(process {long.pid}): wait for it to end, or name another study "
            "(hydra.sweeper.study_name=...)\n")
        assert not (tmp_path / "other").exists()
    finally:
        long.terminate()
        long.wait(60)
