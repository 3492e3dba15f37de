"""Symbolic tensors: Input, and Python operators that become op-layer nodes."""

import json

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers


def test_input_shape_dtype_name():
    inputs = keras.Input(shape=(784,))
    assert inputs.shape == (None, 784)
    assert inputs.dtype == "float32"
    assert inputs.name == "input_layer"
    img = keras.Input(shape=(32, 32, 3), name="img")
    assert img.shape == (None, 32, 32, 3) and img.name == "img"
    assert keras.Input(shape=(None,), dtype="int32").shape == (None, None)
    assert keras.Input(batch_shape=(16, 10, 5)).shape == (16, 10, 5)
    assert keras.Input(shape=(3,), batch_size=4).shape == (4, 3)
    # Keras 3 default names count up per session (four unnamed inputs above).
    assert keras.Input(shape=(1,)).name == "input_layer_4"
    keras.clear_session()
    assert keras.Input(shape=(1,)).name == "input_layer"


def test_input_needs_a_shape():
    with pytest.raises(ValueError, match="shape"):
        keras.Input()


def test_operators_build_a_graph_that_runs_like_numpy():
    x = keras.Input(shape=(4,))
    y = keras.Input(shape=(4,))
    out = [x * 2 + y, 1 - x, x / 2, -x, abs(x), x ** 2, (x > 0.5).astype("float32"),
           x[:, 1:3], x[:, 0], x.reshape(-1, 2, 2), x.T if False else x.transpose(), x @ y.T,
           x.sum(axis=1, keepdims=True), 3 * x, x.mean(axis=-1)]
    model = keras.Model([x, y], out)
    a = np.random.rand(3, 4).astype("float32")
    b = np.random.rand(3, 4).astype("float32")
    expected = [a * 2 + b, 1 - a, a / 2, -a, np.abs(a), a ** 2, (a > 0.5).astype("float32"),
                a[:, 1:3], a[:, 0], a.reshape(-1, 2, 2), a.T, a @ b.T,
                a.sum(axis=1, keepdims=True), 3 * a, a.mean(axis=-1)]
    got = model([a, b])
    for g, e in zip(got, expected):
        np.testing.assert_allclose(np.array(g), e, rtol=1e-6, atol=1e-6)
    # Symbolic shapes keep None where the batch is.
    assert out[7].shape == (None, 2)
    assert out[8].shape == (None,)
    assert out[9].shape == (None, 2, 2)
    assert out[11].shape == (None, None)


def test_operator_graph_serializes_without_code():
    x = keras.Input(shape=(3,), name="x")
    y = layers.Dense(2)(x * 2 + 1)
    model = keras.Model(x, y[:, :1])
    text = model.to_json()
    config = json.loads(text)
    classes = [l["class_name"] for l in config["config"]["layers"]]
    assert classes == ["InputLayer", "BinaryOp", "BinaryOp", "Dense", "GetItem"]
    clone = keras.models.model_from_json(text)
    clone.set_weights(model.get_weights())
    a = np.random.rand(5, 3).astype("float32")
    np.testing.assert_allclose(np.array(clone(a)), np.array(model(a)), rtol=1e-6, atol=1e-6)


def test_symbolic_tensor_has_no_value():
    x = keras.Input(shape=(3,))
    with pytest.raises(TypeError, match="no value"):
        bool(x)
    with pytest.raises(TypeError, match="cannot be converted"):
        np.asarray(x)


def test_numpy_on_the_left():
    x = keras.Input(shape=(3,))
    out = np.float32(2.0) * x
    assert out.shape == (None, 3)
