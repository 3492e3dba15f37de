"""``ProgbarLogger``: prints the ``Epoch 1/5`` lines and the progress bars."""

from ..progbar import Progbar, write
from .callback import Callback


class ProgbarLogger(Callback):
    """Prints metrics to stdout through ``utils.Progbar``.

    ``CallbackList`` adds one whenever ``verbose`` is not 0. With several epochs each
    starts with ``Epoch 3/10``; then, per ``params["verbose"]``:

    - 1: ``750/750 [==============================] - 2s 3ms/step - loss: 0.3413 ...``
      redrawn on a terminal; only the finished line when stdout is not one.
    - 2: ``750/750 - 2s - 3ms/step - loss: 0.3413 ...`` once per epoch.

    Inside ``fit`` the validation pass prints nothing (its ``val_*`` values join the
    epoch's line); ``evaluate`` and ``predict`` show their own bar.

    Args:
        count_mode: ``"steps"``: the bar counts batches (the only mode; Keras 3
            dropped ``"samples"``).

    The values in ``logs`` are the trainer's running averages, so they are shown as
    given, never averaged again.
    """

    def __init__(self, count_mode="steps"):
        super().__init__()
        if count_mode != "steps":
            raise ValueError(
                f'Unknown `count_mode`: {count_mode!r}. Expected "steps".'
            )
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _implements_batch_hooks(self, mode):
        # Batch updates matter when a bar is drawn per batch, or to count the
        # steps when their number is unknown; verbose=2 needs neither otherwise.
        return self.verbose == 1 or self.target is None

    def on_train_begin(self, logs=None):
        # Inside fit, the validation pass stays silent.
        self._called_in_fit = True

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            write(f"Epoch {epoch + 1}/{self.epochs}\n")

    def on_train_batch_end(self, batch, logs=None):
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update_progbar(batch, None)  # predictions are not metrics

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs=None):
        self._finalize_progbar(None)

    def _reset_progbar(self):
        self.seen = 0
        self.progbar = None

    def _maybe_init_progbar(self):
        if self.progbar is None:
            self.progbar = Progbar(
                target=self.target,
                verbose=self.verbose,
                stateless_metrics=(),  # everything is already an average
                unit_name="step",
            )

    def _update_progbar(self, batch, logs):
        self._maybe_init_progbar()
        self.seen = batch + 1  # one-based
        if self.verbose == 1:
            self.progbar.update(self.seen, logs, finalize=False)

    def _finalize_progbar(self, logs):
        self._maybe_init_progbar()
        if self.target is None:
            # Unknown number of steps: what the first epoch saw is the target (Keras).
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, logs, finalize=True)
