"""F-scores: ``FBetaScore`` and ``F1Score`` (Keras 3 semantics).

Predictions become 0/1 either by ``y_pred > threshold`` or, without a
threshold, by marking each row's largest (non-zero) value; tp/fp/fn and the
per-class label weight accumulate per class (or in total, "micro").
"""

import mlx.core as mx

from mlxfunctional import backend
from mlxfunctional.loss_functions import EPSILON, _array
from mlxfunctional.metrics_base import Metric

_AVERAGES = (None, "micro", "macro", "weighted")
_STATE = ("true_positives", "false_positives", "false_negatives", "intermediate_weights")


class FBetaScore(Metric):
    """(1 + beta^2) P R / (beta^2 P + R), from accumulated tp/fp/fn.

    Args:
        average: None (one score per class), "micro" (counts pooled over
            classes), "macro" (mean of the class scores) or "weighted" (class
            scores weighted by their label counts).
        beta: > 0 (a Python float, 1.0); recall counts beta times as much as precision.
        threshold: None (each row's largest value is the prediction) or a
            float in (0, 1]: predictions above it are positive.
        name ("fbeta_score"), dtype.
    """

    _direction = "up"  # higher is better (EarlyStopping/ModelCheckpoint mode="auto")

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in _AVERAGES:
            raise ValueError("Invalid `average` argument value. Expected one of: {None, "
                             f"'micro', 'macro', 'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError("Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. "
                             f"Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError("Invalid `threshold` argument value. It should be a Python "
                                 f"float. Received: threshold={threshold} of type "
                                 f"'{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError("Invalid `threshold` argument value. It should verify "
                                 f"0 < threshold <= 1. Received: threshold={threshold}")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def build(self, y_true_shape=None, y_pred_shape=None):
        """Creates the four per-class accumulators from the number of classes."""
        if self._built:
            return
        if y_pred_shape is None or y_true_shape is None or len(y_pred_shape) != 2 \
                or len(y_true_shape) != 2:
            raise ValueError("FBetaScore expects 2D inputs with shape (batch_size, output_dim)."
                             f" Received input shapes: y_pred.shape={y_pred_shape} and "
                             f"y_true.shape={y_true_shape}.")
        if y_pred_shape[-1] is None or y_true_shape[-1] is None:
            raise ValueError("FBetaScore expects 2D inputs with shape (batch_size, output_dim),"
                             " with output_dim fully defined (not None). Received input "
                             f"shapes: y_pred.shape={y_pred_shape} and "
                             f"y_true.shape={y_true_shape}.")
        shape = () if self.average == "micro" else (int(y_pred_shape[-1]),)
        for name in _STATE:
            self.add_variable(shape, name=name)
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        dtype = self.variables_dtype()
        y_true, y_pred = _array(y_true, dtype), _array(y_pred, dtype)
        self.build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            # The row's maximum is the prediction; an all-zero row predicts nothing.
            top = mx.max(y_pred, axis=-1, keepdims=True)
            y_pred = (y_pred >= top) & (mx.abs(y_pred) > 1e-9)
        else:
            y_pred = y_pred > self.threshold
        y_pred = y_pred.astype(dtype)
        w = None if sample_weight is None else mx.expand_dims(_array(sample_weight, dtype), 1)

        def weighted_sum(value):
            return mx.sum(value if w is None else value * w, axis=self.axis)

        v = self.variables
        v["true_positives"] = v["true_positives"] + weighted_sum(y_pred * y_true)
        v["false_positives"] = v["false_positives"] + weighted_sum(y_pred * (1 - y_true))
        v["false_negatives"] = v["false_negatives"] + weighted_sum((1 - y_pred) * y_true)
        v["intermediate_weights"] = v["intermediate_weights"] + weighted_sum(y_true)

    def variables_dtype(self):
        return backend.mlx_dtype(self.dtype)

    def result(self):
        if not self._built:
            return mx.array(0.0, dtype=self.variables_dtype())
        v = self.variables
        tp = v["true_positives"]
        precision = tp / (tp + v["false_positives"] + EPSILON)
        recall = tp / (tp + v["false_negatives"] + EPSILON)
        b2 = self.beta ** 2
        score = (1 + b2) * precision * recall / (b2 * precision + recall + EPSILON)
        if self.average == "weighted":
            weights = v["intermediate_weights"]
            return mx.sum(score * weights / (mx.sum(weights) + EPSILON))
        if self.average is not None:  # micro (already pooled) or macro
            return mx.mean(score)
        return score

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """The harmonic mean of precision and recall: ``FBetaScore`` with beta = 1.

    Args:
        average, threshold: as ``FBetaScore``.
        name ("f1_score"), dtype.
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


CLASSES = (FBetaScore, F1Score)
