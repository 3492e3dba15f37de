"""Sequential: a stack of layers holding a functional graph, extended one call per add()."""

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers


def _np_dense(layer, x):
    k, b = layer.get_weights()
    return x @ k + b


def _np_stack(model, x):
    for layer in model.layers:
        x = _np_dense(layer, x)
    return x


def test_add_calls_each_layer_once_and_layer_outputs_are_the_models():
    model = keras.Sequential([keras.Input((3,), name="x")])
    for _ in range(5):
        model.add(layers.Dense(2))
    assert all(len(l._inbound_nodes) == 1 for l in model.layers)  # extended, never rebuilt
    assert model.layers[0].input is model.inputs[0]
    for below, above in zip(model.layers, model.layers[1:]):
        assert above.input is below.output
    assert model.output is model.layers[-1].output
    assert model.input_shape == (None, 3) and model.output_shape == (None, 2)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(np.array(model(x)), _np_stack(model, x), rtol=1e-5, atol=1e-6)


def test_weights_are_in_the_module_tree_keyed_by_layer_name():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2, name="a"),
                              layers.Dense(1, name="b")])
    params = model.parameters()
    assert sorted(params) == ["a", "b"]
    assert params["a"]["kernel"].shape == (3, 2)
    assert len(model.weights) == 4 and model.count_params() == 3 * 2 + 2 + 2 + 1
    assert model.get_layer("b") is model.layers[1] and model.get_layer(index=0).name == "a"


def test_pop_drops_the_last_call_and_adding_again_extends():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4), layers.Dense(2)])
    top = model.pop()
    assert top._inbound_nodes == []  # its call in this model is gone: no stale `output`
    assert [l.name for l in model.layers] == ["dense"] and model.output_shape == (None, 4)
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(np.array(model(x)), _np_stack(model, x), rtol=1e-5)
    model.add(layers.Dense(5))
    assert model.output_shape == (None, 5)
    assert "dense_1" not in model.parameters()  # popped weights left the module tree
    model.pop()
    model.pop()
    assert model.layers == [] and model.output is model.input
    with pytest.raises(TypeError, match="no layers"):
        model.pop()


def test_deferred_build_from_data_build_and_input_shape():
    called = keras.Sequential([layers.Dense(4), layers.Dense(2)])
    assert not called.built and called.weights == []
    with pytest.raises(ValueError, match="no input yet"):
        called.inputs
    assert called.input_names is None  # (the trainer falls back to its defaults)
    x = np.ones((3, 5), "float32")
    assert called(x).shape == (3, 2)
    assert called.built and called.input_shape == (None, 5)  # the batch size stays free
    called.add(layers.Dense(1))  # built: extends the graph at once
    assert called.output_shape == (None, 1) and len(called.weights) == 6

    built = keras.Sequential([layers.Dense(2)])
    built.build((None, 7))
    assert built.layers[0].get_weights()[0].shape == (7, 2)
    with pytest.raises(ValueError, match="no input shape"):
        keras.Sequential([layers.Dense(2)]).build()
    declared = keras.Sequential([layers.Dense(2, input_shape=(6,)), layers.Dense(1)])
    assert declared.built and declared.inputs[0].shape == (None, 6)


def test_int_data_builds_an_int_input():
    model = keras.Sequential([layers.Embedding(10, 3)])
    out = model(np.array([[1, 2]]))
    assert out.shape == (1, 2, 3) and model.inputs[0].dtype == "int32"


def test_bad_layers_and_names_are_refused_and_leave_the_stack_as_it_was():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2, name="d")])
    with pytest.raises(ValueError, match='already has a layer named "d"'):
        model.add(layers.Dense(2, name="d"))
    with pytest.raises(TypeError, match="takes a Layer"):
        model.add("dense")
    with pytest.raises(ValueError, match="Input can only be its first element"):
        model.add(keras.Input((2,)))
    with pytest.raises(ValueError, match="conv2d"):
        model.add(layers.Conv2D(1, 3, name="conv2d"))  # rank 2 input: fails at add()
    assert [l.name for l in model.layers] == ["d"]
    assert model.output_shape == (None, 2) and sorted(model.parameters()) == ["d"]


