"""What the reduction, sorting and indexing ops share: axes, dtypes, eager checks.

A leaf below ``numpy_reductions.py`` and the files it re-exports
(``numpy_nan_reductions``, ``numpy_statistics``, ``numpy_sorting``,
``numpy_indexing``), so none of them imports another for a helper.
"""

import builtins

import mlx.core as mx

from .. import backend
from ..engine import trace
from .dtypes import convert_to_tensor, result_type
# (re-exported: the files below import all their helpers from this one module)
from .numpy_elementwise_operands import dtype_name, is_float  # noqa: F401


def tensor(x):
    return convert_to_tensor(x)


def cast(x, dtype):
    dtype = backend.mlx_dtype(dtype)
    return x if x.dtype == dtype else x.astype(dtype)


def canonical_axes(axis, ndim, op):
    """``axis`` (None, an int or a sequence of ints, negatives counting from the
    end) as a sorted tuple of non-negative axes; None means every axis."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for an input of rank {ndim} "
                             f"(expected -{ndim} <= axis < {ndim}).")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in axis={axis!r}.")
    return tuple(sorted(out))


def canonical_axis(axis, ndim, op):
    """One axis (an int) as a non-negative int."""
    (a,) = canonical_axes(int(axis), ndim, op)
    return a


def kept_shape(shape, axes):
    """The shape a reduction over ``axes`` has with ``keepdims=True``."""
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def sum_dtype(dtype):
    """Keras' (JAX's) accumulator for sums and products: small ints widen to 32 bits."""
    dtype = backend.standardize_dtype(dtype)
    if dtype in ("bool", "int8", "int16"):
        return "int32"
    if dtype in ("uint8", "uint16"):
        return "uint32"
    return dtype


def float_dtype(dtype):
    """``result_type(dtype, float)``: ints and bools become floatx, floats stay."""
    return result_type(backend.standardize_dtype(dtype), float)


def compute_dtype(dtype):
    """Half floats are reduced in float32 (accumulating in 16 bits loses digits)."""
    return "float32" if dtype in ("float16", "bfloat16") else dtype


def values_known(*arrays):
    """True when the values of ``arrays`` can be read now: an eager call.

    False inside ``mx.compile`` (or ``mx.vmap``) tracing, where reading a value
    is an error, and while a layer runs on shape placeholders (the values are
    zeros that mean nothing). MLX offers no query for this, so we try to
    evaluate and recognise the error MLX raises in a transformation.
    """
    if trace.in_trace():
        return False
    try:
        mx.eval(*arrays)
    except ValueError as e:
        if "function transformations" in str(e):
            return False
        raise
    return True


def require_values(op, why, *arrays):
    """Raises unless ``arrays``' values are known (see :func:`values_known`)."""
    if not values_known(*arrays):
        raise ValueError(
            f"{op}: {why}, so it cannot run inside a compiled function (mx.compile, "
            "a compiled training step) or on symbolic tensors; call it eagerly on arrays.")


def empty_reduction_error(op, shape, axes):
    return ValueError(f"{op}: cannot reduce over a zero-size axis (input shape "
                      f"{tuple(shape)}, axes {axes}): {op} has no identity value.")


def reduced_shape(shape, axes, keepdims):
    """The shape of a reduction of ``shape`` over ``axes``."""
    if keepdims:
        return kept_shape(shape, axes)
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def reduce(fn, x, axes, keepdims=False, empty=0, dtype=None):
    """``fn(x, axis=axes, keepdims=keepdims)``, or ``empty`` everywhere when ``x`` has
    no elements: MLX 0.32's CPU reductions over a zero-size axis can spin for
    seconds, even hang (seen here: ``mx.sum(mx.zeros((0, 3)), axis=0)``), and
    its scans and sorts divide by a zero axis length (ml-explore/mlx#4340).
    ``dtype``: the result's, when ``fn`` changes it (``mx.all`` gives bools)."""
    if x.size == 0:
        dtype = backend.mlx_dtype(dtype) if dtype else x.dtype
        return mx.full(reduced_shape(x.shape, axes, keepdims), empty, dtype=dtype)
    return fn(x, axis=axes, keepdims=keepdims)
