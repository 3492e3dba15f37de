"""``scatter``, ``scatter_update``, ``slice`` and ``slice_update`` with bounds kept.

MLX's gathers and scatters do not check bounds: an index past the end reads
or writes someone else's memory (a negative dynamic slice start can crash the
process). So every index here is checked or made safe before MLX sees it:

- eagerly (indices known), an out-of-range index is an error naming the op,
  the index and the valid range;
- inside a compiled trace (indices unknown until run time) the op follows
  JAX, which Keras' semantics come from: a slice's start is clamped so the
  slice fits, and a scatter's out-of-range updates are dropped (they are sent
  to a scratch row that is cut off afterwards).

Negative scatter indices count from the end, as in numpy.
"""

import builtins
import math

import mlx.core as mx

from .control_flow import concrete
from .dtypes import convert_to_tensor
from .operation import keras_op

__all__ = ["scatter", "scatter_update", "slice", "slice_update"]

_REDUCTIONS = ("add", "max", "min", "mul")


def _linear_indices(indices, shape, op):
    """The flat position in ``shape[:k]`` of each ``k``-index in ``indices`` (``(..., k)``),
    with out-of-range ones (error eagerly, else) sent to the scratch row ``prod(shape[:k])``."""
    indices = convert_to_tensor(indices)
    if not mx.issubdtype(indices.dtype, mx.integer):
        raise TypeError(f"{op}: `indices` must be integers; received dtype {indices.dtype}.")
    if indices.ndim == 0 or indices.shape[-1] > len(shape):
        raise ValueError(f"{op}: `indices` must have shape (..., k) with k <= {len(shape)} "
                         f"(the rank of the target); received shape {tuple(indices.shape)}.")
    k = indices.shape[-1]
    # Compared before any cast to int32, which would wrap 2**32 + 1 into range.
    wide = mx.int32 if indices.dtype in (mx.int8, mx.int16, mx.int32, mx.uint8, mx.uint16) \
        else mx.int64
    dims = mx.array(shape[:k], dtype=wide)
    idx = indices.reshape(-1, k).astype(wide)
    idx = mx.where(idx < 0, idx + dims, idx)  # numpy's negative indices
    valid = mx.all((idx >= 0) & (idx < dims), axis=-1)
    idx = mx.where(valid[:, None], idx, 0).astype(mx.int32)
    if concrete(valid) is not None and not valid.all().item():
        bad = int(mx.argmin(valid.astype(mx.int32)).item())
        raise IndexError(
            f"{op}: index {indices.reshape(-1, k)[bad].tolist()} (update {bad}) is out of "
            f"range for the target's leading dims {tuple(shape[:k])} (each index i must "
            f"satisfy -dim <= i < dim).")
    strides = [math.prod(shape[j + 1:k]) for j in range(k)]
    linear = (idx * mx.array(strides, dtype=mx.int32)).sum(axis=-1) if k else \
        mx.zeros((idx.shape[0],), mx.int32)
    return mx.where(valid, linear, math.prod(shape[:k])), k


def _scatter_into(target, indices, updates, reduction, op):
    """``target`` with ``updates`` written at ``indices`` (combined by ``reduction``)."""
    shape = tuple(target.shape)
    linear, k = _linear_indices(indices, shape, op)
    rest = shape[k:]
    n = linear.shape[0]
    updates = convert_to_tensor(updates).astype(target.dtype)
    want = tuple(convert_to_tensor(indices).shape[:-1]) + rest
    if updates.size != n * math.prod(rest):
        raise ValueError(f"{op}: `updates` must have shape {want} (indices' leading dims "
                         f"then the target's dims after the k={k} indexed ones); received "
                         f"{tuple(updates.shape)}.")
    updates = mx.broadcast_to(updates.reshape(want), want).reshape((n,) + rest)
    rows = math.prod(shape[:k])
    # One scratch row past the end takes every out-of-range update.
    flat = mx.concatenate([target.reshape((rows,) + rest), mx.zeros((1,) + rest, target.dtype)])
    if reduction is None:
        # Last write wins, as Keras documents: each row keeps only its last update
        # (found with a max-scatter of update positions); the others go to scratch.
        order = mx.arange(n, dtype=mx.int32)
        last = mx.full((rows + 1,), -1, mx.int32).at[linear].maximum(order)
        linear = mx.where(last[linear] == order, linear, rows)
        flat[linear] = updates
    elif reduction == "add":
        flat = flat.at[linear].add(updates)
    elif reduction == "mul":
        flat = flat.at[linear].multiply(updates)
    elif reduction == "max":
        flat = flat.at[linear].maximum(updates)
    else:
        flat = flat.at[linear].minimum(updates)
    return flat[:rows].reshape(shape)


