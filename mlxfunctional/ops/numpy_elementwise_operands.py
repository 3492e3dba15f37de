"""How the elementwise ops read their operands: conversion and Keras' dtype rules.

Keras promotes a binary op's operands to ``result_type`` of both, with Python
scalars *weak* (``uint8_array + 1`` stays ``uint8``); ops that only make sense
on floats (``exp``, ``sin``, ``x / y``...) promote once more with ``float``, so
ints and bools become ``floatx()`` while float16 stays float16. The helpers
here do that once, so each op's body is only its math.
"""

import mlx.core as mx

from .. import backend
from .dtypes import convert_to_tensor, result_type

# The integer dtype of each float's width: its bits read as an int (sign bit on top).
BITS_OF = {mx.float32: mx.int32, mx.float16: mx.int16, mx.bfloat16: mx.int16,
           mx.float64: mx.int64}


def is_python_scalar(x):
    """A Python ``int``/``float``/``bool``: a weak type for promotion, not an array."""
    return isinstance(x, (int, float, bool))


def promote(*xs, to_float=False):
    """``xs`` as MLX arrays of one dtype, Keras' ``result_type`` of them.

    Args:
        xs: arrays, numpy arrays, Python scalars or nested lists.
        to_float: promote with ``float`` too (ints and bools become floatx).

    Returns:
        ``(arrays, dtype_name)``.
    """
    kinds = [x if is_python_scalar(x) else convert_to_tensor(x) for x in xs]
    dtype = result_type(*kinds, *((float,) if to_float else ()))
    want = backend.mlx_dtype(dtype)
    arrays = [mx.array(k, dtype=want) if is_python_scalar(k) else
              (k if k.dtype == want else k.astype(want)) for k in kinds]
    return arrays, dtype


def to_float(x):
    """``x`` as an MLX array of a float dtype: ints and bools become floatx,
    floats keep their width (``result_type(x, float)``)."""
    (x,), _ = promote(x, to_float=True)
    return x


def dtype_name(x):
    return backend.standardize_dtype(x.dtype)


def is_int(x):
    """True for (unsigned) integer arrays, not bool."""
    return "int" in dtype_name(x)


def is_float(x):
    return backend.is_float_dtype(x.dtype)


def require_integers(op, **arrays):
    """Raises TypeError naming ``op`` and the argument unless every array is int or bool."""
    for name, x in arrays.items():
        if not (is_int(x) or x.dtype == mx.bool_):
            raise TypeError(f"{op}: `{name}` must hold integers or booleans; received "
                            f"dtype {dtype_name(x)}.")
