"""Matrix structure: diagonals (``diag``, ``diagflat``, ``diagonal``, ``trace``),
triangles (``tril``, ``triu``), ``vander`` and ``slogdet``.

``k``/``offset`` count diagonals as numpy does: 0 the main one, > 0 above it,
< 0 below. ``tril``/``triu`` apply to the last two axes (batched).
"""

import mlx.core as mx

from .. import backend
from .dtypes import convert_to_tensor
from .numpy_shape import canonical_axis
from .operation import keras_op

__all__ = ["diag", "diagflat", "diagonal", "slogdet", "trace", "tril", "triu", "vander"]


@keras_op
def diag(x, k=0):
    """A 1-D ``x`` laid on diagonal ``k`` of a square matrix; diagonal ``k`` of a
    2-D ``x``."""
    x = convert_to_tensor(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"diag: the input must be 1-D or 2-D; received shape {x.shape}.")
    if x.ndim == 2:
        return diagonal(x, offset=k)
    return mx.diag(x, int(k))


@keras_op
def diagflat(x, k=0):
    """The flattened ``x`` laid on diagonal ``k`` of a square matrix."""
    return diag(convert_to_tensor(x).reshape(-1), k)


@keras_op
def diagonal(x, offset=0, axis1=0, axis2=1):
    """Diagonal ``offset`` of the planes ``(axis1, axis2)`` of ``x``, as a last axis."""
    x = convert_to_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"diagonal: the input needs >= 2 dimensions; received shape "
                         f"{x.shape}.")
    axis1 = canonical_axis(axis1, x.ndim, "diagonal")
    axis2 = canonical_axis(axis2, x.ndim, "diagonal")
    if axis1 == axis2:
        raise ValueError(f"diagonal: axis1 and axis2 must differ; both are {axis1}.")
    return mx.diagonal(x, int(offset), axis1, axis2)


@keras_op
def trace(x, offset=0, axis1=0, axis2=1):
    """The sum of diagonal ``offset`` of the planes ``(axis1, axis2)``; bool, int8
    and int16 sum in int32, uint8 and uint16 in uint32 (Keras' rule)."""
    x = convert_to_tensor(x)
    dtype = backend.standardize_dtype(x.dtype)
    dtype = {"bool": "int32", "int8": "int32", "int16": "int32",
             "uint8": "uint32", "uint16": "uint32"}.get(dtype, dtype)
    values = diagonal(x, offset, axis1, axis2).astype(backend.mlx_dtype(dtype))
    return mx.sum(values, axis=-1).astype(backend.mlx_dtype(dtype))


def _triangle(x, k, lower):
    x = convert_to_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{'tril' if lower else 'triu'}: the input needs >= 2 "
                         f"dimensions; received shape {x.shape}.")
    n, m = x.shape[-2:]
    keep = mx.tri(n, m, int(k) if lower else int(k) - 1, dtype=mx.bool_)
    if not lower:
        keep = mx.logical_not(keep)
    return mx.where(keep, x, mx.zeros((), dtype=x.dtype))


@keras_op
def tril(x, k=0):
    """``x`` with the entries above diagonal ``k`` zeroed (last two axes)."""
    return _triangle(x, k, lower=True)


@keras_op
def triu(x, k=0):
    """``x`` with the entries below diagonal ``k`` zeroed (last two axes)."""
    return _triangle(x, k, lower=False)


@keras_op
def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of a 1-D ``x``: columns ``x ** (N-1), ..., x ** 0``
    (reversed when ``increasing``), in ``x``'s dtype."""
    x = convert_to_tensor(x)
    if x.ndim != 1:
        raise ValueError(f"vander: `x` must be 1-D; received shape {x.shape}.")
    if x.dtype == mx.bool_:
        raise TypeError("vander: bool input is not supported (as in Keras).")
    n = x.shape[0] if N is None else int(N)
    powers = mx.arange(n, dtype=x.dtype)
    if not increasing:
        powers = powers[::-1]
    return mx.power(x[:, None], powers[None, :]).astype(x.dtype)


@keras_op
def slogdet(x):
    """``(sign, log|det|)`` of the square matrices in the last two axes of ``x``:
    the determinant without overflow."""
    x = convert_to_tensor(x)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"slogdet: the input must be square matrices (..., n, n); "
                         f"received shape {x.shape}.")
    if not backend.is_float_dtype(x.dtype):
        x = x.astype(backend.mlx_dtype(backend.floatx()))
    # MLX's factorizations run on the CPU stream only (also on GPU machines).
    sign, logdet = mx.linalg.slogdet(x, stream=mx.cpu)
    return sign, logdet
