"""Pruning across processes and searches of several objectives (hydra_plugins/reducer_sweep/
pruning.py, search.py, search_results.py; experiments/search_report.py): trials that report
their value epoch by epoch to the study and stop when the pruner says so, under the basic
launcher and joblib, recorded as pruned everywhere; a Pareto front as a table and a figure;
one line for what cannot be pruned or searched."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

optuna = pytest.importorskip("optuna")

from experiments import search_report  # noqa: E402
from experiments.records import Pruned, Record  # noqa: E402
from hydra_plugins.reducer_sweep.pruning import Reporter  # noqa: E402
from reducers.status import Status  # noqa: E402
from tests.helpers import run_cli  # noqa: E402

FAST = ["data.limit=500", "model.net.hidden=[32]", "trainer.progress=false",
        "score.figures=false"]
SEARCH = ["hparams_search=vae_optuna", "model.net.hidden=[32]"]
MEDIAN = ["hydra/sweeper/pruner=median", "hydra.sweeper.pruner.n_startup_trials=1"]


def search(tmp_path, name: str, *args: str):
    return run_cli(*SEARCH, *FAST, *args, f"hydra.sweep.dir={tmp_path / name}")


def check_pruned_search(folder, epochs: int) -> pd.DataFrame:
    """What a search with a pruner leaves: pruned trials recorded as such in the study, in
    their runs, in the comparison and in search.md; every value reported is the run's own."""
    trials = pd.read_csv(folder / "trials.csv")
    pruned = trials[trials.state == "PRUNED"]
    assert len(pruned) >= 1 and set(pruned.status) == {"pruned"}, trials
    assert (trials.state == "COMPLETE").any()
    for _, trial in trials.iterrows():
        run = folder / str(trial.trial)
        record = Record.from_json(json.loads((run / "metrics.json").read_text()))
        history = pd.read_csv(run / "history.csv")
        reported = {int(k): v for k, v in json.loads(trial.reported).items()}
        # every epoch but the last reported knn_acc as the run scores it
        assert reported == pytest.approx(dict(zip(history.epoch, history.trial_knn_acc)
                                              ) if trial.state == "PRUNED" else dict(
            zip(history.epoch[:-1], history.trial_knn_acc[:-1])))
        if trial.state == "PRUNED":
            assert record.status is Status.pruned and record.pruned.epoch == trial.pruned_at
            assert record.epochs_completed == trial.pruned_at < epochs
            assert record.pruned.value == pytest.approx(reported[trial.pruned_at])
            assert "knn_acc" not in record.metrics  # not scored
            assert trial.reason == record.reason() == (
                f"pruned at epoch {record.pruned.epoch} (knn_acc {record.pruned.value:.4g} there)")
        else:
            assert record.status is Status.ok and record.epochs_completed == epochs
            assert trial.value == pytest.approx(record.metrics["knn_acc"])
    table = pd.read_csv(folder / "comparison.csv")
    assert (table.status == "pruned").sum() == len(pruned)
    assert table[table.status == "pruned"].reason.str.startswith("pruned at epoch").all()
    report = (folder / "search.md").read_text()
    assert f"{len(pruned)} trials were stopped by the pruner" in report
    assert "MedianPruner" in report and (folder / "search_pruning.png").stat().st_size > 0
    return trials


def test_a_search_with_a_pruner_stops_trials_and_says_where(tmp_path):
    proc = search(tmp_path, "s", *MEDIAN, "hydra.sweeper.n_trials=6", "trainer.epochs=4")
    assert proc.returncode == 0, proc.stderr
    check_pruned_search(tmp_path / "s", epochs=4)
    assert (tmp_path / "s" / "study.journal").exists()  # what the jobs reported to


