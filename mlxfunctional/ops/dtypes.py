"""Keras' dtype promotion (``keras.backend.result_type``) and ``convert_to_tensor``.

Keras promotes dtypes the way JAX does (a lattice, not numpy's value-based
rules) and, off TensorFlow, keeps results at 32 bits: ``int64`` becomes
``int32`` and ``float64`` becomes ``float32``. Python scalars are *weak*:
``int`` and ``float`` take the other operand's kind and width
(``uint8 + 1 -> uint8``, ``int32 + 1.5 -> float32``).

The lattice below lists, for each dtype, the dtypes it promotes to directly;
the result of several dtypes is their least upper bound on it.
"""

import functools

import mlx.core as mx
import numpy as np

from .. import backend
from ..engine.input_standardization import convert_to_array

_LATTICE = {
    "bool": ("int",),
    "int": ("uint8", "int8"),  # a weak (Python) int
    "uint8": ("uint16", "int16"), "uint16": ("uint32", "int32"),
    "uint32": ("uint64", "int64"), "uint64": ("float",),
    "int8": ("int16",), "int16": ("int32",), "int32": ("int64",), "int64": ("float",),
    "float": ("bfloat16", "float16"),  # a weak (Python) float
    "bfloat16": ("float32",), "float16": ("float32",),
    "float32": ("float64", "complex64"), "float64": ("complex128",),
    "complex64": ("complex128",), "complex128": (),
}
_WEAK = ("int", "float")
_TO_32_BITS = {"int64": "int32", "uint64": "uint32", "float64": "float32",
               "complex128": "complex64"}


def _upper_bounds():
    bounds = {}
    for dtype in _LATTICE:
        seen, pending = {dtype}, [dtype]
        while pending:
            for up in _LATTICE[pending.pop()]:
                if up not in seen:
                    seen.add(up)
                    pending.append(up)
        bounds[dtype] = seen
    return bounds


_UPPER = _upper_bounds()


@functools.lru_cache(maxsize=512)
def _join(names):
    common = set.intersection(*(_UPPER[n] for n in names))
    least = [c for c in common if common <= _UPPER[c]]
    if len(least) != 1:
        raise ValueError(f"Input dtypes {names} have no implicit promotion; cast them "
                         "explicitly.")
    return least[0]


def _kind_of(value):
    """(dtype name, weak) of a dtype, a Python type, an array or a Python scalar."""
    if value is int or (isinstance(value, int) and not isinstance(value, bool)):
        return "int32", True
    if value is float or isinstance(value, float):
        return "float32", True
    if value is bool or isinstance(value, bool):
        return "bool", False
    if hasattr(value, "dtype") and not isinstance(value, (str, np.dtype, mx.Dtype)):
        value = value.dtype
    return backend.standardize_dtype(value), False


def result_type(*dtypes):
    """The dtype of an op on operands of ``dtypes`` (names, dtypes, Python types
    ``int``/``float``/``bool`` standing for weak scalars, or arrays)."""
    if not dtypes:
        return backend.floatx()
    kinds = [_kind_of(d) for d in dtypes]
    strong = [name for name, weak in kinds if not weak]
    weak = [name for name, is_weak in kinds if is_weak]
    if not strong:  # only Python scalars: their own promotion, at default width
        result = "float32" if "float32" in weak else "int32"
        if result == "float32":
            result = backend.floatx()
        return result
    nodes = tuple(sorted(set(strong) | {"int" if w == "int32" else "float" for w in weak}))
    result = _join(nodes)
    if result in _WEAK:  # e.g. bool + 1: the weak kind at default width
        result = "int32" if result == "int" else backend.floatx()
    return _TO_32_BITS.get(result, result)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """``x`` (array, numpy array, Python scalar or nested list) as an ``mx.array``.

    Without ``dtype``: MLX arrays are kept; numpy float64/int64 become float32/
    int32 (Keras off TensorFlow); Python floats become ``floatx()``. ``sparse``
    and ``ragged`` tensors do not exist in MLX (True is an error).
    """
    if sparse or ragged:
        raise ValueError("MLX has no sparse or ragged tensors: convert_to_tensor takes "
                         "dense values only (sparse=True / ragged=True are not supported).")
    return convert_to_array(x, dtype, where="convert_to_tensor's input")


def is_float(dtype):
    return backend.is_float_dtype(dtype)
