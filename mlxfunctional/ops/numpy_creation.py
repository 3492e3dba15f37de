"""The numpy-style ops that make new arrays: filled, ranged, triangular, meshed.

Keras' dtype defaults, which differ from numpy's: ``zeros``/``ones``/``full``/
``empty``/``eye``/``identity``/``tri`` make ``floatx()`` arrays unless told
otherwise (even ``full(shape, 1)``); the ``*_like`` ops keep the input's dtype;
``arange`` infers its dtype from its arguments with weak Python scalars
(``arange(5)`` is int32, ``arange(0, 1, 0.5)`` float32); ``linspace``,
``logspace`` and ``geomspace`` are float unless a dtype is given.

Sizes and counts (``shape``, ``num``, ``N``) are static: they fix the output
shape, which MLX must know when it builds the graph.
"""

import math

import mlx.core as mx

from .. import backend
from .dtypes import convert_to_tensor, result_type
from .operation import keras_op

__all__ = [
    "arange", "array", "copy", "empty", "empty_like", "eye", "full", "full_like",
    "geomspace", "identity", "linspace", "logspace", "meshgrid", "ones", "ones_like",
    "tri", "zeros", "zeros_like",
]


def _dtype(dtype, default=None):
    """``dtype`` as an ``mx.Dtype``; ``default`` (floatx when None) when dtype is None."""
    return backend.mlx_dtype(dtype if dtype is not None else (default or backend.floatx()))


def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(int(d) for d in shape)


@keras_op
def zeros(shape, dtype=None):
    """An array of ``shape`` filled with 0 (``floatx()`` by default)."""
    return mx.zeros(_shape(shape), dtype=_dtype(dtype))


@keras_op
def ones(shape, dtype=None):
    """An array of ``shape`` filled with 1 (``floatx()`` by default)."""
    return mx.ones(_shape(shape), dtype=_dtype(dtype))


@keras_op
def empty(shape, dtype=None):
    """An array of ``shape`` (MLX has no uninitialized memory: it holds zeros)."""
    return mx.zeros(_shape(shape), dtype=_dtype(dtype))


