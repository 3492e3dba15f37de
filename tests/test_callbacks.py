"""Callback dispatch driven by hand with a fake model (tests/_callback_fakes.py):
CallbackList (default callbacks, hook order, shared logs, batch-hook routing, legacy
aliases), History, CSVLogger, TerminateOnNaN and LambdaCallback.

The callbacks that watch a monitored value or set the learning rate (EarlyStopping,
ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler) are in
test_callbacks_monitoring.py.
"""

import csv

import numpy as np
import pytest

from _callback_fakes import FakeModel
from mlxfunctional import callbacks
from mlxfunctional.callbacks import (
    Callback, CallbackList, CSVLogger, EarlyStopping, History, LambdaCallback,
    ModelCheckpoint, ProgbarLogger, TerminateOnNaN,
)


# ---- CallbackList ---------------------------------------------------------------------


class Recorder(Callback):
    """Appends (tag, hook[, epoch or batch]) to a shared log for every hook."""

    def __init__(self, tag, log):
        super().__init__()
        self.tag = tag
        self.log = log


def _recording_hook(name):
    def hook(self, *args):
        first = args[:1] if args and not isinstance(args[0], dict) else ()
        self.log.append((self.tag, name) + first)

    return hook


for _name in callbacks.callback.HOOKS:
    if _name not in ("on_batch_begin", "on_batch_end"):
        setattr(Recorder, _name, _recording_hook(_name))


def test_default_callbacks_order_and_model_history():
    a, b = Callback(), Callback()
    model = FakeModel()
    cbs = CallbackList([a, [b]], model=model, verbose=1, epochs=3, steps=10)
    kinds = [type(c) for c in cbs.callbacks]
    assert kinds == [ProgbarLogger, Callback, Callback, History]
    assert model.history is cbs.callbacks[-1]
    params = {"verbose": 1, "epochs": 3, "steps": 10}
    assert all(c.params == params and c.model is model for c in cbs.callbacks)

    assert [type(c) for c in CallbackList([a], verbose=0, epochs=1, steps=1).callbacks] == [
        Callback, History
    ]
    assert [type(c) for c in CallbackList([a], add_history=False, add_progbar=False).callbacks] == [
        Callback
    ]
    h, p = History(), ProgbarLogger()
    cbs = CallbackList([h, a, p], model=model, verbose=1, epochs=1, steps=1)
    assert cbs.callbacks == [h, a, p] and model.history is h


def test_hook_order_through_callback_list():
    log = []
    cbs = CallbackList([Recorder("A", log), Recorder("B", log)], add_history=False,
                       add_progbar=False, model=FakeModel(), verbose=0, epochs=1, steps=2)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    for b in range(2):
        cbs.on_train_batch_begin(b)
        cbs.on_train_batch_end(b, {"loss": 1.0})
    cbs.on_test_begin()
    cbs.on_test_batch_begin(0)
    cbs.on_test_batch_end(0, {"loss": 1.0})
    cbs.on_test_end({"loss": 1.0})
    cbs.on_epoch_end(0, {"loss": 1.0})
    cbs.on_train_end({"loss": 1.0})
    cbs.on_predict_begin()
    cbs.on_predict_batch_begin(0)
    cbs.on_predict_batch_end(0, {"outputs": None})
    cbs.on_predict_end()
    expected_hooks = [
        ("on_train_begin",), ("on_epoch_begin", 0),
        ("on_train_batch_begin", 0), ("on_train_batch_end", 0),
        ("on_train_batch_begin", 1), ("on_train_batch_end", 1),
        ("on_test_begin",), ("on_test_batch_begin", 0), ("on_test_batch_end", 0),
        ("on_test_end",), ("on_epoch_end", 0), ("on_train_end",),
        ("on_predict_begin",), ("on_predict_batch_begin", 0), ("on_predict_batch_end", 0),
        ("on_predict_end",),
    ]
    expected = [(t,) + h for h in expected_hooks for t in ("A", "B")]
    assert log == expected


