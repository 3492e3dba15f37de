"""The numpy-style ops that rearrange an array's elements: reshape, permute, flip,
roll, repeat, tile, join and split.

None of them computes a new value, so the output dtype is the input's -- except
the joins (``concatenate``, ``stack``, ``append``, ``[hvd]stack``), which
promote their inputs' dtypes by Keras' ``result_type``. Axes may be negative;
where numpy takes a tuple of axes, so do these.
"""

import mlx.core as mx

from .. import backend
from .dtypes import convert_to_tensor, result_type
from .operation import keras_op

__all__ = [
    "append", "array_split", "broadcast_to", "concatenate", "dsplit", "dstack",
    "expand_dims", "flip", "fliplr", "flipud", "hsplit", "hstack", "moveaxis", "ndim",
    "ravel", "repeat", "reshape", "roll", "rot90", "size", "split", "squeeze", "stack",
    "swapaxes", "tile", "transpose", "vsplit", "vstack",
]


def canonical_axis(axis, ndim, op):
    """``axis`` in ``[0, ndim)``; a clear error naming ``op`` when out of range."""
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for an array of "
                         f"{ndim} dimensions.")
    return axis % ndim


def canonical_axes(axis, ndim, op):
    """A tuple of distinct axes in ``[0, ndim)`` from an int or a sequence."""
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(canonical_axis(a, ndim, op) for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: repeated axis in {axis}.")
    return axes


def _joined(xs, op):
    """The arrays of ``xs`` cast to their promoted dtype."""
    xs = [convert_to_tensor(x) for x in xs]
    if not xs:
        raise ValueError(f"{op} needs at least one array; received none.")
    dtype = backend.mlx_dtype(result_type(*[x.dtype for x in xs]))
    return [x.astype(dtype) for x in xs]


@keras_op
def reshape(x, newshape):
    """``x``'s elements in row-major order in shape ``newshape`` (one entry may be -1)."""
    newshape = (newshape,) if isinstance(newshape, int) else tuple(newshape)
    return mx.reshape(convert_to_tensor(x), newshape)


@keras_op
def ravel(x):
    """``x`` flattened to 1-D in row-major order."""
    return mx.reshape(convert_to_tensor(x), (-1,))


@keras_op
def transpose(x, axes=None):
    """``x`` with its axes permuted by ``axes`` (reversed when None)."""
    x = convert_to_tensor(x)
    if axes is None:
        return mx.transpose(x)
    axes = tuple(canonical_axis(a, x.ndim, "transpose") for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: `axes` must be a permutation of the {x.ndim} axes; "
                         f"received {axes}.")
    return mx.transpose(x, axes)


@keras_op
def swapaxes(x, axis1, axis2):
    """``x`` with axes ``axis1`` and ``axis2`` exchanged."""
    x = convert_to_tensor(x)
    return mx.swapaxes(x, canonical_axis(axis1, x.ndim, "swapaxes"),
                       canonical_axis(axis2, x.ndim, "swapaxes"))


@keras_op
def moveaxis(x, source, destination):
    """``x`` with axes ``source`` moved to positions ``destination`` (ints or
    sequences of equal length), the other axes keeping their order."""
    x = convert_to_tensor(x)
    source = canonical_axes(source, x.ndim, "moveaxis")
    destination = canonical_axes(destination, x.ndim, "moveaxis")
    if len(source) != len(destination):
        raise ValueError("moveaxis: `source` and `destination` must have as many axes; "
                         f"received {source} and {destination}.")
    rest = [a for a in range(x.ndim) if a not in source]
    order = [None] * x.ndim
    for s, d in zip(source, destination):
        order[d] = s
    order = [a if a is not None else rest.pop(0) for a in order]
    return mx.transpose(x, order)


@keras_op
def expand_dims(x, axis):
    """``x`` with length-1 axes inserted at ``axis`` (an int or a tuple; positions
    in the result)."""
    x = convert_to_tensor(x)
    axes = canonical_axes(axis, x.ndim + (1 if isinstance(axis, int) else len(axis)),
                          "expand_dims")
    return mx.expand_dims(x, axes)


@keras_op
def squeeze(x, axis=None):
    """``x`` without its length-1 axes (all of them, or those of ``axis``)."""
    x = convert_to_tensor(x)
    if axis is None:
        return mx.squeeze(x)
    axes = canonical_axes(axis, x.ndim, "squeeze")
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} has length {x.shape[a]}, not 1 "
                             f"(shape {x.shape}).")
    return mx.squeeze(x, axes)


