"""The APIs the Keras 3 guide "Writing your own callbacks" uses.

Our own callbacks; what each hook receives is checked against the log keys Keras
prints in the guide, and the logged numbers against numpy.
"""

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers

RNG = np.random.default_rng(4)
HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_test_begin",
         "on_test_end", "on_predict_begin", "on_predict_end", "on_train_batch_begin",
         "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
         "on_predict_batch_begin", "on_predict_batch_end"]


class Recorder(keras.callbacks.Callback):
    """Records (hook, index, sorted log keys, logs) for every hook."""

    def __init__(self):
        super().__init__()
        self.calls = []


def _make_hook(name):
    def hook(self, *args):
        *index, logs = args if args else (None,)
        self.calls.append((name, index[0] if index else None, sorted(logs or {}), dict(logs or {})))
    hook.__name__ = name
    return hook


for _name in HOOKS:
    setattr(Recorder, _name, _make_hook(_name))


def get_model(lr=0.1):
    model = keras.Sequential([keras.Input((6,)), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=lr), loss="mean_squared_error",
                  metrics=["mean_absolute_error"])
    return model


def keys_of(rec, hook):
    return [keys for name, _, keys, _ in rec.calls if name == hook]


def test_every_hook_gets_the_log_keys_keras_prints():
    model = get_model()
    x, y = RNG.random((8, 6)), RNG.random((8, 1))
    rec = Recorder()
    model.fit(x, y, batch_size=4, epochs=1, validation_data=(x, y), verbose=0, callbacks=[rec])
    metrics = ["loss", "mean_absolute_error"]
    val = metrics + ["val_loss", "val_mean_absolute_error"]
    assert keys_of(rec, "on_train_begin") == [[]]
    assert keys_of(rec, "on_epoch_begin") == [[]]
    assert keys_of(rec, "on_train_batch_begin") == [[], []]
    assert keys_of(rec, "on_train_batch_end") == [metrics, metrics]
    assert keys_of(rec, "on_test_batch_end") == [metrics, metrics]
    assert keys_of(rec, "on_epoch_end") == [val]
    assert keys_of(rec, "on_train_end") == [val]
    assert [i for name, i, _, _ in rec.calls if name == "on_train_batch_end"] == [0, 1]

    rec = Recorder()
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[rec])
    assert keys_of(rec, "on_test_begin") == [[]]
    assert keys_of(rec, "on_test_batch_end") == [metrics, metrics]
    assert keys_of(rec, "on_test_end") == [metrics]

    rec = Recorder()
    model.predict(x, batch_size=4, verbose=0, callbacks=[rec])
    assert keys_of(rec, "on_predict_begin") == [[]]
    assert keys_of(rec, "on_predict_batch_end") == [["outputs"], ["outputs"]]
    assert keys_of(rec, "on_predict_end") == [[]]
    outputs = [logs["outputs"] for name, _, _, logs in rec.calls if name == "on_predict_batch_end"]
    np.testing.assert_allclose(np.concatenate([np.asarray(o) for o in outputs]),
                               model.predict(x, verbose=0), rtol=1e-6)


def test_batch_logs_are_running_means_over_the_epoch():
    model = get_model(lr=0.0)  # fixed weights: the batch losses are known in advance
    x, y = RNG.random((12, 6)), RNG.random((12, 1))
    w, b = model.get_weights()
    err = x @ w + b - y
    rec = Recorder()
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[rec])
    logs = [l for name, _, _, l in rec.calls if name == "on_train_batch_end"]
    for i, batch_logs in enumerate(logs):
        seen = err[: 4 * (i + 1)]
        assert batch_logs["loss"] == pytest.approx((seen ** 2).mean(), rel=1e-4)
        assert batch_logs["mean_absolute_error"] == pytest.approx(np.abs(seen).mean(), rel=1e-4)
    rec = Recorder()
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[rec])
    logs = [l for name, _, _, l in rec.calls if name == "on_test_batch_end"]
    assert logs[1]["loss"] == pytest.approx((err[:8] ** 2).mean(), rel=1e-4)


class EarlyStoppingAtMinLoss(keras.callbacks.Callback):
    """Stops when the loss has not gone down for `patience` epochs; keeps the best weights."""

    def __init__(self, patience=0):
        super().__init__()
        self.patience = patience

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best = 0, 0, np.inf
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = logs.get("loss")
        if np.less(current, self.best):
            self.best, self.wait = current, 0
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True
                self.model.set_weights(self.best_weights)


def test_a_callback_stops_training_and_restores_weights():
    model = get_model(lr=0.5)  # large steps: the loss goes up at some point
    x, y = RNG.random((16, 6)), RNG.random((16, 1))
    losses = []

    class Log(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            losses.append(logs["loss"])

    stopper = EarlyStoppingAtMinLoss(patience=1)
    history = model.fit(x, y, batch_size=16, epochs=30, verbose=0, callbacks=[Log(), stopper])
    epochs = len(history.history["loss"])
    first_rise = next(i for i in range(1, len(losses)) if losses[i] >= min(losses[:i]))
    assert epochs == first_rise + 1 < 30
    assert stopper.stopped_epoch == first_rise
    for a, b in zip(model.get_weights(), stopper.best_weights):
        np.testing.assert_array_equal(a, b)


def test_a_callback_sets_the_learning_rate_each_epoch():
    schedule = [(1, 0.05), (3, 0.01)]

    def lr_schedule(epoch, lr):
        for start, value in schedule:
            if epoch == start:
                return value
        return lr

    class Scheduler(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_epoch_begin(self, epoch, logs=None):
            lr = float(np.array(self.model.optimizer.learning_rate))
            new_lr = lr_schedule(epoch, lr)
            self.model.optimizer.learning_rate = new_lr
            self.seen.append(new_lr)

    model = get_model(lr=0.1)
    scheduler = Scheduler()
    model.fit(RNG.random((8, 6)), RNG.random((8, 1)), epochs=5, verbose=0, callbacks=[scheduler])
    assert scheduler.seen == pytest.approx([0.1, 0.05, 0.05, 0.01, 0.01])
    assert float(np.array(model.optimizer.learning_rate)) == pytest.approx(0.01)


def test_builtin_learning_rate_scheduler_and_lambda_callback():
    seen = []
    model = get_model(lr=0.1)
    model.fit(RNG.random((8, 6)), RNG.random((8, 1)), epochs=3, verbose=0, callbacks=[
        keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5),
        keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(
            float(np.array(model.optimizer.learning_rate))))])
    assert seen == pytest.approx([0.05, 0.025, 0.0125])
