"""One way in for data (engine/input_standardization.py): names, structure, the
dtype rule, Keras' trailing-1 rank rule and the shape check, the same through a
model call, predict and fit."""

import re

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import backend, layers
from mlxfunctional.engine import data_adapter, input_standardization
from mlxfunctional.engine.functional import Functional

RNG = np.random.default_rng(0)
XA, XB, XC = (RNG.normal(size=(8, n)) for n in (3, 2, 4))  # float64, as users have them


def three_input_model(structure="nested", name="m"):
    """Inputs a (3,), b (2,), c (4,) -> Dense(1) on their concatenation."""
    a, b, c = (keras.Input((n,), name=k) for n, k in ((3, "a"), (2, "b"), (4, "c")))
    out = layers.Dense(1, name="dense")(layers.Concatenate()([a, b, c]))
    inputs = {"list": [a, b, c], "nested": [a, [b, c]],
              "dict": {"x": a, "y": {"p": b, "q": c}}}[structure]
    model = keras.Model(inputs, out, name=name)
    kernel = np.linspace(-1, 1, 9).reshape(9, 1).astype("float32")
    model.get_layer("dense").set_weights([kernel, np.array([0.5], "float32")])
    return model


def numpy_truth(model, xa=XA, xb=XB, xc=XC):
    kernel, bias = model.get_layer("dense").get_weights()
    return np.concatenate([xa, xb, xc], axis=1) @ kernel + bias


ALL_FORMS = {
    "flat list": [XA, XB, XC],
    "tuple": (XA, XB, XC),
    "nested list": [XA, [XB, XC]],
    "dict by input name": {"c": XC, "a": XA, "b": XB},  # order of keys is irrelevant
}


# -- names and structure ----------------------------------------------------------

@pytest.mark.parametrize("form", list(ALL_FORMS))
def test_every_form_gives_the_numpy_result_through_call_and_predict(form):
    model = three_input_model("nested")
    data = ALL_FORMS[form]
    truth = numpy_truth(model)
    np.testing.assert_allclose(np.array(model(data)), truth, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.predict(data, batch_size=3, verbose=0), truth,
                               rtol=1e-5, atol=1e-5)


def test_a_dict_structured_model_takes_its_own_nesting_or_input_names():
    model = three_input_model("dict")
    truth = numpy_truth(model)
    for data in ({"x": XA, "y": {"q": XC, "p": XB}}, {"a": XA, "b": XB, "c": XC},
                 [XA, XB, XC]):
        np.testing.assert_allclose(np.array(model(data)), truth, rtol=1e-5, atol=1e-5)


def _one_sgd_step(model, data, y, lr=0.1):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="mse")
    model.fit(data, y, batch_size=len(y), epochs=1, shuffle=False, verbose=0)
    return model.get_layer("dense").get_weights()


@pytest.mark.parametrize("form", list(ALL_FORMS))
def test_fit_takes_every_form_to_the_same_weights_as_numpy_sgd(form):
    y = RNG.normal(size=(8, 1)).astype("float32")
    model = three_input_model("nested")
    kernel, bias = model.get_layer("dense").get_weights()
    x = np.concatenate([XA, XB, XC], axis=1).astype("float32")
    error = x @ kernel + bias - y  # d mean((xW + b - y)^2) = 2 x^T error / n
    want_kernel = kernel - 0.1 * 2 * x.T @ error / len(y)
    want_bias = bias - 0.1 * 2 * error.mean(axis=0)
    got_kernel, got_bias = _one_sgd_step(model, ALL_FORMS[form], y)
    np.testing.assert_allclose(got_kernel, want_kernel, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_bias, want_bias, rtol=1e-5, atol=1e-6)


def test_single_input_forms():
    i = keras.Input((3,), name="only")
    model = keras.Model(i, layers.Dense(2, name="dense")(i))
    kernel, bias = model.get_layer("dense").get_weights()
    truth = XA @ kernel + bias
    for data in (XA, [XA], (XA,), {"only": XA}, mx.array(XA.astype("float32")),
                 XA.tolist()):  # a plain Python list is the values themselves
        np.testing.assert_allclose(np.array(model(data)), truth, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.predict([XA], verbose=0), truth, rtol=1e-5, atol=1e-5)


