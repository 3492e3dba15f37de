"""Arrays to and from ``.npy``/``.npz`` bytes, without pickle.

Reading parses each ``.npy`` header here (not ``np.load``): the header must
be a small dict literal with a plain numeric dtype (no object, structured or
big-endian types), a shape of non-negative ints, and exactly
``prod(shape) * itemsize`` bytes of data after it. Arrays are built with
``np.frombuffer`` on those bytes: nothing is unpickled, nothing is executed.

Writing uses numpy's own writer with ``allow_pickle=False``, inside a zip
whose members are stored uncompressed (weights do not compress) with a
fixed timestamp, so ``np.load("weights.npz")`` reads the result.

``bfloat16`` has no numpy dtype: ``.npz`` files hold such weights as
``float32`` (exact), and loading casts them back.
"""

import ast
import math
import io
import zipfile

import mlx.core as mx
import numpy as np

from ..backend import mlx_dtype
from . import safe_io
from .safe_io import ReadError, ZipReader

MAX_NPY_HEADER = 16 << 10  # numpy's own headers are < 1 KB
_MAX_NDIM = 32

# .npy descr -> dtype name (MLX's names); only plain little-endian numbers.
NPY_DTYPES = {
    "|b1": "bool", "|u1": "uint8", "|i1": "int8", "<u2": "uint16", "<i2": "int16",
    "<u4": "uint32", "<i4": "int32", "<u8": "uint64", "<i8": "int64", "<f2": "float16",
    "<f4": "float32", "<f8": "float64", "<c8": "complex64",
}
_NUMPY = {name: np.dtype(descr) for descr, name in NPY_DTYPES.items()}


def dtype_name(dtype):
    """MLX or numpy dtype -> its plain name (``"float32"``, ``"bfloat16"``...)."""
    if isinstance(dtype, mx.Dtype):
        return str(dtype).rsplit(".", 1)[-1].replace("bool_", "bool")
    return np.dtype(dtype).name


class Stored:
    """One array read from a file: a numpy array plus its dtype name.

    ``dtype`` is ``"bfloat16"`` for safetensors' BF16, whose bits are kept in a
    ``uint16`` numpy array (numpy has no bfloat16).
    """

    __slots__ = ("array", "dtype")

    def __init__(self, array, dtype=None):
        self.array = array
        self.dtype = dtype or dtype_name(array.dtype)

    @property
    def shape(self):
        return tuple(self.array.shape)

    def to_mlx(self, dtype=None):
        """An ``mx.array`` (cast to ``dtype`` when given: only float32 -> bfloat16 is used)."""
        if self.dtype == "bfloat16":
            value = mx.array(self.array).view(mx.bfloat16)
        else:
            value = mx.array(self.array, dtype=mlx_dtype(self.dtype))
        return value if dtype is None or value.dtype == dtype else value.astype(dtype)


def to_numpy(value):
    """``mx.array`` -> numpy for an ``.npz`` (bfloat16 becomes float32, exactly)."""
    if isinstance(value, mx.array) and value.dtype == mx.bfloat16:
        value = value.astype(mx.float32)
    return np.asarray(value)


# -- .npy ----------------------------------------------------------------------
def _c_order(array):
    # (np.ascontiguousarray would turn a 0-d array, e.g. the optimizer's step, into 1-d.)
    array = np.asarray(array)
    return array if array.flags.c_contiguous else np.array(array, order="C")


def encode_npy(array):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, _c_order(array), allow_pickle=False)
    return buf.getvalue()


def decode_npy(data):
    """``.npy`` bytes -> ``Stored``; raises ``ReadError`` naming what is wrong."""
    data = memoryview(data)
    if len(data) < 10 or bytes(data[:6]) != b"\x93NUMPY":
        raise ReadError("is not a .npy array (bad magic bytes)")
    major = data[6]
    if major == 1:
        start, size = 10, int.from_bytes(data[8:10], "little")
    elif major in (2, 3):
        if len(data) < 12:
            raise ReadError("has a truncated .npy header")
        start, size = 12, int.from_bytes(data[8:12], "little")
    else:
        raise ReadError(f"has an unknown .npy format version {major}")
    if size > MAX_NPY_HEADER or start + size > len(data):
        raise ReadError("has a .npy header that is too long or truncated")
    try:
        text = bytes(data[start:start + size]).decode("utf-8" if major == 3 else "latin1")
        # literal_eval only builds literals (numbers, strings, tuples, dicts): no code runs.
        header = ast.literal_eval(text)
    except Exception:  # SyntaxError, ValueError, MemoryError, RecursionError...
        raise ReadError("has an unreadable .npy header") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise ReadError("has a .npy header without exactly descr/fortran_order/shape")
    descr, fortran, shape = header["descr"], header["fortran_order"], header["shape"]
    if not isinstance(descr, str) or descr not in NPY_DTYPES:
        raise ReadError(f"has dtype {descr!r}, which is not a plain little-endian number "
                        "type (object, structured and other dtypes are refused)")
    if not isinstance(fortran, bool):
        raise ReadError("has a .npy header whose fortran_order is not a bool")
    count = element_count(shape)
    dtype = _NUMPY[NPY_DTYPES[descr]]
    nbytes = count * dtype.itemsize
    body = data[start + size:]
    if nbytes > safe_io.MAX_FILE_BYTES or len(body) != nbytes:
        raise ReadError(f"declares shape {shape} of {NPY_DTYPES[descr]} ({nbytes:,} bytes) "
                        f"but holds {len(body):,} bytes of data")
    array = np.frombuffer(body, dtype=dtype, count=count)
    array = array.reshape(shape, order="F" if fortran else "C")
    return Stored(_c_order(array))


def element_count(shape):
    """The number of elements of a shape read from a file, after checking it is one
    (a list or tuple of at most 32 non-negative ints); else ``ReadError``."""
    if not (isinstance(shape, (tuple, list)) and len(shape) <= _MAX_NDIM and all(
            type(d) is int and d >= 0 for d in shape)):
        raise ReadError(f"has an invalid shape {shape!r}")
    return math.prod(shape)


# -- .npz ----------------------------------------------------------------------
def zip_info(name, compress_type=zipfile.ZIP_STORED):
    """A member with fixed metadata, so the same content gives the same bytes."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = compress_type
    info.external_attr = 0o644 << 16
    return info


def encode_npz(arrays):
    """``{name: array}`` -> ``.npz`` bytes (members ``<name>.npy``, in the dict's order)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", allowZip64=True) as zf:
        for name, value in arrays.items():
            zf.writestr(zip_info(name + ".npy"), encode_npy(to_numpy(value)))
    return buf.getvalue()


def decode_npz(data, what):
    """``.npz`` bytes -> (``{name: Stored}``, [problems]). Bad members are problems, not
    exceptions; an archive that cannot be opened raises ``ReadError``."""
    reader = ZipReader(data, what)
    arrays, problems = {}, []
    for name in reader.duplicates():
        problems.append(f"{what} holds {name!r} more than once.")
    for name in reader.names():
        if reader.counts[name] > 1:
            continue
        if not name.endswith(".npy"):
            problems.append(f"{what} has a member {name!r} that is not a .npy array.")
            continue
        key = name[:-4]
        try:
            raw = reader.read(name, safe_io.MAX_FILE_BYTES)
        except ReadError as e:  # a whole sentence already
            problems.append(str(e))
            continue
        try:
            arrays[key] = decode_npy(raw)
        except ReadError as e:  # "has ...", "declares ...": about this array
            problems.append(f"{what}: array {key!r} {e}.")
    reader.close()
    return arrays, problems
