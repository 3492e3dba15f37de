"""Per-sample metric functions (Keras 3's ``keras.metrics.accuracy`` and friends) and
the table of functions a serialized ``MeanMetricWrapper`` may name.

Below ``metrics_base`` (whose ``MeanMetricWrapper.from_config`` resolves ``fn`` here)
and ``metrics`` (which wraps them in classes and re-exports them).
"""

import mlx.core as mx

from mlxfunctional.engine import index_bounds

from mlxfunctional import loss_functions as lf
from mlxfunctional._resolve import resolve
from mlxfunctional.loss_functions import _array, squeeze_or_expand_to_same_rank


def accuracy(y_true, y_pred):
    """mean(y_true == y_pred, axis=-1)."""
    y_pred = _array(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(_array(y_true, y_pred.dtype), y_pred)
    return mx.mean((y_true == y_pred).astype(mx.float32), axis=-1)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """mean(y_true == (y_pred > threshold), axis=-1)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(_array(y_true), _array(y_pred))
    y_pred = (y_pred > threshold).astype(y_true.dtype)
    return mx.mean((y_true == y_pred).astype(mx.float32), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """argmax(y_true, -1) == argmax(y_pred, -1) (first index on ties)."""
    y_pred = _array(y_pred)
    labels = mx.argmax(_array(y_true), axis=-1)
    if labels.ndim == y_pred.ndim:  # one-hot targets of shape (..., 1) against y_pred
        labels = mx.squeeze(labels, -1)
    return (labels == mx.argmax(y_pred, axis=-1)).astype(mx.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    """y_true == argmax(y_pred, -1), for integer labels of shape (batch,) or (batch, 1)."""
    y_true, y_pred = _array(y_true), _array(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = index_bounds.same_values(mx.squeeze(y_true, -1), y_true)
    # (compared, never gathered with: an out-of-range label needs no clamping, it just
    # matches no class)
    labels, _ = index_bounds.checked(y_true, y_pred.shape[-1], "sparse_categorical_accuracy",
                                     what="label", outcome="it counts as a miss")
    matches = labels == mx.argmax(y_pred, axis=-1).astype(labels.dtype)
    matches = matches.astype(mx.float32)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = mx.squeeze(matches, -1)
    return matches


def in_top_k(targets, predictions, k):
    """True where fewer than k classes score strictly higher than the target's
    (so ties at the boundary count as in; a NaN target score never does). A
    target out of range raises eagerly and is never in inside a compiled step."""
    targets, valid = index_bounds.bounded(targets, predictions.shape[-1], "in_top_k",
                                          what="label", outcome="it counts as a miss")
    target_score = mx.take_along_axis(predictions, targets[:, None], axis=-1)
    target_score = mx.where(mx.isnan(target_score), -mx.inf, target_score)
    hits = mx.sum(predictions > target_score, axis=-1) < k
    return hits if valid is None else hits & valid


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """The integer label is among the k highest predictions."""
    y_true, y_pred = _array(y_true), _array(y_pred)
    shape = y_true.shape
    labels = index_bounds.same_values(y_true.reshape(-1), y_true)
    matches = in_top_k(labels, y_pred.reshape(-1, y_pred.shape[-1]), k)
    return matches.astype(mx.float32).reshape(shape)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """argmax(y_true) is among the k highest predictions."""
    return sparse_top_k_categorical_accuracy(mx.argmax(_array(y_true), axis=-1), y_pred, k)


def cosine_similarity(y_true, y_pred, axis=-1):
    """sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): 1 is best (the metric's sign)."""
    return -lf.cosine_similarity(y_true, y_pred, axis=axis)


def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson's r along ``axis``: mean of the product of the two standardized
    series (population standard deviations), in [-1, 1]."""
    y_true, y_pred = lf._pair(y_true, y_pred)
    t = y_true - mx.mean(y_true, axis=axis, keepdims=True)
    p = y_pred - mx.mean(y_pred, axis=axis, keepdims=True)
    t = t / mx.sqrt(mx.mean(t * t, axis=axis, keepdims=True))
    p = p / mx.sqrt(mx.mean(p * p, axis=axis, keepdims=True))
    return mx.mean(t * p, axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation along ``axis``:
    2 cov(t, p) / (var t + var p + (mean t - mean p)^2 + epsilon), population moments.
    1 only when the predictions equal the targets, not merely correlate with them."""
    y_true, y_pred = lf._pair(y_true, y_pred)
    mean_t = mx.mean(y_true, axis=axis, keepdims=True)
    mean_p = mx.mean(y_pred, axis=axis, keepdims=True)
    var_t = mx.mean(mx.square(y_true - mean_t), axis=axis, keepdims=True)
    var_p = mx.mean(mx.square(y_pred - mean_p), axis=axis, keepdims=True)
    cov = mx.mean((y_true - mean_t) * (y_pred - mean_p), axis=axis, keepdims=True)
    ccc = 2.0 * cov / (var_t + var_p + mx.square(mean_t - mean_p) + lf.EPSILON)
    return mx.squeeze(ccc, axis=axis)


# Functions a serialized MeanMetricWrapper may name.
FUNCTIONS = {fn.__name__: fn for fn in lf.FUNCTIONS}
FUNCTIONS.update({fn.__name__: fn for fn in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, pearson_correlation,
    concordance_correlation)})


def get_function(name, custom_objects=None):
    """A metric function by name: this package's, then registered/custom ones."""
    return resolve(name, FUNCTIONS, custom_objects, "metric function")
