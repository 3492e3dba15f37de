"""Fourier transforms and framing: ``fft``, ``fft2``, ``ifft2``, ``rfft``, ``irfft``,
``stft``, ``istft``, ``extract_sequences``.

Keras passes complex values as ``(real, imag)`` pairs of float tensors and
returns them the same way; inside, they are MLX complex64 arrays on
``mx.fft``. The STFT follows Keras' JAX backend (scipy's ``stft``/``istft``
conventions): frames of ``fft_length`` samples every ``sequence_stride``,
a periodic window of ``sequence_length`` centred in the frame.
"""

import math

import mlx.core as mx

from .. import backend
from .dtypes import convert_to_tensor
from .operation import keras_op

__all__ = ["extract_sequences", "fft", "fft2", "ifft2", "irfft", "istft", "rfft", "stft"]


def _complex(x, op):
    """A complex64 array from a ``(real, imag)`` pair, and the pair's dtype."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{op}: `x` must be a (real, imag) pair of tensors; received "
                         f"{type(x).__name__}.")
    real, imag = (convert_to_tensor(p) for p in x)
    if real.shape != imag.shape:
        raise ValueError(f"{op}: the real and imaginary parts must have the same shape; "
                         f"received {tuple(real.shape)} and {tuple(imag.shape)}.")
    for part in (real, imag):
        if not mx.issubdtype(part.dtype, mx.floating):
            raise ValueError(f"{op}: the real and imaginary parts must be floats; received "
                             f"{backend.standardize_dtype(part.dtype)}.")
    return real.astype(mx.float32) + 1j * imag.astype(mx.float32), real.dtype


def _pair(z, dtype):
    return mx.real(z).astype(dtype), mx.imag(z).astype(dtype)


@keras_op
def fft(x):
    """The discrete Fourier transform over the last axis of ``(real, imag)``."""
    z, dtype = _complex(x, "fft")
    return _pair(mx.fft.fft(z, axis=-1), dtype)


@keras_op
def fft2(x):
    """The 2-D discrete Fourier transform over the last two axes."""
    z, dtype = _complex(x, "fft2")
    return _pair(mx.fft.fft2(z, axes=(-2, -1)), dtype)


@keras_op
def ifft2(x):
    """The inverse of ``fft2`` (scaled by ``1 / (m n)``)."""
    z, dtype = _complex(x, "ifft2")
    return _pair(mx.fft.ifft2(z, axes=(-2, -1)), dtype)


def _real_float(x):
    x = convert_to_tensor(x)
    if not mx.issubdtype(x.dtype, mx.floating):
        x = x.astype(backend.mlx_dtype(backend.floatx()))
    return x


@keras_op
def rfft(x, fft_length=None):
    """The Fourier transform of a real signal over its last axis: the
    ``fft_length // 2 + 1`` non-negative frequencies, as ``(real, imag)``."""
    x = _real_float(x)
    n = x.shape[-1] if fft_length is None else int(fft_length)
    return _pair(mx.fft.rfft(x.astype(mx.float32), n=n, axis=-1), x.dtype)


@keras_op
def irfft(x, fft_length=None):
    """The real signal (``fft_length`` samples, default ``2 (bins - 1)``) whose
    ``rfft`` is ``(real, imag)``."""
    z, dtype = _complex(x, "irfft")
    n = 2 * (z.shape[-1] - 1) if fft_length is None else int(fft_length)
    return mx.fft.irfft(z, n=n, axis=-1).astype(dtype)


@keras_op
def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of ``sequence_length`` samples every ``sequence_stride`` along the last
    axis: shape ``(..., 1 + (n - sequence_length) // sequence_stride, sequence_length)``."""
    x = convert_to_tensor(x)
    length, stride = int(sequence_length), int(sequence_stride)
    if length < 1 or stride < 1:
        raise ValueError(f"extract_sequences: `sequence_length` and `sequence_stride` must "
                         f"be positive; received {sequence_length} and {sequence_stride}.")
    return _frames(x, length, stride)


def _frames(x, length, stride):
    """Frame ``t`` is ``x[..., t * stride : t * stride + length]``.

    Built from blocks of ``stride`` samples rather than by a gather (which MLX's
    CPU runs ~50x slower, backward a scatter-add): frame ``t`` is blocks
    ``t .. t + r - 1`` side by side (``r = ceil(length / stride)``), cut to
    ``length``. The signal is zero-padded to whole blocks; padded samples only
    ever land in the cut-off tail.
    """
    n = x.shape[-1]
    count = max(0, 1 + (n - length) // stride)
    if count == 0:
        return mx.zeros(x.shape[:-1] + (0, length), x.dtype)
    r = -(-length // stride)
    blocks = count + r - 1
    if blocks * stride > n:
        x = mx.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, blocks * stride - n)])
    else:
        x = x[..., :blocks * stride]
    x = x.reshape(x.shape[:-1] + (blocks, stride))
    frames = mx.concatenate([x[..., i:i + count, :] for i in range(r)], axis=-1)
    return frames[..., :length] if r * stride != length else frames


