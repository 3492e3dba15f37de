"""CIFAR-10: ``load_data()`` with Keras' structure, shapes and dtypes.

The canonical archive (``cifar-10-python.tar.gz``, 163 MiB) holds Python pickles.
Unpickling runs whatever code a file names, so they are never unpickled here: a small
reader walks the pickle's opcodes (``pickletools.genops``) on a stack of plain values,
accepts only the opcodes these files use, and treats the few globals they name
(numpy's ``_reconstruct``/``ndarray``/``dtype``, ``_codecs.encode``) as inert
markers it interprets itself — nothing is imported or called. Both the real files
(Python 2 ``cPickle`` protocol 2: byte strings as ``BINSTRING``) and Python 3
protocol-2 pickles (bytes as ``_codecs.encode(str, "latin1")``) are read.

There is no bundled fallback: without a network, put the archive in the cache
folder yourself (see ``load_data``).
"""

import io
import pickletools
import tarfile

import numpy as np

from . import download

FILE_NAME = "cifar-10-python.tar.gz"
_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
_TEST = "test_batch"


def load_data(verbose=None):
    """Loads CIFAR-10, downloading it once into ``$MLXF_HOME/datasets/``.

    Args:
        verbose: download progress bar on stderr: 0 off, 1 on, ``None`` when
            stderr is a terminal.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 ``(50000, 32, 32, 3)``,
        uint8 ``(50000, 1)``, uint8 ``(10000, 32, 32, 3)``, uint8 ``(10000, 1)``
        (channels last, labels 0-9).

    Raises:
        download.DownloadError: the archive could not be fetched; the message says
            where to put a copy downloaded by hand.
        download.ChecksumError: the download was corrupt (it has been deleted).
    """
    try:
        path = download.get_file(FILE_NAME, verbose=verbose)
    except download.DownloadError as e:
        url, sha = download.KNOWN_FILES[FILE_NAME]
        raise download.DownloadError(
            f"{e}\nCIFAR-10 has no offline copy in this package. To use it without "
            f"network access, download {url} (sha256 {sha}) on another machine and "
            f"put it at {download.datasets_dir() / FILE_NAME} (set MLXF_HOME to move "
            "the cache).") from e
    batches = _read_batches(path)
    x_parts, y_parts = [], []
    for name in _TRAIN:
        x, y = batches[name]
        x_parts.append(x)
        y_parts.append(y)
    x_train, y_train = np.concatenate(x_parts), np.concatenate(y_parts)
    x_test, y_test = batches[_TEST]
    # Keras: (N, 3, 32, 32) rows -> channels last, labels as a column.
    return ((x_train.transpose(0, 2, 3, 1), y_train.reshape(-1, 1)),
            (x_test.transpose(0, 2, 3, 1), y_test.reshape(-1, 1)))


def _read_batches(path):
    """``{batch name: (x uint8 (n, 3, 32, 32), y uint8 (n,))}`` from the archive."""
    wanted = set(_TRAIN) | {_TEST}
    found = {}
    # One sequential pass: seeking backwards in a .tar.gz re-decompresses it.
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            base = member.name.rsplit("/", 1)[-1]
            if member.isfile() and base in wanted:
                found[base] = _batch_arrays(read_pickle(tar.extractfile(member).read()),
                                            f"{path}:{member.name}")
    missing = sorted(wanted - set(found))
    if missing:
        raise ValueError(f"{path} is not the CIFAR-10 python archive: missing {missing}.")
    return found


def _batch_arrays(d, where):
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected a dict, got {type(d).__name__}.")
    d = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in d.items()}
    if "data" not in d or "labels" not in d:
        raise ValueError(f"{where}: no 'data'/'labels' entries (keys {sorted(d)}).")
    data = _to_uint8(d["data"], where)
    if data.ndim == 1 and data.size % 3072 == 0:
        data = data.reshape(-1, 3072)
    labels = d["labels"]
    if not isinstance(labels, list) or not all(
            isinstance(v, int) and 0 <= v < 10 for v in labels):
        raise ValueError(f"{where}: 'labels' is not a list of ints in 0..9.")
    if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] != len(labels):
        raise ValueError(f"{where}: data of shape {data.shape} for {len(labels)} labels; "
                         "expected (n, 3072).")
    return data.reshape(-1, 3, 32, 32), np.asarray(labels, dtype=np.uint8)


def _to_uint8(value, where):
    """A batch's ``data``: raw bytes, or a numpy array pickled by ``__reduce__``."""
    if isinstance(value, (bytes, bytearray)):
        return np.frombuffer(value, dtype=np.uint8).copy()
    if (isinstance(value, _Call) and value.func.name == "_reconstruct"
            and value.func.module in _NUMPY_MULTIARRAY and value.state is not None):
        # ndarray.__reduce__ state: (version, shape, dtype, is_fortran, raw bytes).
        _, shape, dtype, fortran, raw = value.state
        code = dtype.args[0] if isinstance(dtype, _Call) and dtype.args else None
        if isinstance(code, bytes):   # Python 2 wrote the dtype code as a byte string
            code = code.decode("latin1")
        if not (isinstance(dtype, _Call) and dtype.func == _Global("numpy", "dtype")
                and code in ("u1", "|u1", "uint8")):
            raise ValueError(f"{where}: 'data' is not uint8.")
        shape = tuple(int(n) for n in shape)
        if not isinstance(raw, (bytes, bytearray)) or len(raw) != int(np.prod(shape)):
            raise ValueError(f"{where}: 'data' holds {len(raw)} bytes for shape {shape}.")
        return np.frombuffer(raw, np.uint8).reshape(shape, order="F" if fortran else "C").copy()
    raise ValueError(f"{where}: 'data' is neither bytes nor a uint8 numpy array.")


