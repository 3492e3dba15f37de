"""Zip bombs at every nesting level of a model file: refused before inflating, memory bounded.

A ``.mlxf`` nests archives: the file -> its member ``weights.npz`` (itself a zip)
-> that archive's ``.npy`` members. Each level may be deflated, and deflate
reaches ~1000:1, so a per-level ratio check lets nesting multiply the ratios
(issue 13: a 4 KB file reached 2 GB). The loader has one budget of inflated
bytes for the whole load (``safe_io.Budget``: 2 x the file's size + 32 MiB +
the bytes of the arrays the loading model needs), charged before each member
is inflated.

The bombs are built here, small on disk: a deflate stream of zeros is made
by repeating one fully flushed block, so a 1 GiB payload costs no time to
make. Levels are where the payload sits:

1. the model file's member ``weights.npz`` is deflated and inflates to 1 GiB;
2. ``weights.npz`` is stored, and its member ``bomb.npy`` inflates to 1 GiB;
3. ``weights.npz`` is deflated (~1 MB inflated) and its deflated ``bomb.npy``
   inflates to 1 GiB: a ~4 KB file, ratios multiplied.

Each is loaded with ``load_model``, ``load_weights`` and ``read_weights_file``
(no model: the budget alone decides) in a subprocess, whose peak resident
memory (the kernel's high-water mark ``VmHWM``, which ``ru_maxrss`` reports,
reset before each load) must stay under ``BOUND`` above what it was before
the load.
"""

import hashlib
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional.saving import ModelFileError
from mlxfunctional.saving import safe_io
from mlxfunctional.saving.weights_file import read_weights_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAYLOAD = 1 << 30  # the innermost bytes of each bomb
BOUND = 48 << 20   # peak memory a refused bomb may cost: the budget of these files
                   # (32 MiB + 2 x their size, < 4 MiB) and reading buffers
MiB = 1 << 20


# -- building bombs ------------------------------------------------------------------
def _crc32_zeros(crc, nbytes):
    """``zlib.crc32(bytes(nbytes), crc)`` in O(log nbytes) steps: feeding zero bytes to
    the CRC register is a linear map, raised to the power ``nbytes`` by squaring."""
    def times(matrix, vector):
        out, i = 0, 0
        while vector:
            if vector & 1:
                out ^= matrix[i]
            vector >>= 1
            i += 1
        return out

    def square(matrix):
        return [times(matrix, matrix[n]) for n in range(32)]

    op = [0xEDB88320] + [1 << n for n in range(31)]  # the register after one zero bit
    for _ in range(3):
        op = square(op)  # ... after one zero byte
    state = crc ^ 0xFFFFFFFF
    while nbytes:
        if nbytes & 1:
            state = times(op, state)
        op = square(op)
        nbytes >>= 1
    return state ^ 0xFFFFFFFF


