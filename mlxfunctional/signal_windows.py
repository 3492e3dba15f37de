"""Analysis windows by name, as ``scipy.signal.get_window`` makes them, in numpy.

Keras' STFT initializer takes any window scipy names without parameters; this
package does not depend on scipy, so the windows it names are written here
from their definitions. ``periodic=True`` is the DFT-even window (a symmetric
window one sample longer, its last sample dropped), as scipy's ``fftbins``.
The values are float64: they are made once, when a layer builds, never in a
training step.

A leaf: it imports nothing from the package (initializers and layers use it).
"""

import math

import numpy as np


def _general_cosine(m, coefficients):
    phase = np.linspace(-math.pi, math.pi, m)
    return sum(a * np.cos(k * phase) for k, a in enumerate(coefficients))


def _bartlett(m):
    n = np.arange(m)
    half = (m - 1) / 2.0
    return np.where(n <= half, 2.0 * n / (m - 1), 2.0 - 2.0 * n / (m - 1))


def _triang(m):
    # Unlike Bartlett it never reaches zero at the ends.
    n = np.arange(1, (m + 1) // 2 + 1)
    if m % 2 == 0:
        rising = (2 * n - 1.0) / m
        return np.concatenate([rising, rising[::-1]])
    rising = 2 * n / (m + 1.0)
    return np.concatenate([rising, rising[-2::-1]])


def _cosine(m):
    return np.sin(math.pi / m * (np.arange(m) + 0.5))


def _bohman(m):
    x = np.abs(np.linspace(-1, 1, m)[1:-1])
    inner = (1 - x) * np.cos(math.pi * x) + np.sin(math.pi * x) / math.pi
    return np.concatenate([[0.0], inner, [0.0]])


def _parzen(m):
    n = np.arange(-(m - 1) / 2.0, (m - 1) / 2.0 + 0.5, 1.0)
    outer = n[n < -(m - 1) / 4.0]
    inner = n[np.abs(n) <= (m - 1) / 4.0]
    w_outer = 2 * (1 - np.abs(outer) / (m / 2.0)) ** 3
    r = np.abs(inner) / (m / 2.0)
    w_inner = 1 - 6 * r ** 2 + 6 * r ** 3
    return np.concatenate([w_outer, w_inner, w_outer[::-1]])


def _barthann(m):
    x = np.abs(np.arange(m) / (m - 1.0) - 0.5)
    return 0.62 - 0.48 * x + 0.38 * np.cos(2 * math.pi * x)


def _tukey(m, alpha=0.5):
    n = np.arange(m)
    width = int(np.floor(alpha * (m - 1) / 2.0))
    rise = 0.5 * (1 + np.cos(math.pi * (-1 + 2.0 * n[:width + 1] / alpha / (m - 1))))
    flat = np.ones(m - 2 * (width + 1))
    fall = 0.5 * (1 + np.cos(math.pi * (-2.0 / alpha + 1
                                        + 2.0 * n[m - width - 1:] / alpha / (m - 1))))
    return np.concatenate([rise, flat, fall])


def _lanczos(m):
    return np.sinc(2.0 * np.arange(m) / (m - 1) - 1.0)


_WINDOWS = {
    "boxcar": np.ones,
    "hann": lambda m: _general_cosine(m, (0.5, 0.5)),
    "hamming": lambda m: _general_cosine(m, (0.54, 0.46)),
    "blackman": lambda m: _general_cosine(m, (0.42, 0.50, 0.08)),
    "blackmanharris": lambda m: _general_cosine(m, (0.35875, 0.48829, 0.14128, 0.01168)),
    "nuttall": lambda m: _general_cosine(m, (0.3635819, 0.4891775, 0.1365995, 0.0106411)),
    "flattop": lambda m: _general_cosine(m, (0.21557895, 0.41663158, 0.277263158,
                                             0.083578947, 0.006947368)),
    "bartlett": _bartlett,
    "triang": _triang,
    "cosine": _cosine,
    "bohman": _bohman,
    "parzen": _parzen,
    "barthann": _barthann,
    "tukey": _tukey,
    "lanczos": _lanczos,
}

# scipy's other spellings of the same windows.
_ALIASES = {
    "box": "boxcar", "ones": "boxcar", "rect": "boxcar", "rectangular": "boxcar",
    "han": "hann", "hamm": "hamming", "ham": "hamming", "black": "blackman",
    "blk": "blackman", "blackharr": "blackmanharris", "bkh": "blackmanharris",
    "nutl": "nuttall", "nut": "nuttall", "flat": "flattop", "flt": "flattop",
    "bart": "bartlett", "brt": "bartlett", "triangle": "triang", "tri": "triang",
    "halfcosine": "cosine", "bman": "bohman", "bmn": "bohman", "parz": "parzen",
    "par": "parzen", "brthan": "barthann", "bth": "barthann", "tuk": "tukey",
    "sinc": "lanczos",
}

NAMES = tuple(sorted(_WINDOWS))


def canonical_name(name):
    """The window's name without alias (``"ham"`` -> ``"hamming"``), or None when
    this module does not know it."""
    if not isinstance(name, str):
        return None
    name = _ALIASES.get(name, name)
    return name if name in _WINDOWS else None


def get_window(name, length, periodic=False):
    """The window ``name`` of ``length`` samples (float64); ValueError for a name
    this module does not know (the windows that need parameters, such as
    ``"kaiser"``, are not among them, as with scipy given the bare name)."""
    canonical = canonical_name(name)
    if canonical is None:
        raise ValueError(f"Unknown window {name!r}: expected one of {', '.join(NAMES)} (or one "
                         "of scipy's aliases of them), an array of window values, or None.")
    length = int(length)
    if length <= 1:
        return np.ones(max(length, 0))
    if periodic:
        return _WINDOWS[canonical](length + 1)[:-1]
    return _WINDOWS[canonical](length)
