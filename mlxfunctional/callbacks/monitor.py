"""Callbacks that watch a metric: ``EarlyStopping``, ``ModelCheckpoint``,
``ReduceLROnPlateau``."""

import math
import operator
import os
import warnings

from ..distribute import is_chief
from .callback import Callback
from .save_freq import BatchCounter

# Metric-name fragments whose direction is known (Keras 3 metrics' ``_direction``).
_UP = ("acc", "auc", "precision", "recall", "sensitivity", "specificity", "f1",
       "fbeta", "iou", "r2", "cosine_similarity", "correlation", "true_positives",
       "true_negatives")
_DOWN = ("loss", "error", "mse", "mae", "mape", "msle", "hinge", "crossentropy",
         "divergence", "poisson", "logcosh", "false_positives", "false_negatives")


def _model_metrics(model):
    """The model's metric objects, with containers (``.metrics`` lists) flattened."""
    out = []
    for m in getattr(model, "metrics", None) or ():
        inner = getattr(m, "metrics", None)
        out.extend(inner if isinstance(inner, (list, tuple)) else [m])
    return out


def infer_direction(monitor, model=None):
    """``"up"`` (maximize), ``"down"`` (minimize) or ``None`` for ``mode="auto"``.

    As Keras 3: ``loss`` is minimized, then a model metric of that name with a
    ``_direction`` decides; the name itself is the fallback (``val_accuracy`` up,
    ``val_mean_squared_error`` down).
    """
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss" or name.endswith("_loss"):
        return "down"
    for m in _model_metrics(model):
        direction = getattr(m, "_direction", None)
        if getattr(m, "name", None) == name and direction in ("up", "down"):
            return direction
    if any(k in name for k in _UP):
        return "up"
    if any(k in name for k in _DOWN):
        return "down"
    return None


class MonitorCallback(Callback):
    """Base of callbacks comparing a monitored value with the best so far.

    Args:
        monitor: the ``logs`` key to watch.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (see ``infer_direction``; an
            unknown name raises ``ValueError`` asking for an explicit mode).
        baseline: initial best value; ``None`` starts from +-inf.
        min_delta: smallest change that counts. An improvement is
            ``current - min_delta > best`` (max) or ``current + min_delta < best`` (min).
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                stacklevel=2,
            )
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        direction = {"min": "down", "max": "up"}.get(self.mode)
        if direction is None:
            direction = infer_direction(self.monitor, self.model)
        if direction is None:
            raise ValueError(
                f"{type(self).__name__} callback received monitor={self.monitor}, "
                "but it cannot tell whether that metric should be maximized or "
                "minimized. Pass `mode='max'` to monitor the highest value, or "
                "`mode='min'` for the lowest."
            )
        self.monitor_op = operator.gt if direction == "up" else operator.lt
        if self.monitor_op is operator.lt:
            self.min_delta *= -1  # so that `current - min_delta` works both ways
            if self.best is None:
                self.best = math.inf
        elif self.best is None:
            self.best = -math.inf

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        return self.monitor_op(monitor_value - self.min_delta, reference_value)


class EarlyStopping(MonitorCallback):
    """Stops training when ``monitor`` has stopped improving.

    Each monitored epoch (from ``start_from_epoch`` on) increments ``wait``; an
    improvement on the best value (``current - min_delta > best`` in max mode, the
    mirror in min mode) resets it, but only if it also improves on ``baseline``.
    When ``wait >= patience`` (and it is not the first epoch), ``model.stop_training``
    is set.

    Args:
        monitor: quantity to watch (``"val_loss"``).
        min_delta: minimum absolute change that counts as an improvement (0).
        patience: epochs without improvement before stopping (0).
        verbose: 1 prints a message when it stops or restores.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        baseline: value to beat; if no epoch beats it, training stops after
            ``patience`` epochs.
        restore_best_weights: at the end of training (stopped early or not), set
            the weights of the best epoch back (``model.set_weights``).
        start_from_epoch: epochs of warm-up that are not monitored (0).
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0,
                 mode="auto", baseline=None, restore_best_weights=False,
                 start_from_epoch=0):
        super().__init__(monitor, mode, None, min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        # Instances may be reused across fit calls.
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            best = self.best
            self._set_monitor_op()
            self.best = best  # the first monitored value always counts as the best
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Nothing recorded yet: the current weights are the best known.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Restart the count only when the baseline is beaten as well.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(logs)}",
                stacklevel=2,
            )
        return value


