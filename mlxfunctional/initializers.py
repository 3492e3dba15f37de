"""Weight initializers, with Keras 3 names, arguments and defaults.

Every initializer is called as ``init(shape, dtype=None)`` and returns a lazy
``mx.array``. ``shape`` is always in Keras layout: Dense ``(in, out)``, conv
``(*kernel, in, out)``. With an integer ``seed`` an initializer returns the
same values on every call (``mx.random.key(seed)``); without one it draws from
MLX's global random state.
"""

import math

import mlx.core as mx
import numpy as np

from mlxfunctional import signal_windows
from mlxfunctional._resolve import (builtin_objects, deserialize_object, get_object,
                                    serialize_object)
from mlxfunctional.backend import is_float_dtype, mlx_dtype


def compute_fans(shape):
    """Returns ``(fan_in, fan_out)`` for a Keras-layout shape.

    ``()`` -> (1, 1); ``(n,)`` -> (n, n); ``(in, out)`` -> (in, out);
    ``(*kernel, in, out)`` -> (in * rf, out * rf) with rf = prod(kernel).
    """
    shape = tuple(shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    receptive_field = math.prod(shape[:-2])
    return int(shape[-2] * receptive_field), int(shape[-1] * receptive_field)


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype=None)``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__.")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return self.__class__.from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return mx.zeros(tuple(shape), dtype=mlx_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return mx.ones(tuple(shape), dtype=mlx_dtype(dtype))


class Constant(Initializer):
    """``value`` broadcast to ``shape``.

    Args:
        value: a Python scalar (or anything broadcastable to the shape).
    """

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        value = self.value
        if not isinstance(value, mx.array):
            value = mx.array(np.asarray(value).tolist())
        return mx.broadcast_to(value.astype(mlx_dtype(dtype)), tuple(shape))

    def get_config(self):
        value = self.value
        if isinstance(value, (mx.array, np.ndarray, np.generic)):
            value = np.asarray(value).tolist()
        return {"value": value}


class _RandomInitializer(Initializer):
    """Holds the seed: an int (deterministic) or None (global random state)."""

    def __init__(self, seed=None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"`seed` must be an int or None. Received: seed={seed!r}")
        self.seed = None if seed is None else int(seed)

    def _key(self):
        return None if self.seed is None else mx.random.key(self.seed)

    def _dtype(self, dtype):
        if not is_float_dtype(dtype):
            raise ValueError(
                f"{type(self).__name__} only makes floating point values. Received: dtype={dtype}"
            )
        return mlx_dtype(dtype)

    def _normal(self, shape, mean, stddev, dtype):
        """mean + stddev * N(0, 1)."""
        z = mx.random.normal(tuple(shape), key=self._key())
        return (mean + stddev * z).astype(self._dtype(dtype))

    def _truncated_normal(self, shape, mean, stddev, dtype):
        """mean + stddev * N(0, 1) restricted to [-2, 2] (as Keras)."""
        z = mx.random.truncated_normal(-2.0, 2.0, tuple(shape), key=self._key())
        return (mean + stddev * z).astype(self._dtype(dtype))

    def _uniform(self, shape, low, high, dtype):
        """U[low, high)."""
        u = mx.random.uniform(low, high, tuple(shape), key=self._key())
        return u.astype(self._dtype(dtype))

    def get_config(self):
        return {"seed": self.seed}


