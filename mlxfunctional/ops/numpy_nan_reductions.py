"""Reductions that skip NaNs: ``nansum``, ``nanmean``, ``nanmax``, ``nanargmax``...

Each is its plain reduction on ``x`` with NaNs replaced by the reduction's
identity (0 for sums, 1 for products, -inf for maxima...), then fixed up
where a whole slice was NaN: ``nanmax``/``nanmean`` give NaN there and
``nanargmax`` gives -1, as JAX does. Integer and bool inputs hold no NaN and
reduce as the plain op does. Dtypes follow the plain ops.
"""

import mlx.core as mx

from .operation import keras_op
from .reduction_utils import (canonical_axes, canonical_axis, cast, compute_dtype, dtype_name,
                              float_dtype, is_float, reduce, reduced_shape, sum_dtype, tensor)

__all__ = ["nansum", "nanprod", "nanmean", "nanmax", "nanmin", "nanvar", "nanstd",
           "nanargmax", "nanargmin", "nancumsum", "nancumprod"]


def _filled(x, value):
    """``x`` with NaNs replaced by ``value`` (ints and bools have none)."""
    return mx.where(mx.isnan(x), mx.array(value, dtype=x.dtype), x) if is_float(x) else x


@keras_op
def nansum(x, axis=None, keepdims=False):
    """``sum`` with NaNs counted as 0."""
    x = tensor(x)
    axes = canonical_axes(axis, x.ndim, "nansum")
    return reduce(mx.sum, cast(_filled(x, 0), sum_dtype(x.dtype)), axes, keepdims, 0)


@keras_op
def nanprod(x, axis=None, keepdims=False):
    """``prod`` with NaNs counted as 1."""
    x = tensor(x)
    axes = canonical_axes(axis, x.ndim, "nanprod")
    return reduce(mx.prod, cast(_filled(x, 1), sum_dtype(x.dtype)), axes, keepdims, 1)


def _count(x, axes, keepdims):
    """Number of non-NaN elements along ``axes`` (as x's dtype, for dividing)."""
    return reduce(mx.sum, (~mx.isnan(x)).astype(x.dtype), axes, keepdims)


@keras_op
def nanmean(x, axis=None, keepdims=False):
    """``nansum(x) / (number of non-NaN elements)``; NaN for an all-NaN slice."""
    x = tensor(x)
    axes = canonical_axes(axis, x.ndim, "nanmean")
    dtype = float_dtype(x.dtype)
    x = cast(x, compute_dtype(dtype))
    mean = reduce(mx.sum, _filled(x, 0), axes, keepdims) / _count(x, axes, keepdims)
    return cast(mean, dtype)


@keras_op
def nanvar(x, axis=None, keepdims=False):
    """Population variance over the non-NaN elements; NaN for an all-NaN slice."""
    x = tensor(x)
    axes = canonical_axes(axis, x.ndim, "nanvar")
    dtype = float_dtype(x.dtype)
    x = cast(x, compute_dtype(dtype))
    count = _count(x, axes, True)
    mean = reduce(mx.sum, _filled(x, 0), axes, True) / count
    squares = _filled(mx.square(x - mean), 0)
    out = reduce(mx.sum, squares, axes, True) / count
    if not keepdims:
        out = out.reshape(reduced_shape(x.shape, axes, False))
    return cast(out, dtype)


@keras_op
def nanstd(x, axis=None, keepdims=False):
    """``sqrt(nanvar(x))``."""
    return mx.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


def _nan_extremum(op, fn, fill, x, axis, keepdims):
    x = tensor(x)
    axes = canonical_axes(axis, x.ndim, op)
    if any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"{op}: cannot reduce over a zero-size axis (input shape "
                         f"{tuple(x.shape)}, axes {axes}): {op} has no identity value.")
    if not is_float(x):
        return reduce(fn, x, axes, keepdims)
    out = reduce(fn, _filled(x, fill), axes, keepdims)
    all_nan = reduce(mx.all, mx.isnan(x), axes, keepdims)
    return mx.where(all_nan, mx.array(float("nan"), dtype=x.dtype), out)


@keras_op
def nanmax(x, axis=None, keepdims=False):
    """``max`` ignoring NaNs; NaN for an all-NaN slice."""
    return _nan_extremum("nanmax", mx.max, -float("inf"), x, axis, keepdims)


@keras_op
def nanmin(x, axis=None, keepdims=False):
    """``min`` ignoring NaNs; NaN for an all-NaN slice."""
    return _nan_extremum("nanmin", mx.min, float("inf"), x, axis, keepdims)


def _nan_arg_extremum(op, fn, fill, x, axis, keepdims):
    x = tensor(x)
    if axis is None or x.ndim == 0:
        out = _nan_arg_extremum(op, fn, fill, mx.flatten(x), 0, False)
        return out.reshape((1,) * x.ndim) if keepdims else out
    a = canonical_axis(axis, x.ndim, op)
    if x.shape[a] == 0:
        raise ValueError(f"{op}: cannot reduce over the zero-size axis {a} of an input of "
                         f"shape {tuple(x.shape)}: there is no index to return.")
    if x.size == 0:  # other axes are empty: so is the result
        return mx.zeros(reduced_shape(x.shape, (a,), keepdims), dtype=mx.int32)
    out = cast(fn(_filled(x, fill), axis=a, keepdims=keepdims), "int32")
    if is_float(x):  # JAX's convention: -1 where the whole slice is NaN
        all_nan = mx.all(mx.isnan(x), axis=a, keepdims=keepdims)
        out = mx.where(all_nan, mx.array(-1, dtype=mx.int32), out)
    return out


@keras_op
def nanargmax(x, axis=None, keepdims=False):
    """``argmax`` ignoring NaNs (int32); -1 for an all-NaN slice."""
    return _nan_arg_extremum("nanargmax", mx.argmax, -float("inf"), x, axis, keepdims)


@keras_op
def nanargmin(x, axis=None, keepdims=False):
    """``argmin`` ignoring NaNs (int32); -1 for an all-NaN slice."""
    return _nan_arg_extremum("nanargmin", mx.argmin, float("inf"), x, axis, keepdims)


def _nan_cumulative(op, fn, fill, x, axis, dtype):
    x = tensor(x)
    if axis is None:
        x, axis = mx.flatten(x), 0
    axis = canonical_axis(axis, x.ndim, op)
    dtype = dtype or ("int32" if dtype_name(x) == "bool" else dtype_name(x))
    if x.size == 0:  # (MLX's scans divide by the axis length: ml-explore/mlx#4340)
        return cast(x, dtype)
    return fn(cast(_filled(x, fill), dtype), axis=axis)


@keras_op
def nancumsum(x, axis=None, dtype=None):
    """``cumsum`` with NaNs counted as 0."""
    return _nan_cumulative("nancumsum", mx.cumsum, 0, x, axis, dtype)


@keras_op
def nancumprod(x, axis=None, dtype=None):
    """``cumprod`` with NaNs counted as 1."""
    return _nan_cumulative("nancumprod", mx.cumprod, 1, x, axis, dtype)
