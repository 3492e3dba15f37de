"""The steps on the model (Keras' override points), deferred building, models with
nothing to train, and compiled steps per input signature.

Truth is numpy (gradients written out by hand) or the same model run eagerly.
"""

import importlib.util
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import callbacks, layers, utils
from mlxfunctional.engine.step import StateSnapshot, StepCache

RNG = np.random.default_rng(0)
X = RNG.random((32, 3)).astype("float32")
Y = RNG.random((32, 1)).astype("float32")
W1 = RNG.standard_normal((3, 4)).astype("float32") * 0.5
W2 = RNG.standard_normal((4, 1)).astype("float32") * 0.5


def fixed(value):
    """An initializer returning ``value`` (a numpy array) whatever the seed."""
    return lambda shape, dtype=None: mx.array(value)


def two_dense():
    return [layers.Dense(4, kernel_initializer=fixed(W1)),
            layers.Dense(1, kernel_initializer=fixed(W2))]


def numpy_sgd_step(lr, loss="mse"):
    """One SGD step of Dense(4) -> Dense(1) on (X, Y), zero biases, by hand."""
    h = X @ W1
    pred = h @ W2
    n = len(X)
    d_pred = 2 * (pred - Y) / n if loss == "mse" else np.sign(pred - Y) / n
    g2, gb2 = h.T @ d_pred, d_pred.sum(0)
    d_h = d_pred @ W2.T
    g1, gb1 = X.T @ d_h, d_h.sum(0)
    return [W1 - lr * g1, -lr * gb1, W2 - lr * g2, -lr * gb2]