def test_shared_logs_dict_and_pythonified_epoch_logs():
    import mlx.core as mx

    seen = {}

    class Adds(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["extra"] = 2.0

    cbs = CallbackList([Adds(), LambdaCallback(on_epoch_end=lambda e, l: seen.update(l))],
                       model=FakeModel(), verbose=0, epochs=1, steps=1)
    logs = {"loss": mx.array(0.5), "accuracy": np.float32(0.25)}
    cbs.on_epoch_end(0, logs)
    assert type(logs["loss"]) is float and logs["loss"] == 0.5
    assert type(logs["accuracy"]) is float
    assert seen == {"loss": 0.5, "accuracy": 0.25, "extra": 2.0}
    hist = cbs.callbacks[-1]
    assert hist.history == {"loss": [0.5], "accuracy": [0.25], "extra": [2.0]}


def test_batch_hooks_reach_only_callbacks_that_use_them():
    model = FakeModel()
    quiet = CallbackList([Callback(), EarlyStopping()], model=model, verbose=2, epochs=1, steps=5)
    assert not quiet.has_batch_hooks("train")
    assert not quiet.has_batch_hooks("test") and not quiet.has_batch_hooks("predict")
    # verbose=1 draws per batch; unknown steps must be counted even with verbose=2
    assert CallbackList([], model=model, verbose=1, epochs=1, steps=5).has_batch_hooks()
    assert CallbackList([], model=model, verbose=2, epochs=1, steps=None).has_batch_hooks()
    # the legacy on_batch_end (TerminateOnNaN) counts as a train batch hook
    cbs = CallbackList([TerminateOnNaN()], model=model, verbose=0, epochs=1, steps=5)
    assert cbs.has_batch_hooks("train") and not cbs.has_batch_hooks("test")
    calls = []
    cbs = CallbackList([LambdaCallback(on_test_batch_end=lambda b, l: calls.append(b))],
                       model=model, verbose=0, epochs=1, steps=5)
    assert cbs.has_batch_hooks("test") and not cbs.has_batch_hooks("train")
    cbs.on_test_batch_end(3, {})
    assert calls == [3]
    # ModelCheckpoint needs batches only with an integer save_freq
    assert not CallbackList([ModelCheckpoint("x")], verbose=0).has_batch_hooks()
    assert CallbackList([ModelCheckpoint("x", save_freq=2)], verbose=0).has_batch_hooks()
    # appended callbacks join the dispatch
    cbs = CallbackList([], model=model, verbose=0, epochs=1, steps=5)
    cbs.append(TerminateOnNaN())
    assert cbs.has_batch_hooks("train") and cbs.callbacks[-1].model is model


def test_legacy_on_batch_aliases():
    calls = []

    class Old(Callback):
        def on_batch_begin(self, batch, logs=None):
            calls.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            calls.append(("end", batch, logs["loss"]))

    cbs = CallbackList([Old()], verbose=0)
    cbs.on_train_batch_begin(0)
    cbs.on_train_batch_end(0, {"loss": 1.5})
    assert calls == [("begin", 0), ("end", 0, 1.5)]


def test_history():
    model = FakeModel()
    h = History()
    h.set_model(model)
    h.on_train_begin()
    for e in range(3):
        h.on_epoch_end(e, {"loss": 1.0 / (e + 1), "val_loss": 2.0 - e})
    assert h.epoch == [0, 1, 2]
    assert h.history == {"loss": [1.0, 0.5, 1 / 3], "val_loss": [2.0, 1.0, 0.0]}
    assert model.history is h


# ---- CSVLogger ------------------------------------------------------------------------


def test_csv_logger_content(tmp_path):
    path = tmp_path / "log.csv"
    model = FakeModel()
    model.metrics_names = ["loss", "accuracy", "val_loss", "val_accuracy"]
    cb = CSVLogger(str(path))
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.75})  # no validation this epoch
    cb.on_epoch_end(1, {"loss": 0.25, "accuracy": 0.875, "val_loss": 0.3, "val_accuracy": 0.8})
    cb.on_train_end()
    assert path.read_text().splitlines() == [
        # sorted keys of the first epoch, then the missing val_* names in
        # metrics_names order (Keras)
        "epoch,accuracy,loss,val_loss,val_accuracy",
        "0,0.75,0.5,NA,NA",
        "1,0.875,0.25,0.3,0.8",
    ]
    # append: the header is not repeated; a separator of choice
    cb = CSVLogger(str(path), append=True)
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 0.125, "accuracy": 1.0})
    cb.on_train_end()
    rows = list(csv.reader(path.open()))
    assert len(rows) == 4 and rows[0][0] == "epoch" and rows[3] == ["0", "1.0", "0.125", "NA", "NA"]
    cb = CSVLogger(str(path), separator=";")
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 1.5})
    cb.on_train_end()
    assert path.read_text().splitlines() == [
        "epoch;loss;val_loss;val_accuracy", "0;1.5;NA;NA"
    ]


# ---- TerminateOnNaN, LambdaCallback ---------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_terminate_on_nan(bad, capsys):
    model = FakeModel()
    cbs = CallbackList([TerminateOnNaN()], model=model, verbose=0)
    cbs.on_train_batch_end(0, {"loss": 1.0})
    assert not model.stop_training
    cbs.on_train_batch_end(1, {"loss": bad})
    assert model.stop_training
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    strict = TerminateOnNaN(raise_error=True)
    strict.set_model(FakeModel())
    with pytest.raises(RuntimeError, match="batch 4"):
        strict.on_train_batch_end(4, {"loss": bad})


def test_lambda_callback_every_hook():
    calls = []
    hooks = {name: (lambda name: lambda *a: calls.append((name,) + a))(name)
             for name in callbacks.callback.HOOKS}
    cb = LambdaCallback(**hooks)
    for name in callbacks.callback.HOOKS:
        if name in callbacks.callback.LOGS_HOOKS:
            getattr(cb, name)({"x": 1})
            assert calls[-1] == (name, {"x": 1})
        else:
            getattr(cb, name)(7, {"x": 1})
            assert calls[-1] == (name, 7, {"x": 1})
    assert len(calls) == len(callbacks.callback.HOOKS)
    with pytest.raises(ValueError, match="on_epoch_ned"):
        LambdaCallback(on_epoch_ned=print)
    # unset hooks stay no-ops
    LambdaCallback(on_train_end=lambda logs: None).on_epoch_end(0, {})
