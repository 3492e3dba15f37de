"""``pad``: numpy's padding modes composed from MLX gathers and reductions.

MLX pads with a constant or the edge only. Every other index-based mode is a
gather along each axis with indices computed from the static shape: for
positions ``i`` from ``-before`` to ``n + after - 1``,

- ``edge``:      ``clip(i, 0, n - 1)``
- ``wrap``:      ``i mod n``                      (``circular`` is its torch name)
- ``reflect``:   ``i mod 2(n-1)``, folded back at ``n - 1`` (the edge not repeated)
- ``symmetric``: ``i mod 2n``, folded back at ``n`` (the edge repeated)

The statistic modes (``maximum``, ``minimum``, ``mean``, ``median``) fill with
the statistic of the whole axis, and ``linear_ramp`` ramps from 0 to the edge.
Axes are padded one after another, as numpy does, so corners see the values
padded before them.
"""

import mlx.core as mx

from .. import backend
from .dtypes import convert_to_tensor
from .operation import keras_op

__all__ = ["pad"]

_GATHER_MODES = ("edge", "wrap", "circular", "reflect", "symmetric")
_STAT_MODES = ("maximum", "minimum", "mean", "median")
_MODES = ("constant", "empty", "linear_ramp") + _GATHER_MODES + _STAT_MODES


def _pad_pairs(pad_width, ndim):
    """``pad_width`` (an int, ``(n,)``, ``(before, after)``, ``((b, a),)`` or one
    pair per axis) as ``ndim`` pairs of non-negative ints."""
    if hasattr(pad_width, "tolist"):
        pad_width = pad_width.tolist()
    if isinstance(pad_width, int):
        pad_width = [(pad_width,)]
    elif not any(isinstance(p, (list, tuple)) for p in pad_width):
        pad_width = [tuple(pad_width)]  # (n,) or (before, after): one pair for all axes
    rows = [tuple(p) if isinstance(p, (list, tuple)) else (p,) for p in pad_width]
    rows = [row * 2 if len(row) == 1 else row for row in rows]  # (n,) is (n, n)
    if any(len(row) != 2 for row in rows) or len(rows) not in (1, ndim):
        raise ValueError(f"pad: `pad_width` must give 1 or {ndim} (before, after) pairs "
                         f"for an input of {ndim} dimensions; received {pad_width}.")
    pairs = rows * ndim if len(rows) == 1 else rows
    pairs = [(int(b), int(a)) for b, a in pairs]
    if any(b < 0 or a < 0 for b, a in pairs):
        raise ValueError(f"pad: pad widths must be >= 0; received {pairs}.")
    return pairs


def _source_index(mode, n, before, after):
    """For each padded position along an axis of length ``n``, the source index."""
    i = mx.arange(-before, n + after)
    if mode == "edge":
        return mx.clip(i, 0, n - 1)
    if mode in ("wrap", "circular"):
        return i % n
    if mode == "reflect":
        if n == 1:
            return mx.zeros_like(i)
        j = i % (2 * (n - 1))
        return mx.where(j >= n, 2 * (n - 1) - j, j)
    j = i % (2 * n)  # symmetric
    return mx.where(j >= n, 2 * n - 1 - j, j)


def _along(x, axis, left, right):
    """``left``, ``x``, ``right`` joined along ``axis``."""
    return mx.concatenate([left, x, right], axis=axis)


def _fill(x, axis, width, values):
    shape = list(x.shape)
    shape[axis] = width
    return mx.broadcast_to(values, shape)


def _statistic(x, axis, mode):
    if mode == "maximum":
        return mx.max(x, axis=axis, keepdims=True)
    if mode == "minimum":
        return mx.min(x, axis=axis, keepdims=True)
    if mode == "mean":
        value = mx.mean(x.astype(mx.float32), axis=axis, keepdims=True)
    else:  # median: the middle of the sorted axis (mean of the two middles if even)
        ordered = mx.sort(x.astype(mx.float32), axis=axis)
        n = x.shape[axis]
        lo = mx.take(ordered, mx.array([(n - 1) // 2]), axis=axis)
        hi = mx.take(ordered, mx.array([n // 2]), axis=axis)
        value = (lo + hi) / 2
    if not backend.is_float_dtype(x.dtype):
        value = mx.round(value)  # numpy rounds the statistic for integer arrays
    return value.astype(x.dtype)


def _linear_ramp(x, axis, before, after):
    """Ramps from 0 up to (not including) the edge value, numpy's end_values=0."""
    n = x.shape[axis]
    shape = [1] * x.ndim
    shape[axis] = -1

    def ramp(width, edge, rising):
        t = mx.arange(width, dtype=mx.float32) / max(width, 1)
        values = edge.astype(mx.float32) * t.reshape(shape)
        if not rising:
            values = values[tuple(slice(None, None, -1) if a == axis else slice(None)
                                  for a in range(x.ndim))]
        if not backend.is_float_dtype(x.dtype):
            values = mx.floor(values)
        return values.astype(x.dtype)

    first = mx.take(x, mx.array([0]), axis=axis)
    last = mx.take(x, mx.array([n - 1]), axis=axis)
    return _along(x, axis, ramp(before, first, True), ramp(after, last, False))


@keras_op
def pad(x, pad_width, mode="constant", constant_values=None):
    """``x`` padded by ``pad_width`` (per axis ``(before, after)``) with ``mode``:
    constant (``constant_values``, default 0), edge, reflect, symmetric, wrap
    (or circular), maximum, minimum, mean, median, linear_ramp or empty."""
    x = convert_to_tensor(x)
    if mode not in _MODES:
        raise ValueError(f"pad: unknown `mode` {mode!r}; expected one of {_MODES}.")
    if constant_values is not None and mode != "constant":
        raise ValueError("pad: `constant_values` can only be given with "
                         f"mode='constant'; received mode={mode!r}.")
    pairs = _pad_pairs(pad_width, x.ndim)
    if mode in ("constant", "empty"):
        value = 0 if constant_values is None else constant_values
        value = convert_to_tensor(value).astype(x.dtype)
        if value.ndim:
            raise ValueError("pad: `constant_values` must be a scalar; received shape "
                             f"{value.shape}.")
        return mx.pad(x, pairs, constant_values=value)
    for axis, (before, after) in enumerate(pairs):
        if before == after == 0:
            continue
        n = x.shape[axis]
        if n == 0:
            raise ValueError(f"pad: cannot pad the empty axis {axis} with mode {mode!r} "
                             "(there are no values to repeat).")
        if mode in _GATHER_MODES:
            x = mx.take(x, _source_index(mode, n, before, after), axis=axis)
        elif mode in _STAT_MODES:
            value = _statistic(x, axis, mode)
            x = _along(x, axis, _fill(x, axis, before, value), _fill(x, axis, after, value))
        else:
            x = _linear_ramp(x, axis, before, after)
    return x
