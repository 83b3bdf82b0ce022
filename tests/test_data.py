import numpy as np
import pytest

from reducers.data import load_mnist5k
from reducers.errors import ConfigError, DataError


def test_default_data_is_5000_real_digits_split_80_20_stratified():
    split = load_mnist5k()
    assert split.x_train.shape == (4000, 784) and split.x_test.shape == (1000, 784)
    assert split.x_train.dtype == np.float32 and split.y_train.dtype == np.int64
    assert 0 <= split.x_train.min() and split.x_train.max() <= 1
    assert split.x_train.max() == 1  # scaled from 0-255, not left in counts
    assert np.bincount(split.y_train).tolist() == [400] * 10
    assert np.bincount(split.y_test).tolist() == [100] * 10
    assert split.image_shape == (28, 28) and split.input_dim == 784 and split.n_classes == 10
    # real digits: ink covers roughly a fifth of an MNIST image
    assert 0.05 < (split.x_train > 0.5).mean() < 0.3


def test_split_is_reproducible_and_seeded():
    a, b, c = load_mnist5k(seed=0), load_mnist5k(seed=0), load_mnist5k(seed=1)
    assert np.array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, c.x_test)


def test_limit_takes_a_class_balanced_subset(digits):
    # the file is sorted by class: a plain "first 1000" would be all zeros and ones
    assert len(digits.y_train) + len(digits.y_test) == 1000
    assert np.bincount(digits.y_train).tolist() == [80] * 10
    split = load_mnist5k(limit=500, test_fraction=0.5)
    assert len(split.y_train) == len(split.y_test) == 250
    assert split.n_classes == 10


@pytest.mark.parametrize("kwargs, error, message", [
    ({"test_fraction": 1.0}, ConfigError, "^test_fraction=1.0 is invalid: must be in \\(0, 1\\)"),
    ({"limit": 0}, ConfigError, "^limit=0 is invalid: must be >= 2 or null"),
    ({"limit": 5}, DataError, "smaller than the number of classes"),
    ({"limit": 15}, DataError, "needs >= 2 images"),  # 15 images over 10 classes: a class has 1
    ({"size": 3}, TypeError, "unexpected keyword argument 'size'"),
])
def test_bad_settings_raise_one_line_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        load_mnist5k(**kwargs)
