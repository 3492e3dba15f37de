"""``train_on_batch`` / ``test_on_batch`` / ``predict_on_batch``: one step on data
given whole, through the same steps and checks as ``fit``/``evaluate``/``predict``
(a mixin of ``Trainer``)."""

from . import argument_checks, index_bounds
from .loop_helpers import _len
from .step_calls import FullRows


def format_logs(logs, return_dict):
    """Keras' return value of evaluate and the ``*_on_batch`` calls: the dict, or its
    values (one value alone)."""
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


class OnBatchCalls:
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on one batch; returns that batch's loss and metrics."""
        self._require_compiled("train_on_batch")
        data = self._on_batch(x, y, sample_weight, "train_on_batch", class_weight)
        with self._step_call("train"):
            self.reset_metrics()
            batches = list(data.batches())
            _, logs = self._train_call(batches, FullRows(data), count=len(batches),
                                       read_logs=True)
            index_bounds.warn_if_counted("train_on_batch")
            return format_logs(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled("test_on_batch")
        data = self._on_batch(x, y, sample_weight, "test_on_batch")
        with self._step_call("test"):
            return format_logs(self._evaluate_batches(data, None), return_dict)

    def predict_on_batch(self, x):
        argument_checks.require_x(x, "predict_on_batch")
        return self.predict(x, batch_size=max(_len(x), 1), verbose=0)

    def _on_batch(self, x, y, sample_weight, method, class_weight=None):
        """The data of a ``*_on_batch`` call: all of it as one batch."""
        argument_checks.require_x(x, method)
        data = self._batches(x, y, sample_weight, max(_len(x), 1), False, 1, class_weight)
        argument_checks.require_samples(data, method)
        return data