def _deflated_zeros(prefix, nbytes):
    """(raw deflate stream, CRC-32) of ``prefix`` followed by ``nbytes`` zero bytes
    (``nbytes`` a multiple of 1 MiB), without compressing ``nbytes`` of anything."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)  # the same every time
    stream = head + block * (nbytes // MiB) + c.flush(zlib.Z_FINISH)
    return stream, _crc32_zeros(zlib.crc32(prefix), nbytes)


def _zip(entries):
    """A zip archive from ``(name, method, data as stored, crc, uncompressed size)``."""
    out, central = bytearray(), bytearray()
    for name, method, data, crc, size in entries:
        raw = name.encode()
        offset = len(out)
        out += struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, method, 0, 0x21, crc,
                           len(data), size, len(raw), 0) + raw + data
        central += struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 0, 20, 0, 0, method, 0,
                               0x21, crc, len(data), size, len(raw), 0, 0, 0, 0, 0,
                               offset) + raw
    return bytes(out + central + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries),
                                             len(entries), len(central), len(out), 0))


def _stored(name, data):
    return (name, zipfile.ZIP_STORED, data, zlib.crc32(data), len(data))


def _deflated(name, data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return (name, zipfile.ZIP_DEFLATED, c.compress(data) + c.flush(), zlib.crc32(data),
            len(data))


def _npy_header(shape):
    header = ("{'descr': '<f4', 'fortran_order': False, 'shape': %r, }" % (shape,)).encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def _bomb_npy(nbytes):
    """A deflated ``bomb.npy`` entry: a float32 array of ``nbytes`` zero bytes."""
    prefix = _npy_header((nbytes // 4,))
    stream, crc = _deflated_zeros(prefix, nbytes)
    return ("bomb.npy", zipfile.ZIP_DEFLATED, stream, crc, len(prefix) + nbytes)


def _model():
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs))


def _model_file(path, weights_entry):
    """A model file of ``_model()`` whose ``weights.npz`` entry is ``weights_entry``, with
    metadata.json's sizes and checksums recomputed (as an attacker would)."""
    _model().save(str(path) + ".ok.mlxf")
    with zipfile.ZipFile(str(path) + ".ok.mlxf") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    os.unlink(str(path) + ".ok.mlxf")
    name, method, data, crc, size = weights_entry
    if method == zipfile.ZIP_STORED:
        npz = data
    else:  # (only small deflated members are inflated here)
        npz = zlib.decompress(data, -15) if size < 64 * MiB else None
    meta = json.loads(members["metadata.json"])
    meta["members"]["weights.npz"] = {
        "bytes": size, "sha256": hashlib.sha256(npz).hexdigest() if npz else "0" * 64}
    members["metadata.json"] = json.dumps(meta).encode()
    path.write_bytes(_zip([_deflated("config.json", members["config.json"]), weights_entry,
                           _deflated("metadata.json", members["metadata.json"])]))
    return path


def _weights_npz():
    """The legitimate arrays of ``_model()`` as .npz entries."""
    return [_stored("dense/kernel.npy", _npy_header((3, 2)) + bytes(24)),
            _stored("dense/bias.npy", _npy_header((2,)) + bytes(8))]


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("bombs")
    level1_npz, crc1 = _deflated_zeros(b"", PAYLOAD)
    inner = _zip(_weights_npz() + [_bomb_npy(PAYLOAD)])
    return {
        1: _model_file(tmp_path / "level1.mlxf",
                       ("weights.npz", zipfile.ZIP_DEFLATED, level1_npz, crc1, PAYLOAD)),
        2: _model_file(tmp_path / "level2.mlxf", _stored("weights.npz", inner)),
        3: _model_file(tmp_path / "level3.mlxf", _deflated("weights.npz", inner)),
    }


def test_the_bomb_makers_are_right():
    for n in (0, 1, 1000, 3 * MiB + 5):
        for crc in (0, zlib.crc32(b"header")):
            assert _crc32_zeros(crc, n) == zlib.crc32(bytes(n), crc)
    stream, crc = _deflated_zeros(b"header", 3 * MiB)
    data = zlib.decompress(stream, -15)
    assert data == b"header" + bytes(3 * MiB) and zlib.crc32(data) == crc