@keras_op
def full(shape, fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value`` (broadcast); ``floatx()`` by
    default, as Keras, whatever the fill's type."""
    fill = convert_to_tensor(fill_value)
    # (mx.full ignores `dtype` for an array fill: cast after broadcasting.)
    return mx.broadcast_to(fill, _shape(shape)).astype(_dtype(dtype))


def _like(x, dtype):
    x = convert_to_tensor(x)
    return x, (x.dtype if dtype is None else backend.mlx_dtype(dtype))


@keras_op
def zeros_like(x, dtype=None):
    """Zeros of ``x``'s shape and (unless ``dtype``) dtype."""
    x, dtype = _like(x, dtype)
    return mx.zeros(x.shape, dtype=dtype)


@keras_op
def ones_like(x, dtype=None):
    """Ones of ``x``'s shape and (unless ``dtype``) dtype."""
    x, dtype = _like(x, dtype)
    return mx.ones(x.shape, dtype=dtype)


@keras_op
def empty_like(x, dtype=None):
    """An array of ``x``'s shape and (unless ``dtype``) dtype, holding zeros."""
    return zeros_like(x, dtype)


@keras_op
def full_like(x, fill_value, dtype=None):
    """``fill_value`` broadcast to ``x``'s shape, in ``x``'s dtype unless ``dtype``."""
    x, dtype = _like(x, dtype)
    return mx.broadcast_to(convert_to_tensor(fill_value), x.shape).astype(dtype)


@keras_op
def array(x, dtype=None):
    """``x`` as an array (numpy float64/int64 become float32/int32 unless ``dtype``)."""
    return convert_to_tensor(x, dtype)


@keras_op
def copy(x):
    """A copy of ``x`` (MLX arrays are immutable: a new array of the same values)."""
    return mx.array(convert_to_tensor(x))


def _scalar_dtype(value):
    # Arrays count with their dtype, Python numbers as weak scalars (by type).
    if isinstance(value, (list, tuple)):
        return convert_to_tensor(value).dtype
    return value.dtype if hasattr(value, "dtype") else type(value)


def _python_number(value):
    return value.item() if hasattr(value, "item") else value


@keras_op
def arange(start, stop=None, step=None, dtype=None):
    """``start, start + step, ...`` below ``stop`` (``arange(n)`` is ``0..n-1``); the
    dtype is that of the arguments, Python ints giving int32 and floats floatx."""
    if dtype is None:
        given = [v for v in (start, stop, step) if v is not None]
        dtype = result_type(*[_scalar_dtype(v) for v in given])
    start, stop, step = (_python_number(v) for v in (start, stop, step))
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    if step == 0:
        raise ValueError("arange: `step` must not be 0.")
    return mx.arange(start, stop, step, dtype=backend.mlx_dtype(dtype))


def _float_result(start, stop, dtype):
    """Keras' dtype for linspace & co: the given one, else start/stop's promoted
    with a (weak) float -- so int endpoints give floatx."""
    if dtype is not None:
        return backend.standardize_dtype(dtype)
    return result_type(_scalar_dtype(start), _scalar_dtype(stop), float)


def _ramp(start, stop, num, endpoint, axis):
    """``num`` evenly spaced float32 samples from ``start`` to ``stop`` (arrays,
    broadcast) on a new axis ``axis``, and the step."""
    start = convert_to_tensor(start).astype(mx.float32)
    stop = convert_to_tensor(stop).astype(mx.float32)
    start, stop = mx.broadcast_arrays(start, stop)
    num = int(num)
    if num < 0:
        raise ValueError(f"linspace: `num` must be >= 0; received {num}.")
    divisions = num - 1 if endpoint else num
    delta = stop - start
    steps = mx.arange(num, dtype=mx.float32).reshape((num,) + (1,) * start.ndim)
    if divisions > 0:
        step = delta / divisions
        samples = start + steps * step
        if endpoint and num > 1:  # the last sample is exactly `stop`, as numpy's
            samples = mx.concatenate([samples[:-1], stop[None]], axis=0)
    else:  # 0 or 1 samples: the step is undefined (numpy says NaN)
        step = mx.full(delta.shape, math.nan, dtype=mx.float32)
        samples = start + steps * 0
    out_axis = axis + samples.ndim if axis < 0 else axis
    if not 0 <= out_axis < samples.ndim:
        raise ValueError(f"linspace: `axis` {axis} is out of range for an output of "
                         f"{samples.ndim} dimensions.")
    return mx.moveaxis(samples, 0, out_axis), step


def _cast_float_result(samples, dtype):
    if not backend.is_float_dtype(dtype) and not dtype.startswith("complex"):
        samples = mx.floor(samples)  # integer dtypes round down, as numpy's
    return samples.astype(backend.mlx_dtype(dtype))


@keras_op
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop`` (included when
    ``endpoint``): ``start + i * (stop - start) / (num - endpoint)``; with
    ``retstep`` also the spacing."""
    out_dtype = _float_result(start, stop, dtype)
    samples, step = _ramp(start, stop, num, endpoint, axis)
    samples = _cast_float_result(samples, out_dtype)
    if retstep:
        return samples, step.astype(backend.mlx_dtype(out_dtype)
                                    if backend.is_float_dtype(out_dtype) else mx.float32)
    return samples


@keras_op
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """``base ** linspace(start, stop, ...)``: ``num`` values evenly spaced on a log scale."""
    out_dtype = _float_result(start, stop, dtype)
    exponents, _ = _ramp(start, stop, num, endpoint, axis)
    base = convert_to_tensor(base).astype(mx.float32)
    if base.ndim:  # an array base broadcasts like start/stop, on the new axis too
        base = mx.expand_dims(base, axis)
    return _cast_float_result(mx.power(base, exponents), out_dtype)


@keras_op
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` values in geometric progression from ``start`` to ``stop``:
    ``sign * exp(linspace(log|start|, log|stop|))``, the ends exact. ``start`` and
    ``stop`` share one sign (the values of a sign change would be complex)."""
    out_dtype = _float_result(start, stop, dtype)
    start_t = convert_to_tensor(start).astype(mx.float32)
    stop_t = convert_to_tensor(stop).astype(mx.float32)
    logs, _ = _ramp(mx.log(mx.abs(start_t)), mx.log(mx.abs(stop_t)), num, endpoint, 0)
    sign = mx.sign(start_t)
    samples = sign * mx.exp(logs)
    if int(num) > 0:  # the ends exactly, not through exp(log(.))
        ends = [mx.broadcast_to(start_t, samples.shape[1:])[None], samples[1:]]
        samples = mx.concatenate(ends, axis=0)
        if endpoint and int(num) > 1:
            last = mx.broadcast_to(stop_t, samples.shape[1:])[None]
            samples = mx.concatenate([samples[:-1], last], axis=0)
    out_axis = axis + samples.ndim if axis < 0 else axis
    return _cast_float_result(mx.moveaxis(samples, 0, out_axis), out_dtype)


@keras_op
def eye(N, M=None, k=0, dtype=None):
    """An ``N x M`` matrix with ones on diagonal ``k`` (0 the main, >0 above)."""
    return mx.eye(int(N), None if M is None else int(M), k=int(k), dtype=_dtype(dtype))


@keras_op
def identity(n, dtype=None):
    """The ``n x n`` identity matrix."""
    return mx.identity(int(n), dtype=_dtype(dtype))


@keras_op
def tri(N, M=None, k=0, dtype=None):
    """An ``N x M`` matrix with ones at and below diagonal ``k``: ``j <= i + k``."""
    return mx.tri(int(N), None if M is None else int(M), k=int(k), dtype=_dtype(dtype))


@keras_op
def meshgrid(*x, indexing="xy"):
    """Coordinate arrays from 1-D coordinate vectors: ``"xy"`` (Cartesian, the first
    two output axes swapped) or ``"ij"`` (matrix) indexing."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: `indexing` must be 'xy' or 'ij'; received {indexing!r}.")
    arrays = [convert_to_tensor(v).reshape(-1) for v in x]
    return mx.meshgrid(*arrays, indexing=indexing)
