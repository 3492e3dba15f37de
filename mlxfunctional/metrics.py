"""Metrics, with Keras 3 names, arguments, defaults and semantics.

Each metric keeps its state in the dict ``metric.variables`` and updates it
in place (see :mod:`mlxfunctional.metrics_base`), so a compiled train step
can capture ``[m.variables for m in metrics]``. ``result()`` returns an
unevaluated ``mx.array``. Most metrics are the running (weighted) mean of a
per-sample function: sum(w_i * f_i) / sum(w_i).
"""

import mlx.core as mx

from mlxfunctional import backend
from mlxfunctional import loss_functions as lf
from mlxfunctional._resolve import builtin_objects, deserialize_object, get_object, \
    serialize_object
from mlxfunctional.loss_functions import _array, squeeze_or_expand_to_same_rank
# Keras exports the per-sample loss functions from keras.metrics too.
from mlxfunctional.loss_functions import (  # noqa: F401
    binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
    categorical_focal_crossentropy, categorical_hinge, hinge, huber, kl_divergence, log_cosh,
    mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
    mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy, squared_hinge)
from mlxfunctional.losses import is_binary_or_sparse_categorical
from mlxfunctional.metric_functions import (  # noqa: F401
    FUNCTIONS, accuracy, binary_accuracy, categorical_accuracy, concordance_correlation,
    cosine_similarity, get_function, in_top_k, pearson_correlation, sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy, top_k_categorical_accuracy)
from mlxfunctional.metrics_base import (Mean, MeanMetricWrapper, Metric, MetricVariable,  # noqa
                                        Sum, divide_no_nan, reduce_to_samplewise_values)
from mlxfunctional.metrics_confusion import (AUC, FalseNegatives, FalsePositives,  # noqa: F401
                                             Precision, Recall, TrueNegatives, TruePositives)
from mlxfunctional import metrics_confusion
from mlxfunctional import metrics_fscore, metrics_iou, metrics_regression, metrics_sensitivity
from mlxfunctional.metrics_fscore import F1Score, FBetaScore  # noqa: F401
from mlxfunctional.metrics_iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU  # noqa
from mlxfunctional.metrics_regression import (ConcordanceCorrelation,  # noqa: F401
                                              PearsonCorrelation, R2Score)
from mlxfunctional.metrics_sensitivity import (PrecisionAtRecall,  # noqa: F401
                                               RecallAtPrecision, SensitivityAtSpecificity,
                                               SpecificityAtSensitivity)


# -- accuracy metrics --------------------------------------------------------------------


