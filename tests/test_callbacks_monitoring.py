"""EarlyStopping, ModelCheckpoint, ReduceLROnPlateau and LearningRateScheduler driven
by hand with a fake model (tests/_callback_fakes.py); their rules checked against
small reference implementations written from Keras' documentation."""

import math
import os

import numpy as np
import pytest

from _callback_fakes import FakeMetric, FakeModel, run_epochs
from mlxfunctional.callbacks import (
    EarlyStopping, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau,
)


# ---- EarlyStopping --------------------------------------------------------------------


def ref_early_stopping(values, maximize, patience, min_delta, baseline, start):
    """Keras' documented rule: a monitored epoch improves when it beats the best by
    more than min_delta; `patience` epochs without improving (and without beating
    `baseline`) stop training. Returns (epochs run, stopped epoch or 0, best epoch)."""
    sign = 1 if maximize else -1
    best, best_epoch, counter = None, None, 0
    for e, v in enumerate(values):
        if e < start:
            continue
        counter += 1
        if best is None or sign * (v - best) > min_delta:
            best, best_epoch = v, e
            if baseline is None or sign * (v - baseline) > min_delta:
                counter = 0
            continue
        if counter >= patience and e > 0:
            return e + 1, e, best_epoch
    return len(values), 0, best_epoch


@pytest.mark.parametrize("patience", [0, 1, 2, 3])
def test_early_stopping_patience_keras_case(patience):
    losses = [10.0, 9.0, 8.0, 9.0, 8.9, 8.8, 8.7, 8.6, 8.5]
    es = EarlyStopping(monitor="loss", patience=patience)
    run_epochs(es, FakeModel(), losses, monitor="loss")
    assert es.stopped_epoch == max(patience, 1) + 2  # Keras' own test


def test_early_stopping_restore_best_weights_keras_cases():
    es = EarlyStopping(patience=2, restore_best_weights=True)
    model = FakeModel()
    ran = run_epochs(es, model, [0.2, 0.15, 0.1, 0.11, 0.12])
    assert ran == 5 and es.stopped_epoch == 4
    assert model.weights[0][0] == 2.0  # best epoch's weights restored

    # No epoch beats the baseline: patience epochs, then the best of them.
    es = EarlyStopping(patience=5, baseline=0.5, restore_best_weights=True)
    model = FakeModel()
    ran = run_epochs(es, model, [0.9, 0.8, 0.7, 0.71, 0.72, 0.73])
    assert ran == 5 and model.weights[0][0] == 2.0

    # Training ends without an early stop: best weights are still restored (Keras 3).
    es = EarlyStopping(patience=10, restore_best_weights=True)
    model = FakeModel()
    ran = run_epochs(es, model, [0.5, 0.3, 0.4, 0.45])
    assert ran == 4 and es.stopped_epoch == 0
    assert model.weights[0][0] == 1.0 and model.set_weights_calls == 1

    # Without restore_best_weights the last weights stay.
    es = EarlyStopping(patience=1)
    model = FakeModel()
    assert run_epochs(es, model, [0.5, 0.6, 0.7]) == 2
    assert model.weights[0][0] == 1.0 and model.set_weights_calls == 0


@pytest.mark.parametrize("seed", range(40))
def test_early_stopping_against_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 15))
    # values on a 1/8 grid so the comparisons have no rounding ties
    values = list(rng.integers(0, 24, size=n) / 8.0)
    maximize = bool(rng.integers(2))
    patience = int(rng.integers(0, 4))
    min_delta = float(rng.choice([0, 0.125, 0.25, 0.5]))
    baseline = None if rng.random() < 0.5 else float(rng.integers(0, 24) / 8.0)
    start = int(rng.integers(0, 3))
    restore = bool(rng.integers(2))
    monitor, mode = ("val_accuracy", "auto") if maximize else ("val_loss", "min")
    es = EarlyStopping(monitor=monitor, mode=mode, patience=patience,
                       min_delta=-min_delta if seed % 2 else min_delta,  # abs() is taken
                       baseline=baseline, start_from_epoch=start,
                       restore_best_weights=restore)
    model = FakeModel()
    ran = run_epochs(es, model, values, monitor=monitor)
    ref_ran, ref_stopped, ref_best = ref_early_stopping(
        values, maximize, patience, min_delta, baseline, start
    )
    assert (ran, es.stopped_epoch) == (ref_ran, ref_stopped)
    assert model.stop_training == (ref_stopped > 0)
    if restore and ref_best is not None:
        assert model.weights[0][0] == ref_best
    else:
        assert model.weights[0][0] == ran - 1


