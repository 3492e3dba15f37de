"""Signal-processing windows (numpy's ``bartlett``, ``blackman``, ``hamming``,
``hanning``, ``kaiser``): ``M`` samples of a taper, symmetric about the middle.

``x`` is the window length ``M`` (static: it fixes the output shape). Keras
returns ``floatx()`` whatever ``x``'s dtype. The cosine windows are written
over ``n = 1 - M, 3 - M, ..., M - 1`` (so ``n / (M - 1)`` runs from -1 to 1);
``M == 1`` gives ``[1.]`` and ``M < 1`` an empty window, as numpy.
"""

import math

import mlx.core as mx

from .. import backend
from .dtypes import convert_to_tensor
from .operation import keras_op

__all__ = ["bartlett", "blackman", "hamming", "hanning", "kaiser"]


def _length(x):
    return int(x.item() if hasattr(x, "item") else x)


def _window(x, formula):
    """``formula(n / (M - 1))`` over the symmetric grid, as floatx."""
    m = _length(x)
    if m < 1:
        return mx.zeros((0,), dtype=backend.mlx_dtype(backend.floatx()))
    if m == 1:
        return mx.ones((1,), dtype=backend.mlx_dtype(backend.floatx()))
    t = mx.arange(1 - m, m, 2, dtype=mx.float32) / (m - 1)
    return formula(t).astype(backend.mlx_dtype(backend.floatx()))


@keras_op
def bartlett(x):
    """The triangular window: ``1 - |n| / (M - 1)``."""
    return _window(x, lambda t: 1 - mx.abs(t))


@keras_op
def blackman(x):
    """``0.42 + 0.5 cos(pi t) + 0.08 cos(2 pi t)`` with ``t = n / (M - 1)``."""
    return _window(x, lambda t: 0.42 + 0.5 * mx.cos(math.pi * t)
                   + 0.08 * mx.cos(2 * math.pi * t))


@keras_op
def hamming(x):
    """``0.54 + 0.46 cos(pi n / (M - 1))``."""
    return _window(x, lambda t: 0.54 + 0.46 * mx.cos(math.pi * t))


@keras_op
def hanning(x):
    """The Hann window: ``0.5 + 0.5 cos(pi n / (M - 1))``."""
    return _window(x, lambda t: 0.5 + 0.5 * mx.cos(math.pi * t))


# I0 (the modified Bessel function of the first kind, order 0) has no MLX
# primitive. The window needs I0(a) / I0(beta) with a <= beta, and I0 grows
# like e^x, so work with the scaled i0e(x) = e^-x I0(x) (at most 1) and take
# I0(a) / I0(beta) = i0e(a) / i0e(beta) * e^(a - beta), which cannot overflow.
_SERIES_TERMS = 80   # of sum_k (x/2)^2k / k!^2, enough below _ASYMPTOTIC_FROM
_ASYMPTOTIC_FROM = 30.0


def _i0e(x):
    """``exp(-|x|) I0(x)``, float32: the power series below 30, Hankel's
    asymptotic expansion ``(1 + 1/(8x) + 9/(2(8x)^2) + ...) / sqrt(2 pi x)`` above
    (its 7th term is under 1e-9 there)."""
    x = mx.abs(x)
    small = mx.minimum(x, _ASYMPTOTIC_FROM)[..., None]
    k = mx.arange(1, _SERIES_TERMS, dtype=mx.float32)
    # term_k / term_(k-1) = (x/2)^2 / k^2; the first term e^-x carries the scale.
    ratios = mx.square(small / 2) / mx.square(k)
    terms = mx.exp(-small) * mx.cumprod(ratios, axis=-1)
    series = mx.exp(-small[..., 0]) + mx.sum(terms, axis=-1)

    big = mx.maximum(x, _ASYMPTOTIC_FROM)
    total, term = mx.ones_like(big), mx.ones_like(big)
    for j in range(1, 7):  # term_j = term_(j-1) * (2j - 1)^2 / (j * 8x)
        term = term * (2 * j - 1) ** 2 / (j * 8 * big)
        total = total + term
    asymptotic = total / mx.sqrt(2 * math.pi * big)
    return mx.where(x < _ASYMPTOTIC_FROM, series, asymptotic)


@keras_op
def kaiser(x, beta):
    """The Kaiser window: ``I0(beta sqrt(1 - (2n / (M - 1) - 1)^2)) / I0(beta)`` for
    ``n = 0..M-1``, I0 being the modified Bessel function of order 0."""
    m = _length(x)
    floatx = backend.mlx_dtype(backend.floatx())
    if m < 1:
        return mx.zeros((0,), dtype=floatx)
    if m == 1:
        return mx.ones((1,), dtype=floatx)
    beta = convert_to_tensor(beta).astype(mx.float32)
    t = mx.arange(m, dtype=mx.float32) * (2 / (m - 1)) - 1
    a = beta * mx.sqrt(mx.maximum(1 - mx.square(t), 0))
    window = _i0e(a) / _i0e(beta) * mx.exp(mx.abs(a) - mx.abs(beta))
    return window.astype(floatx)
