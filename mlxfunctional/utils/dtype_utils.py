"""``keras.utils.standardize_dtype``: any spelling of a dtype -> its Keras name."""

from .. import backend

# Keras' names for Python's own types (MLX and Keras' non-TF backends use 32-bit ints).
_PYTHON_TYPES = {bool: "bool", int: "int32", float: "float32", complex: "complex64",
                 "int": "int32"}


def standardize_dtype(dtype):
    """``"float32"`` for ``None`` (the floatx), ``float``, ``np.float32``,
    ``mx.float32`` or ``"float32"``; ``int`` -> ``"int32"``; ``bool`` -> ``"bool"``.

    Raises:
        ValueError: for a dtype MLX does not have (strings included).
    """
    dtype = _PYTHON_TYPES.get(dtype, dtype)
    if isinstance(dtype, type) and hasattr(dtype, "__name__"):  # np.float16, the class
        dtype = dtype.__name__
    return backend.standardize_dtype(dtype)