class Accuracy(MeanMetricWrapper):
    """How often y_pred equals y_true. Args: name ("accuracy"), dtype."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often (y_pred > threshold) equals the 0/1 label.

    Args:
        name ("binary_accuracy"), dtype.
        threshold: in (0, 1) (0.5).
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if threshold is not None and (threshold <= 0 or threshold >= 1):
            raise ValueError("Invalid value for argument `threshold`. Expected a value in "
                             f"interval (0, 1). Received: threshold={threshold}")
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches argmax of the one-hot y_true.
    Args: name ("categorical_accuracy"), dtype."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) equals the integer label.
    Args: name ("sparse_categorical_accuracy"), dtype."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is among the k highest predictions.

    Args:
        k: 5. name ("top_k_categorical_accuracy"), dtype.
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the k highest predictions.

    Args:
        k: 5. name ("sparse_top_k_categorical_accuracy"), dtype.
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


# -- regression, probabilistic and hinge metrics: running means of the losses' functions --


class MeanSquaredError(MeanMetricWrapper):
    """Mean of (y_true - y_pred)^2. Args: name ("mean_squared_error"), dtype."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(lf.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean of |y_true - y_pred|. Args: name ("mean_absolute_error"), dtype."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(lf.mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Mean of 100 |y_true - y_pred| / max(|y_true|, 1e-7).
    Args: name ("mean_absolute_percentage_error"), dtype."""

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(lf.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Mean of (log(y_pred + 1) - log(y_true + 1))^2.
    Args: name ("mean_squared_logarithmic_error"), dtype."""

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(lf.mean_squared_logarithmic_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """sqrt of the running weighted mean of (y_pred - y_true)^2 over all elements.
    Args: name ("root_mean_squared_error"), dtype."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        dtype = backend.mlx_dtype(self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(_array(y_true, dtype),
                                                        _array(y_pred, dtype))
        super().update_state(mx.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return mx.sqrt(super().result())


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity of y_true and y_pred along ``axis`` (1 is best).

    Args:
        name ("cosine_similarity"), dtype.
        axis: the feature axis (-1).
    """

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class LogCoshError(MeanMetricWrapper):
    """Mean of log(cosh(y_pred - y_true)). Args: name ("logcosh"), dtype."""

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(lf.log_cosh, name=name, dtype=dtype)


class BinaryCrossentropy(MeanMetricWrapper):
    """Mean binary crossentropy (see ``losses.binary_crossentropy``).

    Args:
        name ("binary_crossentropy"), dtype, from_logits (False), label_smoothing (0).
    """

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):
        super().__init__(lf.binary_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical crossentropy (see ``losses.categorical_crossentropy``).

    Args:
        name ("categorical_crossentropy"), dtype, from_logits (False),
        label_smoothing (0), axis (-1).
    """

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        super().__init__(lf.categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean sparse categorical crossentropy (see ``losses.sparse_categorical_crossentropy``).

    Args:
        name ("sparse_categorical_crossentropy"), dtype, from_logits (False), axis (-1).
    """

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 axis=-1):
        super().__init__(lf.sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, axis=axis)


class KLDivergence(MeanMetricWrapper):
    """Mean of sum(y_true * log(y_true / y_pred)). Args: name ("kl_divergence"), dtype."""

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(lf.kl_divergence, name=name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    """Mean of y_pred - y_true * log(y_pred + 1e-7). Args: name ("poisson"), dtype."""

    def __init__(self, name="poisson", dtype=None):
        super().__init__(lf.poisson, name=name, dtype=dtype)


class Hinge(MeanMetricWrapper):
    """Mean of max(1 - y_true * y_pred, 0). Args: name ("hinge"), dtype."""

    def __init__(self, name="hinge", dtype=None):
        super().__init__(lf.hinge, name=name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    """Mean of max(1 - y_true * y_pred, 0)^2. Args: name ("squared_hinge"), dtype."""

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(lf.squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    """Mean categorical hinge. Args: name ("categorical_hinge"), dtype."""

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(lf.categorical_hinge, name=name, dtype=dtype)


# -- names --------------------------------------------------------------------------------

CLASSES = (Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy,
           CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
           SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError,
           MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError,
           CosineSimilarity, LogCoshError, BinaryCrossentropy, CategoricalCrossentropy,
           SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge, SquaredHinge,
           CategoricalHinge) + metrics_confusion.CLASSES + metrics_fscore.CLASSES \
    + metrics_iou.CLASSES + metrics_regression.CLASSES + metrics_sensitivity.CLASSES
# Keras' table: class names and their snake_case forms give classes ("auc", "precision").
ALL_OBJECTS = builtin_objects(CLASSES)
ALL_OBJECTS.update({"mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError,
                    "MAE": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
                    "MAPE": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
                    "MSLE": MeanSquaredLogarithmicError, "bce": BinaryCrossentropy,
                    "BCE": BinaryCrossentropy})
def serialize(metric):
    """Metric -> ``{"class_name", "config"}``; a function -> its name."""
    return serialize_object(metric, "metric")


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`; also takes a name such as ``"auc"``."""
    return deserialize_object(config, ALL_OBJECTS, custom_objects, "metric")


def get(identifier):
    """Keras' ``metrics.get``: a name, config dict or class gives an instance
    (``"mse"`` -> ``MeanSquaredError()``); a function or instance passes through."""
    return get_object(identifier, ALL_OBJECTS, "metric")


def _is_sparse_loss(loss):
    if loss is None:
        return False
    fn = getattr(loss, "fn", loss)  # a LossFunctionWrapper's function
    name = fn if isinstance(fn, str) else getattr(fn, "__name__", None) or type(fn).__name__
    return "sparse" in name.lower() or "sparse" in str(getattr(loss, "name", "")).lower()


def accuracy_for(loss, output_shape, target_shape=None):
    """The class "accuracy"/"acc" stands for, by Keras 3's rule on shapes:
    BinaryAccuracy when the output's last dim is 1, SparseCategoricalAccuracy
    when the target has lower rank (or a last dim of 1 against several
    classes), CategoricalAccuracy otherwise. Without ``target_shape`` it is
    taken from the loss: a sparse loss (its name says "sparse") means integer
    targets, any other loss targets shaped like the output.
    """
    output_shape = tuple(output_shape)
    if target_shape is None:
        target_shape = output_shape[:-1] if _is_sparse_loss(loss) else output_shape
    is_binary, is_sparse = is_binary_or_sparse_categorical(tuple(target_shape), output_shape)
    if is_binary:
        return BinaryAccuracy
    return SparseCategoricalAccuracy if is_sparse else CategoricalAccuracy


def get_metric(identifier, y_true_shape=None, y_pred_shape=None, loss=None):
    """What ``compile(metrics=[...])`` needs: a ``Metric`` named as Keras logs it.

    "accuracy"/"acc" picks the accuracy class (:func:`accuracy_for`); a string
    names the metric by itself ("acc" logs as "acc", "mse" as "mse"); a
    function is wrapped in ``MeanMetricWrapper`` named after it.
    """
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        if y_pred_shape is None:
            raise ValueError(f"metrics=[{identifier!r}] needs the output shape.")
        return accuracy_for(loss, y_pred_shape, y_true_shape)(name=identifier)
    metric = get(identifier)
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric)
    if isinstance(identifier, str):
        metric.name = identifier
    return metric