@pytest.mark.parametrize("monitor, mode, maximize", [
    ("val_mse", "max", True), ("val_loss", "min", False), ("val_mse", "auto", False),
    ("loss", "auto", False), ("acc", "auto", True), ("val_accuracy", "auto", True),
    ("hinge", "auto", False), ("f1_score", "auto", True), ("val_auc", "auto", True),
    ("output_1_loss", "auto", False), ("val_mean_absolute_error", "auto", False),
    ("precision", "auto", True), ("val_sparse_categorical_crossentropy", "auto", False),
])
def test_auto_mode_direction(monitor, mode, maximize):
    es = EarlyStopping(monitor=monitor, mode=mode, patience=0)
    model = FakeModel()
    # rising values: stops at the second epoch only when minimizing
    run_epochs(es, model, [1.0, 2.0], monitor=monitor)
    assert model.stop_training == (not maximize)


def test_auto_mode_uses_metric_direction_and_rejects_unknown_names():
    es = EarlyStopping(monitor="val_custom", patience=0)
    model = FakeModel(metrics=[FakeMetric("custom", "up")])
    run_epochs(es, model, [1.0, 2.0], monitor="val_custom")
    assert not model.stop_training
    with pytest.raises(ValueError, match="mode='max'"):
        run_epochs(EarlyStopping(monitor="custom"), FakeModel(), [1.0], monitor="custom")
    with pytest.warns(UserWarning, match="unknown"):
        assert EarlyStopping(mode="sideways").mode == "auto"


def test_early_stopping_missing_monitor_warns_and_reuse_resets():
    es = EarlyStopping(monitor="val_loss", patience=0)
    model = FakeModel()
    with pytest.warns(UserWarning, match="val_loss"):
        run_epochs(es, model, [1.0, 2.0], monitor="loss")
    assert not model.stop_training
    run_epochs(es, model, [1.0, 2.0])
    assert es.stopped_epoch == 1
    model = FakeModel()
    run_epochs(es, model, [3.0, 2.0, 1.0])  # reused: starts from scratch
    assert es.stopped_epoch == 0 and not model.stop_training


def test_start_from_epoch_ignores_warmup():
    es = EarlyStopping(patience=0, start_from_epoch=3)
    model = FakeModel()
    ran = run_epochs(es, model, [1.0, 2.0, 3.0, 4.0, 5.0])
    # epochs 0-2 unmonitored; 3 sets the best; 4 does not improve -> stop
    assert ran == 5 and es.stopped_epoch == 4


# ---- ModelCheckpoint ------------------------------------------------------------------


def test_checkpoint_path_formatting_every_epoch(tmp_path):
    model = FakeModel()
    path = str(tmp_path / "sub" / "ckpt-{epoch:02d}-{val_loss:.2f}.npz")
    cp = ModelCheckpoint(path)
    run_epochs(cp, model, [0.5, 0.25, 0.75])
    names = sorted(os.listdir(tmp_path / "sub"))
    assert names == ["ckpt-01-0.50.npz", "ckpt-02-0.25.npz", "ckpt-03-0.75.npz"]
    # the model cannot save itself whole: weights saved instead
    assert [k for k, _ in model.saved] == ["weights"] * 3


