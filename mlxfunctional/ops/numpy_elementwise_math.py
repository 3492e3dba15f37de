"""Elementwise transcendental functions: exponentials, logarithms, roots,
trigonometry and a few special functions.

Keras computes all of them in a float dtype: int and bool input becomes
``floatx()``, float input keeps its width (``result_type(x, float)``).
"""

import math

import mlx.core as mx

from .numpy_elementwise_operands import promote, to_float
from .operation import keras_op

__all__ = [
    "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh",
    "cbrt", "cos", "cosh", "deg2rad", "exp", "exp2", "expm1", "i0", "log",
    "log10", "log1p", "log2", "logaddexp", "logaddexp2", "rad2deg", "sin", "sinc",
    "sinh", "sqrt", "tan", "tanh",
]


def _unary(name, fn, doc):
    """A float op ``name`` that computes ``fn`` on ``to_float(x)``."""

    def op(x):
        return fn(to_float(x))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return keras_op(op)


# -- exponentials, logarithms and roots -------------------------------------------

exp = _unary("exp", mx.exp, "``e ** x``.")
exp2 = _unary("exp2", lambda x: mx.power(mx.array(2.0, x.dtype), x), "``2 ** x``.")
expm1 = _unary("expm1", mx.expm1, "``e ** x - 1``, accurate for small ``x``.")
log = _unary("log", mx.log, "The natural logarithm of ``x``.")
log2 = _unary("log2", mx.log2, "The base-2 logarithm of ``x``.")
log10 = _unary("log10", mx.log10, "The base-10 logarithm of ``x``.")
log1p = _unary("log1p", mx.log1p, "``log(1 + x)``, accurate for small ``x``.")
sqrt = _unary("sqrt", mx.sqrt, "The non-negative square root of ``x``.")
cbrt = _unary("cbrt", lambda x: mx.sign(x) * mx.power(mx.abs(x), 1.0 / 3.0),
              "The real cube root of ``x``: ``sign(x) * |x| ** (1/3)``.")


@keras_op
def logaddexp(x1, x2):
    """``log(exp(x1) + exp(x2))``, without overflow."""
    (x1, x2), _ = promote(x1, x2, to_float=True)
    return mx.logaddexp(x1, x2)


@keras_op
def logaddexp2(x1, x2):
    """``log2(2**x1 + 2**x2)``, as ``max + log2(1 + 2**-|x1 - x2|)``."""
    (x1, x2), _ = promote(x1, x2, to_float=True)
    larger = mx.maximum(x1, x2)
    gap = -mx.abs(x1 - x2)
    result = larger + mx.log1p(mx.power(mx.array(2.0, gap.dtype), gap)) / math.log(2)
    # Equal operands (also two equal infinities, whose gap would be nan): x + 1.
    return mx.where(x1 == x2, x1 + 1, result)


# -- trigonometry ------------------------------------------------------------------

sin = _unary("sin", mx.sin, "The sine of ``x`` (radians).")
cos = _unary("cos", mx.cos, "The cosine of ``x`` (radians).")
tan = _unary("tan", mx.tan, "The tangent of ``x`` (radians).")
arcsin = _unary("arcsin", mx.arcsin, "The inverse sine of ``x``, in ``[-pi/2, pi/2]``.")
arccos = _unary("arccos", mx.arccos, "The inverse cosine of ``x``, in ``[0, pi]``.")
arctan = _unary("arctan", mx.arctan, "The inverse tangent of ``x``, in ``(-pi/2, pi/2)``.")
sinh = _unary("sinh", mx.sinh, "The hyperbolic sine ``(e**x - e**-x) / 2``.")
cosh = _unary("cosh", mx.cosh, "The hyperbolic cosine ``(e**x + e**-x) / 2``.")
tanh = _unary("tanh", mx.tanh, "The hyperbolic tangent ``sinh(x) / cosh(x)``.")
arcsinh = _unary("arcsinh", mx.arcsinh, "The inverse hyperbolic sine of ``x``.")
arccosh = _unary("arccosh", mx.arccosh, "The inverse hyperbolic cosine of ``x`` (``x >= 1``).")
arctanh = _unary("arctanh", mx.arctanh, "The inverse hyperbolic tangent of ``x`` (``|x| < 1``).")
deg2rad = _unary("deg2rad", mx.radians, "Degrees to radians: ``x * pi / 180``.")
rad2deg = _unary("rad2deg", mx.degrees, "Radians to degrees: ``x * 180 / pi``.")


@keras_op
def arctan2(x1, x2):
    """The angle of the point ``(x2, x1)``: ``atan(x1 / x2)`` in the right quadrant,
    in ``[-pi, pi]``."""
    (x1, x2), _ = promote(x1, x2, to_float=True)
    return mx.arctan2(x1, x2)


@keras_op
def sinc(x):
    """The normalized sinc ``sin(pi x) / (pi x)``, 1 at ``x = 0``."""
    x = to_float(x)
    zero = x == 0
    # Evaluate at 1 where x is 0 so the unused branch (and its gradient) stays finite.
    pix = math.pi * mx.where(zero, mx.ones_like(x), x)
    return mx.where(zero, mx.ones_like(x), mx.sin(pix) / pix)


# -- special functions -------------------------------------------------------------

# Abramowitz & Stegun 9.8.1 and 9.8.2: polynomial fits to I0 with relative error
# below 2e-7, float32's own precision.
_I0_SMALL = (1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.0360768, 0.0045813)
_I0_LARGE = (0.39894228, 0.01328592, 0.00225319, -0.00157565, 0.00916281,
             -0.02057706, 0.02635537, -0.01647633, 0.00392377)


def _polynomial(coefficients, t):
    result = mx.full(t.shape, coefficients[-1], t.dtype)
    for c in reversed(coefficients[:-1]):  # Horner's rule
        result = result * t + c
    return result


@keras_op
def i0(x):
    """The modified Bessel function of the first kind, order 0: ``sum((x/2)**2k / k!**2)``."""
    x = mx.abs(to_float(x))
    small = x <= 3.75
    near = _polynomial(_I0_SMALL, mx.square(x / 3.75))
    # Evaluate the large-x form at >= 3.75 only, so it never divides by zero.
    far_x = mx.maximum(x, 3.75)
    far = mx.exp(far_x) / mx.sqrt(far_x) * _polynomial(_I0_LARGE, 3.75 / far_x)
    return mx.where(small, near, far)
