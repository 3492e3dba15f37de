"""SwapEMAWeights against a numpy EMA of the recorded training trajectory, and
RemoteMonitor against a loopback HTTP server (tests/loopback_server.py)."""

import json
import os
import urllib.parse
import warnings

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import callbacks, layers
from loopback_server import LoopbackServer, unused_url

M = 0.8  # ema_momentum


def _data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(24, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3).astype("float32")
    return x, y


def _model(use_ema=True):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(1)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.05, use_ema=use_ema, ema_momentum=M),
                  loss="mse")
    return model


class Trajectory(callbacks.Callback):
    """Weights after every batch, and those the model holds while it is evaluated."""

    def __init__(self):
        super().__init__()
        self.after_batch, self.at_test = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.after_batch.append(self.model.get_weights())

    def on_test_begin(self, logs=None):
        self.at_test.append(self.model.get_weights())


def _numpy_ema(trajectory):
    """Keras' EMA: the first step copies the weights, then avg = m avg + (1 - m) w."""
    out, avg = [], None
    for weights in trajectory:
        avg = [w.copy() for w in weights] if avg is None else \
            [np.float32(M) * a + np.float32(1 - M) * w for a, w in zip(avg, weights)]
        out.append(avg)
    return out


def _assert_close(a, b):
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7)


def test_swap_ema_weights_for_validation_matches_numpy_ema():
    x, y = _data()
    plain = Trajectory()
    _model().fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[plain],
                 validation_data=(x, y))
    swapped = Trajectory()
    model = _model()
    history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                        callbacks=[callbacks.SwapEMAWeights(), swapped],
                        validation_data=(x, y))
    # Swapping in and out is the identity: training follows the same path, bit for bit.
    for a, b in zip(plain.after_batch, swapped.after_batch):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
    ema = _numpy_ema(swapped.after_batch)
    # Validation (after each epoch's 3 batches) sees the averages...
    assert len(swapped.at_test) == 3
    for epoch, weights in enumerate(swapped.at_test):
        _assert_close(weights, ema[3 * epoch + 2])
        kernel, bias = ema[3 * epoch + 2]
        want = np.mean((x @ kernel + bias - y) ** 2)
        np.testing.assert_allclose(history.history["val_loss"][epoch], want, rtol=1e-5)
    # ...while the plain run validated the trained weights.
    _assert_close(plain.at_test[0], plain.after_batch[2])
    assert not np.allclose(plain.at_test[0][0], swapped.at_test[0][0])
    # fit ends with the averages in the model (Keras' finalize_variable_values).
    _assert_close(model.get_weights(), ema[-1])


def test_swap_ema_weights_outside_fit_and_back():
    x, y = _data()
    model = _model()
    record = Trajectory()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[record])
    ema = _numpy_ema(record.after_batch)[-1]
    _assert_close(model.get_weights(), ema)  # finalized by fit
    trained = record.after_batch[-1]
    model.set_weights(trained)
    # evaluate/predict with the callback: the averages held in the optimizer.
    swap = callbacks.SwapEMAWeights()
    loss = model.evaluate(x, y, verbose=0, callbacks=[swap])
    np.testing.assert_allclose(loss, np.mean((x @ ema[0] + ema[1] - y) ** 2), rtol=1e-5)
    pred = model.predict(x, verbose=0, callbacks=[swap])
    np.testing.assert_allclose(pred, x @ ema[0] + ema[1], rtol=1e-5, atol=1e-6)
    for u, v in zip(model.get_weights(), trained):  # put back afterwards
        np.testing.assert_array_equal(u, v)


def test_swap_on_epoch_lets_checkpoints_save_the_averages(tmp_path):
    x, y = _data()
    record = Trajectory()
    model = _model()
    saved = str(tmp_path / "ema-{epoch}.weights.npz")
    checkpoint = callbacks.ModelCheckpoint(saved.replace(".weights", ""),
                                           save_weights_only=True)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
              callbacks=[record, callbacks.SwapEMAWeights(swap_on_epoch=True), checkpoint])
    ema = _numpy_ema(record.after_batch)
    for epoch in (1, 2):
        with np.load(tmp_path / f"ema-{epoch}.npz") as stored:  # the file itself
            saved = [stored["dense/kernel"], stored["dense/bias"]]
        _assert_close(saved, ema[3 * epoch - 1])
    # Epoch 2 trained on from epoch 1's trained weights, not from the averages saved.
    plain = Trajectory()
    _model().fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[plain])
    for a, b in zip(plain.after_batch, record.after_batch):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
    _assert_close(model.get_weights(), ema[-1])  # and the averages are the result


def test_swap_ema_weights_needs_use_ema():
    x, y = _data()
    model = _model(use_ema=False)
    with pytest.raises(ValueError, match="use_ema=True"):
        model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y),
                  callbacks=[callbacks.SwapEMAWeights()])


# ---- RemoteMonitor -----------------------------------------------------------------------


def _fit_with(monitor, epochs=2):
    x, y = _data()
    model = _model(use_ema=False)
    return model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, callbacks=[monitor],
                     validation_data=(x, y)).history


def test_remote_monitor_posts_each_epoch_as_a_form_field():
    with LoopbackServer({}) as server:
        history = _fit_with(callbacks.RemoteMonitor(
            root=server.url, path="/publish/epoch/end/", field="payload",
            headers={"X-Run": "seven"}))
    assert [p[0] for p in server.posts] == ["/publish/epoch/end/"] * 2
    for epoch, (_, headers, body) in enumerate(server.posts):
        assert headers["X-Run"] == "seven"
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        form = urllib.parse.parse_qs(body.decode("ascii"))
        assert list(form) == ["payload"]
        sent = json.loads(form["payload"][0])
        assert sent == {"epoch": epoch, "loss": history["loss"][epoch],
                        "val_loss": history["val_loss"][epoch]}


def test_remote_monitor_send_as_json():
    with LoopbackServer({}) as server:
        history = _fit_with(callbacks.RemoteMonitor(root=server.url, path="/e",
                                                    send_as_json=True), epochs=1)
    (path, headers, body), = server.posts
    assert path == "/e" and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"epoch": 0, "loss": history["loss"][0],
                                "val_loss": history["val_loss"][0]}


def test_remote_monitor_warns_and_training_goes_on():
    # Nobody listening.
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server"):
        history = _fit_with(callbacks.RemoteMonitor(root=unused_url()))
    assert len(history["loss"]) == 2
    # An error status, and a server slower than the timeout.
    with LoopbackServer({}) as server:
        server.post_status = 500
        with pytest.warns(UserWarning, match="HTTP Error 500"):
            _fit_with(callbacks.RemoteMonitor(root=server.url), epochs=1)
        server.post_status, server.delay = 200, 3.0
        with pytest.warns(UserWarning, match="timed out"):
            history = _fit_with(callbacks.RemoteMonitor(root=server.url, timeout=0.2),
                                epochs=1)
    assert len(history["loss"]) == 1
    with pytest.warns(UserWarning, match="Could not reach"):
        _fit_with(callbacks.RemoteMonitor(root="not a url"), epochs=1)
