"""Sorting, searching and sets: ``sort``, ``argsort``, ``argpartition``,
``searchsorted``, ``digitize``, ``isin``, ``unique``, ``nonzero``.

Searches are vectorised binary searches (``log2(n)`` rounds of one gather and
one compare), so they keep static shapes and run inside compiled steps.
``unique`` and ``nonzero`` return as many elements as the data holds: they
read that count eagerly, and inside a compiled function ``unique`` needs
``size`` (its output is then padded or cut to that length, as in JAX).
"""

import mlx.core as mx
import numpy as np

from .dtypes import result_type
from .operation import keras_op
from .reduction_utils import canonical_axis, cast, require_values, tensor

__all__ = ["sort", "argsort", "argpartition", "searchsorted", "digitize", "isin", "unique",
           "nonzero"]


def _along(x, axis, op):
    """``(x, axis)`` with ``axis=None`` meaning the flattened input."""
    if axis is None or x.ndim == 0:
        return mx.flatten(x), 0
    return x, canonical_axis(axis, x.ndim, op)


@keras_op
def sort(x, axis=-1):
    """``x`` sorted ascending along ``axis`` (flattened if None); NaNs last."""
    x, axis = _along(tensor(x), axis, "sort")
    return mx.sort(x, axis=axis) if x.size else x


@keras_op
def argsort(x, axis=-1):
    """Indices (int32) that sort ``x`` along ``axis``; ties keep their order (stable)."""
    x, axis = _along(tensor(x), axis, "argsort")
    return cast(mx.argsort(x, axis=axis), "int32") if x.size else cast(x, "int32")


@keras_op
def argpartition(x, kth, axis=-1):
    """Indices (int32) that put the ``kth`` element where a sort would, the smaller
    ones before it and the larger ones after (each side in no particular order)."""
    x, axis = _along(tensor(x), axis, "argpartition")
    n = x.shape[axis]
    if not -n <= kth < n:
        raise ValueError(f"argpartition: kth={kth} is out of range for an axis of size {n}.")
    if x.size == 0:
        return cast(x, "int32")
    return cast(mx.argpartition(x, kth % n, axis=axis), "int32")


def _search(sorted_sequence, values, side):
    """For each value, the insertion index into the sorted 1-D ``sorted_sequence``:
    before equal elements (``side="left"``) or after them ("right")."""
    n = sorted_sequence.shape[0]
    low = mx.zeros(values.shape, dtype=mx.int32)
    high = mx.full(values.shape, n, dtype=mx.int32)
    for _ in range(n.bit_length()):
        mid = (low + high) // 2
        pivot = mx.take(sorted_sequence, mx.minimum(mid, n - 1))
        right = (pivot < values) if side == "left" else (pivot <= values)
        active = low < high
        low = mx.where(active & right, mid + 1, low)
        high = mx.where(active & ~right, mid, high)
    return low


@keras_op
def searchsorted(sorted_sequence, values, side="left"):
    """Indices (int32) where ``values`` would be inserted into the ascending 1-D
    ``sorted_sequence`` to keep it sorted (before equal elements for ``side="left"``,
    after them for "right")."""
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: `side` must be 'left' or 'right'; received {side!r}.")
    sorted_sequence, values = tensor(sorted_sequence), tensor(values)
    if sorted_sequence.ndim != 1:
        raise ValueError("searchsorted: `sorted_sequence` must be 1-D; received shape "
                         f"{sorted_sequence.shape}.")
    dtype = result_type(sorted_sequence.dtype, values.dtype)
    return _search(cast(sorted_sequence, dtype), cast(values, dtype), side)


@keras_op
def digitize(x, bins):
    """Index (int32) of the bin of each element: ``i`` with ``bins[i-1] <= x < bins[i]``
    for increasing ``bins``, ``bins[i-1] > x >= bins[i]`` for decreasing ones."""
    x, bins = tensor(x), tensor(bins)
    if bins.ndim != 1:
        raise ValueError(f"digitize: `bins` must be 1-D; received shape {bins.shape}.")
    dtype = result_type(x.dtype, bins.dtype)
    x, bins = cast(x, dtype), cast(bins, dtype)
    n = bins.shape[0]
    if n == 0:
        return mx.zeros(x.shape, dtype=mx.int32)
    increasing = _search(bins, x, "right")
    decreasing = n - _search(bins[::-1], x, "right")
    return mx.where(bins[-1] >= bins[0], increasing, decreasing)


@keras_op
def isin(x1, x2, assume_unique=False, invert=False):
    """True where an element of ``x1`` occurs in ``x2`` (False with ``invert=True``);
    ``assume_unique`` changes nothing here."""
    x1, x2 = tensor(x1), tensor(x2)
    dtype = result_type(x1.dtype, x2.dtype)
    if x2.size == 0 or x1.size == 0:
        found = mx.zeros(x1.shape, dtype=mx.bool_)
    else:
        x1, x2 = cast(x1, dtype), mx.sort(cast(mx.flatten(x2), dtype))
        index = mx.minimum(_search(x2, x1, "left"), x2.size - 1)
        found = mx.take(x2, index) == x1
    return ~found if invert else found


