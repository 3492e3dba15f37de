"""Activations against numpy truth on a grid of inputs: every named activation, their
arguments (relu's slope/max_value/threshold, gelu's approximation...), softmax,
log_softmax and glu, and get/serialize."""

import math

import mlx.core as mx
import numpy as np
import pytest

from _as_numpy import np_
from mlxfunctional import activations


# ----------------------------------------------------------------- activations

GRID = np.concatenate([np.linspace(-8, 8, 161), [-30.0, -3.0, 0.0, 3.0, 6.0, 30.0]])
GRID = GRID.astype(np.float32)
_erf = np.vectorize(math.erf)


def _np_softplus(x):
    return np.logaddexp(x, 0.0)


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805

ACTIVATION_TRUTH = {
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.minimum(np.maximum(x, 0), 6),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "sigmoid": _np_sigmoid,
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "log_sigmoid": lambda x: -_np_softplus(-x),
    "tanh": np.tanh,
    "linear": lambda x: x,
    "elu": lambda x: np.where(x > 0, x, np.exp(np.minimum(x, 0)) - 1),
    "selu": lambda x: SELU_S * np.where(x > 0, x, SELU_A * (np.exp(np.minimum(x, 0)) - 1)),
    "celu": lambda x: np.where(x > 0, x, np.exp(np.minimum(x, 0)) - 1),
    "softplus": _np_softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "silu": lambda x: x * _np_sigmoid(x),
    "swish": lambda x: x * _np_sigmoid(x),
    "hard_silu": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "hard_swish": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
    "exponential": np.exp,
    "mish": lambda x: x * np.tanh(_np_softplus(x)),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "soft_shrink": lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "squareplus": lambda x: (x + np.sqrt(x * x + 4)) / 2,
}


@pytest.mark.parametrize("name", sorted(ACTIVATION_TRUTH))
def test_activation_against_numpy(name):
    x64 = GRID.astype(np.float64)
    fn = activations.get(name)
    got = np_(fn(mx.array(GRID)))
    np.testing.assert_allclose(got, ACTIVATION_TRUTH[name](x64), rtol=2e-5, atol=2e-6)
    assert fn(mx.array(GRID, dtype=mx.float16)).dtype == mx.float16
    assert activations.deserialize(activations.serialize(fn)) is fn


def test_activation_arguments():
    x = mx.array(GRID)
    xn = GRID.astype(np.float64)
    np.testing.assert_allclose(np_(activations.gelu(x, approximate=True)),
                               0.5 * xn * (1 + np.tanh(np.sqrt(2 / np.pi)
                                                       * (xn + 0.044715 * xn ** 3))),
                               rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(np_(activations.elu(x, alpha=0.5)),
                               np.where(xn > 0, xn, 0.5 * np.expm1(np.minimum(xn, 0))),
                               rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(np_(activations.leaky_relu(x, negative_slope=0.01)),
                               np.where(xn >= 0, xn, 0.01 * xn), rtol=1e-6)
    np.testing.assert_allclose(np_(activations.celu(x, alpha=2.0)),
                               np.maximum(xn, 0) + 2 * np.minimum(0, np.exp(xn / 2) - 1),
                               rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("slope, max_value, threshold", [
    (0.0, None, 0.0), (0.0, 6.0, 0.0), (0.1, None, 0.0), (0.0, None, 1.5),
    (0.2, 4.0, 1.0), (0.0, 2.5, -1.0), (0.3, None, -2.0),
])
def test_relu_arguments(slope, max_value, threshold):
    xn = GRID.astype(np.float64)
    # Keras' documented formula: max_value above it, x above the threshold, else slope*(x - t).
    want = np.where(xn > threshold, xn, slope * (xn - threshold))
    if max_value is not None:
        want = np.where(xn >= max_value, max_value, want)
    got = np_(activations.relu(mx.array(GRID), slope, max_value, threshold))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_softmax_log_softmax_glu():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 5, 6)) * 10).astype(np.float32)
    for axis in (-1, 0, 1):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        want = e / e.sum(axis=axis, keepdims=True)
        np.testing.assert_allclose(np_(activations.softmax(mx.array(x), axis=axis)), want,
                                   rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(np_(activations.log_softmax(mx.array(x), axis=axis)),
                                   np.log(want + 1e-300), rtol=1e-4, atol=1e-4)
    a, b = x[..., :3], x[..., 3:]
    np.testing.assert_allclose(np_(activations.glu(mx.array(x))), a * _np_sigmoid(b),
                               rtol=1e-5, atol=1e-6)


def test_activation_get_serialize():
    assert activations.get(None) is activations.linear
    assert activations.get("relu") is activations.relu
    assert activations.get(activations.tanh) is activations.tanh
    assert activations.get("swish") is activations.silu
    assert activations.serialize(activations.swish) == "silu"
    assert activations.serialize(activations.hard_swish) == "hard_silu"
    assert activations.serialize(activations.relu) == "relu"
    keras3 = {"module": "keras.activations", "class_name": "function",
              "config": "gelu", "registered_name": "gelu"}
    assert activations.deserialize(keras3) is activations.gelu
    assert activations.get({"class_name": "function", "config": "mish"}) is activations.mish
    np.testing.assert_allclose(np_(activations.relu([-1.0, 2.0])), [0.0, 2.0])