def test_a_subclass_call_gets_the_models_own_structure():
    seen = []

    class Logged(Functional):
        def call(self, inputs, training=None, mask=None):
            seen.append(inputs)
            return super().call(inputs, training=training, mask=mask)

    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    model = Logged({"a": a, "b": b}, layers.Concatenate()([a, b]))
    out = model([XA, XB])
    assert isinstance(seen[-1], dict) and list(seen[-1]) == ["a", "b"]
    np.testing.assert_allclose(np.array(out), np.concatenate([XA, XB], 1), rtol=1e-6)


# -- one standardization per call -------------------------------------------------

def test_a_model_call_standardizes_once(monkeypatch):
    calls = {"standardize_inputs": 0, "match_structure": 0, "convert_to_array": 0}
    for name in calls:
        original = getattr(input_standardization, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(input_standardization, name, counted)
    model = three_input_model("nested")
    model([XA, [XB, XC]])
    assert calls == {"standardize_inputs": 1, "match_structure": 1, "convert_to_array": 3}


def test_arrays_already_right_pass_through_without_a_copy():
    i = keras.Input((3,), name="a")
    seen = []

    class Probe(layers.Layer):
        def call(self, x):
            seen.append(x)
            return x

    model = keras.Model(i, Probe()(i))
    x = mx.array(XA.astype("float32"))
    model(x)
    assert seen[-1] is x


# -- the dtype rule ---------------------------------------------------------------

class DtypeProbe(layers.Layer):
    """Records the dtype of what its call receives."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x):
        self.seen.append(x.dtype)
        return x


def _data(kind):
    values = np.array([[0, 1, 2], [3, 4, 5]])
    if kind.startswith("mx."):
        return mx.array(values).astype(getattr(mx, kind[3:]))
    return values.astype(kind)


# (data, what a layer with nothing declared receives): float64 -> floatx, int64 -> int32,
# other numpy kept, MLX arrays kept.
UNDECLARED = [
    ("float64", mx.float32), ("float16", mx.float16), ("int64", mx.int32),
    ("int32", mx.int32), ("bool", mx.bool_), ("uint8", mx.uint8),
    ("mx.float16", mx.float16), ("mx.int64", mx.int64), ("mx.bool_", mx.bool_),
]


@pytest.mark.parametrize("kind,want", UNDECLARED)
def test_dtype_rule_without_a_declared_dtype(kind, want):
    probe = DtypeProbe()
    probe(_data(kind))
    assert probe.seen[-1] == want
    assert data_adapter.as_array(_data(kind)).dtype == want  # what fit's batches hold


# (declared Input dtype, data) -> the Input's dtype, for numpy and MLX data alike.
DECLARED = [(declared, kind) for declared in ("float32", "int32", "float16", "bool")
            for kind in ("float64", "float16", "int64", "int32", "bool", "uint8",
                         "mx.float16", "mx.int64", "mx.float32")]


@pytest.mark.parametrize("declared,kind", DECLARED)
def test_dtype_rule_with_a_declared_input_dtype(declared, kind):
    i = keras.Input((3,), dtype=declared)
    probe = DtypeProbe()
    model = keras.Model(i, probe(i))
    out = model(_data(kind))
    assert probe.seen[-1] == backend.mlx_dtype(declared)
    np.testing.assert_array_equal(np.array(out), np.array(_data(kind)).astype(declared))


def test_predict_and_fit_hand_the_model_its_declared_dtype():
    i = keras.Input((3,), dtype="int32")
    probe = DtypeProbe()
    out = layers.Dense(1)(layers.Lambda(lambda t: t.astype(mx.float32))(probe(i)))
    model = keras.Model(i, out)
    ids = np.arange(12).reshape(4, 3)  # int64
    probe.seen.clear()
    model.predict(ids.astype("float64"), verbose=0)
    model.compile("sgd", "mse")
    model.fit(ids, np.zeros((4, 1)), verbose=0)
    assert probe.seen and set(probe.seen) == {mx.int32}


def test_float64_follows_floatx():
    try:
        backend.set_floatx("float16")
        probe = DtypeProbe()
        probe(np.zeros((2, 3)))
        assert probe.seen[-1] == mx.float16
    finally:
        backend.set_floatx("float32")


def test_negative_strides_are_made_contiguous():
    model = three_input_model("list")
    flipped = [XA[::-1], XB[:, ::-1], XC[::-1, ::-2]]
    flipped[2] = np.concatenate([flipped[2], flipped[2]], axis=1)[:, ::-1]
    out = model(flipped)
    np.testing.assert_allclose(np.array(out), numpy_truth(model, *flipped), rtol=1e-5, atol=1e-5)


def test_rnn_masks_and_states_follow_the_rule():
    rnn = layers.SimpleRNN(2)
    x = RNG.normal(size=(2, 4, 3)).astype("float32")
    int_mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]])  # int64 0/1 -> bool
    np.testing.assert_allclose(np.array(rnn(x, mask=int_mask)),
                               np.array(rnn(x, mask=int_mask.astype(bool))), rtol=1e-6)
    state = np.ones((2, 2))  # float64 -> the sequence's float32
    out = rnn(x, initial_state=[state])
    assert out.dtype == mx.float32
    np.testing.assert_allclose(np.array(out),
                               np.array(rnn(x, initial_state=[mx.ones((2, 2))])), rtol=1e-6)


# -- Keras' trailing-1 rank rule ----------------------------------------------------

def _image_model():
    i = keras.Input((28, 28, 1), name="img")
    model = keras.Model(i, layers.Dense(1, name="dense")(layers.Flatten()(i)), name="mnist")
    return model


def test_missing_trailing_1_is_added_in_call_predict_and_fit():
    x = RNG.random((6, 28, 28)).astype("float32")
    y = RNG.random((6, 1)).astype("float32")
    model = _image_model()
    kernel, bias = model.get_layer("dense").get_weights()
    truth = x.reshape(6, -1) @ kernel + bias
    np.testing.assert_allclose(np.array(model(x)), truth, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model.predict(x, batch_size=4, verbose=0), truth,
                               rtol=1e-4, atol=1e-5)
    with_channel = _image_model()
    with_channel.set_weights(model.get_weights())
    model.compile(keras.optimizers.SGD(0.01), "mse")
    with_channel.compile(keras.optimizers.SGD(0.01), "mse")
    model.fit(x, y, batch_size=3, shuffle=False, epochs=2, verbose=0)
    with_channel.fit(x[..., None], y, batch_size=3, shuffle=False, epochs=2, verbose=0)
    for got, want in zip(model.get_weights(), with_channel.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_extra_trailing_1_is_dropped():
    i = keras.Input((3,), name="a")
    model = keras.Model(i, layers.Dense(2, name="dense")(i))
    kernel, bias = model.get_layer("dense").get_weights()
    np.testing.assert_allclose(np.array(model(XA[..., None])), XA @ kernel + bias,
                               rtol=1e-5, atol=1e-5)


def test_only_a_trailing_1_is_adjusted():
    i = keras.Input((28, 28, 3), name="rgb")
    model = keras.Model(i, layers.Flatten()(i), name="m")
    with pytest.raises(ValueError, match=r'Input "rgb" of model "m".*expected shape '
                                         r'\(None, 28, 28, 3\), received shape \(2, 28, 28\)'):
        model(np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match=r'"img" of model "mnist".*expected shape '
                                         r'\(None, 28, 28, 1\), received shape \(2, 28, 27\)'):
        _image_model()(np.zeros((2, 28, 27)))  # the shape the user passed, not the expanded one


# -- errors: the same text wherever the same problem is found ---------------------

def _errors(model, data):
    """The message each entry point gives for ``data``."""
    model.compile("sgd", "mse")
    messages = []
    for run in (lambda: model(data), lambda: model.predict(data, verbose=0),
                lambda: model.fit(data, np.zeros((8, 1)), verbose=0),
                lambda: model.evaluate(data, np.zeros((8, 1)), verbose=0)):
        with pytest.raises(ValueError) as info:
            run()
        messages.append(str(info.value))
    return messages


def test_dict_key_mismatch_names_expected_missing_and_unexpected():
    messages = _errors(three_input_model(), {"a": XA, "bb": XB, "c": XC})
    assert len(set(messages)) == 1
    assert messages[0] == (
        "Model \"m\" expects inputs named ['a', 'b', 'c']; received keys ['a', 'bb', 'c'] "
        "(missing: ['b'], unexpected: ['bb']).")


@pytest.mark.parametrize("data,received", [
    ([XA, XB], "a list of 2 entries: [(8, 3), (8, 2)]"),
    ([XA, [XB]], "a list of 2 entries: [(8, 3), [(8, 2)]]"),
    (XA, "a single array of shape (8, 3)"),
])
def test_wrong_count_names_expected_and_received(data, received):
    messages = _errors(three_input_model(), data)
    assert len(set(messages)) == 1
    assert messages[0] == (
        f"Model \"m\" expects 3 inputs ['a', 'b', 'c']; received {received}. "
        "Pass a list in this order or a dict keyed by these names.")


def test_several_arrays_for_a_single_input_are_an_error():
    i = keras.Input((3,), name="only")
    model = keras.Model(i, layers.Dense(1)(i), name="one")
    messages = _errors(model, [XA, XA])  # (a list of rows or values is one array)
    assert len(set(messages)) == 1
    assert messages[0].startswith("Model \"one\" expects 1 input ['only']; received a list "
                                  "of 2 entries: [(8, 3), (8, 3)].")


def test_wrong_nesting_inside_right_keys():
    model = three_input_model("dict")
    with pytest.raises(ValueError, match=re.escape(
            "expects inputs structured as {'x': 'a', 'y': {'p': 'b', 'q': 'c'}}; received a "
            "dict with keys ['x', 'y']: {'x': (8, 3), 'y': {'p': (8, 2)}}")):
        model({"x": XA, "y": {"p": XB}})


def test_shape_mismatch_names_model_input_expected_and_received():
    with pytest.raises(ValueError, match=re.escape(
            'Input "c" of model "m" is incompatible with the model: expected shape (None, 4), '
            "received shape (8, 3).")):
        three_input_model()([XA, XB, XC[:, :3]])


def test_data_that_is_not_numbers_names_the_input():
    with pytest.raises(TypeError, match=re.escape('Input "b" of model "m" must hold numbers')):
        three_input_model()([XA, np.array([["x", "y"]] * 8), XC])


def test_output_names_in_fit():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    model = keras.Model([a, b], [layers.Dense(1, name="p")(a), layers.Dense(1, name="q")(b)],
                        name="pq")
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=re.escape(
            "Model \"pq\" expects outputs named ['p', 'q']; received keys ['p', 'r'] "
            "(missing: ['q'], unexpected: ['r']).")):
        model.fit([XA, XB], {"p": np.zeros((8, 1)), "r": np.zeros((8, 1))}, verbose=0)


def test_a_list_of_rows_or_scalars_is_one_array():
    i = keras.Input((3,), name="only")
    model = keras.Model(i, layers.Dense(1, name="dense")(i))
    kernel, bias = model.get_layer("dense").get_weights()
    np.testing.assert_allclose(np.array(model(list(XA))), XA @ kernel + bias, rtol=1e-5,
                               atol=1e-5)
    labels = [np.int64(k) for k in (0, 1, 1)]
    assert data_adapter.match_structure(labels, ["out"], "outputs", "m") == [labels]


def test_a_layer_called_on_non_numbers_names_the_layer():
    dense = layers.Dense(2, name="d")
    with pytest.raises(TypeError, match=re.escape('The input of layer "d" must hold numbers')):
        dense(np.array([["a", "b"]]))


def test_fit_and_predict_take_a_dict_keyed_like_the_models_inputs():
    # The dict keys of the model's `inputs` differ from its Input layers' names.
    inputs = {"image": keras.Input((3,), name="pixels"), "meta": keras.Input((2,), name="extra")}
    x = layers.Concatenate()([inputs["image"], inputs["meta"]])
    model = keras.Model(inputs, layers.Dense(1, name="out")(x))
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    data = {"image": rng.normal(size=(8, 3)).astype("float32"),
            "meta": rng.normal(size=(8, 2)).astype("float32")}
    kernel, bias = model.get_layer("out").get_weights()
    expected = np.concatenate([data["image"], data["meta"]], axis=1) @ kernel + bias
    np.testing.assert_allclose(model.predict(data, verbose=0), expected, rtol=1e-5, atol=1e-6)
    by_layer_name = {"pixels": data["image"], "extra": data["meta"]}
    np.testing.assert_allclose(model.predict(by_layer_name, verbose=0), expected, rtol=1e-5,
                               atol=1e-6)
    history = model.fit(data, np.zeros((8, 1), "float32"), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
