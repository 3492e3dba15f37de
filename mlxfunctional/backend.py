"""``keras.backend``: layer names, the numeric settings and dtype names.

Keras keeps a per-session counter per base name so that the first Dense is
``dense``, the next ``dense_1`` and so on; ``clear_session()`` resets it. The
counters, ``floatx`` and ``epsilon`` are held in ``global_state``, with the
package's other mutable state.

The whole package imports this module, so it imports nothing of the package
but ``global_state``: what Keras also exports here is defined here too
(``result_type``, the dtype promotion that ``keras.ops`` uses) or answered
without the engine (``is_keras_tensor``: symbolic tensors derive from
``SymbolicTensor``).
"""

import functools
import re

import mlx.core as mx
import numpy as np

from . import global_state
from .global_state import clear_session  # noqa: F401  (keras.backend.clear_session)


def backend():
    """The name of the backend: ``"mlx"``."""
    return "mlx"


def epsilon():
    """The fuzz factor Keras code adds to avoid dividing by zero (``1e-7``)."""
    return global_state.epsilon


def set_epsilon(value):
    """Sets the fuzz factor returned by ``epsilon()``."""
    global_state.epsilon = float(value)


def image_data_format():
    """``"channels_last"``: the only image layout the layers support (MLX's own)."""
    return "channels_last"


def set_image_data_format(data_format):
    """Accepts ``"channels_last"``; refuses ``"channels_first"``, which no layer supports."""
    if data_format == "channels_last":
        return
    if data_format == "channels_first":
        raise ValueError("set_image_data_format('channels_first') is not supported: MLX "
                         "layers and kernels are channels-last. Transpose the data instead.")
    raise ValueError("The `data_format` argument must be one of 'channels_last', "
                     f"'channels_first'. Received: data_format={data_format!r}")


def get_uid(prefix=""):
    """A per-session counter per prefix: 1, 2, 3... (``clear_session`` resets it)."""
    global_state.name_uids[prefix] += 1
    return global_state.name_uids[prefix]


class SymbolicTensor:
    """What every symbolic tensor is (``engine.keras_tensor.KerasTensor`` derives from it):
    lets this leaf module answer ``is_keras_tensor`` without importing the engine."""


def is_keras_tensor(x):
    """True for a symbolic tensor of a functional graph (``keras.Input`` and its uses)."""
    return isinstance(x, SymbolicTensor)


def floatx():
    """Returns the default float type as a string (``"float32"``)."""
    return global_state.floatx


def set_floatx(value):
    """Sets the default float type (``"float32"``, ``"float16"``...)."""
    standardize_dtype(value)  # validates
    global_state.floatx = str(value)


def to_snake_case(name):
    """``Conv2DTranspose`` -> ``conv2d_transpose``, as Keras names layers."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def unique_name(base):
    """Returns ``base`` the first time, then ``base_1``, ``base_2``..."""
    count = global_state.name_uids[base]
    global_state.name_uids[base] += 1
    return base if count == 0 else f"{base}_{count}"


_DTYPES = {
    "float32": mx.float32,
    "float16": mx.float16,
    "bfloat16": mx.bfloat16,
    "float64": mx.float64,
    "int8": mx.int8,
    "int16": mx.int16,
    "int32": mx.int32,
    "int64": mx.int64,
    "uint8": mx.uint8,
    "uint16": mx.uint16,
    "uint32": mx.uint32,
    "uint64": mx.uint64,
    "bool": mx.bool_,
    "complex64": mx.complex64,
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def standardize_dtype(dtype):
    """Returns the dtype's Keras name (``"float32"``) for a string, MLX or numpy dtype."""
    if dtype is None:
        return floatx()
    if isinstance(dtype, mx.Dtype):
        return _NAMES[dtype]
    if isinstance(dtype, type):  # a Python or numpy scalar type: float, np.float32...
        dtype = {float: "float32", int: "int32", bool: "bool"}.get(dtype) or np.dtype(dtype)
    name = getattr(dtype, "name", None) or str(dtype)
    name = {"float": "float32", "int": "int32", "bool_": "bool", "double": "float64"}.get(name, name)
    if name.startswith("mlx.core."):
        name = name[len("mlx.core."):]
    if name not in _DTYPES:
        raise ValueError(f"Unknown dtype {dtype!r}. Expected one of {sorted(_DTYPES)}.")
    return name


def mlx_dtype(dtype):
    """Returns the ``mx.Dtype`` for a dtype name (or any form standardize_dtype takes)."""
    return _DTYPES[standardize_dtype(dtype)]


def is_float_dtype(dtype):
    """True for the float dtypes (``float16``, ``bfloat16``, ``float32``, ``float64``)."""
    return standardize_dtype(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype):
    """True for the signed and unsigned integer dtypes."""
    return standardize_dtype(dtype).startswith(("int", "uint"))


# -- dtype promotion (keras.backend.result_type) ----------------------------------
# Keras promotes dtypes the way JAX does (a lattice, not numpy's value-based rules)
# and, off TensorFlow, keeps results at 32 bits: int64 -> int32, float64 -> float32.
# Python scalars are *weak*: `int` and `float` take the other operand's kind and width
# (uint8 + 1 -> uint8, int32 + 1.5 -> float32). _LATTICE lists, for each dtype, the
# dtypes it promotes to directly; several dtypes give their least upper bound on it.

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
    return standardize_dtype(value), False


def result_type(*dtypes):
    """The dtype of an op on operands of ``dtypes`` (names, dtypes, Python types
    ``int``/``float``/``bool`` standing for weak scalars, or arrays)."""
    if not dtypes:
        return floatx()
    kinds = [_kind_of(d) for d in dtypes]
    strong = [name for name, weak in kinds if not weak]
    weak = [name for name, is_weak in kinds if is_weak]
    if not strong:  # only Python scalars: their own promotion, at default width
        result = "float32" if "float32" in weak else "int32"
        if result == "float32":
            result = floatx()
        return result
    nodes = tuple(sorted(set(strong) | {"int" if w == "int32" else "float" for w in weak}))
    result = _join(nodes)
    if result in _WEAK:  # e.g. bool + 1: the weak kind at default width
        result = "int32" if result == "int" else floatx()
    return _TO_32_BITS.get(result, result)