@keras_op
def broadcast_to(x, shape):
    """``x`` broadcast (numpy's rules) to ``shape``."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return mx.broadcast_to(convert_to_tensor(x), shape)


@keras_op
def flip(x, axis=None):
    """``x`` with the order of its elements reversed along ``axis`` (all axes when
    None; an int or a tuple)."""
    x = convert_to_tensor(x)
    axes = range(x.ndim) if axis is None else canonical_axes(axis, x.ndim, "flip")
    index = [slice(None)] * x.ndim
    for a in axes:
        index[a] = slice(None, None, -1)
    return x[tuple(index)]


@keras_op
def fliplr(x):
    """``x`` reversed along axis 1 (left/right); ``x`` needs 2 or more dimensions."""
    x = convert_to_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"fliplr: the input needs >= 2 dimensions; received shape {x.shape}.")
    return flip(x, 1)


@keras_op
def flipud(x):
    """``x`` reversed along axis 0 (up/down)."""
    x = convert_to_tensor(x)
    if x.ndim < 1:
        raise ValueError("flipud: the input needs >= 1 dimension; received a scalar.")
    return flip(x, 0)


@keras_op
def rot90(array, k=1, axes=(0, 1)):
    """``array`` rotated by ``k`` quarter turns in the plane ``axes``, from the first
    axis towards the second."""
    x = convert_to_tensor(array)
    if x.ndim < 2:
        raise ValueError(f"rot90: the input needs >= 2 dimensions; received shape {x.shape}.")
    if len(axes) != 2:
        raise ValueError(f"rot90: `axes` must name two axes; received {axes}.")
    a0, a1 = canonical_axes(axes, x.ndim, "rot90")
    k = int(k) % 4
    if k == 0:
        return x
    if k == 2:
        return flip(x, (a0, a1))
    # One quarter turn = transpose the plane, then reverse one of its axes.
    if k == 1:
        return mx.swapaxes(flip(x, a1), a0, a1)
    return flip(mx.swapaxes(x, a0, a1), a1)


@keras_op
def roll(x, shift, axis=None):
    """``x`` shifted by ``shift`` positions along ``axis`` (flattened when None),
    elements leaving one end coming back at the other."""
    x = convert_to_tensor(x)
    if axis is None:
        return mx.roll(x.reshape(-1), int(shift)).reshape(x.shape)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    shifts = (shift,) * len(axes) if isinstance(shift, int) else tuple(shift)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: `shift` {shift} and `axis` {axis} differ in length.")
    for s, a in zip(shifts, axes):  # (one axis may repeat: its shifts add up)
        x = mx.roll(x, int(s), canonical_axis(a, x.ndim, "roll"))
    return x


@keras_op
def tile(x, repeats):
    """``x`` repeated ``repeats`` times along each axis (the shorter of ``x.ndim``
    and ``len(repeats)`` padded with leading 1s)."""
    repeats = (repeats,) if isinstance(repeats, int) else tuple(int(r) for r in repeats)
    return mx.tile(convert_to_tensor(x), repeats)


@keras_op
def repeat(x, repeats, axis=None):
    """Each element of ``x`` repeated ``repeats`` times along ``axis`` (of the
    flattened ``x`` when None); ``repeats`` an int or one count per element."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = canonical_axis(axis, x.ndim, "repeat")
    if hasattr(repeats, "tolist"):  # counts fix the output shape: read them now
        repeats = repeats.tolist()
    if isinstance(repeats, int) or len(repeats) == 1:
        count = repeats if isinstance(repeats, int) else repeats[0]
        return mx.repeat(x, int(count), axis=axis)
    if len(repeats) != x.shape[axis]:
        raise ValueError(f"repeat: {len(repeats)} counts for an axis of length "
                         f"{x.shape[axis]}.")
    index = [i for i, r in enumerate(repeats) for _ in range(int(r))]
    return mx.take(x, mx.array(index, dtype=mx.int32), axis=axis)


@keras_op
def ndim(x):
    """The number of dimensions of ``x`` (a 0-d int32 array)."""
    return mx.array(convert_to_tensor(x).ndim, dtype=mx.int32)


@keras_op
def size(x):
    """The number of elements of ``x`` (a 0-d int32 array)."""
    return mx.array(convert_to_tensor(x).size, dtype=mx.int32)


