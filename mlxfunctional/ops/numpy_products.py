"""Products of arrays: ``matmul``, ``dot``, ``tensordot``, ``inner``, ``vdot``,
``outer``, ``kron``, ``cross`` and ``einsum``.

Operands are promoted by Keras' ``result_type``; two int8 operands give int32
for ``matmul`` and ``einsum`` (Keras asks the backend for int32 accumulation
there). MLX multiplies matrices of floats only, so integer and bool products
are composed as broadcast multiply-and-sum: exact, wrapping like numpy's
integer arithmetic, slower than a GEMM (integer matmuls are rare).
"""

import string

import mlx.core as mx

from .. import backend
from .dtypes import convert_to_tensor, result_type
from .numpy_shape import canonical_axis
from .operation import keras_op

__all__ = ["cross", "dot", "einsum", "inner", "kron", "matmul", "outer", "tensordot",
           "vdot"]


def _promoted(*xs):
    """The operands as arrays in their promoted dtype, and that dtype's name."""
    xs = [convert_to_tensor(x) for x in xs]
    dtype = result_type(*[x.dtype for x in xs])
    return [x.astype(backend.mlx_dtype(dtype)) for x in xs], dtype


def _all_int8(*xs):
    return all(convert_to_tensor(x).dtype == mx.int8 for x in xs)


def _is_inexact(dtype):
    return backend.is_float_dtype(dtype) or dtype.startswith("complex")


def _exact_matmul(a, b, dtype):
    """``a @ b`` (at least 2-D each) for integer and bool dtypes: the sum over k of
    ``a[..., i, k] * b[..., k, j]`` by broadcasting."""
    work = mx.int32 if dtype == "bool" else backend.mlx_dtype(dtype)
    products = a.astype(work)[..., :, :, None] * b.astype(work)[..., None, :, :]
    total = mx.sum(products, axis=-2)
    if dtype == "bool":  # numpy's bool matmul: any(a_ik and b_kj)
        return total > 0
    return total.astype(work)


