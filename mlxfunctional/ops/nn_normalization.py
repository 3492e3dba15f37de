"""``keras.ops.nn`` statistics and normalizations: ``moments``, ``batch_normalization``,
``layer_normalization``, ``rms_normalization``, ``normalize``.

float16/bfloat16 inputs compute in float32 (their squares overflow easily) and
come back in their own dtype, as Keras does; integer inputs compute in float32.
"""

import mlx.core as mx

from .. import backend, loss_functions
from .dtypes import convert_to_tensor
from .operation import keras_op

__all__ = ["batch_normalization", "layer_normalization", "moments", "normalize",
           "rms_normalization"]

_LOW_PRECISION = (mx.float16, mx.bfloat16)


def _compute_dtype(dtype):
    return dtype if dtype in (mx.float32, mx.float64) else mx.float32


def _axes_of(axes, ndim, op):
    axes = list(axes) if isinstance(axes, (tuple, list)) else [axes]
    for a in axes:
        if isinstance(a, bool) or not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a!r} is out of bounds for an input of rank {ndim}.")
    return sorted(a % ndim for a in axes)


def _all_sum(value):
    """The sum of ``value`` over the processes of ``mx.distributed`` (itself alone)."""
    group = mx.distributed.init()
    return value if group.size() == 1 else mx.distributed.all_sum(value, group=group)


@keras_op
def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) of x over ``axes`` (the biased variance, mean((x - mean)^2)).

    ``synchronized=True`` takes them over the data of every ``mx.distributed``
    process (each sums its count, sum and sum of squares), as Keras does across
    replicas.
    """
    x = convert_to_tensor(x)
    dtype = x.dtype if backend.is_float_dtype(x.dtype) else mx.float32
    axes = _axes_of(axes, x.ndim, "moments") if axes is not None else list(range(x.ndim))
    xc = x.astype(_compute_dtype(x.dtype))
    if synchronized:
        count = 1
        for a in axes:
            count *= x.shape[a]
        count = _all_sum(mx.array(float(count)))
        mean = _all_sum(mx.sum(xc, axis=axes, keepdims=True)) / count
        variance = mx.maximum(
            _all_sum(mx.sum(mx.square(xc), axis=axes, keepdims=True)) / count - mx.square(mean),
            0)
    else:
        mean = mx.mean(xc, axis=axes, keepdims=True)
        variance = mx.var(xc, axis=axes, keepdims=True)
    if not keepdims:
        mean, variance = mx.squeeze(mean, axes), mx.squeeze(variance, axes)
    if dtype in _LOW_PRECISION:  # saturate rather than overflow to inf on the way back
        limit = float(mx.finfo(mx.float16).max)
        mean, variance = mx.clip(mean, -limit, limit), mx.clip(variance, -limit, limit)
    return mean.astype(dtype), variance.astype(dtype)


@keras_op
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, the (features,) vectors laid
    along ``axis`` of x."""
    x = convert_to_tensor(x)
    if isinstance(axis, bool) or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"batch_normalization: axis {axis!r} is out of bounds for an input "
                         f"of rank {x.ndim}.")
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]

    def along_axis(v, name):
        v = convert_to_tensor(v)
        if v.size != x.shape[axis]:
            raise ValueError(f"batch_normalization: `{name}` must have {x.shape[axis]} values "
                             f"(x.shape[{axis}]). Received: {name}.shape={tuple(v.shape)}")
        return v.reshape(shape)

    inv = mx.rsqrt(along_axis(variance, "variance") + epsilon)
    if scale is not None:
        inv = inv * along_axis(scale, "scale")
    shift = -along_axis(mean, "mean") * inv
    if offset is not None:
        shift = shift + along_axis(offset, "offset")
    return x * inv + shift


def _params(v, x, axes):
    """gamma/beta shaped to broadcast along ``axes`` of x (Keras reshapes when needed)."""
    if v is None:
        return None
    v = convert_to_tensor(v).astype(x.dtype)
    if v.ndim != x.ndim and axes != [x.ndim - 1]:
        v = v.reshape([x.shape[i] if i in axes else 1 for i in range(x.ndim)])
    return v


@keras_op
def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """(x - mean) / sqrt(var + epsilon) * gamma + beta, the statistics per sample over
    ``axis`` (``epsilon`` default 1e-7, Keras' ``epsilon()``).

    ``rms_scaling=True`` (deprecated in Keras, kept with its meaning) is
    x / sqrt(var + epsilon) * gamma.
    """
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"layer_normalization: unexpected arguments {sorted(kwargs)}.")
    epsilon = loss_functions.EPSILON if epsilon is None else epsilon
    x = convert_to_tensor(x)
    original = x.dtype
    x = x.astype(_compute_dtype(x.dtype))
    axes = _axes_of(axis, x.ndim, "layer_normalization")
    gamma, beta = _params(gamma, x, axes), _params(beta, x, axes)
    mean, variance = moments(x, axes, keepdims=True)
    inv = mx.rsqrt(variance + epsilon)
    if rms_scaling:
        outputs = x * inv if gamma is None else x * inv * gamma
    else:
        if gamma is not None:
            inv = inv * gamma
        shift = -mean * inv
        if beta is not None:
            shift = shift + beta
        outputs = x * inv + shift
    return outputs.astype(original)


@keras_op
def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """x / sqrt(mean(x^2 over ``axis``) + epsilon) * scale (``epsilon`` default 1e-7)."""
    epsilon = loss_functions.EPSILON if epsilon is None else epsilon
    x = convert_to_tensor(x)
    original = x.dtype
    x = x.astype(_compute_dtype(x.dtype))
    if x.ndim == 0:
        x = mx.expand_dims(x, 0)
    axes = _axes_of(axis, x.ndim, "rms_normalization")
    outputs = x * mx.rsqrt(mx.mean(mx.square(x), axis=axes, keepdims=True) + epsilon)
    if scale is not None:
        outputs = outputs * convert_to_tensor(scale).astype(x.dtype)
    return outputs.astype(original)


@keras_op
def normalize(x, axis=-1, order=2, epsilon=None):
    """x / ||x||_order over ``axis``; for order 2, 1/||x|| is capped at 1/epsilon (a zero
    vector stays zero), for other orders ||x|| is floored at epsilon (default 1e-7)."""
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize: argument `order` must be an int >= 1. Received: "
                         f"order={order!r}")
    epsilon = loss_functions.EPSILON if epsilon is None else epsilon
    x = convert_to_tensor(x)
    if not backend.is_float_dtype(x.dtype):
        x = x.astype(backend.mlx_dtype(backend.floatx()))
    if x.ndim == 0:
        x = mx.expand_dims(x, 0)
    if order == 2:
        return loss_functions.l2_normalize(x, axis, epsilon)
    norm = mx.power(mx.sum(mx.power(mx.abs(x), order), axis=axis, keepdims=True), 1.0 / order)
    return x / mx.maximum(norm, epsilon)
