"""What the Keras 3 guides tripped over, each pinned by a test that failed before its fix.

The guides are keras-team/keras ``guides/training_with_built_in_methods.py``,
``writing_your_own_callbacks.py`` and
``making_new_layers_and_models_via_subclassing.py``; the programs here are our
own, using the same patterns. Expected values come from numpy (counts, sums,
running means) or from Keras' documented behaviour.
"""

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers, regularizers

RNG = np.random.default_rng(7)


def dense_model(units=1, kernel=None, inputs=3, **dense_kwargs):
    """Input((inputs,)) -> Dense(units, no bias) with a given kernel (numpy truth is x @ W)."""
    inp = keras.Input((inputs,))
    dense = layers.Dense(units, use_bias=False, **dense_kwargs)
    model = keras.Model(inp, dense(inp))
    if kernel is not None:
        model.set_weights([np.asarray(kernel, np.float32)])
    return model


# -- 1. a Metric whose result() is its own variable -------------------------------------------

class TruePositives(keras.metrics.Metric):
    """Keras' custom-metric pattern: one add_variable, assign_add, result() returns it."""

    def __init__(self, name="true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="tp")

    def update_state(self, y_true, y_pred, sample_weight=None):
        hit = (mx.array(y_true) > 0.5) & (mx.array(y_pred) > 0.5)
        self.true_positives.assign_add(mx.sum(hit.astype(mx.float32)))

    def result(self):
        return self.true_positives

    def reset_state(self):
        self.true_positives.assign(0)


def numpy_true_positives(y_true, y_pred):
    return float(np.sum((y_true > 0.5) & (y_pred > 0.5)))


def test_custom_metric_returning_its_variable_works_eagerly():
    y_true = (RNG.random((10, 1)) > 0.5).astype(np.float32)
    y_pred = RNG.random((10, 1)).astype(np.float32)
    metric = TruePositives()
    metric.update_state(y_true[:6], y_pred[:6])
    value = metric(y_true[6:], y_pred[6:])  # __call__: update, then the result
    expected = numpy_true_positives(y_true, y_pred)
    assert isinstance(value, mx.array) and float(value) == expected
    assert float(metric.result()) == expected
    assert float(metric.result().numpy()) == expected
    metric.reset_state()
    assert float(metric.result()) == 0.0


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_custom_metric_returning_its_variable_in_fit_and_evaluate(run_eagerly, capsys):
    x = RNG.standard_normal((24, 3)).astype(np.float32)
    y = (RNG.random((24, 1)) > 0.5).astype(np.float32)
    model = dense_model(kernel=RNG.standard_normal((3, 1)))
    # learning_rate 0: the predictions, hence the count, are the same in every batch.
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse", metrics=[TruePositives()],
                  run_eagerly=run_eagerly)
    expected = numpy_true_positives(y, x @ model.get_weights()[0])
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=1)  # (progbar formats it)
    assert history.history["true_positives"] == [expected, expected]
    assert "true_positives: " in capsys.readouterr().out
    logs = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert logs["true_positives"] == expected
    if not run_eagerly:  # three full batches: the compiled steps ran
        assert model._step_cache.traces >= 2


# -- 2. x without the Input's trailing 1 -----------------------------------------------------

