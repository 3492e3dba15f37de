"""The APIs the Keras 3 guide "Making new layers and models via subclassing" uses.

Our own layers; outputs against numpy, losses against their formulas, and
``training``-dependent behaviour against Keras' documented semantics.
"""

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers, ops

RNG = np.random.default_rng(9)


class Linear(layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_a_layer_holds_weights_and_computes_with_them():
    layer = Linear(4)
    x = np.asarray(ops.ones((2, 2)))
    y = np.asarray(layer(x))
    w, b = layer.get_weights()
    np.testing.assert_allclose(y, x @ w + b, rtol=1e-6)
    assert len(layer.weights) == 2
    assert [tuple(v.shape) for v in layer.weights] == [(2, 4), (4,)]
    assert np.std(w) > 0 and np.allclose(b, 0)  # random_normal and zeros initializers


def test_weights_are_created_on_first_call_from_the_input_shape():
    layer = Linear(32)
    assert not layer.built and layer.weights == []
    layer(np.ones((3, 7), np.float32))
    assert layer.built and tuple(layer.weights[0].shape) == (7, 32)


def test_non_trainable_weights_are_listed_apart():
    class WithState(layers.Layer):
        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1],), initializer="ones")
            self.total = self.add_weight(shape=(input_shape[-1],), initializer="zeros",
                                         trainable=False)

        def call(self, inputs):
            return inputs * self.kernel

    layer = WithState()
    layer(np.ones((2, 3), np.float32))
    assert len(layer.weights) == 2
    assert len(layer.trainable_weights) == 1 and len(layer.non_trainable_weights) == 1


def test_layers_nest_and_track_their_sublayers_weights():
    class MLPBlock(layers.Layer):
        def __init__(self):
            super().__init__()
            self.linear_1 = Linear(32)
            self.linear_2 = Linear(32)
            self.linear_3 = Linear(1)

        def call(self, inputs):
            x = ops.relu(self.linear_1(inputs))
            x = ops.relu(self.linear_2(x))
            return self.linear_3(x)

    mlp = MLPBlock()
    x = RNG.random((3, 64)).astype("float32")
    y = np.asarray(mlp(x))
    assert y.shape == (3, 1)
    assert len(mlp.weights) == 6 and len(mlp.trainable_weights) == 6
    w1, b1, w2, b2, w3, b3 = (np.asarray(v) for v in mlp.weights)
    h = np.maximum(np.maximum(x @ w1 + b1, 0) @ w2 + b2, 0)
    np.testing.assert_allclose(y, h @ w3 + b3, rtol=1e-4, atol=1e-6)


class ActivityRegularization(layers.Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * inputs.mean())
        return inputs


def test_losses_are_reset_on_every_top_level_call():
    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.activity_reg = ActivityRegularization(1e-2)

        def call(self, inputs):
            return self.activity_reg(inputs)

    layer = Outer()
    assert len(layer.losses) == 0
    layer(np.full((1, 1), 3.0, np.float32))
    assert len(layer.losses) == 1 and float(layer.losses[0]) == pytest.approx(0.03)
    layer(np.full((2, 1), 5.0, np.float32))
    assert len(layer.losses) == 1 and float(layer.losses[0]) == pytest.approx(0.05)


def test_weight_regularizers_appear_in_losses():
    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(32, kernel_regularizer=keras.regularizers.l2(1e-3))

        def call(self, inputs):
            return self.dense(inputs)

    layer = Outer()
    layer(np.zeros((1, 1), np.float32))
    kernel = layer.dense.get_weights()[0]
    assert len(layer.losses) == 1
    assert float(layer.losses[0]) == pytest.approx(1e-3 * (kernel ** 2).sum(), rel=1e-5)


def test_add_loss_joins_the_compiled_loss_or_replaces_it():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, ActivityRegularization()(inputs))
    x, y = RNG.random((4, 3)).astype("float32"), RNG.random((4, 3)).astype("float32")
    model.compile(optimizer="adam", loss="mse")
    assert model.evaluate(x, y, verbose=0) == pytest.approx(((x - y) ** 2).mean() + 1e-2 * x.mean(),
                                                            rel=1e-5)
    model.compile(optimizer="adam")  # no compiled loss: the added loss alone is minimized
    history = model.fit(x, y, verbose=0)
    assert history.history["loss"][0] == pytest.approx(1e-2 * x.mean(), rel=1e-5)


def test_get_config_and_from_config_recreate_the_layer():
    layer = Linear(64, name="linear_64")
    config = layer.get_config()
    assert config["units"] == 64 and config["name"] == "linear_64"
    twin = Linear.from_config(config)
    assert twin.units == 64 and twin.name == "linear_64"

    class Minimal(layers.Layer):  # no super config: from_config is cls(**config)
        def __init__(self, units=32):
            super().__init__()
            self.units = units

        def get_config(self):
            return {"units": self.units}

    assert Minimal.from_config(Minimal(5).get_config()).units == 5


