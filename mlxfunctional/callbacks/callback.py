"""The ``Callback`` base class, ``CallbackList`` and ``History``."""

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


def _pythonify_logs(logs):
    """Turns scalar arrays in ``logs`` into Python floats, in place (epoch-level logs)."""
    for key, value in logs.items():
        if value is None or type(value) in (float, int, bool, str):
            continue  # already plain Python (numpy scalars are converted below)
        try:
            logs[key] = float(value)
        except (TypeError, ValueError):
            pass  # a non-scalar (e.g. predict outputs): leave it
    return logs


class CallbackList(Callback):
    """Calls a list of callbacks together.

    Args:
        callbacks: list of ``Callback`` instances (nested lists are flattened).
        add_history: add a ``History`` (last in the list, and ``model.history``)
            unless one is already there.
        add_progbar: add a ``ProgbarLogger`` (first in the list, as tf.keras 2,
            so the epoch's line prints before other callbacks' messages) unless one is
            already there or ``params["verbose"]`` is 0.
        model: the model, passed to every callback's ``set_model``.
        **params: ``verbose``, ``epochs``, ``steps``; passed to ``set_params``.

    Batch hooks are dispatched only to callbacks that implement them:
    ``has_batch_hooks(mode)`` tells the loop whether it needs to build batch logs.
    """

    def __init__(self, callbacks=None, add_history=True, add_progbar=True,
                 model=None, **params):
        super().__init__()
        self.callbacks = list(_flatten(callbacks)) if callbacks else []
        self._add_default_callbacks(add_history, add_progbar, params)
        self._dispatch = {}
        self.set_model(model)
        if params:
            self.set_params(params)
        self._rebuild_dispatch()

    def _add_default_callbacks(self, add_history, add_progbar, params):
        from .progbar_logger import ProgbarLogger

        self._history = next((c for c in self.callbacks if isinstance(c, History)), None)
        self._progbar = next(
            (c for c in self.callbacks if isinstance(c, ProgbarLogger)), None
        )
        if self._progbar is None and add_progbar and params.get("verbose", 1) != 0:
            self._progbar = ProgbarLogger(count_mode="steps")
            self.callbacks.insert(0, self._progbar)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)

    def _rebuild_dispatch(self):
        # Which callbacks each batch hook must reach; a hook nobody implements is skipped.
        for mode in ("train", "test", "predict"):
            for when in ("begin", "end"):
                name = f"on_{mode}_batch_{when}"
                self._dispatch[name] = [
                    getattr(c, name) for c in self.callbacks if _wants(c, mode, name)
                ]

    def has_batch_hooks(self, mode="train"):
        """Whether any callback wants ``on_{mode}_batch_begin/end`` calls."""
        return bool(
            self._dispatch[f"on_{mode}_batch_begin"] or self._dispatch[f"on_{mode}_batch_end"]
        )

    def append(self, callback):
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)
        if self.params:
            callback.set_params(self.params)
        self._rebuild_dispatch()

    def set_params(self, params):
        self.params = params
        for callback in self.callbacks:
            callback.set_params(params)
        self._rebuild_dispatch()  # e.g. the progbar's batch hooks depend on verbose

    def set_model(self, model):
        if model is None:
            return
        self.model = model
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def _call(self, name, *args):
        for callback in self.callbacks:
            getattr(callback, name)(*args)

    # Epoch- and run-level hooks: every callback, in list order, one shared logs dict
    # (so e.g. ReduceLROnPlateau's "learning_rate" reaches History).
    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, {} if logs is None else logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, _pythonify_logs({} if logs is None else logs))

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", {} if logs is None else logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", _pythonify_logs({} if logs is None else logs))

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", {} if logs is None else logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", _pythonify_logs({} if logs is None else logs))

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", {} if logs is None else logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", {} if logs is None else logs)

    # Batch hooks: only the callbacks that implement them (see _rebuild_dispatch).
    def _batch(self, name, batch, logs):
        logs = {} if logs is None else logs
        for fn in self._dispatch[name]:
            fn(batch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._batch("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._batch("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._batch("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._batch("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._batch("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._batch("on_predict_batch_end", batch, logs)

    def on_batch_begin(self, batch, logs=None):
        self.on_train_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs=None):
        self.on_train_batch_end(batch, logs)

    def __iter__(self):
        return iter(self.callbacks)


def _wants(callback, mode, name):
    """Whether ``callback`` must receive hook ``name``; objects that are not
    subclasses of ``Callback`` (duck-typed ones) always do."""
    if not isinstance(callback, Callback):
        return True
    return callback._implements_batch_hooks(mode) and callback._implements_hook(name)


def _flatten(callbacks):
    for c in callbacks:
        if isinstance(c, (list, tuple)):
            yield from _flatten(c)
        else:
            yield c


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
