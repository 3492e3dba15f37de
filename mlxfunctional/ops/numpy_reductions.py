"""Reductions (``sum``, ``mean``, ``max``, ``argmax``...), running sums and differences.

Keras' dtype rules, which are JAX's with 32-bit results: sums and products
of bool/int8/int16 give int32 (uint8/uint16 give uint32); ``mean``, ``std``
and friends of ints give floatx; ``max``/``min``/``ptp`` keep the dtype;
``argmax``/``argmin``/``count_nonzero`` give int32. ``axis`` is None (every
axis), an int or a tuple of ints, negatives counting from the end.

The NaN-ignoring reductions, statistics (quantiles, histograms), sorting and
searching, and indexing live beside this file and are re-exported from it.
"""

import builtins

import mlx.core as mx

from .numpy_indexing import *  # noqa: F401,F403
from .numpy_nan_reductions import *  # noqa: F401,F403
from .numpy_sorting import *  # noqa: F401,F403
from .numpy_statistics import *  # noqa: F401,F403
from . import numpy_indexing, numpy_nan_reductions, numpy_sorting, numpy_statistics
from .dtypes import result_type
from .operation import keras_op
from .reduction_utils import (canonical_axes, canonical_axis, cast, compute_dtype, dtype_name,
                              empty_reduction_error, float_dtype, is_float, reduce,
                              reduced_shape, sum_dtype, tensor)

_HERE = ["all", "any", "amax", "amin", "max", "min", "argmax", "argmin", "sum", "prod",
         "mean", "std", "var", "ptp", "count_nonzero", "average", "cumsum", "cumprod",
         "diff", "trapezoid"]
__all__ = (_HERE + numpy_nan_reductions.__all__ + numpy_statistics.__all__
           + numpy_sorting.__all__ + numpy_indexing.__all__)


@keras_op
def all(x, axis=None, keepdims=False):
    """True where every element along ``axis`` is non-zero."""
    x = tensor(x)
    return reduce(mx.all, x, canonical_axes(axis, x.ndim, "all"), keepdims, True, "bool")


@keras_op
def any(x, axis=None, keepdims=False):
    """True where some element along ``axis`` is non-zero."""
    x = tensor(x)
    return reduce(mx.any, x, canonical_axes(axis, x.ndim, "any"), keepdims, False, "bool")


def _extremum(op, fn, combine, x, axis, keepdims, initial):
    x = tensor(x)
    axes = canonical_axes(axis, x.ndim, op)
    if _any_zero(x.shape, axes) and initial is None:
        raise empty_reduction_error(op, x.shape, axes)
    # An empty reduction with `initial` is `initial` (numpy's identity rule).
    out = reduce(fn, x, axes, keepdims, 0 if initial is None else initial)
    if initial is not None:
        out = cast(combine(out, mx.array(initial, dtype=x.dtype)), dtype_name(x))
    return out


def _any_zero(shape, axes):
    return builtins.any(shape[a] == 0 for a in axes)


@keras_op
def max(x, axis=None, keepdims=False, initial=None):
    """Largest element along ``axis`` (at least ``initial`` when given); dtype kept."""
    return _extremum("max", mx.max, mx.maximum, x, axis, keepdims, initial)


@keras_op
def min(x, axis=None, keepdims=False, initial=None):
    """Smallest element along ``axis`` (at most ``initial`` when given); dtype kept."""
    return _extremum("min", mx.min, mx.minimum, x, axis, keepdims, initial)


@keras_op
def amax(x, axis=None, keepdims=False):
    """``max`` without ``initial``."""
    return _extremum("amax", mx.max, mx.maximum, x, axis, keepdims, None)


@keras_op
def amin(x, axis=None, keepdims=False):
    """``min`` without ``initial``."""
    return _extremum("amin", mx.min, mx.minimum, x, axis, keepdims, None)