# ---------------------------------------------------------------- safe pickle reader

_NUMPY_MULTIARRAY = ("numpy.core.multiarray", "numpy._core.multiarray")
_ALLOWED_GLOBALS = {("_codecs", "encode"), ("numpy", "ndarray"), ("numpy", "dtype")} | {
    (m, "_reconstruct") for m in _NUMPY_MULTIARRAY}


class _Global:
    """A global a pickle names: a marker, never imported."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __eq__(self, other):
        return isinstance(other, _Global) and (self.module, self.name) == (other.module, other.name)

    def __hash__(self):
        return hash((self.module, self.name))


class _Call:
    """``func(*args)`` then ``__setstate__(state)``, recorded, never performed."""

    def __init__(self, func, args):
        self.func, self.args, self.state = func, args, None


_MARK = object()


def read_pickle(data):
    """Reads the value of a protocol-2 pickle of dicts, lists, tuples, ints, strings,
    bytes and numpy arrays **without unpickling**: any other opcode or global raises
    ``ValueError``. Numpy arrays come back as ``_Call`` records for ``_to_uint8``.
    """
    stack, memo = [], {}

    def pop_mark():
        i = len(stack) - 1 - stack[::-1].index(_MARK)
        items = stack[i + 1:]
        del stack[i:]
        return items

    for op, arg, _ in pickletools.genops(io.BytesIO(data)):
        name = op.name
        if name in ("PROTO", "FRAME"):
            continue
        if name == "STOP":
            if len(stack) != 1:
                raise ValueError("malformed pickle: stack not empty at STOP.")
            return stack[0]
        if name == "MARK":
            stack.append(_MARK)
        elif name == "EMPTY_DICT":
            stack.append({})
        elif name == "EMPTY_LIST":
            stack.append([])
        elif name == "EMPTY_TUPLE":
            stack.append(())
        elif name in ("BININT", "BININT1", "BININT2", "LONG1", "INT"):
            stack.append(int(arg))
        elif name == "NONE":
            stack.append(None)
        elif name in ("NEWTRUE", "NEWFALSE"):
            stack.append(name == "NEWTRUE")
        elif name in ("SHORT_BINSTRING", "BINSTRING"):
            stack.append(arg.encode("latin1"))   # a Python 2 str is bytes
        elif name in ("SHORT_BINBYTES", "BINBYTES", "BINBYTES8"):
            stack.append(bytes(arg))
        elif name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"):
            stack.append(str(arg))
        elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[arg] = stack[-1]
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            stack.append(memo[arg])
        elif name == "TUPLE":
            stack.append(tuple(pop_mark()))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            items = tuple(stack[-n:])
            del stack[-n:]
            stack.append(items)
        elif name == "APPEND":
            v = stack.pop()
            stack[-1].append(v)
        elif name == "APPENDS":
            items = pop_mark()
            stack[-1].extend(items)
        elif name in ("SETITEM", "SETITEMS"):
            items = [stack.pop(), stack.pop()][::-1] if name == "SETITEM" else pop_mark()
            target = stack[-1]
            if not isinstance(target, dict):
                raise ValueError("malformed pickle: SETITEM on a non-dict.")
            for k, v in zip(items[::2], items[1::2]):
                target[k] = v
        elif name in ("GLOBAL", "STACK_GLOBAL"):
            if name == "GLOBAL":
                module, attr = arg.split(" ", 1)
            else:
                attr, module = stack.pop(), stack.pop()
            if (module, attr) not in _ALLOWED_GLOBALS:
                raise ValueError(f"refusing pickle global {module}.{attr} "
                                 "(not a CIFAR-10 batch).")
            stack.append(_Global(module, attr))
        elif name == "REDUCE":
            args = stack.pop()
            func = stack.pop()
            if not isinstance(func, _Global) or not isinstance(args, tuple):
                raise ValueError("malformed pickle: REDUCE on a non-global.")
            if func == _Global("_codecs", "encode"):
                # How Python 3 writes bytes at protocol 2: encode(latin-1 text).
                if (len(args) != 2 or not isinstance(args[0], str)
                        or args[1] not in ("latin1", "latin-1")):
                    raise ValueError("malformed pickle: unexpected _codecs.encode call.")
                stack.append(args[0].encode("latin1"))
            else:
                stack.append(_Call(func, args))
        elif name == "BUILD":
            state = stack.pop()
            if not isinstance(stack[-1], _Call):
                raise ValueError("malformed pickle: BUILD on a plain value.")
            stack[-1].state = state
        else:
            raise ValueError(f"refusing pickle opcode {name} (not a CIFAR-10 batch).")
    raise ValueError("malformed pickle: no STOP opcode.")
