"""Fuzzing the config spaces of the train and anomaly apps: random values for their numeric
keys and random group choices, on tiny real data. Whatever the draw, the app either finishes
with a record (``ok``, or ``diverged`` for a learning rate that blows up) or refuses with one
error line naming the problem, before any training: never a traceback, never a half-written
run.

Deterministic (``derandomize``), so that CI sees the same draws every time. UMAP is left out:
its first use compiles for ~45 s."""

import json

import pytest
from hydra.errors import HydraException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf.errors import OmegaConfBaseException

from experiments.anomaly import detect
from experiments.error_lines import error_line
from experiments.schemas import validate
from experiments.train import train
from reducers.errors import ReducerError
from tests.helpers import composer

floats = st.one_of(st.floats(-10, 1e4), st.sampled_from([0.0, -0.0, 1e-30, 1e30, float("nan"),
                                                        float("inf"), -float("inf")]))
small_ints = st.integers(-3, 12)
KEYS = {  # key -> values, each drawn as a command-line override (or left at its default)
    "model.latent_dim": st.integers(-2, 40),
    "model.net.hidden": st.lists(st.integers(-1, 48), min_size=0, max_size=3).map(
        lambda sizes: "[" + ",".join(map(str, sizes)) + "]"),
    "model.kl.beta": floats,
    "model.recon": st.sampled_from(["mse", "bce"]),
    "model.kl.scaling": st.sampled_from(["standard", "blog"]),
    "model.net.activation": st.sampled_from(["relu", "tanh", "elu"]),
    "model.perplexity": st.one_of(st.floats(-5, 600), st.just(float("nan"))),
    "optim.lr": floats,
    "optim.weight_decay": floats,
    "optim.momentum": st.floats(-1, 2),
    "trainer.epochs": st.integers(-2, 3),
    "trainer.batch_size": st.integers(-2, 700),
    "trainer.threads": st.one_of(st.integers(-1, 3), st.none()),
    "trainer.checkpoint_seconds": floats,
    "data.test_fraction": st.floats(-0.5, 1.5),
    "data.limit": st.integers(-3, 400),
    "data.seed": st.integers(-5, 2 ** 33),
    "seed": st.integers(-5, 2 ** 33),
    "score.knn_k": st.integers(-2, 500),
    "score.trust_k": st.integers(-2, 300),
    "score.max_pairwise": st.integers(-5, 600),
}
MODEL_KEYS = {"ae": {"latent_dim", "net.hidden", "recon", "net.activation"},
              "vae": {"latent_dim", "net.hidden", "kl.beta", "recon", "kl.scaling",
                      "net.activation"},
              "pca": {"latent_dim"}, "tsne": {"latent_dim", "perplexity"}}


def _value(v) -> str:
    return "null" if v is None else str(v)


@st.composite
def commands(draw) -> list[str]:
    model = draw(st.sampled_from(sorted(MODEL_KEYS)))
    optim = draw(st.sampled_from(["adam", "sgd"]))
    data = draw(st.sampled_from(["mnist5k", "digits"]))
    overrides = [f"model={model}", f"optim={optim}", f"data={data}", "data.limit=300",
                 "trainer.epochs=1", "trainer.progress=false", "score.figures=false"]
    if model in ("ae", "vae"):
        overrides.append("model.net.hidden=[16]")
    if model == "tsne":
        overrides.append("model.max_iter=250")
    for key, values in KEYS.items():
        group, _, name = key.partition(".")
        if group == "model" and name not in MODEL_KEYS[model]:
            continue
        if key == "optim.momentum" and optim != "sgd":
            continue
        if draw(st.integers(0, 3)) == 0:  # a few keys at a time: most draws then train
            overrides.append(f"{key}={_value(draw(values))}")
    return overrides


def attempt(app: str, overrides: list[str], run) -> dict | None:
    """What ``app`` does with ``overrides``: its record, or None after checking that it refused
    with one line of an error the command line turns into exit 2, writing no record."""
    work = {"train": train, "anomaly": detect}[app]
    try:
        cfg = composer(app)(*overrides)
        validate(cfg)
        record = work(cfg, run)
    except Exception as exc:  # noqa: BLE001 (what the command line would print is tested)
        line = error_line(exc)
        assert line.startswith("error: ") and "\n" not in line, (overrides, line)
        assert isinstance(exc, (ReducerError, HydraException, OmegaConfBaseException)), \
            (overrides, repr(exc))
        assert not (run / "metrics.json").exists(), "a refused run wrote its record"
        return None
    assert record.status in ("ok", "diverged"), (overrides, record.status)
    assert json.loads((run / "metrics.json").read_text())["status"] == record.status
    return record


def fuzzing(examples: int):
    """Hypothesis' settings here: the same draws every time, no time limit per draw."""
    return settings(max_examples=examples, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.mark.slow  # 14 s on 2 cores: CI runs it with the slow tests
@fuzzing(45)
@given(overrides=commands())
def test_any_command_finishes_with_a_record_or_refuses_with_one_line(overrides, tmp_path_factory):
    record = attempt("train", overrides, tmp_path_factory.mktemp("fuzz"))
    if record is not None and record.status == "ok":
        assert "trustworthiness" in record.metrics


ANOMALY_KEYS = {
    "detector.latent_dim": st.integers(-2, 20),
    "detector.net.hidden": KEYS["model.net.hidden"],
    "anomaly.protocol": st.sampled_from(["one_class", "leave_one_out", "all"]),
    "anomaly.normal_class": st.integers(-2, 12),
    "anomaly.anomaly_class": st.integers(-2, 12),
    "anomaly.threshold_quantile": st.floats(-0.5, 1.5),
    "trainer.val_fraction": st.floats(-0.2, 0.8),
    "trainer.batch_size": KEYS["trainer.batch_size"],
    "optim.lr": floats,
    "data.limit": KEYS["data.limit"],
    "seed": KEYS["seed"],
}


@st.composite
def anomaly_commands(draw) -> list[str]:
    detector = draw(st.sampled_from(["ae", "vae", "chain"]))
    overrides = [f"detector={detector}", "detector.net.hidden=[16]", "data.limit=300",
                 "trainer.epochs=1", "trainer.progress=false", "anomaly.figures=false"]
    for key, values in ANOMALY_KEYS.items():
        if draw(st.integers(0, 3)) == 0:
            overrides.append(f"{key}={_value(draw(values))}")
    return overrides


@fuzzing(20)
@given(overrides=anomaly_commands())
def test_any_anomaly_command_finishes_or_refuses_with_one_line(overrides, tmp_path_factory):
    record = attempt("anomaly", overrides, tmp_path_factory.mktemp("fuzz"))
    if record is not None and record.status == "ok":
        assert 0 <= record.metrics["auroc"] <= 1


@pytest.mark.slow  # 16 s on 2 cores: CI runs it with the slow tests
def test_the_fuzzer_reaches_both_outcomes():
    """The draws are not all refusals (or all runs): the strategy explores both sides."""
    refused = finished = 0

    @settings(max_examples=60, deadline=None, derandomize=True)
    @given(overrides=commands())
    def classify(overrides):
        nonlocal refused, finished
        try:
            validate(composer("train")(*overrides))
            finished += 1
        except Exception:  # noqa: BLE001
            refused += 1
    classify()
    assert refused >= 10 and finished >= 5, (refused, finished)
