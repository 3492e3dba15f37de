"""``.safetensors`` bytes, read and written here with numpy.

The format: an 8-byte little-endian header length N, N bytes of JSON
``{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}``
(plus an optional ``"__metadata__"`` dict of strings), then the data, offsets
counted from the end of the header.

Reading checks what ``mx.load`` would trust: the header's size and nesting,
each dtype, that ``end - begin == prod(shape) * itemsize``, that offsets lie
inside the data and that no two tensors overlap -- from the header alone:
each tensor's data is read when it is used, one at a time (``index``).
BF16 is kept as its raw bits (``Stored(uint16 array, "bfloat16")``).
"""

import io
import json
import math

import mlx.core as mx
import numpy as np

from .arrays import Stored, dtype_name, element_count
from . import safe_io
from .safe_io import ReadError, parse_json
from .streams import read_exactly_into

_CODES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "U16": "uint16", "I16": "int16",
          "U32": "uint32", "I32": "int32", "U64": "uint64", "I64": "int64",
          "F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64",
          "C64": "complex64"}
_NAMES = {v: k for k, v in _CODES.items()}
# numpy dtype that holds the bytes of each (bfloat16: its 16 raw bits).
_HOLDER = {name: np.dtype("<u2" if name == "bfloat16" else
                          "?" if name == "bool" else name).newbyteorder("<")
           for name in _CODES.values()}


def _bytes_of(value):
    """(dtype name, contiguous little-endian numpy array) for an mx or numpy array."""
    if isinstance(value, mx.array):
        name = dtype_name(value.dtype)
        arr = np.asarray(value.view(mx.uint16)) if name == "bfloat16" else np.asarray(value)
    else:
        arr = np.asarray(value)
        name = dtype_name(arr.dtype)
    if name not in _NAMES:
        raise ValueError(f"safetensors cannot hold dtype {name}.")
    return name, np.asarray(arr, dtype=_HOLDER[name])  # (tobytes() writes C order)


def write(f, arrays, metadata=None):
    """Writes ``{name: array}`` to the binary stream ``f`` as ``.safetensors`` (tensors in
    the dict's order), one array at a time: the header needs only shapes and dtypes,
    so at most one array is copied to the host at once."""
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, value in arrays.items():
        dtype = _dtype_of(value)
        nbytes = math.prod(value.shape) * _HOLDER[dtype].itemsize
        header[name] = {"dtype": _NAMES[dtype], "shape": list(value.shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as the spec advises
    f.write(len(text).to_bytes(8, "little") + text)
    for value in arrays.values():
        _, arr = _bytes_of(value)
        f.write(np.ascontiguousarray(arr).reshape(-1).view(np.uint8))  # (C order)
        del arr


def _dtype_of(value):
    name = dtype_name(value.dtype)
    if name not in _NAMES:
        raise ValueError(f"safetensors cannot hold dtype {name}.")
    return name


def encode(arrays, metadata=None):
    """``{name: array}`` -> ``.safetensors`` bytes (see ``write``)."""
    buf = io.BytesIO()
    write(buf, arrays, metadata)
    return buf.getvalue()


class TensorMember:
    """One tensor of a ``.safetensors`` file whose header entry has been checked and
    whose data has not been read: ``shape``, ``dtype``; ``load()`` -> ``Stored``,
    ``to_mlx()``. The file must stay open until then."""

    __slots__ = ("f", "what", "key", "start", "dtype", "shape", "count")

    def __init__(self, f, what, key, start, dtype, shape, count):
        self.f, self.what, self.key, self.start = f, what, key, start
        self.dtype, self.shape, self.count = dtype, tuple(shape), count

    def load(self):
        array = np.empty(self.count, _HOLDER[self.dtype])
        self.f.seek(self.start)
        if read_exactly_into(self.f, array) != array.nbytes:
            raise ReadError(f"{self.what}: tensor {self.key!r} is cut short (the file "
                            "changed or was truncated while it was read).")
        return Stored(array.reshape(self.shape), self.dtype)

    def to_mlx(self, dtype=None):
        return self.load().to_mlx(dtype)

    @property
    def array(self):
        return self.load().array


def index(f, what):
    """The tensors of a ``.safetensors`` file (a seekable binary file or bytes), header
    only: (``{name: TensorMember}``, [problems]); ``ReadError`` when the header itself
    is unreadable."""
    if isinstance(f, (bytes, bytearray, memoryview)):
        f = io.BytesIO(f)
    size = f.seek(0, io.SEEK_END)
    f.seek(0)
    head = f.read(8)
    if len(head) < 8:
        raise ReadError(f"{what} is too short to be a safetensors file.")
    hsize = int.from_bytes(head, "little")
    if hsize > safe_io.MAX_JSON_BYTES or 8 + hsize > size:
        raise ReadError(f"{what} declares a {hsize:,}-byte header that the file does not "
                        "hold (truncated, or not a safetensors file).")
    header = parse_json(f.read(hsize), f"the header of {what}")
    if not isinstance(header, dict):
        raise ReadError(f"the header of {what} is not a JSON object.")
    body = size - 8 - hsize
    arrays, problems, spans = {}, [], []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            begin, end, dtype, shape, count = _tensor(entry, body)
        except ReadError as e:
            problems.append(f"{what}: tensor {name!r} {e}.")
            continue
        spans.append((begin, end, name))
        arrays[name] = TensorMember(f, what, name, 8 + hsize + begin, dtype, shape, count)
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            problems.append(f"{what}: tensors {n0!r} and {n1!r} overlap in the file.")
    return arrays, problems


def decode(data, what):
    """``.safetensors`` bytes -> (``{name: Stored}``, [problems]), every tensor read;
    ``ReadError`` when the header itself is unreadable."""
    members, problems = index(data, what)
    return {name: m.load() for name, m in members.items()}, problems


def _tensor(entry, body):
    if not isinstance(entry, dict):
        raise ReadError("has an entry that is not a JSON object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in _CODES:
        raise ReadError(f"has unknown dtype {dtype!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(
            type(o) is int for o in offsets) and 0 <= offsets[0] <= offsets[1] <= body):
        raise ReadError(f"has data_offsets {offsets!r} outside the file's "
                        f"{body:,} data bytes")
    name = _CODES[dtype]
    holder = _HOLDER[name]
    count = element_count(shape)
    begin, end = offsets
    if end - begin != count * holder.itemsize:
        raise ReadError(f"declares shape {tuple(shape)} of {name} "
                        f"({count * holder.itemsize:,} bytes) but spans {end - begin:,} bytes")
    return begin, end, name, shape, count
