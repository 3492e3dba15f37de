"""Graphs of 10,000 layers: every walk is a loop, so nothing hits Python's recursion limit.

Each model is checked against a numpy loop computing the same chain. Speed is
measured by bench/graph_scale.py, not asserted here.
"""

import random

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers
from mlxfunctional.utils import plot

DEPTH = 10_000
SHORTER = 2_000  # still twice Python's default recursion limit


def _numpy_chain(x, depth, start=0):
    """The chain the deep models compute: alternately ``x + 0.25`` and ``tanh``."""
    for i in range(start, depth):
        x = np.tanh(x) if i % 2 else x + 0.25
    return x


def _chain_layer(i):
    if i % 2:
        return layers.Activation("tanh")
    # x + 0.25 as a layer with weights, so the model file has 5,000 layers' weights.
    return layers.Dense(2, kernel_initializer="identity",
                        bias_initializer=keras.initializers.Constant(0.25))


@pytest.fixture
def data():
    return np.random.default_rng(0).normal(size=(3, 2)).astype("float32")


def _summary_rows(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines


def test_functional_chain_of_10000_layers(data):
    inputs = x = keras.Input((2,), name="x")
    for i in range(DEPTH):
        x = layers.Activation("tanh")(x) if i % 2 else x + 0.25  # op layers and layers
    model = keras.Model(inputs, x)
    assert len(model.layers) == DEPTH + 1
    want = _numpy_chain(data.astype("float64"), DEPTH)
    np.testing.assert_allclose(np.array(model(data)), want, rtol=1e-5)

    config = model.get_config()
    restored = keras.Model.from_config(config)
    assert restored.get_config() == config
    assert [l.name for l in restored.layers] == [l.name for l in model.layers]
    np.testing.assert_allclose(np.array(restored(data)), want, rtol=1e-5)

    lines = _summary_rows(model)
    assert lines[4].startswith("x (InputLayer)")
    assert sum(1 for l in lines if l.startswith("add")) == DEPTH // 2
    assert keras.utils.get_source_inputs(model.outputs[0]) == [inputs]


def test_deep_graph_can_be_cloned_and_drawn(data):
    inputs = x = keras.Input((2,), name="x")
    for i in range(SHORTER):
        x = layers.Activation("tanh")(x) if i % 2 else x + 0.25
    model = keras.Model(inputs, x)
    clone = keras.models.clone_model(model)
    want = _numpy_chain(data.astype("float64"), SHORTER)
    np.testing.assert_allclose(np.array(clone(data)), want, rtol=1e-5)
    pytest.importorskip("graphviz")
    assert plot.model_to_dot(model).source.count("->") == SHORTER


def test_sequential_of_10000_layers(data, tmp_path):
    model = keras.Sequential([keras.Input((2,))] + [_chain_layer(i) for i in range(DEPTH)])
    assert len(model.layers) == DEPTH
    assert all(len(l._inbound_nodes) == 1 for l in model.layers)  # one call each, no rebuilds
    want = _numpy_chain(data.astype("float64"), DEPTH)
    np.testing.assert_allclose(np.array(model(data)), want, rtol=1e-5)
    assert len(_summary_rows(model)) == 2 * DEPTH + 8

    # The model file: its config (Sequential.from_config) and the weights of 5,000 layers.
    model.layers[0].set_weights([np.eye(2, dtype="float32") * 3, np.array([1, -1], "float32")])
    model.save(tmp_path / "deep.mlxf")
    loaded = keras.models.load_model(tmp_path / "deep.mlxf")
    assert loaded.get_config() == model.get_config()
    first = data.astype("float64") * 3 + [1, -1]
    want = _numpy_chain(first, DEPTH, start=1)
    np.testing.assert_allclose(np.array(loaded(data)), want, rtol=1e-5)


def test_deep_sequential_built_from_data(data):
    model = keras.Sequential()
    for i in range(SHORTER):
        model.add(_chain_layer(i))
    assert not model.built
    want = _numpy_chain(data.astype("float64"), SHORTER)
    np.testing.assert_allclose(np.array(model(data)), want, rtol=1e-5)
    assert model.output_shape == (None, 2)


# -- config order -----------------------------------------------------------
def _branchy_model():
    """Two inputs, a shared layer called twice, a nested model and an op layer."""
    a = keras.Input((3,), name="a")
    b = keras.Input((3,), name="b")
    shared = layers.Dense(4, name="shared")
    inner_in = keras.Input((4,), name="inner_in")
    inner = keras.Model(inner_in, layers.Dense(2, name="inner_d")(inner_in), name="inner")
    ha, hb = shared(a), shared(b)
    merged = layers.Concatenate(name="cat")([inner(ha), hb * 2.0])
    out = layers.Dense(1, name="out")(merged)
    return keras.Model([a, b], [out, ha], name="branchy")


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_config_in_any_order_rebuilds_the_same_model(order):
    model = _branchy_model()
    config = model.get_config()
    mixed = dict(config)
    mixed["layers"] = list(reversed(config["layers"]))
    if order == "shuffled":
        random.Random(3).shuffle(mixed["layers"])
    assert mixed["layers"] != config["layers"]
    rebuilt = keras.Model.from_config(mixed)
    assert rebuilt.get_config() == config  # same layers, same calls, same node indices
    rebuilt.set_weights(model.get_weights())
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(size=(2, 3)).astype("float32"), rng.normal(size=(2, 3)).astype("float32")
    for got, want in zip(rebuilt([xa, xb]), model([xa, xb])):
        np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-6)


def test_long_chain_config_in_reverse_order():
    inputs = x = keras.Input((2,))
    for _ in range(2000):
        x = x + 1.0
    model = keras.Model(inputs, x)
    config = model.get_config()
    mixed = dict(config, layers=list(reversed(config["layers"])))
    rebuilt = keras.Model.from_config(mixed)
    assert rebuilt.get_config() == config
    np.testing.assert_allclose(np.array(rebuilt(np.zeros((1, 2), "float32"))), [[2000.0, 2000.0]])


def test_config_calls_that_no_layer_can_feed_are_named():
    model = _branchy_model()
    config = model.get_config()
    out = next(e for e in config["layers"] if e["name"] == "out")
    out["inbound_nodes"][0]["args"][0] = {"__tensor__": ["nowhere", 0, 0]}
    with pytest.raises(ValueError, match='"out" node 0'):
        keras.Model.from_config(config)


def test_config_cycle_is_an_error_not_a_hang():
    inputs = x = keras.Input((2,))
    x = layers.Activation("relu", name="r1")(x)
    x = layers.Activation("relu", name="r2")(x)
    config = keras.Model(inputs, x).get_config()
    r1 = next(e for e in config["layers"] if e["name"] == "r1")
    r1["inbound_nodes"][0]["args"][0] = {"__tensor__": ["r2", 0, 0]}  # r1 <- r2 <- r1
    with pytest.raises(ValueError, match='"r1" node 0.*"r2" node 0'):
        keras.Model.from_config(config)
