"""Arrays to and from ``.npy``/``.npz``, without pickle, one array at a time.

Reading parses each ``.npy`` header here (not ``np.load``): the header must
be a small dict literal with a plain numeric dtype (no object, structured or
big-endian types), a shape of non-negative ints, and exactly
``prod(shape) * itemsize`` bytes of data after it. ``index_npz`` reads only
the headers (what checks against a model need); each array's data is read
later into a numpy array of its declared size (``NpyMember.load``), so an
archive is never held in memory whole: nothing is unpickled, nothing is
executed, and a member whose array is not wanted is never inflated.

Writing (``write_npz``) uses numpy's own writer with ``allow_pickle=False``,
one array at a time, into a zip whose members are stored uncompressed
(weights do not compress) with a fixed timestamp, so ``np.load`` reads the
result. Written into a stream that cannot seek (a member of the model file
being written), each member's sizes and CRC follow its data.

``bfloat16`` has no numpy dtype: ``.npz`` files hold such weights as
``float32`` (exact), and loading casts them back.
"""

import ast
import io
import math
import zipfile

import mlx.core as mx
import numpy as np

from ..backend import mlx_dtype
from . import safe_io
from .safe_io import ReadError, ZipReader
from .streams import read_exactly_into

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


def parse_npy_header(data):
    """The start of a ``.npy`` (at least its header) -> ``(data offset, dtype name,
    fortran_order, shape, element count)``; ``ReadError`` naming what is wrong.

    ``data`` may be just the first bytes: a header longer than ``data`` (or than
    ``MAX_NPY_HEADER``) is an error.
    """
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
    return start + size, NPY_DTYPES[descr], fortran, tuple(shape), count


def _check_body(dtype, shape, count, body_bytes):
    nbytes = count * _NUMPY[dtype].itemsize
    if nbytes > safe_io.MAX_FILE_BYTES or body_bytes != nbytes:
        raise ReadError(f"declares shape {shape} of {dtype} ({nbytes:,} bytes) "
                        f"but holds {body_bytes:,} bytes of data")
    return nbytes


def _shaped(flat, shape, fortran):
    return Stored(_c_order(flat.reshape(shape, order="F" if fortran else "C")))


def decode_npy(data):
    """``.npy`` bytes -> ``Stored``; raises ``ReadError`` naming what is wrong."""
    data = memoryview(data)
    start, dtype, fortran, shape, count = parse_npy_header(data)
    body = data[start:]
    _check_body(dtype, shape, count, len(body))
    return _shaped(np.frombuffer(body, dtype=_NUMPY[dtype], count=count), shape, fortran)


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


def write_npz(f, arrays):
    """Writes ``{name: array}`` to the binary stream ``f`` as an ``.npz`` (members
    ``<name>.npy``, in the dict's order), one array at a time: the arrays may be lazy
    views of a model's weights, and at most one of them is copied to the host at once.

    ``f`` need not be seekable (a member of the zip being written): the sizes and
    CRC of each member then follow its data, which every zip reader accepts.
    """
    with zipfile.ZipFile(f, "w", allowZip64=True) as zf:
        for name, value in arrays.items():
            array = _c_order(to_numpy(value))
            info = zip_info(name + ".npy")
            info.file_size = array.nbytes + MAX_NPY_HEADER  # (a bound: zipfile picks zip64)
            with zf.open(info, "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
            del array


def encode_npz(arrays):
    """``{name: array}`` -> ``.npz`` bytes (see ``write_npz``)."""
    buf = io.BytesIO()
    write_npz(buf, arrays)
    return buf.getvalue()


class NpyMember:
    """One array of an ``.npz`` whose header has been read and whose data has not.

    ``shape`` and ``dtype`` are what a check against a model needs; ``load()``
    reads the data (a ``Stored``), ``to_mlx()`` reads it straight into an
    ``mx.array``, so an archive's arrays are held one at a time on the way in.
    The archive must stay open until then.
    """

    __slots__ = ("reader", "member", "what", "key", "start", "dtype", "fortran", "shape",
                 "count")

    def __init__(self, reader, member, what, key, header):
        self.reader, self.member, self.what, self.key = reader, member, what, key
        self.start, self.dtype, self.fortran, self.shape, self.count = header

    def load(self):
        """The array, read now; ``ReadError`` (a sentence) when the data is corrupt."""
        flat = np.empty(self.count, _NUMPY[self.dtype])
        with self.reader.open(self.member, safe_io.MAX_FILE_BYTES) as f:
            try:
                skipped = len(f.read(self.start))
                got = read_exactly_into(f, flat)
                tail = f.read(1)  # (also what makes zipfile check the CRC)
            except Exception as e:  # bad CRC, truncated data, zlib errors...
                raise ReadError(f"member {self.member!r} of {self.what} is corrupt "
                                f"({safe_io.describe(e)}).") from None
        if skipped != self.start or got != flat.nbytes or tail:
            raise ReadError(f"{self.what}: array {self.key!r} does not hold the "
                            f"{flat.nbytes:,} bytes its header declares.")
        return _shaped(flat, self.shape, self.fortran)

    def to_mlx(self, dtype=None):
        return self.load().to_mlx(dtype)

    @property
    def array(self):
        return self.load().array


def index_npz(source, what, budget=None):
    """The arrays of an ``.npz`` (a seekable binary file or bytes), headers only:
    ``({name: NpyMember}, [problems])``. Bad members are problems, not exceptions; an
    archive that cannot be opened raises ``ReadError``. ``budget``: a ``safe_io.Budget``
    charged before any compressed member is inflated."""
    reader = ZipReader(source, what, budget)
    members, problems = {}, []
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
            size = reader.info(name).file_size
            # Only the header is inflated here (zipfile inflates as much as is read).
            with reader.open(name, safe_io.MAX_FILE_BYTES, charge=False) as f:
                head = f.read(min(size, 12 + MAX_NPY_HEADER))
        except ReadError as e:  # a whole sentence already
            problems.append(str(e))
            continue
        except Exception as e:  # zlib errors, truncated data...
            problems.append(f"member {name!r} of {what} is corrupt ({safe_io.describe(e)}).")
            continue
        try:
            header = parse_npy_header(head)
            _check_body(header[1], header[3], header[4], size - header[0])
        except ReadError as e:  # "has ...", "declares ...": about this array
            problems.append(f"{what}: array {key!r} {e}.")
            continue
        members[key] = NpyMember(reader, name, what, key, header)
    return members, problems


def decode_npz(data, what, budget=None):
    """``.npz`` bytes (or a seekable file) -> (``{name: Stored}``, [problems]), every
    array read (see ``index_npz``)."""
    members, problems = index_npz(data, what, budget)
    arrays = {}
    for key, member in members.items():
        try:
            arrays[key] = member.load()
        except ReadError as e:
            problems.append(str(e))
    return arrays, problems