def _arg_extremum(op, fn, x, axis, keepdims):
    x = tensor(x)
    if axis is None:
        out = _arg_extremum(op, fn, mx.flatten(x), 0, False)
        return out.reshape((1,) * x.ndim) if keepdims else out
    if x.ndim == 0:
        return mx.array(0, dtype=mx.int32)
    a = canonical_axis(axis, x.ndim, op)
    if x.shape[a] == 0:
        raise ValueError(f"{op}: cannot reduce over the zero-size axis {a} of an input of "
                         f"shape {tuple(x.shape)}: there is no index to return.")
    if x.size == 0:  # other axes are empty: so is the result
        return mx.zeros(reduced_shape(x.shape, (a,), keepdims), dtype=mx.int32)
    if is_float(x):
        # The first NaN wins, as in numpy and JAX.
        nan = mx.isnan(x)
        out = mx.where(mx.any(nan, axis=a, keepdims=keepdims),
                       mx.argmax(nan, axis=a, keepdims=keepdims),
                       fn(x, axis=a, keepdims=keepdims))
    else:
        out = fn(x, axis=a, keepdims=keepdims)
    return cast(out, "int32")


@keras_op
def argmax(x, axis=None, keepdims=False):
    """Index (int32) of the first largest element along ``axis`` (flattened if None)."""
    return _arg_extremum("argmax", mx.argmax, x, axis, keepdims)


@keras_op
def argmin(x, axis=None, keepdims=False):
    """Index (int32) of the first smallest element along ``axis`` (flattened if None)."""
    return _arg_extremum("argmin", mx.argmin, x, axis, keepdims)


@keras_op
def sum(x, axis=None, keepdims=False):
    """Sum along ``axis``; bool/int8/int16 sum in int32, uint8/uint16 in uint32."""
    x = tensor(x)
    axes = canonical_axes(axis, x.ndim, "sum")
    return reduce(mx.sum, cast(x, sum_dtype(x.dtype)), axes, keepdims, 0)


@keras_op
def prod(x, axis=None, keepdims=False, dtype=None):
    """Product along ``axis``, in ``dtype`` (default: the ``sum`` widening rule)."""
    x = tensor(x)
    axes = canonical_axes(axis, x.ndim, "prod")
    return reduce(mx.prod, cast(x, dtype or sum_dtype(x.dtype)), axes, keepdims, 1)


def _float_reduction(op, fn, x, axis, keepdims, out_dtype=None):
    x = tensor(x)
    axes = canonical_axes(axis, x.ndim, op)
    out_dtype = out_dtype or float_dtype(x.dtype)
    out = reduce(fn, cast(x, compute_dtype(out_dtype)), axes, keepdims, float("nan"))
    return cast(out, out_dtype)


@keras_op
def mean(x, axis=None, keepdims=False):
    """``sum(x) / n`` along ``axis``; ints and bools give floatx (NaN when empty)."""
    return _float_reduction("mean", mx.mean, x, axis, keepdims)


@keras_op
def var(x, axis=None, keepdims=False):
    """Population variance ``mean((x - mean(x))**2)`` along ``axis``."""
    return _float_reduction("var", mx.var, x, axis, keepdims)


@keras_op
def std(x, axis=None, keepdims=False):
    """Population standard deviation ``sqrt(var(x))`` along ``axis``."""
    return _float_reduction("std", mx.std, x, axis, keepdims)


@keras_op
def ptp(x, axis=None, keepdims=False):
    """Peak to peak: ``max(x) - min(x)`` along ``axis``; dtype kept."""
    x = tensor(x)
    axes = canonical_axes(axis, x.ndim, "ptp")
    if _any_zero(x.shape, axes):
        raise empty_reduction_error("ptp", x.shape, axes)
    return reduce(mx.max, x, axes, keepdims) - reduce(mx.min, x, axes, keepdims)


@keras_op
def count_nonzero(x, axis=None):
    """Number (int32) of non-zero elements along ``axis``."""
    x = tensor(x)
    axes = canonical_axes(axis, x.ndim, "count_nonzero")
    return reduce(mx.sum, cast(x != 0, "int32"), axes)