def _matmul(a, b, dtype):
    """numpy's matmul of promoted ``a`` and ``b``: 1-D operands become a row / a
    column, and that axis is dropped again."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: scalars are not allowed (use multiply); received "
                         f"shapes {a.shape} and {b.shape}.")
    if a.shape[-1] != b.shape[max(b.ndim - 2, 0)]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align (the last "
                         "axis of x1 must equal the second-to-last of x2).")
    if _is_inexact(dtype):
        return mx.matmul(a, b)
    vector_a, vector_b = a.ndim == 1, b.ndim == 1
    out = _exact_matmul(a[None] if vector_a else a, b[:, None] if vector_b else b, dtype)
    if vector_a:
        out = mx.squeeze(out, -2)
    if vector_b:
        out = mx.squeeze(out, -1)
    return out


@keras_op
def matmul(x1, x2):
    """The matrix product ``x1 @ x2`` (batched over leading axes, numpy's rules);
    int8 @ int8 is int32."""
    if _all_int8(x1, x2):  # Keras accumulates two int8 operands in int32
        x1, x2 = (convert_to_tensor(x).astype(mx.int32) for x in (x1, x2))
    (x1, x2), dtype = _promoted(x1, x2)
    return _matmul(x1, x2, dtype)


def _tensordot(a, b, axes_a, axes_b, dtype):
    """Sum of ``a * b`` over the paired axes: move them last in ``a`` and first in
    ``b``, flatten both to matrices, multiply, restore the free axes."""
    if [a.shape[i] for i in axes_a] != [b.shape[i] for i in axes_b]:
        raise ValueError(f"tensordot: the summed axes differ in length: "
                         f"{[a.shape[i] for i in axes_a]} (x1) and "
                         f"{[b.shape[i] for i in axes_b]} (x2).")
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [i for i in range(b.ndim) if i not in axes_b]
    k = 1
    for i in axes_a:
        k *= a.shape[i]
    a2 = mx.transpose(a, free_a + list(axes_a)).reshape(-1, k)
    b2 = mx.transpose(b, list(axes_b) + free_b).reshape(k, -1)
    out_shape = [a.shape[i] for i in free_a] + [b.shape[i] for i in free_b]
    return _matmul(a2, b2, dtype).reshape(out_shape)


@keras_op
def tensordot(x1, x2, axes=2):
    """Sum of products over axes: the last ``axes`` of ``x1`` with the first
    ``axes`` of ``x2`` (an int), or the pairs ``(axes_x1, axes_x2)``."""
    (a, b), dtype = _promoted(x1, x2)
    if isinstance(axes, int):
        if axes < 0 or axes > min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: `axes`={axes} is out of range for shapes "
                             f"{a.shape} and {b.shape}.")
        axes_a, axes_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        axes_a, axes_b = axes
        axes_a = [axes_a] if isinstance(axes_a, int) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, int) else list(axes_b)
        if len(axes_a) != len(axes_b):
            raise ValueError(f"tensordot: `axes` pairs {axes_a} and {axes_b} differ in "
                             "length.")
    axes_a = [canonical_axis(i, a.ndim, "tensordot") for i in axes_a]
    axes_b = [canonical_axis(i, b.ndim, "tensordot") for i in axes_b]
    return _tensordot(a, b, axes_a, axes_b, dtype)


@keras_op
def dot(x1, x2):
    """numpy's dot: a product with scalars; otherwise the sum over the last axis of
    ``x1`` and the second-to-last of ``x2`` (the only axis of a 1-D ``x2``)."""
    (a, b), dtype = _promoted(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return _tensordot(a, b, [a.ndim - 1], [max(b.ndim - 2, 0)], dtype)


@keras_op
def inner(x1, x2):
    """Sum of products over the last axes of ``x1`` and ``x2`` (a product with a
    scalar); the shape is ``x1.shape[:-1] + x2.shape[:-1]``."""
    (a, b), dtype = _promoted(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return _tensordot(a, b, [a.ndim - 1], [b.ndim - 1], dtype)


@keras_op
def vdot(x1, x2):
    """``sum(conj(x1) * x2)`` over the flattened arrays."""
    (a, b), dtype = _promoted(x1, x2)
    if dtype.startswith("complex"):
        a = mx.conj(a)
    if a.size != b.size:
        raise ValueError(f"vdot: the inputs have {a.size} and {b.size} elements.")
    return _tensordot(a.reshape(-1), b.reshape(-1), [0], [0], dtype)


@keras_op
def outer(x1, x2):
    """``x1[i] * x2[j]`` over the flattened inputs: a ``(x1.size, x2.size)`` matrix."""
    (a, b), _ = _promoted(x1, x2)
    return a.reshape(-1, 1) * b.reshape(1, -1)


@keras_op
def kron(x1, x2):
    """The Kronecker product: blocks ``x1[i, j...] * x2``, tiled as ``x1`` is laid out."""
    (a, b), _ = _promoted(x1, x2)
    n = max(a.ndim, b.ndim)  # the shorter shape gets leading 1s, as numpy's
    a = a.reshape((1,) * (n - a.ndim) + a.shape)
    b = b.reshape((1,) * (n - b.ndim) + b.shape)
    # Interleave the axes: a as (a0, 1, a1, 1, ...), b as (1, b0, 1, b1, ...).
    a_spread = a.reshape([d for s in a.shape for d in (s, 1)])
    b_spread = b.reshape([d for s in b.shape for d in (1, s)])
    return (a_spread * b_spread).reshape([sa * sb for sa, sb in zip(a.shape, b.shape)])


@keras_op
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 2- or 3-vectors along ``axisa``/``axisb`` (``axis``
    sets all three); 2-vectors have z = 0, and two of them give the z component
    only."""
    (a, b), _ = _promoted(x1, x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    a = mx.moveaxis(a, canonical_axis(axisa, a.ndim, "cross"), -1)
    b = mx.moveaxis(b, canonical_axis(axisb, b.ndim, "cross"), -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ValueError(f"cross: the vectors must have 2 or 3 components; received "
                         f"{a.shape[-1]} and {b.shape[-1]}.")
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    z = a0 * b1 - a1 * b0
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return z
    a2 = a[..., 2] if a.shape[-1] == 3 else mx.zeros_like(a0)
    b2 = b[..., 2] if b.shape[-1] == 3 else mx.zeros_like(b0)
    out = mx.stack(mx.broadcast_arrays(a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, z), axis=-1)
    return mx.moveaxis(out, -1, canonical_axis(axisc, out.ndim, "cross"))


def _parse_einsum(subscripts, operands):
    """Explicit per-operand letters and output letters, ``...`` expanded to letters
    unused elsewhere (right-aligned, as numpy broadcasts them)."""
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    specs = inputs.split(",")
    if len(specs) != len(operands):
        raise ValueError(f"einsum: {subscripts!r} names {len(specs)} operands; received "
                         f"{len(operands)}.")
    spare = [c for c in string.ascii_letters if c not in subscripts]
    n_ellipsis = max([op.ndim - len(s.replace("...", "")) for s, op in zip(specs, operands)
                      if "..." in s] or [0])
    ellipsis = "".join(spare[:n_ellipsis])
    expanded = []
    for s, op in zip(specs, operands):
        if "..." in s:
            own = op.ndim - len(s.replace("...", ""))
            s = s.replace("...", ellipsis[n_ellipsis - own:])
        if len(s) != op.ndim:
            raise ValueError(f"einsum: {s!r} names {len(s)} axes of an operand of "
                             f"shape {op.shape}.")
        expanded.append(s)
    if arrow:
        output = output.replace("...", ellipsis)
    else:  # implicit output: the broadcast axes, then letters used once, sorted
        letters = "".join(expanded)
        output = ellipsis + "".join(sorted(c for c in set(letters)
                                           if letters.count(c) == 1 and c not in ellipsis))
    return expanded, output


def _exact_einsum(subscripts, operands, dtype):
    """einsum for integer/bool operands: every operand laid out on all the letters
    (diagonals taken for a repeated letter), multiplied, summed over the letters
    not in the output."""
    specs, output = _parse_einsum(subscripts, operands)
    letters = sorted(set("".join(specs)) | set(output))
    work = mx.int32 if dtype == "bool" else backend.mlx_dtype(dtype)
    total = None
    for spec, op in zip(specs, operands):
        op = op.astype(work)
        while len(set(spec)) < len(spec):  # "ii": keep the diagonal (moved last)
            c = next(c for c in spec if spec.count(c) > 1)
            i = spec.index(c)
            j = spec.index(c, i + 1)
            op = mx.diagonal(op, 0, i, j)
            spec = spec[:i] + spec[i + 1:j] + spec[j + 1:] + c
        order = sorted(range(len(spec)), key=lambda axis: letters.index(spec[axis]))
        op = mx.transpose(op, order)
        present = [spec[a] for a in order]
        shape, it = [], iter(op.shape)
        for c in letters:
            shape.append(next(it) if c in present else 1)
        op = op.reshape(shape)
        total = op if total is None else total * op
    summed = [i for i, c in enumerate(letters) if c not in output]
    total = mx.sum(total, axis=summed) if summed else total
    kept = [c for c in letters if c in output]
    total = mx.transpose(total, [kept.index(c) for c in output])
    return total > 0 if dtype == "bool" else total.astype(work)


@keras_op
def einsum(subscripts, *operands, **kwargs):
    """Einstein summation over ``operands`` as ``subscripts`` says (e.g.
    ``"bij,bjk->bik"``); int8 operands only give int32."""
    if operands and _all_int8(*operands):  # accumulated in int32, as Keras
        operands = [convert_to_tensor(x).astype(mx.int32) for x in operands]
    operands, dtype = _promoted(*operands)
    if _is_inexact(dtype):
        return mx.einsum(subscripts, *operands)
    return _exact_einsum(subscripts, operands, dtype)