def test_the_bombs_are_what_they_claim(bombs):
    sizes = {level: path.stat().st_size for level, path in bombs.items()}
    assert sizes[1] < 2 * MiB and sizes[2] < 2 * MiB and sizes[3] < 16 << 10, sizes
    with zipfile.ZipFile(bombs[3]) as zf:  # level 3: ratios multiplied
        info = zf.getinfo("weights.npz")
        assert info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > 100 * (
            info.compress_size)
        with zipfile.ZipFile(zf.open(info)) as inner:
            bomb = inner.getinfo("bomb.npy")
            assert bomb.file_size > PAYLOAD and bomb.file_size > 1000 * bomb.compress_size
            with inner.open(bomb) as f:  # a real deflate stream of a real .npy
                header = f.read(len(_npy_header((PAYLOAD // 4,))))
                assert header == _npy_header((PAYLOAD // 4,))
                assert f.read(MiB) == bytes(MiB)


# -- loading them --------------------------------------------------------------------
_CHILD = r"""
import json, resource, sys
import mlxfunctional as keras
import mlx.core as mx
from mlxfunctional.saving import ModelFileError
from mlxfunctional.saving.weights_file import read_weights_file

def model():
    inputs = keras.Input((3,))
    m = keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs))
    mx.eval(m.parameters())
    return m

def peak():
    # The kernel's peak-RSS mark of this process (VmHWM, what clear_refs resets).
    # ru_maxrss would also count the parent's mark from before exec (pytest's size).
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

loaders = {"load_model": keras.models.load_model,
           "load_weights": lambda p: model().load_weights(p),
           "read_weights_file": read_weights_file}
out = {}
for path in sys.argv[1:]:
    for name, load in loaders.items():
        model()  # (the first model's one-time costs before the mark)
        mx.clear_cache()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        with open("/proc/self/statm") as f:
            before = int(f.read().split()[1]) * resource.getpagesize()
        try:
            load(path)
            outcome = "loaded"
        except ModelFileError as e:
            outcome = "ModelFileError: " + str(e)
        except BaseException as e:
            outcome = type(e).__name__ + ": " + str(e)
        out[path + " " + name] = [outcome, peak() - before]
print(json.dumps(out))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"),
                    reason="measuring a load's peak memory needs Linux's /proc/self/clear_refs")
def test_nested_bombs_are_refused_with_bounded_memory(bombs):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MLX_DISABLE_COMPILE="1")
    run = subprocess.run([sys.executable, "-c", _CHILD] + [str(p) for p in bombs.values()],
                         capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    assert len(results) == 9
    for case, (outcome, extra) in results.items():
        assert outcome.startswith("ModelFileError"), (case, outcome)
        assert extra < BOUND, f"{case}: the load took {extra / MiB:.0f} MiB ({outcome})"
    # Refused for the right reasons: the budget, before inflating, or the bomb's key.
    level1 = results[f"{bombs[1]} load_model"][0]
    assert "'weights.npz' of the model file would inflate to 1,073,741,824 bytes" in level1
    for level in (2, 3):
        assert "bomb" in results[f"{bombs[level]} load_model"][0]
        assert "decompression budget" in results[f"{bombs[level]} read_weights_file"][0]


def test_one_budget_spans_the_levels(tmp_path, monkeypatch):
    # Each level inflates less than the budget alone (2 x ~10 KB + 4 MiB), together more.
    monkeypatch.setattr(safe_io, "INFLATE_SLACK", 4 * MiB)
    pad = _stored("pad.npy", _npy_header((3 * MiB // 4,)) + bytes(3 * MiB))
    inner = _zip(_weights_npz() + [pad, _bomb_npy(3 * MiB)])
    assert 3 * MiB < len(inner) < 4 * MiB  # (then deflated below)
    path = _model_file(tmp_path / "m.mlxf", _deflated("weights.npz", inner))
    assert path.stat().st_size < 32 << 10
    with pytest.raises(ModelFileError, match=r"'bomb.npy' of weights.npz would inflate to "
                       r"3,145,8\d\d bytes, past .* \(3,1\d\d,\d+ of 4,\d+,\d+ bytes used"):
        read_weights_file(path)
    # load_model never inflates what the model has no use for, and says why
    with pytest.raises(ModelFileError, match="holds 2 weight.*'pad', 'bomb'"):
        keras.models.load_model(path)


def test_the_arrays_a_model_needs_may_compress_well(tmp_path, monkeypatch):
    # np.savez_compressed of zero weights: ~1000:1, far past 2 x file + the slack (1 MiB
    # here), yet exactly what the model needs, so load_weights reads it; without a
    # model to say so, the budget refuses it.
    monkeypatch.setattr(safe_io, "INFLATE_SLACK", MiB)
    inputs = keras.Input((500,))
    model = keras.Model(inputs, keras.layers.Dense(1000, name="dense")(inputs))
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, **{"dense/kernel": np.zeros((500, 1000), np.float32),
                                 "dense/bias": np.ones(1000, np.float32)})
    assert path.stat().st_size < 16 << 10
    model.load_weights(path)
    assert float(np.abs(model.get_weights()[0]).max()) == 0.0
    np.testing.assert_array_equal(model.get_weights()[1], np.ones(1000, np.float32))
    with pytest.raises(ModelFileError, match="decompression budget"):
        read_weights_file(path)
    monkeypatch.setattr(safe_io, "INFLATE_SLACK", 4 * MiB)  # the message's advice works
    assert read_weights_file(path)["dense/kernel"].shape == (500, 1000)
