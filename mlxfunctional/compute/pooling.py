"""Pooling math: windows over channels-last arrays, for the pooling layers and
``keras.ops`` (max/average and adaptive pooling).

Keras/TensorFlow semantics on channels-last inputs: ``"same"`` pads
``max((ceil(n/s)-1)*s + k - n, 0)`` cells per dimension with the odd one at the
end; max pooling never picks a padded cell and average pooling divides by the
number of real cells in each window (``mlx.nn.AvgPool`` counts the padding).

How the windows are expressed decides the cost of the backward pass. Forward +
``mx.grad`` of 2D max pooling on (64, 30, 30, 64) float32, MLX 0.32.4 CPU build,
2 shared cores (ranges over noisy runs):

    form                                        pool 3 stride 3   pool 3 stride 2
    as_strided windows + max (mlx.nn's form)        173-207 ms        306-385 ms
    9 shifted strided slices + maximum              130-376 ms        154-218 ms
    per-axis strided slices (separable)              59-90 ms          90-131 ms
    the same with a hand-written vjp                    -              85-111 ms
    reshape into blocks + max                          9-15 ms             -

So disjoint windows (stride >= pool) are blocks of a reshape, and overlapping
ones are pooled one axis at a time from strided slices (max and sum are
separable); the hand-written vjp did not pay for itself. Average pooling is
cheaper still (about 4 and 17 ms). At exact ties the gradient is shared among the
tied cells (blocks) or goes to the later cell (slices); TensorFlow picks the first.
"""

import math

import mlx.core as mx
import numpy as np

from ..engine import argument_validation as check


def standardize_data_format(data_format, layer_cls):
    """``"channels_last"``; channels_first gets a clear error (MLX is channels-last)."""
    if data_format is None or data_format == "channels_last":
        return "channels_last"
    if data_format == "channels_first":
        raise ValueError(
            f"{layer_cls.__name__}: data_format='channels_first' is not supported (MLX is "
            "channels-last). Transpose inputs to (batch, ..., channels) and use "
            "data_format='channels_last'.")
    raise ValueError(f"{layer_cls.__name__}: data_format must be 'channels_last' or "
                     f"'channels_first'. Received: data_format={data_format!r}")


def standardize_tuple(value, n, name, allow_zero=False):
    """An int or a sequence of ``n`` ints as a tuple of ``n`` ints (for the ops; the
    layers call ``argument_validation.int_tuple`` with their class)."""
    return check.int_tuple(None, name, value, n, allow_zero=allow_zero)


def _pool_geometry(n, k, s, padding):
    """``(output size, pad before, pad after)`` of one spatial dimension."""
    if padding == "valid":
        return (n - k) // s + 1, 0, 0
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def _along(axis, index):
    """An index tuple applying ``index`` on ``axis`` only."""
    return (slice(None),) * axis + (index,)


def _pad_axis(x, axis, lo, hi, fill):
    widths = [(0, 0)] * x.ndim
    widths[axis] = (lo, hi)
    return mx.pad(x, widths, constant_values=fill)


def pool_axis(x, axis, k, s, out, mode):
    """Max or sum over windows ``[i*s, i*s + k)`` (``i < out``) along one axis."""
    if s >= k:
        # Disjoint windows: each is the head of a block of s cells, so crop or pad
        # to out*s cells, reshape into (out, s) and reduce the first k of each block.
        n = x.shape[axis]
        if n > out * s:
            x = x[_along(axis, slice(0, out * s))]
        elif n < out * s:
            x = _pad_axis(x, axis, 0, out * s - n, 0)  # beyond the first k: never read
        blocks = x.reshape(x.shape[:axis] + (out, s) + x.shape[axis + 1:])
        if k < s:
            blocks = blocks[_along(axis + 1, slice(0, k))]
        return mx.max(blocks, axis=axis + 1) if mode == "max" else mx.sum(blocks, axis=axis + 1)
    # Overlapping windows: combine k strided slices, the j-th cell of every window.
    result = None
    for j in range(k):
        cells = x[_along(axis, slice(j, j + (out - 1) * s + 1, s))]
        if result is None:
            result = cells
        else:
            result = mx.maximum(result, cells) if mode == "max" else result + cells
    return result


