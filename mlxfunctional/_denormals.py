"""Denormal floats flushed to zero on MLX's CPU threads, as XLA and TensorFlow do.

A float32 below 1.2e-38 is "denormal", and x86 and ARM cores compute with one
tens of times more slowly than with a normal number. Training fills an
optimizer's slots with them (a gradient that has shrunk, squared, decayed):
measured with the guide's MNIST MLP on random labels, ``fit`` went from 89k to
37k samples/s between epochs 1 and 5 with MLX's defaults. Keras on JAX or
TensorFlow does not slow down, because their CPU threads run with the
processor's flush-to-zero and denormals-are-zero modes; here MLX's CPU threads
get them too (same run: 78k -> 68-79k, the losses equal to 4 decimals).

The modes are per thread and a thread inherits them from the one that creates
it. So while ``mlxfunctional`` loads OpenBLAS and MLX and starts MLX's CPU
stream (:func:`while_threads_start`), the importing thread runs with them on;
then its own modes are put back. The user's thread (numpy, Python floats) is
unchanged; MLX's CPU stream thread and its OpenBLAS threads flush denormals.
Threads started later (a stream of the user's own) keep the defaults.

``MLXF_FLUSH_DENORMALS=0`` keeps MLX's defaults. Linux (x86-64, aarch64) with
glibc; elsewhere nothing is changed and :data:`status` says why. If MLX was
imported before mlxfunctional, its thread exists already and keeps its modes.
"""

import contextlib
import ctypes
import os
import platform
import struct
import sys

# Where the mode bits live in glibc's fenv_t, and which bits: x86-64's MXCSR (after
# the 28-byte x87 environment) gets flush-to-zero (bit 15) and denormals-are-zero
# (bit 6); aarch64's FPCR (the struct's first word) gets FZ (bit 24).
_LAYOUTS = {"x86_64": (28, 0x8040), "amd64": (28, 0x8040), "aarch64": (0, 1 << 24)}
_FENV_BYTES = 64  # (fenv_t is 32 bytes on x86-64, 8 on aarch64)

status = "not set up"  # for `mlxf info`


def _layout():
    if not sys.platform.startswith("linux"):
        return None, "not Linux"
    if os.environ.get("MLXF_FLUSH_DENORMALS", "1") == "0":
        return None, "off (MLXF_FLUSH_DENORMALS=0)"
    if "mlx.core" in sys.modules:
        return None, "off: mlx.core was imported before mlxfunctional"
    layout = _LAYOUTS.get(platform.machine().lower())
    if layout is None:
        return None, f"not supported on {platform.machine()}"
    return layout, None


@contextlib.contextmanager
def while_threads_start():
    """Inside the block, this thread (and every thread it starts) flushes denormals;
    after it, this thread's floating-point environment is as it was."""
    global status
    layout, why = _layout()
    if layout is None:
        status = why
        yield
        return
    offset, bits = layout
    try:
        libm = ctypes.CDLL("libm.so.6")
        saved = ctypes.create_string_buffer(_FENV_BYTES)
        if libm.fegetenv(saved) != 0:
            raise OSError("fegetenv failed")
        flushing = ctypes.create_string_buffer(saved.raw, _FENV_BYTES)
        word = struct.unpack_from("<I", saved.raw, offset)[0]
        struct.pack_into("<I", flushing, offset, word | bits)
        if libm.fesetenv(flushing) != 0:
            raise OSError("fesetenv failed")
    except (OSError, AttributeError) as e:
        status = f"not set ({e})"
        yield
        return
    try:
        yield
        status = "on for MLX's CPU threads (MLXF_FLUSH_DENORMALS=0 turns it off)"
    finally:
        libm.fesetenv(saved)


def start_cpu_stream():
    """Runs one op on MLX's CPU stream, so that its thread exists now."""
    import mlx.core as mx

    mx.eval(mx.add(mx.array(1.0), 1.0, stream=mx.cpu))
