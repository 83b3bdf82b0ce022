"""The search sweeper's own reading of Hydra's sweep syntax (hydra_plugins/reducer_sweep/
search_space.py): each form as the Optuna distribution it means, fixed values, the command
line over the stored space, samplers, and one line for what cannot be searched."""

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

optuna = pytest.importorskip("optuna")
from optuna.distributions import (CategoricalDistribution, FloatDistribution,  # noqa: E402
                                  IntDistribution)

from hydra_plugins.reducer_sweep import search_space  # noqa: E402
from reducers.errors import ConfigError  # noqa: E402

STORED = {"model.kl.beta": "tag(log, interval(0.05, 20))",
          "model.net.hidden": "choice('[256,128]', '[512,256]')", "optim.lr": "interval(1e-4,0.1)"}


def test_each_form_of_the_sweep_syntax_is_the_distribution_it_means():
    found, fixed = search_space.parse(STORED, ["seed=range(1,10,3)", "trainer.epochs=5",
                                               "model.recon=choice(bce,mse)", "x=choice(true,2)",
                                               "optim.lr=0.01", "data.limit=range(100,400,100)"])
    assert found == {"model.kl.beta": FloatDistribution(0.05, 20.0, log=True),
                     "model.net.hidden": CategoricalDistribution(["[256,128]", "[512,256]"]),
                     "seed": IntDistribution(1, 7, step=3),
                     "model.recon": CategoricalDistribution(["bce", "mse"]),
                     "x": CategoricalDistribution([True, 2]),
                     "data.limit": IntDistribution(100, 300, step=100)}
    assert fixed == {"trainer.epochs": "5", "optim.lr": "0.01"}  # the command line wins


def test_a_trials_values_become_the_jobs_overrides():
    found, fixed = search_space.parse(STORED, ["x=choice(true,false)", "trainer.epochs=5"])
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(0)).ask(found)
    made = search_space.overrides(trial, fixed)
    assert made[-1] == "trainer.epochs=5" and len(made) == 5
    assert {m.split("=")[1] for m in made if m.startswith("x=")} <= {"true", "false"}
    hidden = next(m for m in made if m.startswith("model.net.hidden="))
    assert hidden in ("model.net.hidden=[256,128]", "model.net.hidden=[512,256]")


@pytest.mark.parametrize("argument, says", [
    ("x=range(5,1)", "holds no value"),
    ("x=interval(2,1)", "low < high"),
    ("x=tag(log, interval(0, 1))", "needs low > 0"),
])
def test_what_cannot_be_searched_is_one_line(argument, says):
    with pytest.raises(ConfigError, match=says):
        search_space.parse(None, [argument])


def test_directions_and_samplers():
    assert search_space.directions("maximize") == ["maximize"]
    assert search_space.directions(OmegaConf.create(["maximize", "minimize"])) == \
        ["maximize", "minimize"]
    with pytest.raises(ConfigError, match="maximize or minimize"):
        search_space.directions("up")
    found, _ = search_space.parse(None, ["a=choice(x,y)", "b=range(1,4)"])
    grid = search_space.sampler(instantiate(OmegaConf.structured(search_space.GridSamplerConf)),
                                found)
    assert isinstance(grid, optuna.samplers.GridSampler)
    assert grid._search_space == {"a": ["x", "y"], "b": [1, 2, 3]}
    tpe = search_space.sampler(instantiate(OmegaConf.structured(
        search_space.TPESamplerConf(seed=3))), found)
    assert isinstance(tpe, optuna.samplers.TPESampler)
    interval, _ = search_space.parse(None, ["c=interval(0,1)"])
    with pytest.raises(ConfigError, match="grid sampler takes choice"):
        search_space.sampler(instantiate(OmegaConf.structured(search_space.GridSamplerConf)),
                             interval)


def test_objectives_are_a_list_of_metrics_with_a_direction_each():
    assert search_space.metrics("knn_acc", ["maximize"]) == ["knn_acc"]
    listed = OmegaConf.create({"m": ["knn_acc", "trustworthiness"]}).m  # as Hydra gives it
    assert search_space.metrics(listed, ["maximize", "maximize"]) == ["knn_acc",
                                                                       "trustworthiness"]
    with pytest.raises(ConfigError, match="differ in length: give one direction per metric"):
        search_space.metrics(listed, ["maximize"])