def test_unbuilt_summary_lists_layers_with_unknown_shapes():
    model = keras.Sequential([layers.Dense(4), layers.Dense(2)], name="stack")
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[0] == 'Model: "stack"'
    assert lines[4].split() == ["dense", "(Dense)", "?", "0", "(unbuilt)"]
    assert lines[-4:-1] == ["Total params: 0", "Trainable params: 0", "Non-trainable params: 0"]
    model.build((None, 3))
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[4].split() == ["dense", "(Dense)", "(None,", "4)", "16"]


def test_nested_in_a_functional_model_and_in_configs():
    inner = keras.Sequential([keras.Input((3,)), layers.Dense(4), layers.Dense(2)], name="inner")
    x = keras.Input((3,))
    model = keras.Model(x, layers.Dense(1, name="head")(inner(x)))
    assert [l.name for l in model.layers][1:] == ["inner", "head"]
    assert sorted(model.parameters()["inner"]) == ["dense", "dense_1"]
    data = np.random.default_rng(1).normal(size=(2, 3)).astype("float32")
    want = _np_dense(model.get_layer("head"), _np_stack(inner, data))
    np.testing.assert_allclose(np.array(model(data)), want, rtol=1e-5, atol=1e-6)

    restored = keras.Model.from_config(model.get_config())
    restored.set_weights(model.get_weights())
    assert type(restored.get_layer("inner")) is keras.Sequential
    np.testing.assert_allclose(np.array(restored(data)), want, rtol=1e-5, atol=1e-6)
    clone = keras.models.clone_model(inner)
    assert [l.name for l in clone.layers] == ["dense", "dense_1"]
    assert clone.output_shape == (None, 2)
    assert clone.layers[0] is not inner.layers[0]


def test_save_load_and_fit(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="relu"),
                              layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    x = np.random.default_rng(2).normal(size=(16, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before
    model.save(tmp_path / "seq.mlxf")
    loaded = keras.models.load_model(tmp_path / "seq.mlxf")
    assert type(loaded) is keras.Sequential
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_the_graph_is_an_mlx_module_for_value_and_grad():
    import mlx.nn as nn

    model = keras.Sequential([keras.Input((2,)), layers.Dense(1, use_bias=False)])
    kernel = model.layers[0].get_weights()[0]
    x = mx.array([[1.0, 2.0]])

    def loss(m):
        return m(x).sum()

    _, grads = nn.value_and_grad(model, loss)(model)
    assert kernel.shape == (2, 1)
    np.testing.assert_allclose(np.array(grads["dense"]["kernel"]), [[1.0], [2.0]])


def test_nested_sequential_is_drawn_expanded():
    pytest.importorskip("graphviz")
    from mlxfunctional.utils.plot import model_to_dot

    inner = keras.Sequential([keras.Input((3,), name="in"), layers.Dense(2, name="d")],
                             name="inner")
    x = keras.Input((3,), name="x")
    model = keras.Model(x, layers.Dense(1, name="head")(inner(x)))
    source = model_to_dot(model, expand_nested=True).source
    assert "cluster_inner" in source and "inner (Sequential)" in source
    for edge in ('x -> "inner/in"', '"inner/in" -> "inner/d"', '"inner/d" -> head'):
        assert edge in source


def test_model_from_config_of_a_sequential_gives_a_sequential():
    seq = keras.Sequential([keras.Input((3,)), layers.Dense(2, name="d")])
    rebuilt = keras.Model.from_config(seq.get_config())
    assert isinstance(rebuilt, keras.Sequential)
    rebuilt.set_weights(seq.get_weights())
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(np.array(rebuilt(x)), np.array(seq(x)))
