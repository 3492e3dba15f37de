"""keras.mixed_precision: under "mixed_bfloat16"/"mixed_float16" layers compute in
16 bits while their weights stay float32 (Keras' policy semantics)."""

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import mixed_precision


@pytest.fixture
def policy():
    """Sets a global policy for one test and restores the default after it."""
    yield mixed_precision.set_global_policy
    mixed_precision.set_global_policy(None)


def test_policies_name_their_compute_and_variable_dtypes():
    cases = {"mixed_bfloat16": ("bfloat16", "float32"), "mixed_float16": ("float16", "float32"),
             "float32": ("float32", "float32"), "bfloat16": ("bfloat16", "bfloat16")}
    for name, (compute, variable) in cases.items():
        p = mixed_precision.Policy(name)
        assert (p.name, p.compute_dtype, p.variable_dtype) == (name, compute, variable)
    assert mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="'mixed_float8'"):
        keras.DTypePolicy("mixed_float8")


def test_dense_computes_in_bfloat16_with_float32_kernels(policy):
    policy("mixed_bfloat16")
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
    dense = keras.layers.Dense(3)
    assert (dense.dtype_policy.name, dense.compute_dtype, dense.variable_dtype, dense.dtype) == (
        "mixed_bfloat16", "bfloat16", "float32", "float32")
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    y = dense(mx.array(x))
    assert dense.kernel.dtype == mx.float32 and dense.bias.dtype == mx.float32
    assert y.dtype == mx.bfloat16
    # The product of the bfloat16-rounded operands, computed in bfloat16.
    bf = mx.bfloat16
    expected = mx.array(x).astype(bf) @ dense.kernel.astype(bf) + dense.bias.astype(bf)
    np.testing.assert_array_equal(np.array(y.astype(mx.float32)),
                                  np.array(expected.astype(mx.float32)))
    reference = x @ np.array(dense.kernel) + np.array(dense.bias)  # float32 truth
    np.testing.assert_allclose(np.array(y.astype(mx.float32)), reference, rtol=3e-2, atol=3e-2)
    assert not np.array_equal(np.array(y.astype(mx.float32)), reference)  # 16-bit, not 32


def test_graph_dtypes_and_a_float32_output_layer(policy):
    policy("mixed_float16")
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    outputs = keras.layers.Activation("softmax", dtype="float32")(keras.layers.Dense(3)(hidden))
    assert (inputs.dtype, hidden.dtype, outputs.dtype) == ("float32", "float16", "float32")
    model = keras.Model(inputs, outputs)
    y = model(mx.ones((2, 4)))
    assert y.dtype == mx.float32
    np.testing.assert_allclose(np.array(y).sum(axis=1), 1.0, rtol=1e-6)


def test_training_updates_the_float32_weights_through_the_casts(policy):
    policy("mixed_bfloat16")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.BatchNormalization(),
                              keras.layers.Dense(1, dtype="float32")])  # Keras' advice
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    x = np.random.default_rng(1).normal(size=(64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    before = [np.array(w) for w in model.weights]
    history = model.fit(x, y, batch_size=16, epochs=5, verbose=0)
    assert all(w.dtype == mx.float32 for w in model.weights)  # moving stats included
    assert history.history["loss"][-1] < history.history["loss"][0]
    changed = [not np.array_equal(b, np.array(w)) for b, w in zip(before, model.weights)]
    assert all(changed)  # kernels, biases, gamma/beta and the moving statistics
    assert model.predict(x[:2], verbose=0).dtype == np.float32


def test_a_layer_policy_without_a_global_one_and_its_config():
    dense = keras.layers.Dense(2, dtype="mixed_bfloat16")
    assert dense.get_config()["dtype"] == "mixed_bfloat16"
    clone = keras.layers.Dense.from_config(dense.get_config())
    assert clone.compute_dtype == "bfloat16" and clone.variable_dtype == "float32"
    assert keras.layers.Dense(2).get_config()["dtype"] == "float32"
    policy = keras.DTypePolicy("mixed_float16")
    assert keras.layers.Dense(2, dtype=policy).dtype_policy == policy


def test_a_layer_given_a_policy_casts_its_float_inputs_and_ints_stay():
    # Keras autocasts a layer's floating inputs; integer ids stay integers.
    dense = keras.layers.Dense(2, dtype="float32")
    assert dense(mx.ones((1, 3), dtype=mx.float16)).dtype == mx.float32
    embedding = keras.layers.Embedding(10, 2, dtype="mixed_bfloat16")
    out = embedding(mx.array([[1, 2]]))
    assert out.dtype == mx.bfloat16 and embedding.embeddings.dtype == mx.float32
    # A layer left at the default policy takes its inputs as they come (the dtype
    # rule of tests/test_input_standardization.py): float16 data stays float16.
    assert keras.layers.Activation("relu")(mx.ones((1, 3), dtype=mx.float16)).dtype == mx.float16


def test_predict_returns_bfloat16_outputs_as_float32():
    # numpy has no bfloat16: a model whose last layer computes in bfloat16 still predicts.
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(3, dtype="mixed_bfloat16")(inputs)
    model = keras.Model(inputs, outputs)
    x = np.arange(8, dtype="float32").reshape(2, 4)
    y = model.predict(x, verbose=0)
    assert y.dtype == np.float32
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(y, x @ kernel + bias, rtol=2e-2, atol=2e-2)


def test_a_reloaded_layer_casts_its_inputs_as_the_saved_one_did():
    layer = keras.layers.Activation("relu")
    rebuilt = keras.layers.Activation.from_config(layer.get_config())  # names "float32"
    x = mx.ones((1, 3), dtype=mx.float16)
    assert layer(x).dtype == rebuilt(x).dtype == mx.float16
    bf16 = keras.layers.Activation("relu", dtype="mixed_bfloat16")
    assert bf16(mx.ones((1, 3))).dtype == mx.bfloat16
    assert keras.layers.Activation.from_config(bf16.get_config())(mx.ones((1, 3))).dtype \
        == mx.bfloat16
