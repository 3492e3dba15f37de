"""Audio front ends: STFTSpectrogram (a trainable STFT) and MelSpectrogram.

STFTSpectrogram holds the STFT as two weights, the windowed cosine and sine
kernels Keras makes with its STFT initializer, so it can be fine-tuned; its
transform is framing then one matmul with both kernels. MelSpectrogram has no weights:
``ops.stft``, a magnitude power, a triangular mel filterbank and decibels.
Both run in MLX ops only (no host sync), so they train inside the compiled step.
"""

import math
import numbers
import warnings

import mlx.core as mx
import numpy as np

from .. import backend, initializers, registry, signal_windows
from ..engine import argument_validation as check
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from ..engine.trace import in_trace
from ..ops import math_signal
from . import categorical

_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")
_FLOATS = ("float16", "float32", "float64")



def _flag(owner, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{type(owner).__name__}: {name} must be True or False; "
                         f"received {name}={value!r}")
    return bool(value)


def _window(owner, window, length):
    """A window name this package knows, None, or ``length`` values (kept as a list,
    which a config holds as JSON)."""
    if window is None:
        return None
    if isinstance(window, str):
        if signal_windows.canonical_name(window) is None:
            raise ValueError(f"{type(owner).__name__}: window must be one of "
                             f"{signal_windows.NAMES}, an array or None; received "
                             f"window={window!r}")
        return window
    values = np.asarray(window)
    if values.dtype == object or not np.issubdtype(values.dtype, np.number) \
            or (length is not None and values.shape != (length,)):
        raise ValueError(f"{type(owner).__name__}: window must be a window name, None or "
                         f"{length} numbers; received window={window!r}")
    return values.astype(np.float64).tolist()


