"""keras.utils helpers."""

import numpy as np
import pytest

import mlx.core as mx
from mlxfunctional import utils


def test_to_categorical_matches_numpy_eye():
    y = np.array([0, 2, 1, 2])
    np.testing.assert_array_equal(utils.to_categorical(y), np.eye(3, dtype="float32")[y])
    assert utils.to_categorical(np.array([[3], [1]]), 5).shape == (2, 5)  # CIFAR-style (n, 1)
    with pytest.raises(ValueError, match="out of range"):
        utils.to_categorical([0, 5], num_classes=3)


def test_set_random_seed_makes_mlx_and_numpy_repeat():
    utils.set_random_seed(7)
    a, na = mx.random.normal((3,)), np.random.rand(3)
    utils.set_random_seed(7)
    b, nb = mx.random.normal((3,)), np.random.rand(3)
    np.testing.assert_array_equal(np.array(a), np.array(b))
    np.testing.assert_array_equal(na, nb)