def test_predict_fit_evaluate_expand_a_missing_trailing_one():
    inp = keras.Input((4, 4, 1))
    model = keras.Model(inp, layers.Dense(1, use_bias=False)(layers.Flatten()(inp)))
    kernel = RNG.standard_normal((16, 1)).astype(np.float32)
    model.set_weights([kernel])
    x = RNG.standard_normal((6, 4, 4)).astype(np.float32)  # (n, 28, 28) for Input((28, 28, 1))
    y = RNG.standard_normal((6, 1)).astype(np.float32)
    expected = x.reshape(6, 16) @ kernel
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    model.compile("sgd", "mse")
    loss = model.evaluate(x, y, batch_size=6, verbose=0)
    np.testing.assert_allclose(loss, np.mean((expected - y) ** 2), rtol=1e-5)
    history = model.fit(x, y, batch_size=3, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


# -- 3. batch logs of evaluate, fit's validation and predict ------------------------------------

class BatchLogs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.test, self.predict = [], []

    def on_test_batch_end(self, batch, logs=None):
        self.test.append((batch, dict(logs)))

    def on_predict_batch_end(self, batch, logs=None):
        self.predict.append((batch, logs["outputs"]))


def running_means(errors, batch_size):
    """The loss/metric after each batch: the mean over every sample seen so far."""
    ends = list(range(batch_size, len(errors), batch_size)) + [len(errors)]
    return [float(np.mean(errors[:end])) for end in ends]


def regression_data(n=10):
    return (RNG.standard_normal((n, 3)).astype(np.float32),
            RNG.standard_normal((n, 1)).astype(np.float32))


def check_test_logs(seen, model, x, y, batch_size=4):
    residual = (x @ model.get_weights()[0] - y)[:, 0]
    assert [b for b, _ in seen] == list(range(len(running_means(residual, batch_size))))
    np.testing.assert_allclose([logs["loss"] for _, logs in seen],
                               running_means(residual ** 2, batch_size), rtol=1e-5)
    np.testing.assert_allclose([logs["mae"] for _, logs in seen],
                               running_means(np.abs(residual), batch_size), rtol=1e-5)


def test_on_test_batch_end_gets_the_running_loss_and_metrics_in_evaluate():
    x, y = regression_data()
    model = dense_model(kernel=RNG.standard_normal((3, 1)))
    model.compile("sgd", "mse", metrics=["mae"])
    callback = BatchLogs()
    model.evaluate(x, y, batch_size=4, callbacks=[callback], verbose=0)
    check_test_logs(callback.test, model, x, y)


def test_on_test_batch_end_gets_the_running_logs_in_fit_validation():
    x, y = regression_data()
    vx, vy = regression_data(9)
    model = dense_model(kernel=RNG.standard_normal((3, 1)))
    model.compile(keras.optimizers.SGD(0.05), "mse", metrics=["mae"])
    callback = BatchLogs()
    model.fit(x, y, batch_size=5, validation_data=(vx, vy), validation_batch_size=4,
              callbacks=[callback], verbose=0)
    # Validation runs after the epoch's training, so with its final weights.
    check_test_logs(callback.test, model, vx, vy)
    assert set(callback.test[0][1]) == {"loss", "mae"}  # (Keras: no val_ prefix here)


class CountLogReads:
    """Counts the model's log reads (each a device sync) by wrapping ``_logs_from``."""

    def __init__(self, model):
        self.count, self._read = 0, model._logs_from
        model._logs_from = self

    def __call__(self, *args, **kwargs):
        self.count += 1
        return self._read(*args, **kwargs)


class EpochOnly(keras.callbacks.Callback):
    def on_test_end(self, logs=None):
        self.logs = logs


def test_batch_logs_are_read_only_when_a_callback_wants_them():
    x, y = regression_data(12)
    model = dense_model(kernel=np.ones((3, 1)))
    model.compile("sgd", "mse")
    reads = CountLogReads(model)
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[EpochOnly()])
    assert reads.count == 1  # the final logs only: no read per batch
    reads.count = 0
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[BatchLogs()])
    assert reads.count == 3 + 1  # every batch, then the final logs


def test_on_predict_batch_end_gets_the_outputs_in_the_models_structure():
    x, _ = regression_data(10)
    kernel = RNG.standard_normal((3, 2)).astype(np.float32)
    single = dense_model(units=2, kernel=kernel)
    callback = BatchLogs()
    single.predict(x, batch_size=4, callbacks=[callback], verbose=0)
    assert [b for b, _ in callback.predict] == [0, 1, 2]
    assert all(isinstance(out, np.ndarray) for _, out in callback.predict)
    np.testing.assert_allclose(np.concatenate([out for _, out in callback.predict]), x @ kernel,
                               rtol=1e-5, atol=1e-6)

    inp = keras.Input((3,))
    two = keras.Model(inp, {"a": layers.Dense(1)(inp), "b": layers.Dense(2)(inp)})
    callback = BatchLogs()
    two.predict(x, batch_size=4, callbacks=[callback], verbose=0)
    outputs = callback.predict[-1][1]
    assert isinstance(outputs, dict) and outputs["a"].shape == (2, 1)
    assert outputs["b"].shape == (2, 2)


# -- 4. a shared layer's activity regularization, once per call ------------------------------

