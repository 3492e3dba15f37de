"""Layer: weights, trainable, training/mask injection, MLX interop, custom layers."""

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers


class CustomDense(layers.Layer):
    """Guide §10, with tf.matmul -> mx.matmul."""

    def __init__(self, units=32):
        super(CustomDense, self).__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                 trainable=True)

    def call(self, inputs):
        return mx.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {"units": self.units}


def test_custom_layer_builds_from_symbolic_shape_and_matches_numpy():
    inputs = keras.Input((4,))
    outputs = CustomDense(10)(inputs)
    model = keras.Model(inputs, outputs)
    assert outputs.shape == (None, 10)
    assert model.count_params() == 4 * 10 + 10
    layer = model.layers[1]
    assert layer.name == "custom_dense"
    # Unnamed weights take the attribute's name.
    assert [k for k in layer.parameters()] == ["w", "b"]
    w, b = layer.get_weights()
    x = np.random.rand(3, 4).astype("float32")
    np.testing.assert_allclose(np.array(model(x)), x @ w + b, rtol=1e-5, atol=1e-6)


def test_custom_layer_config_round_trip_with_custom_objects():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, CustomDense(10)(inputs))
    config = model.get_config()
    new_model = keras.Model.from_config(config, custom_objects={"CustomDense": CustomDense})
    assert new_model.count_params() == 50
    with pytest.raises(ValueError, match="CustomDense.*custom_objects.*register_serializable"):
        keras.Model.from_config(config)


class WeightsInInit(layers.Layer):
    def __init__(self, units, input_dim, **kwargs):
        super().__init__(**kwargs)
        self.kernel = self.add_weight(shape=(input_dim, units), initializer="ones", name="kernel")
        self.units = units

    def call(self, inputs):
        return inputs @ self.kernel


def test_weights_created_in_init_and_auto_config():
    layer = WeightsInInit(3, 2)
    x = keras.Input((2,))
    assert layer(x).shape == (None, 3)
    assert layer.count_params() == 6
    np.testing.assert_allclose(np.array(layer(np.ones((1, 2), "float32"))), [[2, 2, 2]])
    config = layer.get_config()
    assert config["units"] == 3 and config["input_dim"] == 2  # captured __init__ arguments
    assert WeightsInInit.from_config(config).count_params() == 6


def test_trainable_flag_freezes_weights_for_mlx_too():
    dense = layers.Dense(3)
    dense(keras.Input((2,)))
    assert len(dense.trainable_weights) == 2 and not dense.non_trainable_weights
    dense.trainable = False
    assert not dense.trainable_weights and len(dense.non_trainable_weights) == 2
    assert dense.trainable_parameters() == {}
    dense.trainable = True
    assert set(dense.trainable_parameters()) == {"kernel", "bias"}


def test_non_trainable_weight_stays_out_of_trainable_parameters():
    class Counter(layers.Layer):
        def build(self, input_shape):
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
            self.seen = self.add_weight(shape=(), initializer="zeros", name="seen", trainable=False)

        def call(self, x):
            return x * self.scale

    layer = Counter()
    layer(keras.Input((2,)))
    assert [w.shape for w in layer.trainable_weights] == [()]
    assert len(layer.non_trainable_weights) == 1
    assert set(layer.trainable_parameters()) == {"scale"}
    assert set(layer.parameters()) == {"scale", "seen"}


def test_get_set_weights_and_shape_errors():
    dense = layers.Dense(3, name="d")
    dense(keras.Input((2,)))
    kernel = np.arange(6, dtype="float32").reshape(2, 3)
    dense.set_weights([kernel, np.ones(3, "float32")])
    np.testing.assert_array_equal(dense.get_weights()[0], kernel)
    with pytest.raises(ValueError, match=r'"d".*expected shape \(2, 3\), received \(3, 2\)'):
        dense.set_weights([kernel.T, np.ones(3)])
    with pytest.raises(ValueError, match="expects 2 weight arrays, but received 1"):
        dense.set_weights([kernel])


def test_count_params_before_build_is_an_error():
    with pytest.raises(ValueError, match="isn't built"):
        layers.Dense(2, name="lonely").count_params()


def test_training_and_mask_reach_call_only_when_accepted():
    seen = {}

    class Probe(layers.Layer):
        def call(self, inputs, training=None):
            seen["training"] = training
            return inputs

    class Plain(layers.Layer):
        def call(self, inputs):
            return inputs

    x = keras.Input((2,))
    model = keras.Model(x, Plain()(Probe()(x)))
    model(np.ones((1, 2)), training=True)
    assert seen["training"] is True
    model(np.ones((1, 2)))
    assert not seen["training"]


def test_layer_is_an_mlx_module_usable_with_value_and_grad():
    inputs = keras.Input((3,))
    outputs = layers.Dense(1)(layers.Dense(4, activation="relu")(inputs))
    model = keras.Model(inputs, outputs)
    x = mx.array(np.random.rand(16, 3).astype("float32"))
    y = mx.sum(x, axis=1, keepdims=True)

    def loss_fn(m):
        return mx.mean((m(x) - y) ** 2)

    opt = optim.SGD(learning_rate=0.1)
    first = loss_fn(model).item()
    grad_fn = nn.value_and_grad(model, lambda x_, y_: mx.mean((model(x_) - y_) ** 2))
    for _ in range(50):
        _, grads = grad_fn(x, y)
        opt.update(model, grads)
    assert loss_fn(model).item() < first / 2


def test_raw_mlx_module_inside_a_layer():
    class Wrapper(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(3, 2)

        def call(self, x):
            return self.inner(x)

    layer = Wrapper()
    out = layer(keras.Input((3,)))
    assert out.shape == (None, 2)
    assert layer.count_params() == 8
    w = layer.inner.weight
    x = np.ones((1, 3), "float32")
    np.testing.assert_allclose(np.array(layer(x)), x @ np.array(w).T + np.array(layer.inner.bias),
                               rtol=1e-6, atol=1e-6)


def test_unknown_constructor_argument_is_an_error():
    with pytest.raises(TypeError, match="Unrecognized keyword argument.*unitz"):
        layers.Dense(3, unitz=4)
