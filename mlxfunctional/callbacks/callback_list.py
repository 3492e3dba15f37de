"""``CallbackList``: the callbacks of one ``fit``/``evaluate``/``predict`` call, called together.

It adds the default ``History`` and ``ProgbarLogger``, so it lives apart from the
``Callback`` base class they subclass."""

from .callback import Callback
from .history import History
from .progbar_logger import ProgbarLogger


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
