"""Functional models: graph walking, execution, errors, nesting, sharing, configs."""

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers


def _np_dense(layer, x):
    k, b = layer.get_weights()
    return x @ k + b


def test_multi_input_multi_output_with_dict_inputs():
    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    h = layers.Dense(4, name="h")(a)
    out1 = layers.Dense(1, name="out1")(h)
    out2 = h[:, :2] + b
    model = keras.Model(inputs={"a": a, "b": b}, outputs=[out1, out2])
    assert model.input_names == ["a", "b"]
    assert model.output_names == ["out1", "add"]
    xa = np.random.rand(5, 3).astype("float32")
    xb = np.random.rand(5, 2).astype("float32")
    y1, y2 = model({"b": xb, "a": xa})  # matched by name, not by order
    hv = _np_dense(model.get_layer("h"), xa)
    np.testing.assert_allclose(np.array(y1), _np_dense(model.get_layer("out1"), hv), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.array(y2), hv[:, :2] + xb, rtol=1e-5, atol=1e-6)
    y1l, _ = model([xa, xb])  # positional in input order
    np.testing.assert_allclose(np.array(y1l), np.array(y1))


def test_dict_key_mismatch_lists_expected_names():
    a = keras.Input((3,), name="title")
    b = keras.Input((3,), name="body")
    model = keras.Model([a, b], layers.Dense(1)(a + b))
    with pytest.raises(ValueError, match=r"\['title', 'body'\].*missing: \['body'\].*unexpected: \['bdy'\]"):
        model({"title": np.ones((1, 3)), "bdy": np.ones((1, 3))})


def test_wrong_array_shape_at_model_call():
    inputs = keras.Input((784,), name="img")
    model = keras.Model(inputs, layers.Dense(2)(inputs), name="m")
    with pytest.raises(ValueError, match=r'"img" of model "m".*expected shape \(None, 784\), received shape \(2, 783\)'):
        model(np.ones((2, 783), "float32"))


def test_incompatible_shape_at_layer_call_names_layer_and_shapes():
    x = keras.Input((784,))
    dense = layers.Dense(64, name="dense_a")
    dense(x)
    with pytest.raises(ValueError, match=r'layer "dense_a".*axis -1.*784.*\(None, 32\)'):
        dense(keras.Input((32,)))


def test_graph_disconnected_names_the_missing_input():
    a = keras.Input((3,), name="a")
    b = keras.Input((3,), name="b")
    out = layers.Dense(2, name="merge_user")(a + b)
    with pytest.raises(ValueError, match=r'Graph disconnected.*"b".*add'):
        keras.Model(a, out)


def test_duplicate_layer_names_are_an_error():
    x = keras.Input((3,))
    y = layers.Dense(2, name="same")(layers.Dense(3, name="same")(x))
    with pytest.raises(ValueError, match='"same" is used 2 times'):
        keras.Model(x, y)


def test_shared_layer_has_one_node_per_call_and_ambiguous_output():
    shared = layers.Dense(4, name="shared")
    a = keras.Input((3,))
    b = keras.Input((3,))
    ya, yb = shared(a), shared(b)
    assert len(shared._inbound_nodes) == 2
    assert shared.get_output_at(0) is ya and shared.get_output_at(1) is yb
    assert shared.get_input_at(1) is b
    with pytest.raises(ValueError, match="get_output_at"):
        shared.output
    model = keras.Model([a, b], [ya, yb])
    assert model.count_params() == 16  # counted once
    xa, xb = np.ones((1, 3), "float32"), np.zeros((1, 3), "float32")
    out_a, out_b = model([xa, xb])
    np.testing.assert_allclose(np.array(out_a), _np_dense(shared, xa), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.array(out_b), _np_dense(shared, xb), rtol=1e-6, atol=1e-6)


def test_nested_models_on_symbols_and_arrays():
    inner_in = keras.Input((3,))
    inner = keras.Model(inner_in, layers.Dense(2, name="inner_dense")(inner_in), name="inner")
    x = keras.Input((3,))
    y = layers.Dense(1)(inner(x))
    outer = keras.Model(x, y)
    assert [l.name for l in outer.layers][1] == "inner"
    assert outer.count_params() == 8 + 3
    assert set(outer.parameters()) == {"inner", "dense"}
    a = np.random.rand(4, 3).astype("float32")
    expected = _np_dense(outer.layers[2], _np_dense(inner.get_layer("inner_dense"), a))
    np.testing.assert_allclose(np.array(outer(a)), expected, rtol=1e-5, atol=1e-6)
    # the nested model keeps its own input/output
    assert inner.input is inner_in


def test_sub_model_from_intermediate_layers():
    x = keras.Input((3,))
    h = layers.Dense(5, name="h")(x)
    y = layers.Dense(2, name="y")(h)
    model = keras.Model(x, y)
    feats = keras.Model(inputs=model.input, outputs=[l.output for l in model.layers])
    a = np.random.rand(2, 3).astype("float32")
    got = feats(a)
    assert len(got) == 3
    np.testing.assert_allclose(np.array(got[0]), a)
    np.testing.assert_allclose(np.array(got[1]), _np_dense(model.get_layer("h"), a), rtol=1e-5, atol=1e-6)
    # and a model that starts at an intermediate tensor
    tail = keras.Model(h, y)
    hv = np.random.rand(2, 5).astype("float32")
    np.testing.assert_allclose(np.array(tail(hv)), _np_dense(model.get_layer("y"), hv), rtol=1e-5, atol=1e-6)


