"""Numpy data read a batch at a time (engine/data_adapter.py, ``HostRows``).

Numpy arrays stay on the host and each batch's rows (a slice in order: predict,
evaluate, fit(shuffle=False); a gather when fit shuffles) are converted when the
batch is taken. The results must
be those of the same call on MLX arrays and of a numpy forward pass computed
from the weights; the checks the whole-array conversion made up front (dtype,
integer range, non-numbers) must still come before any step.
"""

import subprocess
import sys

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers
from mlxfunctional.engine import data_adapter, input_standardization, trainer

RNG = np.random.default_rng(16)


def mlp(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12,), name="img")
    x = layers.Dense(8, activation="relu", name="d1")(inputs)
    outputs = layers.Dense(3, activation="softmax", name="d2")(x)
    return keras.Model(inputs, outputs)


def numpy_forward(model, x):
    """The MLP's output computed in float64 numpy from its weights."""
    (k1, b1), (k2, b2) = (model.get_layer(n).get_weights() for n in ("d1", "d2"))
    h = np.maximum(x.astype(np.float64) @ k1 + b1, 0)
    z = h @ k2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("read_ahead", [True, False])  # (default: when a core is free)
@pytest.mark.parametrize("batch_size", [7, 50, 64])  # short last batch; exactly one; larger
def test_predict_on_numpy_equals_mlx_input_and_a_numpy_forward(batch_size, read_ahead,
                                                                monkeypatch):
    monkeypatch.setattr(trainer, "READ_AHEAD", read_ahead)
    x = RNG.standard_normal((50, 12)).astype(np.float32)
    model = mlp()
    truth = numpy_forward(model, x)
    from_numpy = model.predict(x, batch_size=batch_size, verbose=0)
    from_mlx = model.predict(mx.array(x), batch_size=batch_size, verbose=0)
    np.testing.assert_allclose(from_numpy, truth, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(from_numpy, from_mlx)


def test_float64_and_strided_numpy_are_cast_and_read_in_row_order():
    base = RNG.standard_normal((60, 24))  # float64, as users have them
    x = base[::-2, ::2]  # negative row stride, every other column: not contiguous
    model = mlp()
    out = model.predict(x, batch_size=8, verbose=0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, numpy_forward(model, x.astype(np.float32)),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("read_ahead", [True, False])
def test_predict_converts_one_batch_at_a_time(monkeypatch, read_ahead):
    monkeypatch.setattr(trainer, "READ_AHEAD", read_ahead)
    sizes = []
    convert = input_standardization.host_to_mlx

    def counting(values, dtype):
        sizes.append(values.shape[0])
        return convert(values, dtype)

    monkeypatch.setattr(input_standardization, "host_to_mlx", counting)
    x = RNG.standard_normal((45, 12)).astype(np.float32)
    model = mlp()
    out = model.predict(x, batch_size=10, verbose=0)
    assert sizes == [10, 10, 10, 10, 5]  # never the whole array
    np.testing.assert_allclose(out, numpy_forward(model, x), rtol=1e-5, atol=1e-6)


def test_evaluate_on_numpy_equals_mlx_input_and_a_numpy_loss():
    x = RNG.standard_normal((37, 12)).astype(np.float32)
    y = RNG.integers(0, 3, size=37)  # int64 labels: int32 in MLX
    sw = RNG.uniform(0.5, 2.0, size=37)
    model = mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    probs = numpy_forward(model, x)
    per_sample = -np.log(probs[np.arange(37), y])
    # Keras' default reduction: the weighted sum over the samples divided by their count
    truth = float((per_sample * sw).sum() / 37)
    got_numpy = model.evaluate(x, y, sample_weight=sw, batch_size=37, verbose=0)
    got_mlx = model.evaluate(mx.array(x), mx.array(y.astype(np.int32)),
                             sample_weight=mx.array(sw.astype(np.float32)), batch_size=37,
                             verbose=0)
    assert got_numpy == pytest.approx(truth, rel=1e-5)
    assert got_numpy == got_mlx


def test_unshuffled_fit_on_numpy_reaches_the_weights_of_mlx_input_and_numpy_sgd():
    x = RNG.standard_normal((20, 4)).astype(np.float32)
    y = RNG.standard_normal((20, 1)).astype(np.float32)

    def linear():
        keras.utils.set_random_seed(1)
        inputs = keras.Input((4,))
        model = keras.Model(inputs, layers.Dense(1, name="dense")(inputs))
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
        return model

    a, b = linear(), linear()
    kernel, bias = (w.astype(np.float64) for w in a.get_layer("dense").get_weights())
    for _ in range(2):  # two epochs of batches of 8, 8, 4 in order, by hand
        for start in range(0, 20, 8):
            xb, yb = x[start:start + 8], y[start:start + 8]
            error = xb @ kernel + bias - yb
            kernel = kernel - 0.05 * 2 * xb.T @ error / len(yb)
            bias = bias - 0.05 * 2 * error.mean(axis=0)
    a.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    b.fit(mx.array(x), mx.array(y), batch_size=8, epochs=2, shuffle=False, verbose=0)
    got_a, got_b = a.get_layer("dense").get_weights(), b.get_layer("dense").get_weights()
    np.testing.assert_allclose(got_a[0], kernel, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_a[1], bias, rtol=1e-5, atol=1e-6)
    for u, v in zip(got_a, got_b):
        np.testing.assert_array_equal(u, v)


def test_checks_still_come_before_any_step():
    model = mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    x = RNG.standard_normal((8, 12)).astype(np.float32)
    too_big = np.full(8, 2**40, dtype=np.int64)  # does not fit int32: refused, not wrapped
    with pytest.raises(ValueError, match="do not fit"):
        model.evaluate(x, too_big, batch_size=2, verbose=0)
    with pytest.raises(ValueError, match="do not fit"):
        model.fit(x, too_big, batch_size=2, shuffle=False, verbose=0)
    with pytest.raises(TypeError, match="numbers or booleans"):
        model.predict(np.array(["a"] * 8, dtype=object).reshape(8, 1), verbose=0)
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)


def test_host_rows_slice_like_the_array():
    values = np.arange(24, dtype=np.int64).reshape(6, 4)
    rows = data_adapter.HostRows(*input_standardization.host_values(values))
    assert rows.shape == (6, 4)
    part = rows[4:10]  # past the end, as a slice of the array would be
    assert part.dtype == mx.int32
    np.testing.assert_array_equal(np.array(part), values[4:])


@pytest.mark.parametrize("free", [True, False])
def test_predict_reads_ahead_by_default_when_the_host_has_a_core(monkeypatch, free):
    from mlxfunctional import _blas
    from mlxfunctional.engine.trainer import Trainer

    monkeypatch.setattr(trainer, "READ_AHEAD", None)
    monkeypatch.setattr(_blas, "host_core_free", lambda: free)
    given = []
    real = Trainer._predict_batch

    def spy(self, batch, parallel, full, ahead=None):
        given.append(ahead is not None)
        return real(self, batch, parallel, full, ahead)

    monkeypatch.setattr(Trainer, "_predict_batch", spy)
    x = RNG.standard_normal((23, 12)).astype(np.float32)
    model = mlp()
    out = model.predict(x, batch_size=5, verbose=0)
    assert given == [free] * 5
    np.testing.assert_allclose(out, numpy_forward(model, x), rtol=1e-5, atol=1e-6)


def test_read_ahead_keeps_steps_and_batch_callbacks_in_order(monkeypatch):
    monkeypatch.setattr(trainer, "READ_AHEAD", True)
    seen = []

    class Rows(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen.append((batch, logs["outputs"].shape[0]))

    x = RNG.standard_normal((23, 12)).astype(np.float32)
    model = mlp()
    out = model.predict(x, batch_size=5, steps=3, verbose=0, callbacks=[Rows()])
    assert seen == [(0, 5), (1, 5), (2, 5)]
    np.testing.assert_allclose(out, numpy_forward(model, x[:15]), rtol=1e-5, atol=1e-6)


def test_shuffled_fit_on_numpy_trains_like_mlx_input():
    # Shuffled numpy data is gathered on the host batch by batch, MLX data inside the
    # step: the same seed must give the same batches, so the same weights.
    x = RNG.random((70, 12)).astype("float32")
    y = RNG.integers(0, 3, 70).astype("int32")
    weights = []
    for data in ((x, y), (mx.array(x), mx.array(y))):
        model = mlp(3)
        model.compile("sgd", "sparse_categorical_crossentropy")
        keras.utils.set_random_seed(9)  # (the shuffle order is drawn from MLX's key)
        model.fit(*data, batch_size=16, epochs=2, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


PEAK = r"""
import resource, sys
import numpy as np
import mlxfunctional as keras
from mlxfunctional import layers
x = np.ones((64_000, 1000), np.float32)  # 256 MB
y = np.zeros((64_000, 1), np.float32)
inputs = keras.Input((1000,))
model = keras.Model(inputs, layers.Dense(1)(inputs))
model.compile("sgd", "mse")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
model.fit(x, y, batch_size=64, steps_per_epoch=20, verbose=0)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is in KiB on Linux")
def test_shuffled_fit_on_numpy_does_not_copy_the_whole_data_set():
    # A fresh process, so the peak is this fit's: it used to convert all 256 MB to MLX.
    done = subprocess.run([sys.executable, "-c", PEAK], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.strip().splitlines()[-1]) < 64, done.stdout
