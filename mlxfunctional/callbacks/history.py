"""``History``: the per-epoch logs ``fit`` returns."""

from .callback import Callback


class History(Callback):
    """Records each epoch's logs; ``fit`` returns it (also ``model.history``).

    Attributes:
        history: ``{name: [value at epoch 0, value at epoch 1, ...]}``.
        epoch: the epoch indices recorded (0-based).
        params, model: as every callback.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            # The latest History is what the model shows after fit.
            self.model.history = self
