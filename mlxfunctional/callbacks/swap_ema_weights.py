"""``SwapEMAWeights``: evaluate, predict and save with the optimizer's moving averages."""

from mlx.utils import tree_map

from .callback import Callback


def _ema_optimizer(model):
    """The model's optimizer when it keeps moving averages (``use_ema=True``)."""
    optimizer = getattr(model, "optimizer", None)
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # (a loss-scale wrapper)
    if not getattr(optimizer, "use_ema", False):
        raise ValueError(
            "SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
            f"Received: use_ema={getattr(optimizer, 'use_ema', None)}")
    return optimizer


class SwapEMAWeights(Callback):
    """Puts the optimizer's exponential moving averages of the weights into the model
    while it is evaluated or predicts, and the trained weights back afterwards.

    The optimizer must be made with ``use_ema=True``; it keeps, per trainable
    weight ``w``, ``average = m * average + (1 - m) * w`` (see
    ``optimizer_base.py``). A swap exchanges ``w`` and ``average`` -- both stay
    exact, so swapping twice is the identity and training goes on from the
    trained weights.

    Args:
        swap_on_epoch: also swap at the end of every epoch of ``fit`` (and back at
            the next epoch's start), so callbacks after this one in the list --
            ``ModelCheckpoint``, ``BackupAndRestore`` -- see the averages. After
            the last epoch the averages stay in the model, as ``fit`` finalizes them.
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _swap(self):
        optimizer = _ema_optimizer(self.model)
        if "slots" not in optimizer.state:  # never trained: the slots (zero averages, as
            optimizer.init(self.model.trainable_parameters())  # Keras' before a step)
        slots = optimizer.state["slots"]
        weights = self.model.trainable_parameters()
        averages = tree_map(lambda w, s: s["average"], weights, slots)

        def keep(w, s):  # the trained weight goes where the average was
            s["average"] = w

        tree_map(keep, weights, slots)
        self.model.update(averages)
        self._ema_weights_in_model = not self._ema_weights_in_model

    def _finalize(self):
        # fit() ends by copying the averages into the model; with the averages already
        # in it (and the trained weights in the slots), make that copy a no-op.
        optimizer = _ema_optimizer(self.model)
        weights = self.model.trainable_parameters()

        def same(w, s):
            s["average"] = w

        tree_map(same, weights, optimizer.state["slots"])

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap()
            if self.params and epoch == self.params.get("epochs", 0) - 1:
                self._finalize()

    def on_test_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap()

    def on_test_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap()

    def on_predict_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap()

    def on_predict_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap()