@keras_op
def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,
           axis=None, size=None, fill_value=None):
    """The distinct values of ``x`` in ascending order (``sorted=False`` returns them
    sorted too), and on request the index of each one's first occurrence, the
    index into them of every element of ``x`` (``inverse``) and their counts (int32).

    With ``size``, exactly ``size`` values come back: the smallest ``size`` ones,
    padded with ``fill_value`` (default: the smallest value) and counts of 0;
    this form has static shapes and also runs inside compiled functions. Without
    it the number of values is read from the data: eager calls only. ``axis``
    (unique slices along an axis) is eager only and takes no ``size``.
    """
    x = tensor(x)
    if axis is not None:
        return _unique_along_axis(x, axis, return_index, return_inverse, return_counts, size)
    flat = mx.flatten(x)
    n = flat.size
    if n == 0:  # (MLX's sorts and scans divide by a zero axis length)
        return _unique_of_nothing(x, return_index, return_inverse, return_counts, size,
                                  fill_value)
    order = mx.argsort(flat)  # stable: each run starts at its first occurrence
    values = flat[order]
    first = mx.concatenate([mx.ones((1,), dtype=mx.bool_), values[1:] != values[:-1]])
    group = mx.cumsum(first.astype(mx.int32)) - 1
    if size is None:
        require_values("unique", "its output length is the number of distinct values "
                       "(pass `size` for a fixed length)", x)
        size = int(mx.sum(first).item())
    # Each run's first position writes slot `group`; the rest (and runs past
    # `size`) write a spare last slot that is dropped.
    keep = first & (group < size)
    slot = mx.where(keep, group, size)
    if fill_value is None:
        fill_value = values[0]
    unique_values = mx.full((size + 1,), fill_value, dtype=x.dtype)
    unique_values[slot] = values
    outputs = [unique_values[:size]]
    if return_index:
        index = mx.zeros((size + 1,), dtype=mx.int32)
        index[slot] = order.astype(mx.int32)
        outputs.append(index[:size])
    if return_inverse:
        inverse = mx.zeros((n,), dtype=mx.int32)
        inverse[order] = group
        outputs.append(inverse.reshape(x.shape))
    if return_counts:
        counts = mx.zeros((size + 1,), dtype=mx.int32).at[mx.minimum(group, size)].add(
            mx.ones((n,), dtype=mx.int32))
        outputs.append(counts[:size])
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _unique_of_nothing(x, return_index, return_inverse, return_counts, size, fill_value):
    size = size or 0
    fill = 0 if fill_value is None else fill_value
    outputs = [mx.full((size,), fill, dtype=x.dtype)]
    if return_index:
        outputs.append(mx.zeros((size,), dtype=mx.int32))
    if return_inverse:
        outputs.append(mx.zeros(x.shape, dtype=mx.int32))
    if return_counts:
        outputs.append(mx.zeros((size,), dtype=mx.int32))
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _unique_along_axis(x, axis, return_index, return_inverse, return_counts, size):
    axis = canonical_axis(axis, x.ndim, "unique")
    if size is not None:
        raise ValueError("unique: `size` works with axis=None only (unique slices along an "
                         f"axis are computed eagerly); received axis={axis}, size={size}.")
    require_values("unique", "with an axis its output length is the number of distinct "
                   "slices", x)
    # Data-dependent and not worth an MLX composition: numpy, eager only.
    results = np.unique(np.asarray(x), return_index=return_index,
                        return_inverse=return_inverse, return_counts=return_counts, axis=axis)
    if not isinstance(results, tuple):
        return mx.array(results)
    return (mx.array(results[0]),) + tuple(mx.array(r.reshape(-1).astype(np.int32))
                                           for r in results[1:])


@keras_op
def nonzero(x):
    """Indices (int32) of the non-zero elements, one array per dimension, in row-major
    order. How many there are depends on the data: eager calls only."""
    x = tensor(x)
    if x.ndim == 0:
        raise ValueError("nonzero: `x` must have at least one dimension; received a scalar.")
    require_values("nonzero", "its output length is the number of non-zero elements", x)
    if x.size == 0:
        return tuple(mx.zeros((0,), dtype=mx.int32) for _ in x.shape)
    mask = mx.flatten(x) != 0
    count = int(mx.sum(mask).item())
    # Each non-zero element writes its flat position into its rank; the zeros
    # write a spare last slot that is dropped.
    rank = mx.cumsum(mask.astype(mx.int32)) - 1
    flat = mx.zeros((count + 1,), dtype=mx.int32)
    flat[mx.where(mask, rank, count)] = mx.arange(mask.size, dtype=mx.int32)
    flat = flat[:count]
    coordinates = []
    for dim in reversed(x.shape):
        coordinates.append(flat % dim)
        flat = flat // dim
    return tuple(reversed(coordinates))