@pytest.mark.slow  # two searches in joblib's workers, about 40 s
def test_pruning_under_joblib_with_the_study_in_memory_or_in_a_file(tmp_path):
    joblib = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweeper.n_jobs=2",
              "hydra.sweeper.n_trials=6", "trainer.epochs=4", *MEDIAN]
    proc = search(tmp_path, "memory", *joblib)
    assert proc.returncode == 0, proc.stderr
    check_pruned_search(tmp_path / "memory", epochs=4)
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    proc = search(tmp_path, "file", *joblib, f"hydra.sweeper.storage={storage}")
    assert proc.returncode == 0, proc.stderr
    check_pruned_search(tmp_path / "file", epochs=4)
    kept = optuna.load_study(study_name="vae_optuna", storage=storage)
    assert any(t.state == optuna.trial.TrialState.PRUNED and t.intermediate_values
               for t in kept.trials)


class FakeTrial:
    """A trial whose pruner stops it after ``stop_at`` (never when None)."""
    number = 0

    def __init__(self, stop_at=None):
        self.stop_at, self.reports = stop_at, {}

    def report(self, value, step):
        self.reports[step] = value

    def should_prune(self):
        return self.stop_at is not None and max(self.reports) >= self.stop_at


def test_reporting_changes_nothing_a_run_trains_and_pruning_ends_it_there():
    import torch

    from reducers import MLP, VAE
    from reducers.trainer import Trainer
    from reducers.trainer_settings import TrainerSettings

    x = torch.rand(200, 20)

    def fit(*callbacks):
        torch.manual_seed(0)
        model = VAE(input_dim=20, net=MLP(hidden=[16]))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        result = Trainer(TrainerSettings(epochs=4, batch_size=50, progress=False),
                         callbacks=callbacks).fit(model, optimizer, x, seed=0)
        return result, model

    measured = iter(np.linspace(0.1, 0.9, 10))
    plain, plain_model = fit()
    watched_trial = FakeTrial()
    watched, watched_model = fit(Reporter(watched_trial, "knn_acc", lambda: next(measured)))
    assert [r["train_total"] for r in plain.history] == [r["train_total"] for r in watched.history]
    assert all(torch.equal(a, b) for a, b in zip(plain_model.state_dict().values(),
                                                 watched_model.state_dict().values()))
    assert sorted(watched_trial.reports) == [1, 2, 3]  # not the last epoch: the run's score
    pruned, _ = fit(Reporter(FakeTrial(stop_at=2), "knn_acc", lambda: 0.5))
    assert pruned.status is Status.pruned and len(pruned.history) == 2
    assert pruned.pruned == {"epoch": 2, "metric": "knn_acc", "value": 0.5}


def test_a_pruned_record_round_trips_and_says_where(tmp_path):
    record = Record(status=Status.pruned, pruned=Pruned(epoch=3, metric="knn_acc", value=0.41),
                    epochs_completed=3)
    record.write(tmp_path)
    again = Record.from_json(json.loads((tmp_path / "metrics.json").read_text()))
    assert again == record and again.reason() == "pruned at epoch 3 (knn_acc 0.41 there)"
    assert Status.pruned.finished  # a result, as a diverged run is


def dominated(a, b, signs) -> bool:
    """Whether b beats a: as good on every objective, better on one."""
    return all(s * y >= s * x for x, y, s in zip(a, b, signs)) and \
        any(s * y > s * x for x, y, s in zip(a, b, signs))


def test_a_search_of_two_objectives_writes_its_pareto_front(tmp_path):
    proc = search(tmp_path, "s", "hydra.sweeper.n_trials=5", "trainer.epochs=2",
                  "optimized_metric=[knn_acc,train_seconds]",
                  "optimized_direction=[maximize,minimize]")
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "s"
    trials = pd.read_csv(folder / "trials.csv")
    values = trials[["value:knn_acc", "value:train_seconds"]].to_numpy()
    for (_, trial), value in zip(trials.iterrows(), values):
        record = json.loads((folder / str(trial.trial) / "metrics.json").read_text())
        assert value == pytest.approx([record["metrics"]["knn_acc"],
                                       record["metrics"]["train_seconds"]])
    signs = (1, -1)
    for i, on_front in enumerate(trials.pareto):  # the front is exactly the undominated ones
        assert on_front == (not any(dominated(values[i], other, signs) for other in values))
    front = trials[trials.pareto]
    solutions = yaml.safe_load((folder / "optimization_results.yaml").open())["solutions"]
    assert sorted(s["values"][0] for s in solutions) == sorted(front["value:knn_acc"])
    report = (folder / "search.md").read_text()
    assert "# Search `vae_optuna`: maximize knn_acc, minimize train_seconds" in report
    assert f"## Pareto front: {len(front)} of 5 finished trials" in report
    for _, row in front.iterrows():
        assert f"| {row.trial} | {row['value:knn_acc']:.4f} | {row['value:train_seconds']:.4f} |" \
            in report
    assert (folder / "search_pareto.png").stat().st_size > 0
    assert "Pareto front, trial" in proc.stdout  # logged as the search ends