def test_checkpoint_whole_model_or_weights_only(tmp_path):
    model = FakeModel(can_save=True)
    run_epochs(ModelCheckpoint(str(tmp_path / "m.keras")), model, [1.0])
    assert model.saved == [("model", str(tmp_path / "m.keras"))]
    model = FakeModel(can_save=True)
    run_epochs(ModelCheckpoint(str(tmp_path / "w.npz"), save_weights_only=True), model, [1.0])
    assert model.saved == [("weights", str(tmp_path / "w.npz"))]
    assert (tmp_path / "w.npz").read_text() == "weights"


@pytest.mark.parametrize("maximize", [False, True])
def test_checkpoint_save_best_only(tmp_path, maximize):
    values = [0.5, 0.4, 0.6, 0.3, 0.3, 0.7]
    monitor = "val_acc" if maximize else "val_loss"
    model = FakeModel()
    cp = ModelCheckpoint(str(tmp_path / "e{epoch}.npz"), monitor=monitor, save_best_only=True)
    run_epochs(cp, model, values, monitor=monitor)
    sign = 1 if maximize else -1
    best, expected = -math.inf, []
    for e, v in enumerate(values):
        if sign * v > best:
            best = sign * v
            expected.append(f"e{e + 1}.npz")
    assert sorted(os.listdir(tmp_path)) == sorted(expected)
    assert cp.best == (max(values) if maximize else min(values))


def test_checkpoint_best_only_fixed_path_and_threshold(tmp_path):
    model = FakeModel()
    path = str(tmp_path / "best.npz")
    cp = ModelCheckpoint(path, save_best_only=True, mode="min", initial_value_threshold=0.45)
    run_epochs(cp, model, [0.5, 0.4, 0.42, 0.3])
    assert model.saved == [("weights", path)] * 2  # 0.5 does not beat the threshold
    cp = ModelCheckpoint(path, monitor="missing", save_best_only=True, mode="min")
    with pytest.warns(UserWarning, match="missing"):
        run_epochs(cp, model, [1.0])


def test_checkpoint_save_freq_batches(tmp_path):
    model = FakeModel()
    cp = ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.npz"), save_freq=3)
    cp.set_model(model)
    cp.on_train_begin()
    for epoch in range(2):
        cp.on_epoch_begin(epoch)
        for b in range(5):
            cp.on_train_batch_end(b, {"loss": 1.0})
        cp.on_epoch_end(epoch, {"loss": 1.0})
    # batches counted across epochs: saves after global batches 3, 6, 9
    assert sorted(os.listdir(tmp_path)) == ["e1-b3.npz", "e2-b1.npz", "e2-b4.npz"]


def test_checkpoint_errors(tmp_path):
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("x", save_freq="batch")
    cp = ModelCheckpoint(str(tmp_path / "{nope}.npz"))
    with pytest.raises(KeyError, match="nope"):
        run_epochs(cp, FakeModel(), [1.0])
    os.mkdir(tmp_path / "adir")
    with pytest.raises(IOError, match="directory"):
        run_epochs(ModelCheckpoint(str(tmp_path / "adir")), FakeModel(), [1.0])


def test_checkpoint_verbose_messages(tmp_path, capsys):
    cp = ModelCheckpoint(str(tmp_path / "b.npz"), save_best_only=True, verbose=1)
    run_epochs(cp, FakeModel(), [0.5, 0.6])
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from inf to 0.50000, saving model to" in out
    assert "Epoch 2: val_loss did not improve from 0.50000" in out


# ---- ReduceLROnPlateau ----------------------------------------------------------------


def ref_reduce_lr(values, lr, factor, patience, min_delta, cooldown, min_lr, maximize):
    """Documented rule: an epoch improves when it beats the best by more than
    min_delta; after `patience` epochs without improvement (cooldown epochs not
    counted), lr = max(lr * factor, min_lr). Returns the lr each epoch logged and
    the final lr."""
    sign = 1 if maximize else -1
    best = -math.inf
    wait = cool = 0
    logged = []
    for v in values:
        logged.append(lr)
        if cool > 0:
            cool -= 1
            wait = 0
        if sign * v - best > min_delta:
            best = sign * v
            wait = 0
        elif cool == 0:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr = max(lr * factor, min_lr)
                cool = cooldown
                wait = 0
    return logged, lr


