"""``keras.backend``: layer names, the numeric settings and dtype names.

Keras keeps a per-session counter per base name so that the first Dense is
``dense``, the next ``dense_1`` and so on; ``clear_session()`` resets it. The
counters, ``floatx`` and ``epsilon`` are held in ``global_state``, with the
package's other mutable state.

The whole package imports this module, so it imports nothing of the package
but ``global_state`` at load time; ``result_type`` and ``is_keras_tensor``,
which Keras also exports here, reach up to ``ops`` and the engine only when
called (two allowed edges of ``scripts/import_graph.py``).
"""

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


def result_type(*dtypes):
    """The dtype Keras' promotion rules give to an op on these dtypes (``keras.ops``)."""
    from .ops.dtypes import result_type as ops_result_type
    return ops_result_type(*dtypes)


def is_keras_tensor(x):
    """True for a symbolic tensor of a functional graph (``keras.Input`` and its uses)."""
    from .engine.keras_tensor import KerasTensor
    return isinstance(x, KerasTensor)


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
