"""Loss functions: each returns one value per sample (the last axis reduced).

Keras 3 numerics: probabilities are clipped to [EPSILON, 1 - EPSILON]
(EPSILON = 1e-7) before a log; categorical crossentropy on probabilities
first renormalizes them over the class axis. The ``Loss`` classes that
reduce these values to a scalar live in :mod:`mlxfunctional.losses`.
"""

import warnings

import mlx.core as mx
import numpy as np

from mlxfunctional.engine import index_bounds

EPSILON = 1e-7

__all__ = [
    "EPSILON", "squeeze_or_expand_to_same_rank", "l2_normalize", "mean_squared_error",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
    "huber", "log_cosh", "kl_divergence", "poisson", "hinge", "squared_hinge",
    "categorical_hinge", "cosine_similarity", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "binary_crossentropy", "binary_focal_crossentropy",
    "categorical_focal_crossentropy", "mse", "MSE", "mae", "MAE", "mape",
    "MAPE", "msle", "MSLE", "kld", "KLD", "kullback_leibler_divergence", "logcosh", "bce", "BCE",
]


def _array(x, dtype=None):
    """Anything array-like -> ``mx.array`` (cast to ``dtype`` when given)."""
    x = x if isinstance(x, mx.array) else mx.array(x)
    return x if dtype is None or x.dtype == dtype else x.astype(dtype)


def divide_no_nan(a, b):
    """a / b, and 0 where b == 0 (no inf or nan, in the value or the gradient)."""
    safe = mx.where(b == 0, mx.ones_like(b), b)
    return mx.where(b == 0, mx.zeros_like(a / safe), a / safe)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Makes ranks equal when they differ by one and the longer one ends in 1.

    A rank-1 partner is expanded, ``(batch,)`` against ``(batch, 1)``;
    otherwise the trailing 1 is squeezed away (Keras' rule).
    """
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = mx.expand_dims(x2, -1)
        else:
            x1 = mx.squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = mx.expand_dims(x1, -1)
        else:
            x2 = mx.squeeze(x2, -1)
    return x1, x2


def _pair(y_true, y_pred):
    y_pred = _array(y_pred)
    return squeeze_or_expand_to_same_rank(_array(y_true, y_pred.dtype), y_pred)


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2, axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return mx.mean(mx.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|, axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return mx.mean(mx.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|y_true - y_pred| / max(|y_true|, eps), axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    diff = mx.abs((y_true - y_pred) / mx.maximum(mx.abs(y_true), EPSILON))
    return 100.0 * mx.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2, axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    first = mx.log(mx.maximum(y_pred, EPSILON) + 1.0)
    second = mx.log(mx.maximum(y_true, EPSILON) + 1.0)
    return mx.mean(mx.square(first - second), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """mean(0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2, axis=-1), e = y_pred - y_true."""
    y_true, y_pred = _pair(y_true, y_pred)
    error = y_pred - y_true
    abs_error = mx.abs(error)
    quadratic = 0.5 * mx.square(error)
    linear = delta * abs_error - 0.5 * delta * delta
    return mx.mean(mx.where(abs_error <= delta, quadratic, linear), axis=-1)


def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true)), axis=-1), as x + softplus(-2x) - log 2 (no overflow)."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return mx.mean(x + mx.logaddexp(-2.0 * x, 0.0) - 0.6931471805599453, axis=-1)


def kl_divergence(y_true, y_pred):
    """sum(t * log(t / p), axis=-1) with t, p clipped to [eps, 1]."""
    y_pred = _array(y_pred)
    y_true = mx.clip(_array(y_true, y_pred.dtype), EPSILON, 1.0)
    y_pred = mx.clip(y_pred, EPSILON, 1.0)
    return mx.sum(y_true * mx.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + eps), axis=-1)."""
    y_pred = _array(y_pred)
    y_true = _array(y_true, y_pred.dtype)
    return mx.mean(y_pred - y_true * mx.log(y_pred + EPSILON), axis=-1)


def _hinge_labels(y_true):
    # Labels that are all 0/1 become -1/1; decided on values, so it stays inside the graph.
    is_binary = mx.all((y_true == 0) | (y_true == 1))
    return mx.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """mean(max(1 - t * y_pred, 0), axis=-1); 0/1 labels t are mapped to -1/1."""
    y_pred = _array(y_pred)
    y_true = _hinge_labels(_array(y_true, y_pred.dtype))
    return mx.mean(mx.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - t * y_pred, 0)^2, axis=-1); 0/1 labels t are mapped to -1/1."""
    y_pred = _array(y_pred)
    y_true = _hinge_labels(_array(y_true, y_pred.dtype))
    return mx.mean(mx.square(mx.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(max((1 - t) * p) - sum(t * p) + 1, 0) over the last axis."""
    y_pred = _array(y_pred)
    y_true = _array(y_true, y_pred.dtype)
    pos = mx.sum(y_true * y_pred, axis=-1)
    neg = mx.max((1.0 - y_true) * y_pred, axis=-1)
    return mx.maximum(neg - pos + 1.0, 0.0)


