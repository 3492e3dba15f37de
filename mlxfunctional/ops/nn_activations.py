"""``keras.ops.nn`` activations: elementwise functions and the softmax family.

The math lives in :mod:`mlxfunctional.activations` (the ``keras.activations``
functions); the ops here add Keras' op signatures and dtype rule: integer and
boolean inputs compute in ``floatx()`` (JAX's ``nn`` functions refuse them or
promote them), float inputs keep their dtype. ``relu``, ``relu6`` and
``hard_tanh`` are the exceptions Keras-on-JAX has: they are clips, so an
integer input stays integer.
"""

import warnings

import mlx.core as mx

from .. import activations, backend
from .dtypes import convert_to_tensor, result_type
from .operation import keras_op

__all__ = [
    "celu", "elu", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish",
    "hard_tanh", "leaky_relu", "log_sigmoid", "log_softmax", "relu", "relu6", "selu",
    "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus",
    "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh_shrink", "threshold",
]


def _float(x):
    """``x`` as an array of a float dtype (integers and booleans -> ``floatx()``)."""
    x = convert_to_tensor(x)
    if not backend.is_float_dtype(x.dtype):
        x = x.astype(backend.mlx_dtype(backend.floatx()))
    return x


def _axes(axis, ndim, op):
    """A checked axis (int) or list of axes, for the softmax family."""
    axes = list(axis) if isinstance(axis, (tuple, list)) else [axis]
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of bounds for an input of rank {ndim}.")
    return axes if isinstance(axis, (tuple, list)) else axis


@keras_op
def relu(x):
    """max(x, 0)."""
    return activations.relu(convert_to_tensor(x))


@keras_op
def relu6(x):
    """min(max(x, 0), 6)."""
    return activations.relu6(convert_to_tensor(x))


@keras_op
def hard_tanh(x):
    """clip(x, -1, 1)."""
    return activations.hard_tanh(convert_to_tensor(x))


@keras_op
def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return activations.sigmoid(_float(x))


@keras_op
def sparse_sigmoid(x):
    """0 for x <= -1, 1 for x >= 1, (x + 1) / 2 between."""
    x = _float(x)
    return mx.clip((x + 1) / 2, 0, 1)


@keras_op
def softplus(x):
    """log(1 + exp(x))."""
    return activations.softplus(_float(x))


@keras_op
def softsign(x):
    """x / (1 + |x|)."""
    return activations.softsign(_float(x))


@keras_op
def soft_shrink(x, threshold=0.5):
    """x - threshold above threshold, x + threshold below -threshold, else 0."""
    return activations.soft_shrink(_float(x), threshold)


@keras_op
def sparse_plus(x):
    """0 for x <= -1, x for x >= 1, (x + 1)^2 / 4 between (a smooth relu)."""
    x = _float(x)
    return mx.where(x <= -1, 0, mx.where(x >= 1, x, mx.square(x + 1) / 4)).astype(x.dtype)


@keras_op
def silu(x):
    """x * sigmoid(x)."""
    return activations.silu(_float(x))


swish = silu


@keras_op
def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2."""
    return activations.squareplus(_float(x), b)


@keras_op
def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x)."""
    return activations.log_sigmoid(_float(x))


@keras_op
def leaky_relu(x, negative_slope=0.2):
    """x for x >= 0, negative_slope * x otherwise."""
    return activations.leaky_relu(_float(x), negative_slope)


@keras_op
def hard_sigmoid(x):
    """relu6(x + 3) / 6."""
    return activations.hard_sigmoid(_float(x))


@keras_op
def hard_silu(x):
    """x * relu6(x + 3) / 6."""
    return activations.hard_silu(_float(x))


hard_swish = hard_silu


@keras_op
def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return activations.elu(_float(x), alpha)


@keras_op
def selu(x):
    """1.0507 * elu(x, 1.6733)."""
    return activations.selu(_float(x))


@keras_op
def gelu(x, approximate=True):
    """0.5 x (1 + erf(x / sqrt 2)); with ``approximate`` (the default here) the tanh form."""
    return activations.gelu(_float(x), approximate)


@keras_op
def celu(x, alpha=1.0):
    """max(x, 0) + alpha * min(0, exp(x / alpha) - 1)."""
    return activations.celu(_float(x), alpha)


@keras_op
def glu(x, axis=-1):
    """a * sigmoid(b), where a, b are the two halves of x along ``axis``."""
    x = _float(x)
    axis = _axes(axis, x.ndim, "glu")
    if x.shape[axis] % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even to split it in halves. "
                         f"Received: x.shape={tuple(x.shape)}")
    return activations.glu(x, axis)


@keras_op
def tanh_shrink(x):
    """x - tanh(x)."""
    return activations.tanh_shrink(_float(x))


@keras_op
def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    return activations.hard_shrink(_float(x), threshold)


@keras_op
def threshold(x, threshold, default_value):
    """x where x > threshold, else ``default_value``."""
    x = convert_to_tensor(x)
    dtype = backend.mlx_dtype(result_type(x.dtype, default_value))
    return mx.where(x > threshold, x, default_value).astype(dtype)


def _warn_size_one(x, axis):
    if isinstance(axis, int) and x.ndim and x.shape[axis] == 1:
        warnings.warn(f"softmax over axis {axis} of an input of shape {tuple(x.shape)}: the "
                      "axis has size 1, so the result is always 1 (a sigmoid may be meant).",
                      stacklevel=3)


@keras_op
def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) over ``axis`` (an int or a tuple of axes)."""
    x = _float(x)
    axis = _axes(axis, x.ndim, "softmax")
    _warn_size_one(x, axis)
    return activations.softmax(x, axis)


@keras_op
def log_softmax(x, axis=-1):
    """x - logsumexp(x) over ``axis`` (an int or a tuple of axes)."""
    x = _float(x)
    return activations.log_softmax(x, _axes(axis, x.ndim, "log_softmax"))


@keras_op
def sparsemax(x, axis=-1):
    """The Euclidean projection of x onto the probability simplex along ``axis``.

    With z sorted decreasingly and k the largest index with 1 + k z_k > sum_{j<=k} z_j,
    the result is max(x - tau, 0) where tau = (sum_{j<=k} z_j - 1) / k.
    """
    x = _float(x)
    axis = _axes(axis, x.ndim, "sparsemax")
    z = -mx.sort(-x, axis=axis)
    cumsum = mx.cumsum(z, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    k = mx.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(shape)
    support = z - (cumsum - 1) / k > 0  # a prefix of the sorted order
    count = mx.sum(support, axis=axis, keepdims=True).astype(x.dtype)
    # The sum of the k largest entries. (Keras 3.15 sums the cumulative sums here,
    # which is not the projection once two or more entries are kept -- its outputs
    # then do not sum to 1; fixed upstream by keras-team/keras#23469. This follows
    # the definition.)
    tau = (mx.sum(mx.where(support, z, 0), axis=axis, keepdims=True) - 1) / count
    return mx.maximum(x - tau, 0).astype(x.dtype)