def assert_weights(model, expected):
    got = model.get_weights()
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -- deferred building ------------------------------------------------------------
@pytest.mark.parametrize("run_eagerly", [False, True])
def test_an_unbuilt_sequential_builds_from_the_first_batch_and_trains(run_eagerly):
    model = keras.Sequential(two_dense())
    assert not model.built
    model.compile(keras.optimizers.SGD(0.1), "mse", run_eagerly=run_eagerly)
    history = model.fit(X, Y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    assert model.built
    np.testing.assert_allclose(history.history["loss"][0],
                               np.mean((X @ W1 @ W2 - Y) ** 2), rtol=1e-5)
    assert_weights(model, numpy_sgd_step(0.1))


class TwoDense(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first, self.second = two_dense()

    def call(self, x):
        return self.second(self.first(x))


def test_a_subclassed_model_never_called_builds_from_the_first_batch():
    model = TwoDense()
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(X, Y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    assert_weights(model, numpy_sgd_step(0.1))


def test_evaluate_and_predict_build_an_unbuilt_model():
    model = keras.Sequential(two_dense())
    np.testing.assert_allclose(model.predict(X, verbose=0), X @ W1 @ W2, rtol=1e-5)
    other = TwoDense()
    other.compile("sgd", "mse")
    np.testing.assert_allclose(other.evaluate(X, Y, verbose=0),
                               np.mean((X @ W1 @ W2 - Y) ** 2), rtol=1e-5)


# -- nothing to train ----------------------------------------------------------------
def test_a_frozen_model_runs_loss_and_metrics_without_a_gradient():
    model = keras.Sequential([keras.Input((3,))] + two_dense())
    model.trainable = False
    model.compile(keras.optimizers.SGD(0.1), "mse", metrics=["mae"])
    history = model.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    pred = X @ W1 @ W2
    np.testing.assert_allclose(history.history["loss"], [np.mean((pred - Y) ** 2)] * 2,
                               rtol=1e-5)
    np.testing.assert_allclose(history.history["mae"][1], np.mean(np.abs(pred - Y)),
                               rtol=1e-5)
    assert_weights(model, [W1, np.zeros(4), W2, np.zeros(1)])


def test_a_model_without_weights_trains_as_a_no_op():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.ReLU()(inputs))
    model.compile("adam", "mse", metrics=["mae"])
    target = RNG.random((32, 3)).astype("float32")
    logs = model.fit(X - 0.5, target, batch_size=16, verbose=0).history
    relu = np.maximum(X - 0.5, 0)
    np.testing.assert_allclose(logs["loss"][0], np.mean((relu - target) ** 2), rtol=1e-5)
    np.testing.assert_allclose(logs["mae"][0], np.mean(np.abs(relu - target)), rtol=1e-5)
    logs = model.train_on_batch(X - 0.5, target, return_dict=True)
    assert logs["loss"] == pytest.approx(float(np.mean((relu - target) ** 2)), rel=1e-5)


# -- the override points -----------------------------------------------------------------
def test_compute_loss_override_is_what_the_default_train_step_minimizes():
    class MAEModel(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.first, self.second = two_dense()

        def call(self, x):
            return self.second(self.first(x))

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                         training=True):
            return mx.mean(mx.abs(y_pred - y))

    model = MAEModel()
    model.compile(keras.optimizers.SGD(0.1))
    history = model.fit(X, Y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], np.mean(np.abs(X @ W1 @ W2 - Y)),
                               rtol=1e-5)
    assert_weights(model, numpy_sgd_step(0.1, loss="mae"))


def test_unpack_and_pack_follow_keras_rules():
    x, y, w = np.zeros(2), np.ones(2), np.full(2, 3.0)
    assert utils.unpack_x_y_sample_weight(x) == (x, None, None)
    assert utils.unpack_x_y_sample_weight((x,)) == (x, None, None)
    assert utils.unpack_x_y_sample_weight([x, y]) == (x, y, None)
    assert utils.unpack_x_y_sample_weight((x, y, w)) == (x, y, w)
    with pytest.raises(ValueError, match="4 elements"):
        utils.unpack_x_y_sample_weight((x, y, w, w))
    assert utils.pack_x_y_sample_weight(x) is x
    assert utils.pack_x_y_sample_weight([x, y]) == ([x, y],)  # a list x is not (x, y)
    assert utils.pack_x_y_sample_weight(x, y) == (x, y)
    assert utils.pack_x_y_sample_weight(x, y, w) == (x, y, w)


def test_declared_trackers_are_reset_per_epoch_and_logged():
    class Counting(keras.Functional):
        """The default step, plus a tracker of the rows seen (an attribute)."""

        def train_step(self, data):
            logs = super().train_step(data)
            x, _, _ = utils.unpack_x_y_sample_weight(data)
            self.seen.update_state(mx.ones((x.shape[0],)))
            return {**logs, "seen": self.seen.result()}

    inputs = keras.Input((3,))
    model = Counting(inputs, layers.Dense(1)(inputs))
    model.seen = keras.metrics.Sum(name="seen")
    model.compile("sgd", "mse")
    assert model.metrics_names == ["loss", "seen"]
    batch_logs = []

    class Record(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batch_logs.append(logs["seen"])

    history = model.fit(X, Y, batch_size=8, epochs=3, verbose=0, callbacks=[Record()])
    # Reset at each epoch's start: 32 rows per epoch, never 64 or 96.
    assert history.history["seen"] == [32.0, 32.0, 32.0]
    assert batch_logs == [8.0, 16.0, 24.0, 32.0] * 3


def test_predict_step_override_shapes_what_predict_returns():
    class WithLabels(keras.Functional):
        def predict_step(self, data):
            probs = self(data, training=False)
            return {"probs": probs, "label": mx.argmax(probs, axis=-1)}

    inputs = keras.Input((3,))
    model = WithLabels(inputs, layers.Dense(4, activation="softmax")(inputs))
    out = model.predict(X, batch_size=10, verbose=0)  # 10, 10, 10, then a short 2
    np.testing.assert_allclose(out["probs"], np.asarray(model(X)), rtol=1e-5)
    np.testing.assert_array_equal(out["label"], out["probs"].argmax(-1))


class Gan(keras.Model):
    """A tiny GAN: two sub-models, two optimizers, one custom train_step."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.generator = keras.Sequential([keras.Input((2,)), layers.Dense(3)])
        self.discriminator = keras.Sequential(
            [keras.Input((3,)), layers.Dense(4, activation="relu"),
             layers.Dropout(0.3), layers.Dense(1)])
        self.d_tracker = keras.metrics.Mean(name="d_loss")
        self.g_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer, g_optimizer, run_eagerly=False):
        super().compile(run_eagerly=run_eagerly)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    @property
    def metrics(self):
        return [self.d_tracker, self.g_tracker]

    def call(self, z):
        return self.generator(z)

    def train_step(self, data):
        real, _, _ = utils.unpack_x_y_sample_weight(data)
        z = mx.random.normal((real.shape[0], 2))

        def d_loss(real, z):
            fake = mx.stop_gradient(self.generator(z))
            logits = self.discriminator(mx.concatenate([real, fake]), training=True)
            labels = mx.concatenate([mx.ones((real.shape[0], 1)), mx.zeros((z.shape[0], 1))])
            return mx.mean(nn.losses.binary_cross_entropy(logits, labels))

        loss_d, grads = nn.value_and_grad(self.discriminator, d_loss)(real, z)
        self.d_optimizer.update(self.discriminator, grads)

        def g_loss(z):
            logits = self.discriminator(self.generator(z), training=True)
            return mx.mean(nn.losses.binary_cross_entropy(logits, mx.ones(logits.shape)))

        loss_g, grads = nn.value_and_grad(self.generator, g_loss)(z)
        self.g_optimizer.update(self.generator, grads)
        self.d_tracker.update_state(loss_d)
        self.g_tracker.update_state(loss_g)
        return {"d_loss": self.d_tracker.result(), "g_loss": self.g_tracker.result()}


def test_a_gan_with_two_optimizers_compiles_to_what_it_computes_eagerly():
    # Every optimizer held as an attribute is captured: were the discriminator's
    # Adam state left out of the compiled step, its step counter would stay at 1
    # and the weights would drift from the eager run's.
    real = RNG.standard_normal((64, 3)).astype("float32") + 2.0
    runs = []
    for eager in (False, True):
        utils.set_random_seed(7)
        gan = Gan()
        gan.compile(keras.optimizers.Adam(0.01), keras.optimizers.Adam(0.01), run_eagerly=eager)
        history = gan.fit(real, batch_size=16, epochs=2, shuffle=False, verbose=0)
        assert gan.d_optimizer.iterations == 8 and gan.g_optimizer.iterations == 8
        runs.append((gan.get_weights(), history.history))
    (compiled_w, compiled_h), (eager_w, eager_h) = runs
    assert sorted(compiled_h) == ["d_loss", "g_loss"]
    for a, b in zip(compiled_w, eager_w):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(compiled_h["d_loss"], eager_h["d_loss"], rtol=1e-4)


def test_the_vae_example_trains_and_logs_its_trackers_per_epoch():
    path = Path(__file__).resolve().parent.parent / "examples" / "vae.py"
    import sys

    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location("vae_example", path)
        vae_example = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(vae_example)
    finally:
        sys.path.remove(str(path.parent))
    utils.set_random_seed(0)
    (x, _), _ = keras.datasets.mnist.load_data(sample=True)
    x = x[:512].reshape(-1, 784).astype("float32") / 255
    vae = vae_example.VAE(vae_example.build_encoder(2), vae_example.build_decoder(2))
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    logs = vae.fit(x, epochs=3, batch_size=64, verbose=0).history
    assert sorted(logs) == ["kl_loss", "loss", "reconstruction_loss"]
    assert logs["loss"][2] < logs["loss"][0]
    for total, rec, kl in zip(logs["loss"], logs["reconstruction_loss"], logs["kl_loss"]):
        assert total == pytest.approx(rec + kl, rel=1e-4)
    # reset at each epoch's start: the trackers hold one epoch's 8 steps
    assert float(vae.total_loss_tracker.variables["count"].item()) == 8
    # the logged epoch loss is the mean over its steps (checked on the last epoch)
    assert logs["loss"][2] == pytest.approx(float(vae.total_loss_tracker.result().item()))


# -- compiled steps per input signature --------------------------------------------------
def small_model(**compile_kwargs):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(1)(inputs))
    model.compile("sgd", "mse", **compile_kwargs)
    return model


def train_entries(model):
    return [[rows for rows, _ in key[2]] for key in model._step_cache.keys()
            if key[0] == "train"]


def test_alternating_batch_sizes_stay_compiled():
    x = RNG.random((128, 3)).astype("float32")
    y = RNG.random((128, 1)).astype("float32")
    model = small_model()
    model.fit(x, y, batch_size=32, verbose=0)
    assert model._step_cache.traces == 1
    model.fit(x, y, batch_size=64, verbose=0)
    assert model._step_cache.traces == 2 and train_entries(model) == [[32], [64]]
    model.fit(x, y, batch_size=32, verbose=0)  # still cached: no new trace
    model.fit(x, y, batch_size=64, verbose=0)
    assert model._step_cache.traces == 2


def test_steps_per_execution_compiles_after_a_short_warm_up():
    x = RNG.random((16 * 8, 3)).astype("float32")
    y = RNG.random((16 * 8, 1)).astype("float32")
    model = small_model(steps_per_execution=16)
    model.fit(x[:40], y[:40], batch_size=8, verbose=0)  # 5 steps: fewer than 16, eager
    assert model._step_cache.traces == 0
    model.fit(x, y, batch_size=8, verbose=0)  # 16 steps: one compiled call
    assert train_entries(model) == [[8] * 16]


def test_the_cache_is_a_bounded_lru():
    state = {"w": mx.zeros(())}
    cache = StepCache(max_entries=3)
    cache.bind("train", [state])

    def add(v):
        state["w"] = state["w"] + mx.sum(v)
        return state["w"]

    for n in (1, 2, 3, 1, 4):  # 1 is used again before 4 arrives: 2 is the oldest
        cache.call(("train", None, n), add, mx.full((n,), 1.0))
    assert [k[2] for k in cache.keys()] == [3, 1, 4]
    assert cache.traces == 4
    assert float(state["w"].item()) == 1 + 2 + 3 + 1 + 4


def test_a_failed_trace_restores_every_captured_array_and_the_random_key():
    state = {"w": mx.ones((2,)), "nested": [mx.zeros(())]}
    mx.random.seed(3)
    key = np.array(mx.random.state[0])
    cache = StepCache()
    cache.bind("train", [state, mx.random.state])

    def fails(x):
        state["w"] = state["w"] + x + mx.random.uniform(shape=(2,))
        state["nested"][0] = state["nested"][0] + 1
        raise ArithmeticError("inside the trace")

    with pytest.raises(ArithmeticError):
        cache.call(("train", None, "sig"), fails, mx.ones((2,)))
    assert cache.keys() == []
    np.testing.assert_array_equal(np.array(state["w"]), [1, 1])
    assert float(state["nested"][0].item()) == 0
    np.testing.assert_array_equal(np.array(mx.random.state[0]), key)
    snapshot = StateSnapshot([state])
    state["w"] = mx.zeros((5,))
    snapshot.restore()
    assert state["w"].shape == (2,)