@pytest.mark.parametrize("args, line", [
    ([*MEDIAN, "optimized_metric=[knn_acc,trustworthiness]",
      "optimized_direction=[maximize,maximize]"],
     "error: hydra.sweeper.pruner: Optuna prunes a search of one objective, not of 2 (knn_acc, "
     "trustworthiness): leave hydra/sweeper/pruner=... out or optimise one metric"),
    ([*MEDIAN, "optimized_metric=train_seconds", "optimized_direction=minimize"],
     "error: hydra.sweeper.pruner needs optimized_metric measured during training, one of "
     "knn_acc, silhouette, davies_bouldin, calinski_harabasz, trustworthiness, continuity, "
     "code_std, kmeans_vmeasure, kmeans_ari, recon_mse, test_recon, test_kl, active_units; "
     "train_seconds is not: leave hydra/sweeper/pruner=... out or optimise another metric"),
    (["optimized_metric=[knn_acc,train_seconds]", "optimized_direction=[maximize,maximize]"],
     "error: optimized_direction='maximize' is invalid: train_seconds is better when lower; "
     "set optimized_direction=minimize for it"),  # the app's check, before any trial
    (["hydra/sweeper/pruner=null"],
     "error: 'hydra/sweeper/pruner=null': hydra/sweeper/pruner is a group of options "
     "(hyperband, median, percentile, successive_halving): name one, or leave the argument out "
     "for the default"),
    (["hydra.sweeper.pruner.n_warmup_steps=2"],
     "error: 'hydra.sweeper.pruner.n_warmup_steps=2' sets a pruner's setting, but no pruner is "
     "picked: add hydra/sweeper/pruner=... (hyperband, median, percentile, "
     "successive_halving)"),
    (["optimized_metric=[knn_acc,trustworthiness]"],
     "error: optimized_direction='maximize' is invalid: one direction per metric of "
     "optimized_metric=['knn_acc', 'trustworthiness'], e.g. [maximize,maximize]"),
])
def test_what_cannot_be_pruned_or_searched_is_one_line(tmp_path, args, line):
    proc = search(tmp_path, "s", "trainer.epochs=2", *args)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1] == line
    assert not (tmp_path / "s" / "0").exists()  # before any trial


def test_several_objectives_need_a_direction_each_that_agrees():
    proc = run_cli(*FAST, "trainer.epochs=1", "optimized_metric=[knn_acc,train_seconds]",
                   "optimized_direction=[maximize,maximize]", "hydra.run.dir=/nonexistent/x")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].endswith(
        "train_seconds is better when lower; set optimized_direction=minimize for it")