def test_the_training_argument_switches_dropout():
    class CustomDropout(layers.Layer):
        def __init__(self, rate, **kwargs):
            super().__init__(**kwargs)
            self.rate = rate
            self.seed_generator = keras.random.SeedGenerator(1337)

        def call(self, inputs, training=None):
            if training:
                return keras.random.dropout(inputs, rate=self.rate, seed=self.seed_generator)
            return inputs

    layer = CustomDropout(0.5)
    x = np.ones((200, 50), np.float32)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    dropped = np.asarray(layer(x, training=True))
    assert set(np.unique(dropped)) <= {0.0, 2.0}  # kept values scaled by 1 / (1 - rate)
    assert abs((dropped == 0).mean() - 0.5) < 0.03
    again = np.asarray(layer(x, training=True))
    assert not np.array_equal(dropped, again)  # the seed generator advances

    inputs = keras.Input((50,))
    model = keras.Model(inputs, CustomDropout(0.5)(inputs))
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def test_a_model_subclass_trains_and_reports_its_layers():
    class ResNetLike(keras.Model):
        def __init__(self, num_classes=3):
            super().__init__()
            self.block_1 = Linear(8)
            self.block_2 = Linear(8)
            self.classifier = layers.Dense(num_classes)

        def call(self, inputs):
            x = ops.relu(self.block_1(inputs))
            x = ops.relu(self.block_2(x)) + x
            return self.classifier(x)

    model = ResNetLike()
    x, y = RNG.random((16, 4)).astype("float32"), RNG.integers(3, size=16)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.count_params() == (4 * 8 + 8) + (8 * 8 + 8) + (8 * 3 + 3)
    assert len(model.layers) == 3


def test_a_non_trainable_weight_keeps_a_running_sum():
    class ComputeSum(layers.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(initializer="zeros", shape=(input_dim,),
                                         trainable=False)

        def call(self, inputs):
            self.total.assign_add(ops.sum(inputs, axis=0))
            return self.total

    x = RNG.random((3, 2)).astype("float32")
    my_sum = ComputeSum(2)
    np.testing.assert_allclose(np.asarray(my_sum(x)), x.sum(0), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(my_sum(x)), 2 * x.sum(0), rtol=1e-6)
    assert len(my_sum.weights) == 1 and len(my_sum.non_trainable_weights) == 1
    assert my_sum.trainable_weights == []
    np.testing.assert_allclose(my_sum.total.numpy(), 2 * x.sum(0), rtol=1e-6)


def test_activity_regularization_with_ops_mean():
    class MeanRegularization(layers.Layer):
        def call(self, inputs):
            self.add_loss(1e-2 * ops.mean(inputs))
            return inputs

    layer = MeanRegularization()
    x = RNG.random((4, 3)).astype("float32")
    layer(x)
    assert float(layer.losses[0]) == pytest.approx(1e-2 * x.mean(), rel=1e-5)


class Sampling(layers.Layer):
    """z = z_mean + exp(z_log_var / 2) * epsilon."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch, dim = ops.shape(z_mean)[0], ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class VAE(keras.Model):
    def __init__(self, original_dim, intermediate_dim=8, latent_dim=2, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(intermediate_dim, activation="relu")
        self.dense_mean = layers.Dense(latent_dim)
        self.dense_log_var = layers.Dense(latent_dim)
        self.sampling = Sampling()
        self.decode_hidden = layers.Dense(intermediate_dim, activation="relu")
        self.decode_out = layers.Dense(original_dim, activation="sigmoid")

    def call(self, inputs):
        h = self.hidden(inputs)
        z_mean, z_log_var = self.dense_mean(h), self.dense_log_var(h)
        z = self.sampling((z_mean, z_log_var))
        reconstructed = self.decode_out(self.decode_hidden(z))
        kl = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
        self.add_loss(kl)
        return reconstructed


def test_a_variational_autoencoder_adds_its_kl_loss_and_trains():
    x = RNG.random((64, 20)).astype("float32")
    vae = VAE(20)
    vae.compile(keras.optimizers.Adam(1e-3), loss=keras.losses.MeanSquaredError())
    history = vae.fit(x, x, epochs=2, batch_size=16, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    vae(x[:4])
    w = [np.asarray(v) for v in vae.get_weights()]
    h = np.maximum(x[:4] @ w[0] + w[1], 0)
    z_mean, z_log_var = h @ w[2] + w[3], h @ w[4] + w[5]
    kl = -0.5 * np.mean(z_log_var - z_mean ** 2 - np.exp(z_log_var) + 1)
    assert len(vae.losses) == 1 and float(vae.losses[0]) == pytest.approx(kl, rel=1e-4)
    # Sampling draws new noise on every call: two predictions differ.
    assert not np.allclose(vae.predict(x[:4], verbose=0), vae.predict(x[:4], verbose=0))