@registry.builtin
class STFTSpectrogram(Layer):
    """Spectrogram of each channel of a signal, by a short-time Fourier transform
    whose kernels are weights (trainable unless ``trainable=False``).

    Args:
        mode: ``"log"`` (log magnitude), ``"magnitude"``, ``"psd"`` (power, the
            inner bins doubled), ``"real"``, ``"imag"``, ``"angle"`` or ``"stft"``
            (real and imaginary bins side by side).
        frame_length: samples per frame (the window's length), 256.
        frame_step: samples between frames; None: ``frame_length // 2``.
        fft_length: FFT size (>= ``frame_length``); None: the next power of two.
        window: a window name (``"hann"``, ``"hamming"``, ``"blackman"``...), an
            array of ``frame_length`` values, or None.
        periodic: the DFT-even window rather than the symmetric one.
        scaling: divide the window by its L2 norm (``"density"``), its sum
            (``"spectrum"``) or nothing (None).
        padding: ``"valid"`` (whole frames only) or ``"same"`` (``ceil(n / step)``
            frames, zeros split around the signal as a "same" convolution).
        expand_dims: give frequency and channels their own axes (an image).
        data_format: ``"channels_last"`` (``(batch, time, channels)``) or
            ``"channels_first"``.

    Output: ``(batch, frames, channels * bins)`` channel-major, or with
    ``expand_dims`` ``(batch, frames, bins, channels)`` (channels_first:
    ``(batch, channels * bins, frames)`` / ``(batch, channels, frames, bins)``),
    ``bins = fft_length // 2 + 1`` (twice that for ``"stft"``).
    """

    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None,
                 window="hann", periodic=False, scaling="density", padding="valid",
                 expand_dims=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.frame_length = check.positive_int(self, "frame_length", frame_length)
        if frame_step is not None and not (check.is_integer(frame_step)
                                           and 1 <= frame_step <= self.frame_length):
            raise ValueError(f"STFTSpectrogram: frame_step must be a positive integer not "
                             f"greater than frame_length ({self.frame_length}) or None; "
                             f"received frame_step={frame_step!r}")
        self.frame_step = None if frame_step is None else int(frame_step)
        if fft_length is not None and not (check.is_integer(fft_length)
                                           and fft_length >= self.frame_length):
            raise ValueError(f"STFTSpectrogram: fft_length must be an integer not less than "
                             f"frame_length ({self.frame_length}) or None; received "
                             f"fft_length={fft_length!r}")
        self.fft_length = None if fft_length is None else int(fft_length)
        if self.fft_length is not None and self.fft_length & (self.fft_length - 1):
            warnings.warn(f"STFTSpectrogram: fft_length is best a power of two; received "
                          f"fft_length={self.fft_length}", stacklevel=2)
        self.mode = categorical.choice(self, "mode", mode, _MODES)
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(f"STFTSpectrogram: scaling must be None, 'density' or "
                             f"'spectrum'; received scaling={scaling!r}")
        self.scaling = scaling
        self.padding = categorical.choice(self, "padding", padding, ("valid", "same"))
        self.window = _window(self, window, self.frame_length)
        self.periodic = _flag(self, "periodic", periodic)
        self.expand_dims = _flag(self, "expand_dims", expand_dims)
        self.data_format = categorical.choice(
            self, "data_format", data_format or backend.image_data_format(),
            ("channels_last", "channels_first"))
        self._frame_step = self.frame_step or self.frame_length // 2
        self._fft_length = self.fft_length or 2 ** math.ceil(math.log2(self.frame_length))
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        # Keras' weights: (frame_length, 1, bins) each, real first; one of them only
        # for the "real" and "imag" modes.
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(
                name="real_kernel", shape=shape,
                initializer=initializers.STFT("real", self.window, self.scaling, self.periodic))
        if self.mode != "real":
            self.imag_kernel = self.add_weight(
                name="imag_kernel", shape=shape,
                initializer=initializers.STFT("imag", self.window, self.scaling, self.periodic))
        time_axis = 1 if self.data_format == "channels_last" else 2
        self._unknown_time = input_shape[time_axis] is None
        self.built = True

    def _frame_count(self, n):
        if self.padding == "same":
            return -(-n // self._frame_step)
        return (n - self.frame_length) // self._frame_step + 1

    def _framed(self, signal):
        """``(batch, channels, time)`` -> ``(batch, channels, frames, frame_length)``."""
        n = signal.shape[-1]
        if self.padding == "same":
            count = self._frame_count(n)
            total = max((count - 1) * self._frame_step + self.frame_length - n, 0)
            signal = mx.pad(signal, [(0, 0), (0, 0), (total // 2, total - total // 2)])
        return math_signal.extract_sequences(signal, self.frame_length, self._frame_step)

    def call(self, inputs):
        if backend.standardize_dtype(inputs.dtype) not in _FLOATS:
            raise TypeError(f'Layer "{self.name}" (STFTSpectrogram) takes float16, float32 or '
                            f"float64 signals; received {backend.standardize_dtype(inputs.dtype)}")
        signal = inputs if self.data_format == "channels_first" else \
            mx.transpose(inputs, (0, 2, 1))
        if self._frame_count(signal.shape[-1]) < 1:
            if in_trace() and self._unknown_time:
                # A stand-in size shorter than a frame: answer the right rank with a
                # time axis that follows the stand-in (so it comes out unknown).
                return self._arrange(mx.zeros(signal.shape + (self._bins(),), inputs.dtype))
            raise ValueError(f'Layer "{self.name}" (STFTSpectrogram): a signal of '
                             f"{signal.shape[-1]} samples is shorter than one frame "
                             f'({self.frame_length}) with padding="valid"')
        frames = self._framed(signal)  # (batch, channels, frames, frame_length)
        # One 2-D matmul with both kernels side by side (a batched 4-D matmul is
        # about twice slower on MLX's CPU).
        kernels = []
        if self.mode != "imag":
            kernels.append(self.real_kernel[:, 0, :])
        if self.mode != "real":
            kernels.append(self.imag_kernel[:, 0, :])
        bins = kernels[0].shape[-1]
        flat = frames.reshape(-1, self.frame_length) @ \
            mx.concatenate(kernels, axis=-1).astype(inputs.dtype)
        flat = flat.reshape(frames.shape[:-1] + (len(kernels) * bins,))
        real = flat[..., :bins] if self.mode != "imag" else None
        imag = flat[..., -bins:] if self.mode != "real" else None
        if self.mode == "real":
            out = real
        elif self.mode == "imag":
            out = imag
        elif self.mode == "angle":
            out = mx.arctan2(imag, real)
        elif self.mode == "stft":
            out = flat  # real bins then imaginary bins
        else:
            power = real * real + imag * imag
            if self.mode == "psd":
                # One-sided density: every bin but the first and last stands for two.
                out = power + mx.pad(power[..., 1:-1], [(0, 0)] * 3 + [(1, 1)])
            else:
                eps = backend.epsilon()
                out = mx.sqrt(mx.maximum(power, eps))
                if self.mode == "log":
                    out = mx.log(mx.maximum(out, eps))
        return self._arrange(out)

    def _bins(self):
        return (self._fft_length // 2 + 1) * (2 if self.mode == "stft" else 1)

    def _arrange(self, out):
        """``(batch, channels, frames, bins)`` -> the layer's output layout."""
        batch, channels, frames, bins = out.shape
        if self.data_format == "channels_last":
            if self.expand_dims:
                return mx.transpose(out, (0, 2, 3, 1))
            return mx.transpose(out, (0, 2, 1, 3)).reshape(batch, frames, channels * bins)
        if self.expand_dims:
            return out
        return mx.transpose(out, (0, 1, 3, 2)).reshape(batch, channels * bins, frames)

    def compute_output_shape(self, input_shape):
        last = self.data_format == "channels_last"
        batch = input_shape[0]
        channels, n = (input_shape[2], input_shape[1]) if last else input_shape[1:3]
        frames = None if n is None else self._frame_count(n)
        bins = self._bins()
        if self.expand_dims:
            return (batch, frames, bins, channels) if last else (batch, channels, frames, bins)
        flat = None if channels is None else channels * bins
        return (batch, frames, flat) if last else (batch, flat, frames)

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode, frame_length=self.frame_length,
                      frame_step=self.frame_step, fft_length=self.fft_length,
                      window=self.window, periodic=self.periodic, scaling=self.scaling,
                      padding=self.padding, data_format=self.data_format,
                      expand_dims=self.expand_dims)
        return config


# The HTK mel scale: mel(f) = 1127 ln(1 + f / 700).
_MEL_BREAK_HZ = 700.0
_MEL_HIGH_Q = 1127.0


def hertz_to_mel(hertz):
    return _MEL_HIGH_Q * mx.log(1.0 + hertz / _MEL_BREAK_HZ)


@registry.builtin
class MelSpectrogram(Layer):
    """Mel spectrogram of audio: ``(..., samples)`` -> ``(..., num_mel_bins, frames)``.

    The signal is reflect-padded by ``fft_length // 2`` on both sides
    (``ops.stft(center=True)``), so there are ``1 + samples // sequence_stride``
    frames. Each frame's magnitude to the power ``mag_exp`` goes through
    ``num_mel_bins`` triangular filters (HTK mel scale, peaks of 1) and, with
    ``power_to_db``, to decibels.

    Args:
        fft_length: FFT size, 2048.
        sequence_stride: samples between frames, 512.
        sequence_length: samples windowed in each frame; None: ``fft_length``.
        window: ``"hann"``, ``"hamming"``, ``sequence_length`` values, or None.
        sampling_rate: samples per second of the signal, 16000.
        num_mel_bins: number of mel filters, 128.
        min_freq / max_freq: the filterbank's lowest and highest edge in hertz
            (20 and, for None, ``sampling_rate / 2``).
        power_to_db: return ``10 log10(S / ref_power)`` rather than ``S``.
        top_db: decibels kept below the largest value (of the whole batch, as Keras).
        mag_exp: the magnitude's exponent (1 magnitude, 2 power).
        min_power: floor of ``S`` and ``ref_power`` before the logarithm.
        ref_power: the power mapped to 0 dB.
    """

    def __init__(self, fft_length=2048, sequence_stride=512, sequence_length=None,
                 window="hann", sampling_rate=16000, num_mel_bins=128, min_freq=20.0,
                 max_freq=None, power_to_db=True, top_db=80.0, mag_exp=2.0, min_power=1e-10,
                 ref_power=1.0, **kwargs):
        super().__init__(**kwargs)
        self.fft_length = check.positive_int(self, "fft_length", fft_length)
        self.sequence_stride = check.positive_int(self, "sequence_stride", sequence_stride)
        if sequence_length is not None and not (check.is_integer(sequence_length)
                                                and 1 <= sequence_length <= self.fft_length):
            raise ValueError(f"MelSpectrogram: sequence_length must be a positive integer not "
                             f"greater than fft_length ({self.fft_length}) or None; received "
                             f"sequence_length={sequence_length!r}")
        self.sequence_length = int(sequence_length or self.fft_length)
        if isinstance(window, str) and window not in ("hann", "hamming"):
            raise ValueError(f"MelSpectrogram: window must be 'hann', 'hamming', an array or "
                             f"None; received window={window!r}")
        self.window = _window(self, window, self.sequence_length)
        self.sampling_rate = _positive(self, "sampling_rate", sampling_rate)
        self.num_mel_bins = check.positive_int(self, "num_mel_bins", num_mel_bins)
        self.min_freq = check.non_negative_float(self, "min_freq", min_freq)
        # As Keras: None is the Nyquist frequency, stored in the config as an int.
        self.max_freq = int(self.sampling_rate / 2) if max_freq is None else \
            _positive(self, "max_freq", max_freq)
        if self.min_freq >= self.max_freq:
            raise ValueError(f"MelSpectrogram: min_freq must be below max_freq "
                             f"({self.max_freq}); received min_freq={min_freq!r}")
        self.power_to_db = _flag(self, "power_to_db", power_to_db)
        self.top_db = check.non_negative_float(self, "top_db", top_db)
        self.mag_exp = check.real(self, "mag_exp", mag_exp)
        self.min_power = _positive(self, "min_power", min_power)
        self.ref_power = check.real(self, "ref_power", ref_power)
        self._unknown_time = False

    def build(self, input_shape):
        self._unknown_time = input_shape[-1] is None
        self.built = True

    def call(self, inputs):
        dtype = self.compute_dtype if self.compute_dtype in ("float32", "float64") else "float32"
        signal = inputs.astype(backend.mlx_dtype(dtype))
        if signal.shape[-1] <= self.fft_length // 2 and in_trace() and self._unknown_time:
            # A stand-in size too short to reflect-pad: the right rank, and a time
            # axis that follows the stand-in (so it comes out unknown).
            return mx.zeros(signal.shape[:-1] + (self.num_mel_bins, signal.shape[-1]),
                            backend.mlx_dtype(self.compute_dtype))
        window = self.window if self.window is None or isinstance(self.window, str) \
            else mx.array(self.window, dtype=mx.float32)
        real, imag = math_signal.stft(signal, self.sequence_length, self.sequence_stride,
                                        self.fft_length, window=window, center=True)
        spectrum = mx.power(mx.sqrt(real * real + imag * imag), self.mag_exp)
        matrix = self.linear_to_mel_weight_matrix(
            self.num_mel_bins, spectrum.shape[-1], self.sampling_rate, self.min_freq,
            self.max_freq)
        mel = spectrum @ matrix.astype(spectrum.dtype)  # (..., frames, num_mel_bins)
        if self.power_to_db:
            mel = self._decibels(mel)
        return mx.swapaxes(mel, -1, -2).astype(backend.mlx_dtype(self.compute_dtype))

    def _decibels(self, power):
        db = 10.0 * mx.log10(mx.maximum(power, self.min_power))
        db = db - 10.0 * math.log10(max(abs(self.ref_power), self.min_power))
        # The floor is relative to the largest value of the whole input (batch included).
        return mx.maximum(db, mx.max(db) - self.top_db)

    def linear_to_mel_weight_matrix(self, num_mel_bins=20, num_spectrogram_bins=129,
                                    sampling_rate=8000, lower_edge_hertz=125.0,
                                    upper_edge_hertz=3800.0, dtype="float32"):
        """``(num_spectrogram_bins, num_mel_bins)``: column ``m`` is a triangle on the
        mel scale rising from band edge ``m`` to 1 at edge ``m + 1`` and falling to 0
        at edge ``m + 2`` (``num_mel_bins + 2`` edges evenly spaced in mel between
        the two hertz bounds). The DC bin gets no weight (HTK)."""
        hertz = mx.linspace(0.0, sampling_rate / 2.0, num_spectrogram_bins)[1:]
        bins_mel = hertz_to_mel(hertz)[:, None]
        low, high = (_MEL_HIGH_Q * math.log(1.0 + float(f) / _MEL_BREAK_HZ)
                     for f in (lower_edge_hertz, upper_edge_hertz))
        edges = mx.linspace(low, high, num_mel_bins + 2)
        lower, center, upper = edges[None, :-2], edges[None, 1:-1], edges[None, 2:]
        rising = (bins_mel - lower) / (center - lower)
        falling = (upper - bins_mel) / (upper - center)
        weights = mx.maximum(0.0, mx.minimum(rising, falling))
        return mx.pad(weights, [(1, 0), (0, 0)]).astype(backend.mlx_dtype(dtype))

    def compute_output_shape(self, input_shape):
        # 1 + n // stride frames (Keras' formula, (n + stride + 1) // stride, says
        # one more when n % stride == stride - 1; its layer outputs this count).
        n = input_shape[-1]
        frames = None if n is None else 1 + n // self.sequence_stride
        return tuple(input_shape[:-1]) + (self.num_mel_bins, frames)

    def get_config(self):
        config = super().get_config()
        config.update(fft_length=self.fft_length, sequence_stride=self.sequence_stride,
                      sequence_length=self.sequence_length, window=self.window,
                      sampling_rate=self.sampling_rate, num_mel_bins=self.num_mel_bins,
                      min_freq=self.min_freq, max_freq=self.max_freq,
                      power_to_db=self.power_to_db, top_db=self.top_db, mag_exp=self.mag_exp,
                      min_power=self.min_power, ref_power=self.ref_power)
        return config


def _positive(owner, name, value):
    """A finite real number > 0; an int stays an int."""
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not real or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{type(owner).__name__}: {name} must be a positive number; "
                         f"received {name}={value!r}")
    return value if check.is_integer(value) else float(value)