def pool_blocks(x, pool_size, strides, out, mode):
    """Max or sum over disjoint windows (every ``stride >= pool``) of axes ``1..d`` in one
    reduction: each axis cropped or padded to ``out * s`` cells and split into ``(out, s)``
    blocks, the first ``k`` cells of every block reduced together. One reduction (and
    one gradient) instead of one per axis. Measured (CPU ms, medians of 7, alternating):
    64x28x28x64 pool 3 (the toy ResNet's) forward+gradient 19.3 against 21.3 axis by
    axis; 8x224x224x64 pool 2 (VGG19's first) forward 30.7 against 62.8, forward+gradient
    180 against 300."""
    shape = [x.shape[0]]
    for i, (k, s, o) in enumerate(zip(pool_size, strides, out)):
        n = x.shape[i + 1]
        if n > o * s:
            x = x[_along(i + 1, slice(0, o * s))]
        elif n < o * s:
            x = _pad_axis(x, i + 1, 0, o * s - n, 0)  # beyond the first k: never read
        shape += [o, s]
    blocks = x.reshape(shape + [x.shape[-1]])
    if any(k < s for k, s in zip(pool_size, strides)):
        blocks = blocks[(slice(None),) + tuple(v for k in pool_size
                                               for v in (slice(None), slice(0, k)))]
    axes = tuple(2 + 2 * i for i in range(len(pool_size)))
    return mx.max(blocks, axis=axes) if mode == "max" else mx.sum(blocks, axis=axes)


def pool(x, pool_size, strides, padding, mode):
    """Max (``mode="max"``) or average pooling over axes ``1..d`` of a channels-last array."""
    spatial = x.shape[1:-1]
    geometry = [_pool_geometry(n, k, s, padding) for n, k, s in zip(spatial, pool_size, strides)]
    if any(lo or hi for _, lo, hi in geometry):
        if mode == "max":
            fill = -math.inf if mx.issubdtype(x.dtype, mx.floating) else mx.iinfo(x.dtype).min
        else:
            fill = 0
        x = mx.pad(x, [(0, 0)] + [(lo, hi) for _, lo, hi in geometry] + [(0, 0)],
                   constant_values=fill)
    if all(s >= k for k, s in zip(pool_size, strides)):
        x = pool_blocks(x, pool_size, strides, [out for out, _, _ in geometry], mode)
    else:
        for i, (k, s, (out, _, _)) in enumerate(zip(pool_size, strides, geometry)):
            x = pool_axis(x, i + 1, k, s, out, mode)
    if mode == "max":
        return x
    # Real (unpadded) cells per window, a constant of the static shapes.
    counts = np.ones((1,) * x.ndim, dtype=np.float32)
    for i, (n, k, s, (out, lo, _)) in enumerate(zip(spatial, pool_size, strides, geometry)):
        start = np.arange(out) * s - lo
        per_axis = np.minimum(start + k, n) - np.maximum(start, 0)
        counts = counts * per_axis.reshape((1,) * (i + 1) + (out,) + (1,) * (x.ndim - i - 2))
    dtype = x.dtype if mx.issubdtype(x.dtype, mx.floating) else mx.float32
    return x.astype(dtype) / mx.array(counts, dtype=dtype)


# -- adaptive pooling: Keras 3.15's windows [floor(i*n/out), ceil((i+1)*n/out))
def adaptive_windows(n, out):
    """``(starts, ends)`` of the ``out`` windows of an axis of size ``n`` (numpy ints)."""
    starts = (np.arange(out) * n) // out
    ends = -((-np.arange(1, out + 1) * n) // out)  # ceil without floats
    return starts, ends


def adaptive_pool_axis(x, axis, out, mode):
    """Max (``mode="max"``) or mean over the adaptive windows of one axis of ``x``."""
    n = x.shape[axis]
    starts, ends = adaptive_windows(n, out)
    sizes = ends - starts
    # Every window of one size is one row of a stride-1 pooling of that size, so
    # pool once per size (at most two), concatenate, and pick each cell's row with
    # an index known from the shapes alone (no host sync inside a compiled step).
    pooled, offset, picks = [], 0, np.zeros(out, np.int32)
    for size in sorted(set(sizes.tolist())):
        rows = n - size + 1
        p = pool_axis(x, axis, size, 1, rows, mode)
        pooled.append(p if mode == "max" else p / size)
        chosen = sizes == size
        picks[chosen] = starts[chosen] + offset
        offset += rows
    both = pooled[0] if len(pooled) == 1 else mx.concatenate(pooled, axis=axis)
    return mx.take(both, mx.array(picks), axis=axis)


def adaptive_pool(x, output_size, mode):
    """Adaptive pooling of every spatial axis (``1..rank``) of a channels-last array."""
    if mode != "max" and not mx.issubdtype(x.dtype, mx.floating):
        x = x.astype(mx.float32)  # a mean of integers is fractional
    for i, out in enumerate(output_size):
        x = adaptive_pool_axis(x, i + 1, out, mode)
    return x