@keras_op
def scatter(indices, values, shape):
    """A zero tensor of ``shape`` with ``values`` added at ``indices`` (``(..., k)``,
    ``k <= len(shape)``; repeated indices accumulate)."""
    values = convert_to_tensor(values)
    shape = tuple(int(d) for d in shape)
    return _scatter_into(mx.zeros(shape, values.dtype), indices, values, "add", "scatter")


@keras_op
def scatter_update(inputs, indices, updates, reduction=None):
    """``inputs`` with ``inputs[indices] = updates`` (``reduction`` None: last write
    wins; ``"add"``, ``"mul"``, ``"max"``, ``"min"`` combine with the old value)."""
    if reduction is not None:
        reduction = str(reduction).lower()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"scatter_update: `reduction` must be None or one of "
                             f"{_REDUCTIONS}; received {reduction!r}.")
    inputs = convert_to_tensor(inputs)
    return _scatter_into(inputs, indices, updates, reduction, "scatter_update")


def _starts(start_indices, shape, sizes, op):
    """Python-int starts when known and in range (error when out of range), else an
    int32 array clamped so the window of ``sizes`` fits (JAX's dynamic_slice rule)."""
    if isinstance(start_indices, (list, tuple)) and all(
            isinstance(s, int) for s in start_indices):
        starts = list(start_indices)
    else:
        starts = convert_to_tensor(start_indices)
        if starts.ndim != 1:
            starts = starts.reshape(-1)
        if concrete(starts) is not None:
            starts = [int(s) for s in starts.tolist()]
    count = len(starts) if isinstance(starts, list) else starts.shape[0]
    if count != len(shape):
        raise ValueError(f"{op}: `start_indices` needs one start per dim of `inputs` "
                         f"({len(shape)}); received {count}.")
    if isinstance(starts, list):
        for axis, (s, size, dim) in enumerate(zip(starts, sizes, shape)):
            if size is None:
                size = dim - s
            if not 0 <= s <= dim - size or size < 0:
                raise IndexError(f"{op}: start {s} with size {size} on axis {axis} is out "
                                 f"of range for dim {dim} (need 0 <= start <= {dim - size}).")
        return starts
    if any(size is None for size in sizes):
        raise ValueError(f"{op}: a size of -1 (the rest of the dim) needs known starts; "
                         "these depend on values traced by mx.compile.")
    high = mx.array([dim - size for dim, size in zip(shape, sizes)], dtype=mx.int32)
    return mx.clip(starts.astype(mx.int32), 0, high)


@keras_op
def slice(inputs, start_indices, shape):
    """``inputs[start:start + shape]`` on every axis (a size of -1 takes the rest)."""
    inputs = convert_to_tensor(inputs)
    dims = tuple(inputs.shape)
    shape = [int(s) for s in shape]
    if len(shape) != len(dims):
        raise ValueError(f"slice: `shape` needs one size per dim of `inputs` ({len(dims)}); "
                         f"received {shape}.")
    for axis, (size, dim) in enumerate(zip(shape, dims)):
        if size < -1 or size > dim:
            raise ValueError(f"slice: size {size} on axis {axis} does not fit dim {dim}.")
    sizes = [None if s == -1 else s for s in shape]
    starts = _starts(start_indices, dims, sizes, "slice")
    if isinstance(starts, list):
        return inputs[tuple(builtins.slice(s, dim if size is None else s + size)
                            for s, size, dim in zip(starts, sizes, dims))]
    return mx.slice(inputs, starts, tuple(range(len(dims))), tuple(sizes))


@keras_op
def slice_update(inputs, start_indices, updates):
    """``inputs`` with the window at ``start_indices`` of ``updates``' shape replaced
    by ``updates``."""
    inputs = convert_to_tensor(inputs)
    updates = convert_to_tensor(updates).astype(inputs.dtype)
    dims = tuple(inputs.shape)
    if updates.ndim != len(dims) or any(u > d for u, d in zip(updates.shape, dims)):
        raise ValueError(f"slice_update: `updates` must have the rank of `inputs` and fit "
                         f"inside it; received {tuple(updates.shape)} for inputs {dims}.")
    starts = _starts(start_indices, dims, tuple(updates.shape), "slice_update")
    if isinstance(starts, list):
        starts = mx.array(starts, dtype=mx.int32)
    if updates.size == 0:
        return inputs
    return mx.slice_update(inputs, updates, starts, tuple(range(len(dims))))