@keras_op
def average(x, axis=None, weights=None):
    """Weighted mean ``sum(x * w) / sum(w)`` along ``axis``; a 1-D ``weights`` runs
    along ``axis``. Without weights: ``mean``. Result: ``result_type(x, float, w)``."""
    x = tensor(x)
    if weights is None:
        return _float_reduction("average", mx.mean, x, axis, False)
    weights = tensor(weights)
    dtype = result_type(x.dtype, float, weights.dtype)
    x, weights = cast(x, compute_dtype(dtype)), cast(weights, compute_dtype(dtype))
    axes = canonical_axes(axis, x.ndim, "average")
    if weights.shape != x.shape:
        along_axis = (axis is not None and len(axes) == 1 and weights.ndim == 1
                      and weights.shape[0] == x.shape[axes[0]])
        if not along_axis:
            raise ValueError(
                "average: `weights` must have the shape of `x` or be 1-D with the length "
                f"of `x` along `axis`; received x of shape {tuple(x.shape)}, weights of "
                f"shape {tuple(weights.shape)} and axis={axis!r}.")
        weights = weights.reshape((1,) * axes[0] + (-1,) + (1,) * (x.ndim - axes[0] - 1))
    total = reduce(mx.sum, x * weights, axes)
    return cast(total / reduce(mx.sum, mx.broadcast_to(weights, x.shape), axes), dtype)


def _cumulative(op, fn, x, axis, dtype):
    x = tensor(x)
    if axis is None:
        x, axis = mx.flatten(x), 0
    axis = canonical_axis(axis, x.ndim, op)
    # Keras: bool accumulates in int32, every other dtype in itself.
    dtype = dtype or ("int32" if dtype_name(x) == "bool" else dtype_name(x))
    if x.size == 0:  # (MLX's scans divide by the axis length: ml-explore/mlx#4340)
        return cast(x, dtype)
    return fn(cast(x, dtype), axis=axis)


@keras_op
def cumsum(x, axis=None, dtype=None):
    """Running sum along ``axis`` (of the flattened input if None); bool gives int32."""
    return _cumulative("cumsum", mx.cumsum, x, axis, dtype)


@keras_op
def cumprod(x, axis=None, dtype=None):
    """Running product along ``axis`` (of the flattened input if None); bool gives int32."""
    return _cumulative("cumprod", mx.cumprod, x, axis, dtype)


def _slice(axis, sl):
    return (slice(None),) * axis + (sl,)


@keras_op
def diff(a, n=1, axis=-1):
    """``n``-th difference ``a[i + 1] - a[i]`` along ``axis`` (``!=`` for bools)."""
    a = tensor(a)
    if n < 0:
        raise ValueError(f"diff: `n` must be non-negative; received n={n}.")
    axis = canonical_axis(axis, a.ndim, "diff")
    for _ in range(n):
        if a.shape[axis] == 0:
            break
        upper = a[_slice(axis, slice(1, None))]
        lower = a[_slice(axis, slice(None, -1))]
        a = upper != lower if dtype_name(a) == "bool" else upper - lower
    return a


@keras_op
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Trapezoidal integral ``sum((y[i] + y[i+1]) / 2 * (x[i+1] - x[i]))`` along ``axis``
    (spacing ``dx`` when ``x`` is None); result ``result_type(y, float)``."""
    y = tensor(y)
    axis = canonical_axis(axis, y.ndim, "trapezoid")
    dtype = float_dtype(y.dtype)
    y = cast(y, compute_dtype(dtype))
    if x is None:
        spacing = mx.array(dx, dtype=y.dtype)
    else:
        x = cast(tensor(x), y.dtype)
        spacing = diff(x, axis=-1 if x.ndim == 1 else axis)
        if x.ndim == 1:  # a 1-D x runs along `axis`
            spacing = spacing.reshape((-1,) + (1,) * (y.ndim - axis - 1))
    upper = y[_slice(axis, slice(1, None))]
    lower = y[_slice(axis, slice(None, -1))]
    return cast(reduce(mx.sum, (upper + lower) * spacing / 2, (axis,)), dtype)
