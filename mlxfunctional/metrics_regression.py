"""Regression scores: ``R2Score``, ``PearsonCorrelation``, ``ConcordanceCorrelation``.

R2 accumulates per-output sums (of y, y^2, squared residuals, weights) so the
score over all batches is exact, not an average of batch scores; the
correlations are running means of a per-sample correlation along ``axis``
(Keras' definition).
"""

import mlx.core as mx

from mlxfunctional import backend
from mlxfunctional.loss_functions import _array, squeeze_or_expand_to_same_rank
from mlxfunctional.metric_functions import concordance_correlation, pearson_correlation
from mlxfunctional.metrics_base import Mean, MeanMetricWrapper, Metric

_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """Coefficient of determination: 1 - SS_res / SS_tot per output, then aggregated.

    Args:
        class_aggregation: "uniform_average" (mean over outputs),
            "variance_weighted_average" (weighted by each output's SS_tot) or
            None (one score per output).
        num_regressors: p > 0 gives the adjusted score
            1 - (1 - R2)(n - 1) / (n - p - 1), n the number of values seen
            (plain R2 while n - 1 <= p).
        name ("r2_score"), dtype.
    """

    _direction = "up"  # higher is better (EarlyStopping/ModelCheckpoint mode="auto")

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one of "
                             f"{_AGGREGATIONS}. Received: class_aggregation={class_aggregation}")
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, int) \
                or num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value "
                             f">= 0. Received: num_regressors={num_regressors}")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.add_variable((), name="num_samples")
        self._built = False

    def build(self, y_true_shape=None, y_pred_shape=None):
        """Creates the per-output sums once the number of outputs is known."""
        if self._built:
            return
        if y_pred_shape is None or y_true_shape is None or len(y_pred_shape) != 2 \
                or len(y_true_shape) != 2 or y_pred_shape[-1] is None:
            raise ValueError("R2Score expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={y_pred_shape} and "
                             f"y_true.shape={y_true_shape}.")
        outputs = int(y_pred_shape[-1])
        for name in ("squared_sum", "sum", "residual", "count"):  # Keras' order
            self.add_variable((outputs,), name=name)
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        dtype = backend.mlx_dtype(self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(_array(y_true, dtype),
                                                        _array(y_pred, dtype))
        self.build(y_true.shape, y_pred.shape)
        w = mx.array(1.0, dtype=dtype) if sample_weight is None else _array(sample_weight, dtype)
        if w.ndim == 1:
            w = mx.expand_dims(w, 1)
        w = mx.broadcast_to(w, y_true.shape)
        v = self.variables
        v["sum"] = v["sum"] + mx.sum(y_true * w, axis=0)
        v["squared_sum"] = v["squared_sum"] + mx.sum(y_true * y_true * w, axis=0)
        v["residual"] = v["residual"] + mx.sum(mx.square(y_true - y_pred) * w, axis=0)
        v["count"] = v["count"] + mx.sum(w, axis=0)
        v["num_samples"] = v["num_samples"] + y_true.size

    def result(self):
        v = self.variables
        if not self._built:
            return mx.array(0.0, dtype=backend.mlx_dtype(self.dtype))
        mean = v["sum"] / v["count"]
        total = v["squared_sum"] - v["sum"] * mean  # SS_tot
        raw = 1.0 - v["residual"] / total
        raw = mx.where(mx.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = mx.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = mx.sum(total * raw) / mx.sum(total)
        else:
            score = raw
        if self.num_regressors:
            # Decided on values, so no host sync: plain R2 while n - 1 <= p (Keras warns there).
            n = v["num_samples"].astype(mx.float32)
            p = float(self.num_regressors)
            adjusted = 1.0 - (1.0 - score) * (n - 1.0) / mx.where(n - p - 1.0 > 0,
                                                                   n - p - 1.0, 1.0)
            score = mx.where(n - 1.0 > p, adjusted, score)
        return score

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


class _CorrelationMetric(MeanMetricWrapper):
    _function = None
    _direction = "up"

    def __init__(self, name, dtype, axis):
        super().__init__(type(self)._function, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def update_state(self, y_true, y_pred, sample_weight=None):
        # No (batch,) -> (batch, 1) expansion here: the correlation runs along ``axis``,
        # so a rank-1 pair is one series.
        values = type(self)._function(_array(y_true), _array(y_pred), axis=self.axis)
        Mean.update_state(self, values, sample_weight=sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class PearsonCorrelation(_CorrelationMetric):
    """Running mean of Pearson's r, computed along ``axis`` for each sample.

    Args:
        name ("pearson_correlation"), dtype.
        axis: the axis the correlation runs along (-1).
    """
    _function = staticmethod(pearson_correlation)

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(name, dtype, axis)


class ConcordanceCorrelation(_CorrelationMetric):
    """Running mean of Lin's concordance correlation, along ``axis`` for each sample.

    Args:
        name ("concordance_correlation"), dtype.
        axis: the axis the correlation runs along (-1).
    """
    _function = staticmethod(concordance_correlation)

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(name, dtype, axis)


CLASSES = (R2Score, PearsonCorrelation, ConcordanceCorrelation)