def test_get_layer_by_name_and_index():
    x = keras.Input((3,), name="x")
    model = keras.Model(x, layers.Dense(2, name="d")(x))
    assert model.get_layer("d") is model.get_layer(index=1)
    with pytest.raises(ValueError, match="No such layer: nope.*'x', 'd'"):
        model.get_layer("nope")


def test_none_dimensions_stay_none():
    x = keras.Input(shape=(None, 6))
    y = layers.Dense(3)(x)
    assert y.shape == (None, None, 3)
    z = y.reshape(-1, 3)
    assert z.shape == (None, 3)
    model = keras.Model(x, y)
    assert model(np.ones((2, 7, 6), "float32")).shape == (2, 7, 3)
    assert model(np.ones((1, 2, 6), "float32")).shape == (1, 2, 3)


def test_shape_inference_evaluates_nothing():
    # A 96-wide placeholder batch through two big layers would allocate ~GBs if evaluated.
    x = keras.Input((4096,))
    mx.eval(mx.zeros(1))
    mx.reset_peak_memory()
    before = mx.get_active_memory()
    h = layers.Dense(4096)(x)
    y = layers.Dense(4096)(h)
    keras.Model(x, y)
    assert mx.get_peak_memory() - before < 1_000_000  # not even the weights were computed


def test_config_round_trip_multi_io_shared_and_nested():
    inner_in = keras.Input((4,), name="inner_in")
    inner = keras.Model(inner_in, layers.Dense(4, name="inner_d")(inner_in), name="inner")
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    shared = layers.Dense(4, name="shared")
    sa, sb = shared(a), shared(b)
    out = {"sum": layers.Dense(1, name="sum")(sa + sb), "inner": inner(sa * 2.0)}
    model = keras.Model({"a": a, "b": b}, out, name="multi")
    clone = keras.Model.from_config(model.get_config())
    assert clone.name == "multi"
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    clone.set_weights(model.get_weights())
    feed = {"a": np.random.rand(3, 4).astype("float32"), "b": np.random.rand(3, 4).astype("float32")}
    want, got = model(feed), clone(feed)
    for k in ("sum", "inner"):
        np.testing.assert_allclose(np.array(got[k]), np.array(want[k]), rtol=1e-6, atol=1e-6)
    assert keras.models.model_from_json(model.to_json()).count_params() == model.count_params()


def test_clone_model_has_new_weights_and_same_graph():
    x = keras.Input((3,), name="x")
    model = keras.Model(x, layers.Dense(2, name="d")(x))
    clone = keras.models.clone_model(model)
    assert [l.name for l in clone.layers] == ["x", "d"]
    assert clone.get_layer("d") is not model.get_layer("d")
    assert not np.allclose(clone.get_weights()[0], model.get_weights()[0])


def test_sequential_list_add_and_as_a_layer():
    seq = keras.Sequential([layers.Dense(4, activation="relu"), layers.Dense(2)], name="seq")
    lines = []
    seq.summary(print_fn=lines.append)  # as Keras 3: unknown shapes, unbuilt layers
    rows = [l.split() for l in lines if l.startswith("dense")]
    assert rows == [["dense", "(Dense)", "?", "0", "(unbuilt)"],
                    ["dense_1", "(Dense)", "?", "0", "(unbuilt)"]]
    assert seq(np.ones((3, 5), "float32")).shape == (3, 2)
    assert seq.count_params() == 5 * 4 + 4 + 4 * 2 + 2
    assert [l.name for l in seq.layers] == ["dense", "dense_1"]

    seq2 = keras.Sequential(name="seq2")
    seq2.add(keras.Input((3,)))
    seq2.add(layers.Dense(2))
    assert seq2.output.shape == (None, 2)
    x = keras.Input((3,))
    y = layers.Dense(1)(seq2(x))  # a Sequential nested in a functional graph
    model = keras.Model(x, y)
    assert model.count_params() == 8 + 3
    restored = keras.Sequential.from_config(seq2.get_config())
    assert restored.count_params() == 8
    # Keras 2 style input_shape on the first layer
    seq3 = keras.Sequential([layers.Dense(2, input_shape=(7,))])
    assert seq3.inputs[0].shape == (None, 7)


def test_subclassed_model_guide_11():
    class MLP(keras.Model):
        def __init__(self, **kwargs):
            super(MLP, self).__init__(**kwargs)
            self.dense_1 = layers.Dense(64, activation="relu")
            self.dense_2 = layers.Dense(10)

        def call(self, inputs):
            x = self.dense_1(inputs)
            return self.dense_2(x)

    mlp = MLP()
    _ = mlp(mx.zeros((1, 32)))
    assert mlp.name == "mlp"
    assert mlp.count_params() == 32 * 64 + 64 + 64 * 10 + 10
    assert [l.name for l in mlp.layers] == ["dense", "dense_1"]
    lines = []
    mlp.summary(print_fn=lines.append)
    assert lines[-4] == "Total params: 2,762"


def test_subclassed_model_build_creates_weights_without_data():
    class Two(keras.Model):
        def __init__(self):
            super().__init__()
            self.d1 = layers.Dense(8)
            self.d2 = layers.Dense(2)

        def call(self, x):
            return self.d2(self.d1(x))

    model = Two()
    model.build((None, 4))
    assert model.count_params() == 4 * 8 + 8 + 8 * 2 + 2