@keras_op
def concatenate(xs, axis=0):
    """The arrays of ``xs`` joined along the existing ``axis`` (flattened first when
    None), in their promoted dtype."""
    xs = _joined(xs, "concatenate")
    if axis is None:
        return mx.concatenate([x.reshape(-1) for x in xs])
    return mx.concatenate(xs, axis=canonical_axis(axis, xs[0].ndim, "concatenate"))


@keras_op
def append(x1, x2, axis=None):
    """``x2`` joined after ``x1`` along ``axis`` (both flattened when None)."""
    return concatenate([x1, x2], axis=axis)


@keras_op
def stack(x, axis=0):
    """The same-shaped arrays of ``x`` joined along a new ``axis``."""
    xs = _joined(x, "stack")
    return mx.stack(xs, axis=canonical_axis(axis, xs[0].ndim + 1, "stack"))


@keras_op
def hstack(xs):
    """Arrays joined column-wise: along axis 1, or axis 0 for 1-D arrays."""
    xs = [mx.atleast_1d(x) for x in _joined(xs, "hstack")]
    return mx.concatenate(xs, axis=0 if xs[0].ndim == 1 else 1)


@keras_op
def vstack(xs):
    """Arrays joined row-wise, along axis 0 (1-D arrays as rows ``(1, N)``)."""
    return mx.concatenate([mx.atleast_2d(x) for x in _joined(xs, "vstack")], axis=0)


@keras_op
def dstack(xs):
    """Arrays joined depth-wise, along axis 2 (``(N,)`` as ``(1, N, 1)``,
    ``(M, N)`` as ``(M, N, 1)``)."""
    return mx.concatenate([mx.atleast_3d(x) for x in _joined(xs, "dstack")], axis=2)


def _split_points(indices_or_sections, length, op, even):
    """The cut positions: the given indices, or those of equal sections (numpy's
    ``array_split`` gives the first ``length % n`` sections one more element)."""
    if hasattr(indices_or_sections, "tolist"):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        if n <= 0:
            raise ValueError(f"{op}: the number of sections must be > 0; received {n}.")
        if even and length % n:
            raise ValueError(f"{op}: an axis of length {length} does not split into {n} "
                             "equal sections (array_split allows unequal ones).")
        base, extra = divmod(length, n)
        sizes = [base + 1] * extra + [base] * (n - extra)
        points, total = [], 0
        for s in sizes[:-1]:
            total += s
            points.append(total)
        return points
    # Indices past the end give empty pieces, as numpy (MLX would clamp oddly).
    return [min(max(int(i) if i >= 0 else int(i) + length, 0), length)
            for i in indices_or_sections]


def _split(x, indices_or_sections, axis, op, even):
    x = convert_to_tensor(x)
    axis = canonical_axis(axis, x.ndim, op)
    length = x.shape[axis]
    points = _split_points(indices_or_sections, length, op, even)
    bounds = [0] + points + [length]
    index = [slice(None)] * x.ndim
    pieces = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        index[axis] = slice(lo, max(lo, hi))
        pieces.append(x[tuple(index)])
    return pieces


@keras_op
def split(x, indices_or_sections, axis=0):
    """``x`` cut along ``axis`` into equal sections (an int) or at the given indices."""
    return _split(x, indices_or_sections, axis, "split", even=True)


@keras_op
def array_split(x, indices_or_sections, axis=0):
    """As :func:`split`, but ``n`` sections need not be equal (the first ones are
    one longer)."""
    return _split(x, indices_or_sections, axis, "array_split", even=False)


def _split_at_least(x, indices_or_sections, axis, dims, op):
    x = convert_to_tensor(x)
    if x.ndim < dims:
        raise ValueError(f"{op}: the input needs >= {dims} dimensions; received shape "
                         f"{x.shape}.")
    return _split(x, indices_or_sections, axis, op, even=True)


@keras_op
def hsplit(x, indices_or_sections):
    """``split`` along axis 1 (axis 0 for 1-D ``x``)."""
    x = convert_to_tensor(x)
    return _split_at_least(x, indices_or_sections, 1 if x.ndim > 1 else 0, 1, "hsplit")


@keras_op
def vsplit(x, indices_or_sections):
    """``split`` along axis 0 of an array of 2 or more dimensions."""
    return _split_at_least(x, indices_or_sections, 0, 2, "vsplit")


@keras_op
def dsplit(x, indices_or_sections):
    """``split`` along axis 2 of an array of 3 or more dimensions."""
    return _split_at_least(x, indices_or_sections, 2, 3, "dsplit")