def shared_regularized_model(rate=0.1):
    a, b = keras.Input((3,)), keras.Input((3,))
    shared = layers.Dense(2, use_bias=False, activity_regularizer=regularizers.L2(rate))
    model = keras.Model([a, b], layers.Add()([shared(a), shared(b)]))
    kernel = RNG.standard_normal((3, 2)).astype(np.float32)
    model.set_weights([kernel])
    return model, kernel


def test_a_shared_layer_adds_the_activity_loss_of_each_call():
    model, kernel = shared_regularized_model()
    xa, xb = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    model([xa.astype(np.float32), xb.astype(np.float32)])
    expected = [0.1 * np.sum((xa @ kernel) ** 2), 0.1 * np.sum((xb @ kernel) ** 2)]
    np.testing.assert_allclose([float(v) for v in model.losses], expected, rtol=1e-5)
    # The next forward pass starts afresh: two losses again, of the new inputs only.
    xc = RNG.standard_normal((4, 3))
    model([xc.astype(np.float32), xa.astype(np.float32)])
    expected = [0.1 * np.sum((xc @ kernel) ** 2), 0.1 * np.sum((xa @ kernel) ** 2)]
    np.testing.assert_allclose([float(v) for v in model.losses], expected, rtol=1e-5)


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_the_training_loss_counts_both_calls_of_a_shared_layer(run_eagerly):
    model, kernel = shared_regularized_model()
    model.compile("sgd", "mse", run_eagerly=run_eagerly)
    xa, xb = (RNG.standard_normal((6, 3)).astype(np.float32) for _ in range(2))
    y = RNG.standard_normal((6, 2)).astype(np.float32)
    ya, yb = xa @ kernel, xb @ kernel
    expected = (np.mean((ya + yb - y) ** 2)
                + 0.1 * np.sum(ya.astype(np.float64) ** 2) + 0.1 * np.sum(yb.astype(np.float64) ** 2))
    loss = model.evaluate([xa, xb], y, batch_size=6, verbose=0)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


