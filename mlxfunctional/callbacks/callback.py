"""The ``Callback`` base class and the hooks the training loops call."""

# Every hook the training loops call, with the arguments it takes.
EPOCH_HOOKS = ("on_epoch_begin", "on_epoch_end")
BATCH_HOOKS = (
    "on_batch_begin", "on_batch_end",
    "on_train_batch_begin", "on_train_batch_end",
    "on_test_batch_begin", "on_test_batch_end",
    "on_predict_batch_begin", "on_predict_batch_end",
)
LOGS_HOOKS = (
    "on_train_begin", "on_train_end",
    "on_test_begin", "on_test_end",
    "on_predict_begin", "on_predict_end",
)
HOOKS = EPOCH_HOOKS + BATCH_HOOKS + LOGS_HOOKS


class Callback:
    """Base class of callbacks: every hook is a no-op to override.

    Attributes:
        model: the model being trained (set by ``set_model``).
        params: dict of training parameters: ``verbose``, ``epochs``, ``steps``.

    ``logs`` are dicts of Python floats: at ``on_train_batch_end`` the running
    averages of the epoch so far (``loss``, ``accuracy``...), at ``on_epoch_end``
    the epoch's values plus ``val_*`` ones when there is validation data.
    ``on_train_batch_begin/end`` also call the legacy ``on_batch_begin/end``.
    """

    def __init__(self):
        self.params = None
        self.model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_batch_begin(self, batch, logs=None):
        """Legacy alias of ``on_train_batch_begin``."""

    def on_batch_end(self, batch, logs=None):
        """Legacy alias of ``on_train_batch_end``."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of epoch ``epoch`` (0-based) of ``fit``."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch with its metrics (and ``val_*`` ones)."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called before training batch ``batch`` (0-based within the epoch)."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called after a training batch with the epoch's metrics so far."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called before a batch of ``evaluate`` (or of validation in ``fit``)."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after a batch of ``evaluate`` with the metrics so far."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before a batch of ``predict``."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called after a batch of ``predict`` (``logs["outputs"]``)."""

    def on_train_begin(self, logs=None):
        """Called once when ``fit`` starts."""

    def on_train_end(self, logs=None):
        """Called once when ``fit`` ends, with the last epoch's logs."""

    def on_test_begin(self, logs=None):
        """Called when ``evaluate`` (or a validation pass) starts."""

    def on_test_end(self, logs=None):
        """Called when ``evaluate`` (or a validation pass) ends, with its metrics."""

    def on_predict_begin(self, logs=None):
        """Called when ``predict`` starts."""

    def on_predict_end(self, logs=None):
        """Called when ``predict`` ends."""

    def _implements_hook(self, name):
        """Whether ``name`` (or the legacy alias it forwards to) does anything."""
        if name in self.__dict__:  # set on the instance (LambdaCallback)
            return True
        if getattr(type(self), name) is not getattr(Callback, name):
            return True
        legacy = {"on_train_batch_begin": "on_batch_begin",
                  "on_train_batch_end": "on_batch_end"}.get(name)
        return legacy is not None and self._implements_hook(legacy)

    def _implements_batch_hooks(self, mode):
        """Whether the ``on_{mode}_batch_begin/end`` hooks need calling at all."""
        return self._implements_hook(f"on_{mode}_batch_begin") or self._implements_hook(
            f"on_{mode}_batch_end"
        )
