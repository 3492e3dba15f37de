"""Reading elements by index: ``take``, ``take_along_axis``, ``unravel_index``,
``get_item``.

MLX's gathers do not check bounds: an index past the end reads whatever
memory lies there (or crashes the process). So every index is checked here.
In an eager call an out-of-range index raises an ``IndexError`` naming the
op, the index and the valid range. Inside a compiled function (or on shape
placeholders) reading the indices would force a sync, so they are clamped
into range instead, as XLA's gather (and so Keras on JAX) does: index ``n``
reads element ``n - 1``. Negative indices count from the end in both cases.
"""

import mlx.core as mx

from ..engine import index_bounds
from ..engine.keras_tensor import KerasTensor
from .numpy_sorting import nonzero
from .operation import keras_op
from .reduction_utils import canonical_axis, dtype_name, tensor, values_known

__all__ = ["take", "take_along_axis", "unravel_index", "get_item"]


def _int_indices(indices, op):
    indices = tensor(indices)
    if "int" not in dtype_name(indices):
        if dtype_name(indices) == "bool":
            raise TypeError(f"{op}: `indices` must be integers; received a bool tensor "
                            "(use nonzero() or where() for masks).")
    return indices  # (float indices are truncated by the bounds check, as Keras' torch does)


def checked_indices(indices, size, op, axis):
    """``indices`` into an axis of length ``size``, made non-negative and in range:
    checked (IndexError) when their values can be read, clamped otherwise
    (``engine/index_bounds.py``)."""
    if indices.size == 0:
        return indices.astype(mx.int32)
    if size == 0:
        raise IndexError(f"{op}: cannot take from axis {axis}, which has size 0.")
    try:
        safe, _ = index_bounds.bounded(indices, size, op, negative=True,
                                       outcome="it was clamped into range")
    except index_bounds.IndexOutOfRangeError as e:
        raise index_bounds.IndexOutOfRangeError(
            f"{op}: index {e.value} is out of range for axis {axis} of size {size} "
            f"(valid indices: {-size} to {size - 1}).", e.value, e.low, e.high) from None
    return safe


@keras_op
def take(x, indices, axis=None):
    """``x``'s elements at ``indices`` along ``axis`` (of the flattened ``x`` if None):
    the result has shape ``x.shape[:axis] + indices.shape + x.shape[axis + 1:]``.
    Out-of-range indices raise eagerly and are clamped inside compiled functions."""
    x, indices = tensor(x), _int_indices(indices, "take")
    if axis is None:
        x, axis = mx.flatten(x), 0
    axis = canonical_axis(axis, x.ndim, "take")
    indices = checked_indices(indices, x.shape[axis], "take", axis)
    return mx.take(x, indices, axis=axis)


@keras_op
def take_along_axis(x, indices, axis=None):
    """``out[..., i, ...] = x[..., indices[..., i, ...], ...]`` along ``axis`` (both
    flattened if None); other axes broadcast. Out-of-range indices raise eagerly
    and are clamped inside compiled functions."""
    x, indices = tensor(x), _int_indices(indices, "take_along_axis")
    if axis is None:
        if indices.ndim != 1:
            raise ValueError("take_along_axis: with axis=None `indices` must be 1-D; "
                             f"received shape {indices.shape}.")
        x, axis = mx.flatten(x), 0
    axis = canonical_axis(axis, x.ndim, "take_along_axis")
    if indices.ndim != x.ndim:
        raise ValueError("take_along_axis: `x` and `indices` must have the same rank; "
                         f"received shapes {x.shape} and {indices.shape}.")
    try:
        shape = mx.broadcast_shapes(tuple(x.shape[:axis]) + (1,) + tuple(x.shape[axis + 1:]),
                                    tuple(indices.shape[:axis]) + (1,)
                                    + tuple(indices.shape[axis + 1:]))
    except ValueError:
        raise ValueError("take_along_axis: the shapes of `x` and `indices` do not broadcast "
                         f"outside axis {axis}: {x.shape} and {indices.shape}.") from None
    x = mx.broadcast_to(x, shape[:axis] + (x.shape[axis],) + shape[axis + 1:])
    indices = mx.broadcast_to(indices, shape[:axis] + (indices.shape[axis],)
                              + shape[axis + 1:])
    indices = checked_indices(indices, x.shape[axis], "take_along_axis", axis)
    return mx.take_along_axis(x, indices, axis=axis)


@keras_op
def unravel_index(indices, shape):
    """The coordinates in an array of ``shape`` of the flat (row-major) ``indices``:
    a tuple of one array per dimension, of the indices' dtype."""
    indices = _int_indices(indices, "unravel_index")
    if "int" not in dtype_name(indices):
        indices = indices.astype(mx.int32)  # float indices truncate
    total = 1
    for d in shape:
        total *= d
    if indices.size and values_known(indices):
        low, high = mx.min(indices).item(), mx.max(indices).item()
        if low < 0 or high >= total:
            raise ValueError(f"unravel_index: index {low if low < 0 else high} is out of "
                             f"range for shape {tuple(shape)} (valid: 0 to {total - 1}).")
    elif indices.size:
        indices = mx.clip(indices, 0, max(total - 1, 0))
    coordinates = []
    for d in reversed(shape):
        coordinates.append(indices % d)
        indices = indices // d
    return tuple(reversed(coordinates))


def get_item(x, key):
    """``x[key]``: ints, slices, ``None``, ``...``, integer arrays (bounds-checked like
    ``take``) and, in eager calls, boolean masks."""
    if isinstance(x, KerasTensor):
        return x[key]  # the graph's own serializable indexing node
    x = tensor(x)
    key = key if isinstance(key, tuple) else (key,)
    n_axes = sum(_axes_used(k) for k in key)
    if n_axes > x.ndim:
        raise IndexError(f"get_item: too many indices ({n_axes}) for a tensor of rank "
                         f"{x.ndim}.")
    out, axis = [], 0
    for k in key:
        parts, used = _index_parts(x, k, axis, n_axes)
        out.extend(parts)
        axis += used
    return x[tuple(out)]


def _index_parts(x, k, axis, n_axes):
    """One element of a ``get_item`` key, starting at ``axis``, as MLX index parts
    (checked), and how many axes of ``x`` it consumes."""
    if k is Ellipsis:
        return [k], x.ndim - n_axes
    if k is None:
        return [k], 0
    if isinstance(k, slice):  # (slices clip to the axis, as in Python)
        return [k], 1
    if isinstance(k, int) and not isinstance(k, bool):
        size = x.shape[axis]
        if not -size <= k < size:
            raise IndexError(f"get_item: index {k} is out of range for axis {axis} of size "
                             f"{size} (valid indices: {-size} to {size - 1}).")
        return [k], 1
    k = tensor(k)
    if dtype_name(k) == "bool":  # a mask: the coordinates of its True elements (eager)
        if tuple(k.shape) != tuple(x.shape[axis:axis + k.ndim]):
            raise IndexError(f"get_item: a boolean mask of shape {k.shape} does not match "
                             f"axes {axis}.. of shape {x.shape}.")
        return list(nonzero(k)), k.ndim
    return [checked_indices(_int_indices(k, "get_item"), x.shape[axis], "get_item", axis)], 1


def _axes_used(k):
    if k is None or k is Ellipsis:
        return 0
    if isinstance(k, (int, slice)):
        return 1
    ndim = getattr(k, "ndim", None)
    if ndim is None:
        k = tensor(k)
        ndim = k.ndim
    return ndim if dtype_name(k) == "bool" else 1