class MaybeRegularized(layers.Layer):
    """Reaches its regularized sublayer only when asked."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = layers.Dense(2, activity_regularizer=regularizers.L1(1.0))

    def call(self, x, use_inner=False):
        return self.inner(x) if use_inner else x


def test_losses_of_an_earlier_forward_pass_are_gone():
    outer = MaybeRegularized()
    x = mx.ones((2, 2))
    outer(x, use_inner=True)
    assert len(outer.losses) == 1
    outer(x)  # a new forward pass that does not reach `inner`: Keras clears its losses
    assert outer.losses == []


# -- 5. mlx.nn modules inside a layer follow the call's training flag ---------------------------

class MLXDropout(layers.Layer):
    """A layer holding a plain mlx.nn module (README: "any nn.Module can sit inside a layer")."""

    def __init__(self, rate=0.5, **kwargs):
        super().__init__(**kwargs)
        self.drop = nn.Dropout(rate)

    def call(self, x):
        return self.drop(x)


def dropout_model():
    inp = keras.Input((64,))
    drop = MLXDropout()
    out = layers.Dense(1, use_bias=False, kernel_initializer="ones")(drop(inp))
    return keras.Model(inp, out), drop


def test_an_mlx_module_in_a_layer_is_in_inference_mode_outside_training():
    model, drop = dropout_model()
    ones = np.ones((4, 64), np.float32)
    np.testing.assert_array_equal(model.predict(ones, verbose=0), np.full((4, 1), 64.0))
    np.testing.assert_array_equal(np.array(drop(ones, training=False)), ones)
    np.testing.assert_array_equal(np.array(drop(ones)), ones)  # (None: inference, as Keras)
    dropped = np.array(drop(ones, training=True))
    assert set(np.unique(dropped)) == {0.0, 2.0}  # inverted dropout at rate 0.5
    # A module assigned after the first call follows the flag too.
    drop.drop = nn.Dropout(0.9)
    np.testing.assert_array_equal(np.array(drop(ones, training=False)), ones)
    assert set(np.unique(np.array(drop(ones, training=True)))) <= {0.0, 10.0}


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_fit_drops_and_evaluate_and_predict_do_not(run_eagerly):
    model, _ = dropout_model()
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse", run_eagerly=run_eagerly)
    x = np.ones((16, 64), np.float32)
    y = np.full((16, 1), 64.0, np.float32)  # exactly the model's output without dropout
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert history.history["loss"][0] > 1.0  # dropout was on: outputs far from 64
    assert model.evaluate(x, y, batch_size=8, verbose=0) == 0.0
    np.testing.assert_array_equal(model.predict(x, batch_size=8, verbose=0), y)
    if not run_eagerly:
        assert model._step_cache.traces >= 3  # train, test and predict compiled


# -- 6. data fit cannot read, and a torch DataLoader ---------------------------------------------

class TorchLikeTensor:
    """What a torch DataLoader yields: numpy reads it only through detach().cpu().numpy()."""

    def __init__(self, values):
        self._values = np.asarray(values, np.float32)

    def __array__(self, *args, **kwargs):
        raise RuntimeError("Can't call numpy() on Tensor that requires grad.")

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self._values


class OpaqueTensor:
    """A tensor numpy cannot convert and that has no numpy() either."""

    def __array__(self, *args, **kwargs):
        raise RuntimeError("cannot convert this tensor")


class DataLoader:
    """Stands in for torch.utils.data.DataLoader: batches are lists [x, y] of tensors."""

    def __init__(self, x, y, batch_size, tensor=TorchLikeTensor):
        self.x, self.y, self.batch_size, self.tensor = x, y, batch_size, tensor

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        for i in range(0, len(self.x), self.batch_size):
            if self.tensor is OpaqueTensor:
                yield [OpaqueTensor(), OpaqueTensor()]
            else:
                sl = slice(i, i + self.batch_size)
                yield [self.tensor(self.x[sl]), self.tensor(self.y[sl])]


class NumpyBatches:
    """The same batches as (x, y) tuples of numpy arrays (re-iterable, like a DataLoader)."""

    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size

    def __iter__(self):
        for i in range(0, len(self.x), self.batch_size):
            yield self.x[i:i + self.batch_size], self.y[i:i + self.batch_size]


def test_a_torch_style_dataloader_trains_like_the_same_numpy_batches():
    x, y = regression_data(10)
    kernel = RNG.standard_normal((3, 1)).astype(np.float32)
    weights = []
    for data in (DataLoader(x, y, 4), NumpyBatches(x, y, 4)):
        model = dense_model(kernel=kernel)
        model.compile(keras.optimizers.SGD(0.1), "mse")
        model.fit(data, epochs=2, verbose=0)
        weights.append(model.get_weights()[0])
    np.testing.assert_allclose(weights[0], weights[1], rtol=1e-6)
    assert not np.allclose(weights[0], kernel)  # (it did train)
    loss = model.evaluate(DataLoader(x, y, 4), verbose=0)
    np.testing.assert_allclose(loss, np.mean((x @ weights[1] - y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(model.predict(DataLoader(x, y, 4), verbose=0), x @ weights[1],
                               rtol=1e-5, atol=1e-6)


def test_a_dataloader_of_unreadable_tensors_is_named_in_the_error():
    x, y = regression_data(8)
    model = dense_model()
    model.compile("sgd", "mse")
    with pytest.raises(TypeError) as info:
        model.fit(DataLoader(x, y, 4, tensor=OpaqueTensor), verbose=0)
    message = str(info.value)
    assert "DataLoader" in message and "OpaqueTensor" in message
    assert "cannot convert this tensor" in message
    assert "generator or iterable" in message and "PyDataset" in message


def test_an_object_fit_cannot_read_is_named_with_what_fit_accepts():
    model = dense_model()
    model.compile("sgd", "mse")

    class Opaque:
        pass

    for bad in (object(), Opaque()):
        with pytest.raises(TypeError) as info:
            model.fit(bad, np.zeros((4, 1)), verbose=0)
        message = str(info.value)
        assert f"type {type(bad).__qualname__}" in message or \
            f".{type(bad).__qualname__}" in message
        assert "accept arrays" in message and "(x, y, sample_weight)" in message


def test_a_batch_of_more_than_three_parts_is_an_error():
    x, y = regression_data(4)
    model = dense_model()
    model.compile("sgd", "mse")
    with pytest.raises(TypeError, match="a batch is a list of 4 entries"):
        model.fit(iter([[x, y, np.ones(4), np.ones(4)]]), verbose=0)