def l2_normalize(x, axis=-1, epsilon=EPSILON):
    """x / ||x||, with 1/||x|| capped at 1/epsilon so a zero vector stays zero (Keras)."""
    inv = mx.rsqrt(mx.sum(mx.square(x), axis=axis, keepdims=True))
    return x * mx.minimum(inv, 1.0 / epsilon)


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis) (a loss: -1 is best)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return -mx.sum(l2_normalize(y_true, axis) * l2_normalize(y_pred, axis), axis=axis)


def _log_probs(y_pred, from_logits, axis):
    if from_logits:
        return y_pred - mx.logsumexp(y_pred, axis=axis, keepdims=True)
    # Keras renormalizes probabilities over the class axis before clipping.
    y_pred = y_pred / mx.sum(y_pred, axis=axis, keepdims=True)
    return mx.log(mx.clip(y_pred, EPSILON, 1.0 - EPSILON))


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(t * log p, axis); p = softmax(y_pred) (logits) or clip(y_pred / sum(y_pred)).

    With ``label_smoothing`` s, t becomes t * (1 - s) + s / num_classes.
    """
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be an int. Received: axis={axis!r}")
    y_pred = _array(y_pred)
    y_true = _array(y_true, y_pred.dtype)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"Arguments `target` and `output` must have the same shape. "
                         f"Received: target.shape={y_true.shape}, output.shape={y_pred.shape}")
    if y_pred.shape[-1] == 1:
        warnings.warn("categorical_crossentropy expects y_pred of shape (batch, num_classes) "
                      f"with num_classes > 1; got {y_pred.shape}. Consider binary_crossentropy.",
                      SyntaxWarning, stacklevel=2)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[axis]
    return -mx.sum(y_true * _log_probs(y_pred, from_logits, axis), axis=axis)


# The numpy dtype of class indices compared with labels of each comparable dtype.
_NUMPY = {mx.int32: np.int32, mx.int64: np.int64, mx.float32: np.float32}


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """-log p[label]: integer labels of shape (batch,) or (batch, 1), int or float.

    Integer labels are used as they are (a cast to float and back would cost two
    kernels per step; the labels compared are the same). Labels must lie in
    [0, num_classes): another label raises
    ``IndexOutOfRangeError`` in an eager call and gives a NaN loss inside a step
    of fit/evaluate or ``mx.compile`` (its gradient is zero). Entries whose label
    is ``ignore_class`` get loss 0 (the ``SparseCategoricalCrossentropy`` object
    also leaves them out of the average).
    """
    y_pred = _array(y_pred)
    y_true = _array(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = index_bounds.same_values(mx.squeeze(y_true, -1), y_true)
    kept = None
    if ignore_class is not None:
        kept = y_true != ignore_class
        y_true = mx.where(kept, y_true, mx.zeros_like(y_true))
    axis = axis % y_pred.ndim
    labels, valid = index_bounds.checked(y_true, y_pred.shape[axis],
                                         "sparse_categorical_crossentropy", what="label",
                                         outcome="its loss is NaN")
    # The label's log-probability is picked by comparison with the class indices rather
    # than a gather: its cost is that of the log-softmax already computed over every
    # class, no index ever reaches memory (so none needs clamping), and its gradient is
    # a select, not a scatter. The class indices are a constant (from numpy, so a
    # compiled step holds them as data rather than computing them every step).
    classes = mx.array(np.arange(y_pred.shape[axis]).astype(_NUMPY[labels.dtype]).reshape(
        [-1 if i == axis else 1 for i in range(y_pred.ndim)]))
    log_probs = _log_probs(y_pred, from_logits, axis)
    # (negated inside the sum, the same bits: the negation fuses into the select's kernel)
    result = mx.sum(mx.where(mx.expand_dims(labels, axis) == classes, -log_probs, 0), axis=axis)
    if valid is not None:
        result = mx.where(valid, result, mx.array(float("nan"), result.dtype))
    if kept is not None:
        result = mx.where(kept, result, mx.zeros_like(result))
    return result


sparse_categorical_crossentropy.integer_targets = True  # (read by losses_base.Loss)


def binary_crossentropy_elements(y_true, y_pred, from_logits=False):
    """-(t log p + (1 - t) log(1 - p)) per element, p clipped to [eps, 1 - eps] (or,
    from logits x, the stable max(x, 0) - x t + log(1 + exp(-|x|)))."""
    if from_logits:
        x = y_pred
        return mx.maximum(x, 0.0) - x * y_true + mx.log1p(mx.exp(-mx.abs(x)))
    p = mx.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -(y_true * mx.log(p) + (1.0 - y_true) * mx.log(1.0 - p))


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean(binary_crossentropy_elements(t, p), axis). Smoothing s: t(1 - s) + s / 2."""
    y_pred = _array(y_pred)
    y_true = _array(y_true, y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return mx.mean(binary_crossentropy_elements(y_true, y_pred, from_logits), axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary crossentropy scaled down where the prediction is already right (focal loss):
    mean((1 - p_t)^gamma * bce, axis), p_t = t p + (1 - t)(1 - p).

    Args:
        apply_class_balancing: also weight by ``alpha`` where t = 1, ``1 - alpha`` where t = 0.
        alpha, gamma: the weight and the focusing exponent.
        from_logits, label_smoothing, axis: as in ``binary_crossentropy``.
    """
    y_pred = _array(y_pred)
    y_true = _array(y_true, y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = mx.sigmoid(y_pred)
    bce = binary_crossentropy_elements(y_true, y_pred)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = mx.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return mx.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """sum(alpha (1 - p)^gamma * (-t log p), axis), p the renormalized, clipped
    probabilities (softmax of logits): crossentropy that discounts easy classes.

    Args:
        alpha, gamma: the weight and the focusing exponent.
        from_logits, label_smoothing, axis: as in ``categorical_crossentropy``.
    """
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be an int. Received: axis={axis!r}")
    y_pred = _array(y_pred)
    y_true = _array(y_true, y_pred.dtype)
    if y_pred.shape[-1] == 1:
        warnings.warn("categorical_focal_crossentropy expects y_pred of shape (batch, "
                      f"num_classes) with num_classes > 1; got {y_pred.shape}. Consider "
                      "binary_crossentropy.", SyntaxWarning, stacklevel=2)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        y_pred = mx.softmax(y_pred, axis=axis)
    p = mx.clip(y_pred / mx.sum(y_pred, axis=axis, keepdims=True), EPSILON, 1.0 - EPSILON)
    return mx.sum(alpha * mx.power(1.0 - p, gamma) * (-y_true * mx.log(p)), axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = BCE = binary_crossentropy

FUNCTIONS = (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
             mean_squared_logarithmic_error, huber, log_cosh, kl_divergence, poisson, hinge,
             squared_hinge, categorical_hinge, cosine_similarity, categorical_crossentropy,
             sparse_categorical_crossentropy, binary_crossentropy, binary_focal_crossentropy,
             categorical_focal_crossentropy)