class ModelCheckpoint(MonitorCallback):
    """Saves the model (or its weights) after every epoch or every N batches.

    Args:
        filepath: path, formatted with ``filepath.format(epoch=epoch + 1, **logs)``
            (``"ckpt-{epoch:02d}-{val_loss:.2f}.mlxf"`` for whole-model files,
            ``".npz"``/``".safetensors"`` with ``save_weights_only``); with
            ``save_freq=N`` also ``batch=batch + 1``. Missing folders are created.
        monitor: quantity compared when ``save_best_only``.
        verbose: 1 prints a message per save decision.
        save_best_only: save only when ``monitor`` improves on the best so far
            (a fixed filepath then always holds the best model).
        save_weights_only: call ``model.save_weights(path)`` instead of
            ``model.save(path)``; a model without a working ``save`` (one that
            raises ``NotImplementedError``) also gets ``save_weights``.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        save_freq: ``"epoch"`` or an integer number of batches.
        initial_value_threshold: initial best value for ``save_best_only``.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        if save_freq != "epoch" and (
            not isinstance(save_freq, int) or isinstance(save_freq, bool)
        ):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq}. Expected save_freq are "
                "'epoch' or integer values"
            )
        self._batches = None if save_freq == "epoch" else BatchCounter(save_freq)
        self._current_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def _implements_batch_hooks(self, mode):
        return mode == "train" and self.save_freq != "epoch"

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch):
        return self._batches is not None and self._batches.due(batch)

    def _should_save_model(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Can save best model only with {self.monitor} available.", stacklevel=2
            )
            return True
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} "
                    f"to {current:.5f}, saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)  # (a bad pattern fails everywhere)
        if not is_chief():  # data-parallel: rank 0 saves (and reports) for all
            return
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IOError(
                "Please specify a non-directory filepath for ModelCheckpoint. "
                f"Filepath used is an existing directory: {filepath}"
            )
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if not self.save_weights_only and callable(getattr(self.model, "save", None)):
            try:
                self.model.save(filepath)
                return
            except NotImplementedError:
                pass  # this model cannot be saved whole: keep its weights
        self.model.save_weights(filepath)

    def _get_file_path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". '
                f"Reason: {e}"
            ) from None


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` stops improving.

    An epoch improves when ``current < best - min_delta`` (min mode) or
    ``current > best + min_delta`` (max mode; ``"auto"`` picks max when the name
    contains ``"acc"``, as Keras). After ``patience`` epochs without improvement,
    ``lr <- max(lr * factor, min_lr)`` (if ``lr > min_lr``), then ``cooldown``
    epochs pass without counting. Each epoch's ``logs["learning_rate"]`` is the
    rate that epoch trained with.

    Args:
        monitor: quantity to watch (``"val_loss"``).
        factor: ``new_lr = lr * factor``; must be < 1 (0.1).
        patience: epochs without improvement before reducing (10).
        verbose: 1 prints each reduction.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        min_delta: threshold for a significant change (1e-4).
        cooldown: epochs to wait after a reduction (0).
        min_lr: lower bound of the learning rate (0).
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0,
                 mode="auto", min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}"
            )
        self.monitor = monitor
        self.factor = factor
        self.min_lr = min_lr
        self.min_delta = min_delta
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.mode = mode
        self._reset()

    def _reset(self):
        if self.mode not in ("auto", "min", "max"):
            warnings.warn(
                f"Learning rate reduction mode {self.mode} is unknown, fallback to auto mode.",
                stacklevel=2,
            )
            self.mode = "auto"
        if self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor):
            self.monitor_op = lambda a, b: a < b - self.min_delta
            self.best = math.inf
        else:
            self.monitor_op = lambda a, b: a > b + self.min_delta
            self.best = -math.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                f"which is not available. Available metrics are: {','.join(logs)}.",
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(optimizer.learning_rate)
                # Compared in float32 as Keras' float32 variable: an lr already at
                # min_lr, stored as float32 or not, is not reduced (again).
                if _float32(old_lr) > _float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(
                            f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing "
                            f"learning rate to {new_lr}."
                        )
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


def _float32(x):
    import numpy as np

    return float(np.float32(x))