def test_the_report_of_a_pruned_search_of_two_objectives_from_its_files(tmp_path):
    (tmp_path / "search.json").write_text(json.dumps({
        "study": "s", "storage": None, "sampler": "NSGAIISampler", "optuna": "5.1.0",
        "pruner": None, "metric": "knn_acc", "direction": "maximize",
        "metrics": ["knn_acc", "trustworthiness"], "directions": ["maximize", "maximize"]}))
    pd.DataFrame({"trial": [0, 1, 2], "state": ["COMPLETE", "COMPLETE", "COMPLETE"],
                  "status": ["ok"] * 3, "value": [0.5, 0.6, 0.4],
                  "value:knn_acc": [0.5, 0.6, 0.4], "value:trustworthiness": [0.9, 0.8, 0.7],
                  "pareto": [True, True, False], "param:model.kl.beta": [1.0, 2.0, 4.0],
                  "pruned_at": [None] * 3, "reported": [""] * 3,
                  "run_dir": [str(tmp_path / str(i)) for i in range(3)], "reason": [""] * 3,
                  "overrides": ["a=1"] * 3, "started": [""] * 3, "seconds": [1.0, 2.0, 3.0]}
                 ).to_csv(tmp_path / "trials.csv", index=False)
    search_report.write_tables([tmp_path], tmp_path)
    report = (tmp_path / "search.md").read_text()
    assert "## Pareto front: 2 of 3 finished trials" in report
    assert "| 0 | 0.5000 | 0.9000 | 1 | 0 |\n| 1 | 0.6000 | 0.8000 | 2 | 1 |\n" in report
    assert "| 1 | ok | **0.6000** | **0.8000** | 2 | 2 | 1 |  |" in report
    assert "| 2 | ok | 0.4000 | 0.7000 | 4 | 3 | 2 |  |" in report
    assert (tmp_path / "search_pareto.png").exists()
    assert not (tmp_path / "search_pruning.png").exists()


@pytest.mark.parametrize("name, kind", [("median", "MedianPruner"),
                                        ("percentile", "PercentilePruner"),
                                        ("hyperband", "HyperbandPruner"),
                                        ("successive_halving", "SuccessiveHalvingPruner")])
def test_each_pruner_option_is_optunas_pruner(name, kind):
    from hydra.core.config_store import ConfigStore
    from hydra.utils import instantiate

    import hydra_plugins.reducer_sweep.pruning  # noqa: F401  (stores the options)
    node = ConfigStore.instance().load(f"hydra/sweeper/pruner/{name}.yaml").node
    assert type(instantiate(node)).__name__ == kind


@pytest.mark.parametrize("preset", ["vae_optuna", "vae_pareto"])
@pytest.mark.parametrize("sampler", ["tpe", "random", "grid", "nsgaii"])
def test_every_sampler_option_composes_with_every_search(preset, sampler):
    from hydra.utils import instantiate

    from tests.helpers import composer

    cfg = composer("train", return_hydra_config=True)(
        f"hparams_search={preset}", f"hydra/sweeper/sampler={sampler}", "seed=3")
    make = instantiate(cfg.hydra.sweeper.sampler)  # a partial, as the sweeper gets it
    assert make.keywords["seed"] == 3


def test_the_pruning_benchmark_table_pairs_each_seed():
    from experiments.benchmark_search import summary

    def row(seed, pruner, wall, best, pruned=0, epochs=800):
        return {"seed": seed, "pruner": pruner, "wall_seconds": wall, "best_value": best,
                "pruned": pruned, "trials": 40, "epochs_trained": epochs,
                "epochs_without_pruning": 800}

    median, percentile = "hydra/sweeper/pruner=median", "hydra/sweeper/pruner=percentile"
    table = summary([row(0, "none", 400, 0.70), row(0, median, 200, 0.69, 20, 430),
                     row(0, percentile, 100, 0.70, 30, 300),
                     row(1, "none", 300, 0.71), row(1, median, 240, 0.72, 10, 600),
                     row(1, percentile, 150, 0.70, 30, 300)])
    first, second = table.split(f"`{percentile}`:")
    assert first.startswith(f"`{median}`:")
    assert "| 0 | 400 | 200 | 0.50 | 0.7000 | 0.6900 | -0.0100 | 20/40 | 430/800 |" in first
    assert "| 1 | 300 | 240 | 0.80 | 0.7100 | 0.7200 | +0.0100 | 10/40 | 600/800 |" in first
    assert first.strip().endswith("median ratio of wall times (with / without): 0.65")
    assert "| 0 | 400 | 100 | 0.25 | 0.7000 | 0.7000 | +0.0000 | 30/40 | 300/800 |" in second
    assert second.endswith("median ratio of wall times (with / without): 0.38")
