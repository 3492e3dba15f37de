"""Operating-point metrics: the best value of one rate where another meets a target.

``SensitivityAtSpecificity``, ``SpecificityAtSensitivity``, ``PrecisionAtRecall``
and ``RecallAtPrecision`` accumulate tp/fp/tn/fn at ``num_thresholds`` evenly
spaced thresholds in [0, 1] (one threshold, 0.5, when ``num_thresholds`` is 1)
with the bucket method of :mod:`mlxfunctional.metrics_confusion`. The result is
the largest dependent rate over the thresholds whose constrained rate is
>= the target (0 when none is): a masked max, no host sync.
"""

import mlx.core as mx

from mlxfunctional.metrics_base import divide_no_nan
from mlxfunctional.metrics_confusion import _ConfusionMetric


def _check_rate(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"Argument `{what}` must be in the range [0, 1]. "
                         f"Received: {what}={value}")
    return value


class SensitivitySpecificityBase(_ConfusionMetric):
    """Shared state and search. Subclasses say which rate is constrained and
    which is maximized (``_rates``).

    Args:
        value: the target of the constrained rate, in [0, 1].
        num_thresholds: > 0 (200).
        class_id: score only this class (column) of a multi-class output.
        name, dtype.
    """

    _direction = "up"  # higher is better (EarlyStopping/ModelCheckpoint mode="auto")

    _target_name = "value"

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) \
                or num_thresholds <= 0:
            raise ValueError("Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds}")
        self.value = _check_rate(value, self._target_name)
        self.num_thresholds, self.class_id = num_thresholds, class_id
        if num_thresholds == 1:
            self.thresholds, self._thresholds_distributed_evenly = [0.5], False
        else:
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds, self._thresholds_distributed_evenly = [0.0] + inner + [1.0], True
        for key in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            self.add_variable((len(self.thresholds),), name=key)

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._accumulate(["tp", "fp", "tn", "fn"], y_true, y_pred, sample_weight,
                         class_id=self.class_id)

    def _rates(self):
        v = self.variables
        tp, fp = v["true_positives"], v["false_positives"]
        tn, fn = v["true_negatives"], v["false_negatives"]
        return {"sensitivity": divide_no_nan(tp, tp + fn), "recall": divide_no_nan(tp, tp + fn),
                "specificity": divide_no_nan(tn, tn + fp),
                "precision": divide_no_nan(tp, tp + fp)}

    def _max_where_at_least(self, constrained, dependent):
        feasible = constrained >= self.value
        return mx.maximum(mx.max(mx.where(feasible, dependent, 0.0)), 0.0)

    def result(self):
        rates = self._rates()
        return self._max_where_at_least(rates[self._constrained], rates[self._maximized])

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self._target_name: self.value}


class SensitivityAtSpecificity(SensitivitySpecificityBase):
    """Best sensitivity (recall) over the thresholds with specificity >= ``specificity``.

    Args:
        specificity: in [0, 1].
        num_thresholds, class_id, name, dtype: as ``SensitivitySpecificityBase``.
    """
    _target_name, _constrained, _maximized = "specificity", "specificity", "sensitivity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)
        self.specificity = specificity


class SpecificityAtSensitivity(SensitivitySpecificityBase):
    """Best specificity over the thresholds with sensitivity >= ``sensitivity``.

    Args:
        sensitivity: in [0, 1].
        num_thresholds, class_id, name, dtype: as ``SensitivitySpecificityBase``.
    """
    _target_name, _constrained, _maximized = "sensitivity", "sensitivity", "specificity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)
        self.sensitivity = sensitivity


class PrecisionAtRecall(SensitivitySpecificityBase):
    """Best precision over the thresholds with recall >= ``recall``.

    Args:
        recall: in [0, 1].
        num_thresholds, class_id, name, dtype: as ``SensitivitySpecificityBase``.
    """
    _target_name, _constrained, _maximized = "recall", "recall", "precision"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)
        self.recall = recall


class RecallAtPrecision(SensitivitySpecificityBase):
    """Best recall over the thresholds with precision >= ``precision``.

    Args:
        precision: in [0, 1].
        num_thresholds, class_id, name, dtype: as ``SensitivitySpecificityBase``.
    """
    _target_name, _constrained, _maximized = "precision", "precision", "recall"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
        self.precision = precision


CLASSES = (SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall,
           RecallAtPrecision)