@pytest.mark.parametrize("seed", range(30))
def test_reduce_lr_against_reference(seed):
    rng = np.random.default_rng(100 + seed)
    values = list(rng.integers(0, 16, size=int(rng.integers(3, 20))) / 4.0)
    factor = float(rng.choice([0.5, 0.25, 0.1]))
    patience = int(rng.integers(0, 4))
    min_delta = float(rng.choice([0.0, 0.25, 0.5]))
    cooldown = int(rng.integers(0, 3))
    min_lr = float(rng.choice([0.0, 0.01]))
    maximize = bool(rng.integers(2))
    monitor = "val_acc" if maximize else "val_loss"
    cb = ReduceLROnPlateau(monitor=monitor, factor=factor, patience=patience,
                           min_delta=min_delta, cooldown=cooldown, min_lr=min_lr)
    model = FakeModel(lr=0.1)
    logged = []
    cb.set_model(model)
    cb.on_train_begin()
    for e, v in enumerate(values):
        logs = {monitor: v}
        cb.on_epoch_end(e, logs)
        logged.append(logs["learning_rate"])
    ref_logged, ref_lr = ref_reduce_lr(values, 0.1, factor, patience, min_delta,
                                       cooldown, min_lr, maximize)
    np.testing.assert_allclose(logged, ref_logged, rtol=1e-12)
    assert model.optimizer.learning_rate == pytest.approx(ref_lr, rel=1e-12)


def test_reduce_lr_hand_case_cooldown_and_min_lr(capsys):
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, cooldown=2,
                           min_lr=0.03, verbose=1)
    model = FakeModel(lr=0.1)
    cb.set_model(model)
    cb.on_train_begin()
    lrs = []
    for e in range(6):
        cb.on_epoch_end(e, {"loss": 1.0})  # never improves after epoch 0
        lrs.append(model.optimizer.learning_rate)
    # e0 best; e1 wait 1 -> 0.05, cooldown 2; e2 cooldown 2 -> 1, not counted;
    # e3 cooldown 1 -> 0 (Keras decrements first), counted: wait 1 -> 0.03 (min_lr);
    # e4 cooldown; e5 already at min_lr (a Python float equal to it): no change
    assert lrs == [0.1, 0.05, 0.05, 0.03, 0.03, 0.03]
    assert model.optimizer.lr_sets == [0.05, 0.03]
    out = capsys.readouterr().out
    assert out.count("ReduceLROnPlateau") == 2
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.05." in out
    assert "Epoch 4: ReduceLROnPlateau reducing learning rate to 0.03." in out
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.0)


# ---- LearningRateScheduler ------------------------------------------------------------


def test_learning_rate_scheduler():
    model = FakeModel(lr=0.01)
    cb = LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * math.exp(-0.1))
    cb.set_model(model)
    logged = []
    for e in range(5):
        cb.on_epoch_begin(e)
        logs = {}
        cb.on_epoch_end(e, logs)
        logged.append(logs["learning_rate"])
    expected = [0.01 * math.exp(-0.1 * max(0, e - 1)) for e in range(5)]
    np.testing.assert_allclose(logged, expected, rtol=1e-12)

    one_arg = LearningRateScheduler(lambda epoch: 0.5 / (epoch + 1))
    one_arg.set_model(model)
    one_arg.on_epoch_begin(3)
    assert model.optimizer.learning_rate == 0.125
    np_out = LearningRateScheduler(lambda e, lr: np.float32(0.25))
    np_out.set_model(model)
    np_out.on_epoch_begin(0)
    assert model.optimizer.learning_rate == 0.25
    bad = LearningRateScheduler(lambda e, lr: "fast")
    bad.set_model(model)
    with pytest.raises(ValueError, match="float"):
        bad.on_epoch_begin(0)