class RandomNormal(_RandomInitializer):
    """Samples from N(mean, stddev^2).

    Args:
        mean: mean of the normal distribution.
        stddev: its standard deviation.
        seed: int for deterministic values, or None.
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return self._normal(shape, self.mean, self.stddev, dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_RandomInitializer):
    """Samples from U[minval, maxval).

    Args:
        minval: lower bound.
        maxval: upper bound.
        seed: int for deterministic values, or None.
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        return self._uniform(shape, self.minval, self.maxval, dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(_RandomInitializer):
    """N(mean, stddev^2) with values beyond 2 stddev from the mean redrawn.

    Args:
        mean: mean before truncation.
        stddev: standard deviation before truncation (after: about 0.88 stddev).
        seed: int for deterministic values, or None.
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return self._truncated_normal(shape, self.mean, self.stddev, dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


# Standard deviation of N(0, 1) truncated to [-2, 2].
_TRUNCATED_STD = 0.87962566103423978


class VarianceScaling(_RandomInitializer):
    """Samples with variance ``scale / n``, n = fan_in, fan_out or their mean.

    ``"truncated_normal"``: stddev = sqrt(scale / n) / 0.8796 before the 2-stddev
    truncation, so the result has variance scale / n; ``"untruncated_normal"``:
    stddev = sqrt(scale / n); ``"uniform"``: U[-limit, limit], limit = sqrt(3 scale / n).

    Args:
        scale: positive scaling factor.
        mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"``.
        distribution: ``"truncated_normal"``, ``"untruncated_normal"`` or ``"uniform"``.
        seed: int for deterministic values, or None.
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if scale <= 0.0:
            raise ValueError(f"`scale` must be positive. Received: scale={scale}")
        distribution = str(distribution).lower()
        if mode not in self._MODES:
            raise ValueError(f"`mode` must be one of {self._MODES}. Received: mode={mode!r}")
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"`distribution` must be one of {self._DISTRIBUTIONS}. "
                f"Received: distribution={distribution!r}"
            )
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            return self._truncated_normal(shape, 0.0, math.sqrt(variance) / _TRUNCATED_STD, dtype)
        if self.distribution == "untruncated_normal":
            return self._normal(shape, 0.0, math.sqrt(variance), dtype)
        limit = math.sqrt(3.0 * variance)
        return self._uniform(shape, -limit, limit, dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "seed": self.seed}


def _variance_scaling_preset(name, scale, mode, distribution, doc):
    """Builds a VarianceScaling subclass whose config is just ``{"seed": ...}``."""

    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    doc = f"{doc}\n\n    Args:\n        seed: int for deterministic values, or None.\n"
    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": doc, "__module__": __name__})


GlorotUniform = _variance_scaling_preset(
    "GlorotUniform", 1.0, "fan_avg", "uniform",
    "U[-limit, limit], limit = sqrt(6 / (fan_in + fan_out)).")
GlorotNormal = _variance_scaling_preset(
    "GlorotNormal", 1.0, "fan_avg", "truncated_normal",
    "Truncated normal with variance 2 / (fan_in + fan_out).")
HeNormal = _variance_scaling_preset(
    "HeNormal", 2.0, "fan_in", "truncated_normal",
    "Truncated normal with variance 2 / fan_in.")
HeUniform = _variance_scaling_preset(
    "HeUniform", 2.0, "fan_in", "uniform",
    "U[-limit, limit], limit = sqrt(6 / fan_in).")
LecunNormal = _variance_scaling_preset(
    "LecunNormal", 1.0, "fan_in", "truncated_normal",
    "Truncated normal with variance 1 / fan_in.")
LecunUniform = _variance_scaling_preset(
    "LecunUniform", 1.0, "fan_in", "uniform",
    "U[-limit, limit], limit = sqrt(3 / fan_in).")


