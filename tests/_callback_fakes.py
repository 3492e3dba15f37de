"""The fake model the callback tests (test_callbacks*.py) drive callbacks with, and
a loop that calls the epoch hooks the way fit does."""

import numpy as np


class FakeOptimizer:
    def __init__(self, lr=0.1):
        self._lr = lr
        self.lr_sets = []

    @property
    def learning_rate(self):
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        self.lr_sets.append(value)
        self._lr = float(value)


class FakeMetric:
    def __init__(self, name, direction):
        self.name = name
        self._direction = direction


class FakeModel:
    """Records what callbacks do to it; ``weights`` is set per epoch by the tests."""

    def __init__(self, lr=0.1, can_save=False, metrics=()):
        self.stop_training = False
        self.weights = [np.zeros(2)]
        self.optimizer = FakeOptimizer(lr)
        self.metrics = list(metrics)
        self.can_save = can_save
        self.saved = []  # (kind, path)
        self.set_weights_calls = 0

    def set_epoch(self, epoch):
        self.weights = [np.full(2, float(epoch))]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.set_weights_calls += 1
        self.weights = [np.array(w) for w in weights]

    def save_weights(self, path):
        with open(path, "w") as f:
            f.write("weights")
        self.saved.append(("weights", path))

    def save(self, path):
        if not self.can_save:
            raise NotImplementedError("no whole-model saving here")
        with open(path, "w") as f:
            f.write("model")
        self.saved.append(("model", path))


def run_epochs(cb, model, values, monitor="val_loss", extra=None):
    """Drives on_train_begin / on_epoch_end... / on_train_end like fit; returns the
    number of epochs run."""
    cb.set_model(model)
    cb.on_train_begin({})
    ran = 0
    for epoch, v in enumerate(values):
        model.set_epoch(epoch)
        cb.on_epoch_begin(epoch, {})
        logs = {monitor: v, **(extra or {})}
        cb.on_epoch_end(epoch, logs)
        ran += 1
        if model.stop_training:
            break
    cb.on_train_end({})
    return ran
