"""``.safetensors`` bytes, read and written here with numpy.

The format: an 8-byte little-endian header length N, N bytes of JSON
``{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}``
(plus an optional ``"__metadata__"`` dict of strings), then the data, offsets
counted from the end of the header.

Reading checks what ``mx.load`` would trust: the header's size and nesting,
each dtype, that ``end - begin == prod(shape) * itemsize``, that offsets lie
inside the data and that no two tensors overlap. BF16 is kept as its raw
bits (``Stored(uint16 array, "bfloat16")``).
"""

import json

import mlx.core as mx
import numpy as np

from .arrays import Stored, dtype_name, element_count
from . import safe_io
from .safe_io import ReadError, parse_json

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


def encode(arrays, metadata=None):
    """``{name: array}`` -> ``.safetensors`` bytes (tensors in the dict's order)."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, value in arrays.items():
        dtype, arr = _bytes_of(value)
        data = arr.tobytes()
        header[name] = {"dtype": _NAMES[dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as the spec advises
    return b"".join([len(text).to_bytes(8, "little"), text] + chunks)


def decode(data, what):
    """``.safetensors`` bytes -> (``{name: Stored}``, [problems]); ``ReadError`` when the
    header itself is unreadable."""
    data = memoryview(data)
    if len(data) < 8:
        raise ReadError(f"{what} is too short to be a safetensors file.")
    size = int.from_bytes(data[:8], "little")
    if size > safe_io.MAX_JSON_BYTES or 8 + size > len(data):
        raise ReadError(f"{what} declares a {size:,}-byte header that the file does not "
                        "hold (truncated, or not a safetensors file).")
    header = parse_json(data[8:8 + size], f"the header of {what}")
    if not isinstance(header, dict):
        raise ReadError(f"the header of {what} is not a JSON object.")
    body = data[8 + size:]
    arrays, problems, spans = {}, [], []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            begin, end, stored = _tensor(entry, body)
        except ReadError as e:
            problems.append(f"{what}: tensor {name!r} {e}.")
            continue
        spans.append((begin, end, name))
        arrays[name] = stored
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            problems.append(f"{what}: tensors {n0!r} and {n1!r} overlap in the file.")
    return arrays, problems


def _tensor(entry, body):
    if not isinstance(entry, dict):
        raise ReadError("has an entry that is not a JSON object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in _CODES:
        raise ReadError(f"has unknown dtype {dtype!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(
            type(o) is int for o in offsets) and 0 <= offsets[0] <= offsets[1] <= len(body)):
        raise ReadError(f"has data_offsets {offsets!r} outside the file's "
                        f"{len(body):,} data bytes")
    name = _CODES[dtype]
    holder = _HOLDER[name]
    count = element_count(shape)
    begin, end = offsets
    if end - begin != count * holder.itemsize:
        raise ReadError(f"declares shape {tuple(shape)} of {name} "
                        f"({count * holder.itemsize:,} bytes) but spans {end - begin:,} bytes")
    # A read-only view of the file's bytes: no second copy of every tensor.
    array = np.frombuffer(body[begin:end], dtype=holder, count=count).reshape(shape)
    return begin, end, Stored(array, name)