class OrthogonalInitializer(_RandomInitializer):
    """A (semi-)orthogonal matrix times ``gain`` (Keras' ``Orthogonal``).

    The shape is flattened to ``(prod(shape[:-1]), shape[-1])``; A ~ N(0, 1) of
    shape (max, min) is factored A = QR, Q's columns are multiplied by
    sign(diag(R)) so the result is unique, and Q is transposed when there are
    fewer rows than columns. Rows or columns (whichever are fewer) are orthonormal.

    Args:
        gain: multiplicative factor.
        seed: int for deterministic values, or None.
    """

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a shape of rank >= 2. Received: shape={shape}")
        dtype = self._dtype(dtype)
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = mx.random.normal((max(rows, cols), min(rows, cols)), key=self._key())
        q, r = mx.linalg.qr(a, stream=mx.cpu)
        q = q * mx.sign(mx.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class IdentityInitializer(Initializer):
    """``gain`` times the identity matrix (2-D shapes only; Keras' ``Identity``).

    Args:
        gain: multiplicative factor.
    """

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity needs a 2-D shape. Received: shape={tuple(shape)}")
        return (self.gain * mx.eye(shape[0], shape[1])).astype(mlx_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


class STFT(Initializer):
    """Kernels of a short-time Fourier transform written as a convolution
    (``STFTSpectrogram``'s weights), shape ``(frame_length, 1, bins)``.

    Entry ``(t, 0, f)`` is ``cos(-2 pi t f / n)`` (``side="real"``) or
    ``sin(-2 pi t f / n)`` (``side="imag"``) with ``n = 2 (bins - 1)``, times the
    window at ``t`` divided by the window's scale: a frame dotted with the kernels
    gives the real and imaginary parts of its ``rfft``.

    Args:
        side: ``"real"`` or ``"imag"``.
        window: a window name (``"hann"``, ``"hamming"``, ``"blackman"``... as
            ``scipy.signal.get_window`` names them), an array of ``frame_length``
            values, or None (no window).
        scaling: ``"density"`` (divide by the window's L2 norm), ``"spectrum"``
            (by its sum) or None.
        periodic: the DFT-even window (``True``) or the symmetric one.
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT: side must be 'real' or 'imag'; received side={side!r}")
        if isinstance(window, str) and signal_windows.canonical_name(window) is None:
            signal_windows.get_window(window, 1)  # (raises, naming the known windows)
        if scaling not in (None, "density", "spectrum"):
            raise ValueError("STFT: scaling must be None, 'density' or 'spectrum'; "
                             f"received scaling={scaling!r}")
        self.side = side
        self.window = window
        self.scaling = scaling
        self.periodic = periodic

    def __call__(self, shape, dtype=None):
        frame_length, _, bins = (int(d) for d in shape)
        # Made in float64 on the host once, then cast: the kernel is a constant of
        # the transform, not something a training step computes.
        t = np.arange(frame_length, dtype=np.float64)[:, None, None]
        f = np.arange(bins, dtype=np.float64)[None, None, :]
        phase = -2.0 * math.pi * t * f / (2 * (bins - 1))
        kernel = np.cos(phase) if self.side == "real" else np.sin(phase)
        if self.window is not None:
            if isinstance(self.window, str):
                win = signal_windows.get_window(self.window, frame_length, self.periodic)
            else:
                win = np.asarray(self.window, dtype=np.float64)
            if win.shape != (frame_length,):
                raise ValueError(f"STFT: the window must have shape ({frame_length},) "
                                 f"(frame_length); received shape {win.shape}")
            scale = 1.0
            if self.scaling == "density":
                scale = np.sqrt(np.sum(win ** 2))
            elif self.scaling == "spectrum":
                scale = np.sum(np.abs(win))
            kernel = kernel * win[:, None, None] / scale
        return mx.array(kernel.astype(np.float32)).astype(mlx_dtype(dtype))

    def get_config(self):
        window = self.window
        if isinstance(window, (mx.array, np.ndarray)):
            window = np.asarray(window).tolist()
        return {"side": self.side, "window": window, "periodic": self.periodic,
                "scaling": self.scaling}


Orthogonal = OrthogonalInitializer
Identity = IdentityInitializer

# Keras exports each class under its snake_case name too: ``glorot_uniform(seed=1)``
# is ``GlorotUniform(seed=1)``, an instance, not a function that draws values.
constant, zeros, ones, identity = Constant, Zeros, Ones, IdentityInitializer
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, orthogonal = VarianceScaling, OrthogonalInitializer
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
he_normal, he_uniform, lecun_normal, lecun_uniform = HeNormal, HeUniform, LecunNormal, LecunUniform
stft = STFTInitializer = STFT

ALL_OBJECTS = builtin_objects((
    Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
    GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform,
    OrthogonalInitializer, IdentityInitializer, STFT))
ALL_OBJECTS.update({"Orthogonal": Orthogonal, "orthogonal": Orthogonal, "Identity": Identity,
                    "identity": Identity, "uniform": RandomUniform, "normal": RandomNormal,
                    "zero": Zeros, "one": Ones, "stft": STFT, "STFTInitializer": STFT})


def serialize(initializer):
    """Initializer -> ``{"class_name": ..., "config": {...}}`` (a function -> its name)."""
    return serialize_object(initializer, "initializer")


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`; also takes a name such as ``"glorot_uniform"``."""
    return deserialize_object(config, ALL_OBJECTS, custom_objects, "initializer")


def get(identifier):
    """None, a name, a config dict, an Initializer or a callable -> an initializer (or None)."""
    return get_object(identifier, ALL_OBJECTS, "initializer")
