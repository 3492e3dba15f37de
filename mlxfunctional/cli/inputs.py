"""``mlxf predict``'s input files, read without trusting them.

A ``.npy`` header states a shape and a dtype that numpy allocates before it
reads a byte of data, so a 176-byte file declaring 10^12 rows asks for
terabytes. Every array's declared size is checked against the bytes that hold
it first: the file's size for a ``.npy``, the member's size for a ``.npz``
(whose declared size is itself bounded by what deflate can expand). The file
is opened without blocking and must be a regular file: opening a FIFO to read
would wait for a writer forever.
"""

import os
import stat
import zipfile
import zlib

from .errors import EXIT_MISMATCH, CLIError, require_file

# Deflate cannot expand data more than about 1032 times; a member declaring
# more than this is lying about its size (a zip bomb or a corrupt entry).
_MAX_DEFLATE_RATIO = 1100


def load_inputs(path, names):
    """The arrays in ``path`` for a model whose inputs are ``names`` (a list, in order).

    A ``.npy`` file feeds a model with one input; a ``.npz`` holds one array per
    input name (or a single array for a single input).

    Raises:
        CLIError: ``EXIT_MISSING`` when the file does not exist; ``EXIT_MISMATCH``
            when it is not a regular file, cannot be read, declares more data
            than it holds, holds no rows, or does not name the model's inputs.
    """
    require_file(path, "input file")
    try:
        with _open_regular(path) as f:
            # The prefix decides, as in np.load: a .npz is a zip, anything else a .npy.
            is_zip = f.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
            f.seek(0)
            if is_zip:
                arrays = _read_npz(f, path, names)
            elif len(names) != 1:
                raise CLIError(f"the model has {len(names)} inputs {names}: give a .npz "
                               "file with one array per input name", EXIT_MISMATCH)
            else:
                arrays = [_read_npy(f, os.fstat(f.fileno()).st_size, path)]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error,
            NotImplementedError) as e:
        # Truncated or corrupt files surface as any of these from numpy and zipfile.
        raise CLIError(f"cannot read input file {path!r} as a .npy/.npz array: {e}",
                       EXIT_MISMATCH) from None
    for array in arrays:
        if array.ndim and array.shape[0] == 0:
            raise CLIError(f"input file {path!r} holds no samples (shape {array.shape})",
                           EXIT_MISMATCH)
    return arrays


def _open_regular(path):
    # O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for
    # a writer; it changes nothing for a regular file.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CLIError(f"input file {path!r} is not a regular file (a FIFO, device or "
                       "folder): give a .npy or .npz file", EXIT_MISMATCH)
    return os.fdopen(fd, "rb")


def _read_npz(f, path, names):
    with zipfile.ZipFile(f) as archive:
        members = {i.filename[:-4]: i for i in archive.infolist()
                   if i.filename.endswith(".npy")}
        keys = sorted(members)
        if len(names) == 1 and len(keys) == 1:
            wanted = keys
        elif sorted(names) != keys:
            raise CLIError(f"the arrays in {path!r} are named {keys}; the model's inputs "
                           f"are {names}", EXIT_MISMATCH)
        else:
            wanted = names
        arrays = []
        for key in wanted:
            info = members[key]
            ceiling = info.compress_size * (
                _MAX_DEFLATE_RATIO if info.compress_type != zipfile.ZIP_STORED else 1)
            if info.file_size > max(ceiling, 1 << 16):
                raise CLIError(f"array {key!r} in {path!r} declares {info.file_size} bytes "
                               f"stored in {info.compress_size}: more than compression "
                               "allows (a corrupt or crafted file)", EXIT_MISMATCH)
            with archive.open(info) as member:
                arrays.append(_read_npy(member, info.file_size, f"{path}:{key}"))
        return arrays


def _read_npy(f, size, where):
    """The array of the ``.npy`` stream ``f`` of ``size`` bytes, once its header's
    shape and dtype are shown to fit in those bytes."""
    import numpy as np

    fmt = np.lib.format
    version = fmt.read_magic(f)
    readers = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
    if version not in readers:
        raise ValueError(f".npy format version {version} is not supported (1.0 or 2.0)")
    shape, fortran_order, dtype = readers[version](f)
    if dtype.hasobject:
        raise ValueError("it holds Python objects, which only allow_pickle=True would "
                         "read and an input file is never unpickled; give a numeric array")
    needed = dtype.itemsize
    for n in shape:
        needed *= int(n)
    held = size - f.tell()
    if needed > held:
        raise CLIError(f"{where!r} declares an array of shape {tuple(shape)} and dtype "
                       f"{dtype} ({needed} bytes) but holds {held} bytes of data",
                       EXIT_MISMATCH)
    data = f.read(needed)
    if len(data) != needed:
        raise EOFError(f"{where!r} ends after {len(data)} of {needed} bytes of data")
    order = "F" if fortran_order else "C"
    return np.frombuffer(data, dtype=dtype).reshape(shape, order=order)