def _window(window, sequence_length, fft_length, dtype, op):
    """The analysis window: periodic Hann/Hamming or the given one (or ones for
    None), zero-padded to ``fft_length`` with the window centred."""
    if window is None:
        return mx.ones((fft_length,), dtype)
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f'{op}: a string `window` must be "hann" or "hamming"; '
                             f"received {window!r}.")
        a = 0.5 if window == "hann" else 0.54
        phase = 2 * math.pi * mx.arange(sequence_length, dtype=mx.float32) / sequence_length
        win = a - (1 - a) * mx.cos(phase)
    else:
        win = convert_to_tensor(window).astype(mx.float32)
        if win.shape != (sequence_length,):
            raise ValueError(f"{op}: `window` must have shape ({sequence_length},) "
                             f"(sequence_length); received {tuple(win.shape)}.")
    left = (fft_length - sequence_length) // 2
    right = fft_length - sequence_length - left
    return mx.pad(win, [(left, right)]).astype(dtype)


def _check_lengths(sequence_length, sequence_stride, fft_length, op):
    if fft_length < sequence_length:
        raise ValueError(f"{op}: `fft_length` ({fft_length}) must be >= `sequence_length` "
                         f"({sequence_length}).")
    if sequence_stride < 1:
        raise ValueError(f"{op}: `sequence_stride` must be positive; received "
                         f"{sequence_stride}.")


@keras_op
def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform over the last axis: the ``rfft`` of each windowed
    frame, shape ``(..., frames, fft_length // 2 + 1)``, as ``(real, imag)``.

    ``center`` reflect-pads ``fft_length // 2`` samples on both sides so frame
    ``t`` is centred on sample ``t * sequence_stride``.
    """
    x = convert_to_tensor(x)
    if x.dtype not in (mx.float32, mx.float64):
        raise TypeError(f"stft: `x` must be float32 or float64; received "
                        f"{backend.standardize_dtype(x.dtype)}.")
    _check_lengths(sequence_length, sequence_stride, fft_length, "stft")
    if center:
        x = _reflect_pad(x, fft_length // 2)
    win = _window(window, sequence_length, fft_length, mx.float32, "stft")
    frames = _frames(x.astype(mx.float32), fft_length, sequence_stride) * win
    return _pair(mx.fft.rfft(frames, n=fft_length, axis=-1), x.dtype)


def _reflect_pad(x, pad):
    """numpy's ``mode="reflect"`` on the last axis (the edge sample not repeated)."""
    n = x.shape[-1]
    if pad >= n:
        raise ValueError(f"stft: with center=True the signal ({n} samples) must be longer "
                         f"than fft_length // 2 ({pad}).")
    left = x[..., 1:pad + 1][..., ::-1]
    right = x[..., n - pad - 1:n - 1][..., ::-1]
    return mx.concatenate([left, x, right], axis=-1)


@keras_op
def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    """Inverse of ``stft``: ``irfft`` of each frame, windowed, overlap-added and
    divided by the overlap-added squared window (where it is not ~0).

    ``length`` cuts the output to that many samples; ``center`` drops the
    ``fft_length // 2`` padding ``stft`` added.
    """
    z, dtype = _complex(x, "istft")
    if z.ndim < 2:
        raise ValueError(f"istft: `x` must have at least 2 dims (frames, bins); received "
                         f"shape {tuple(z.shape)}.")
    _check_lengths(sequence_length, sequence_stride, fft_length, "istft")
    win = _window(window, sequence_length, fft_length, mx.float32, "istft")
    frames = mx.fft.irfft(z, n=fft_length, axis=-1) * win  # (..., count, fft_length)
    count = frames.shape[-2]
    total = fft_length + sequence_stride * (count - 1)
    # Overlap-add as one scatter-add: sample j of frame t lands at t * stride + j.
    where = (mx.arange(count)[:, None] * sequence_stride
             + mx.arange(fft_length)[None, :]).reshape(-1).astype(mx.int32)
    batch = frames.shape[:-2]
    flat = frames.reshape((-1, count * fft_length)).T
    signal = mx.zeros((total, flat.shape[1]), mx.float32).at[where].add(flat)
    signal = signal.T.reshape(batch + (total,))
    norm = mx.zeros((total,), mx.float32).at[where].add(
        mx.broadcast_to(win * win, (count, fft_length)).reshape(-1))
    signal = signal / mx.where(norm > 1e-10, norm, 1.0)
    if window is None:
        # Keras' JAX backend scales an unwindowed inverse by fft_length / stride.
        signal = signal * (fft_length / sequence_stride)
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + int(length)
    elif center:
        end = total - fft_length // 2
    else:
        end = total
    return signal[..., start:end].astype(dtype)
