"""``convert_to_tensor`` and Keras' dtype promotion for the ops.

The promotion rule itself (``result_type``) lives in ``backend.py``, the leaf
every module may import, since Keras exports it as ``keras.backend.result_type``.
"""

from .. import backend
from ..backend import result_type  # noqa: F401  (keras.ops.dtypes.result_type)
from ..engine.input_standardization import convert_to_array


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
