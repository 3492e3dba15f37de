"""Elementwise arithmetic: the four operations, remainders, signs, rounding,
extrema and the integer and float helpers numpy has (``gcd``, ``nextafter``...).

Operands are promoted to Keras' ``result_type`` (``numpy_elementwise_operands``);
true division promotes once more to a float (``int32 / int32 -> float32``),
floor division and remainders keep ints.
"""

import math

import mlx.core as mx

from .. import backend
from .dtypes import convert_to_tensor
from .numpy_elementwise_operands import (BITS_OF, dtype_name, is_float, is_int, promote,
                                         require_integers, to_float)
from .operation import keras_op

__all__ = [
    "abs", "absolute", "add", "angle", "ceil", "clip", "conj", "conjugate",
    "divide", "divide_no_nan", "fabs", "floor", "floor_divide", "fmax", "fmin",
    "fmod", "gcd", "heaviside", "hypot", "imag", "lcm", "ldexp", "maximum",
    "minimum", "mod", "multiply", "nan_to_num", "negative", "nextafter", "power",
    "real", "reciprocal", "round", "sign", "square", "subtract", "true_divide",
    "trunc",
]


# -- the four operations ---------------------------------------------------------

@keras_op
def add(x1, x2):
    """``x1 + x2``."""
    (x1, x2), _ = promote(x1, x2)
    return mx.add(x1, x2)


@keras_op
def subtract(x1, x2):
    """``x1 - x2`` (not on two bools: numpy and Keras refuse it too)."""
    (x1, x2), dtype = promote(x1, x2)
    if dtype == "bool":
        raise TypeError("subtract: both operands are bool, which has no subtraction; "
                        "use logical_xor, or cast to an int first.")
    return mx.subtract(x1, x2)


@keras_op
def multiply(x1, x2):
    """``x1 * x2``."""
    (x1, x2), _ = promote(x1, x2)
    return mx.multiply(x1, x2)


@keras_op
def divide(x1, x2):
    """True division ``x1 / x2``, in a float dtype (``int / int -> floatx``)."""
    (x1, x2), _ = promote(x1, x2, to_float=True)
    return mx.divide(x1, x2)


@keras_op
def true_divide(x1, x2):
    """Same as ``divide``."""
    return divide(x1, x2)


@keras_op
def divide_no_nan(x1, x2):
    """``x1 / x2``, with 0 wherever ``x2 == 0`` (instead of inf or nan)."""
    (x1, x2), _ = promote(x1, x2, to_float=True)
    zero = x2 == 0
    # Divide by 1 where x2 is 0: the unused quotient stays finite, so its
    # gradient cannot poison the kept one with nan.
    return mx.where(zero, mx.zeros_like(x1), x1 / mx.where(zero, mx.ones_like(x2), x2))


@keras_op
def floor_divide(x1, x2):
    """``floor(x1 / x2)``, in the operands' dtype (ints stay ints)."""
    (x1, x2), dtype = promote(x1, x2)
    if dtype == "bool":  # True // True = 1, anything // False = 0: an int result
        return mx.floor_divide(x1.astype(mx.int32), x2.astype(mx.int32)).astype(mx.bool_)
    return mx.floor_divide(x1, x2)


@keras_op
def mod(x1, x2):
    """``x1 - floor(x1 / x2) * x2``: the remainder with the sign of ``x2`` (bools
    are taken as int32)."""
    (x1, x2), dtype = promote(x1, x2)
    if dtype == "bool":
        x1, x2 = x1.astype(mx.int32), x2.astype(mx.int32)
    return mx.remainder(x1, x2)


@keras_op
def fmod(x1, x2):
    """``x1 - trunc(x1 / x2) * x2``: the remainder with the sign of ``x1`` (C's fmod)."""
    (x1, x2), dtype = promote(x1, x2)
    if dtype == "bool":
        x1, x2 = x1.astype(mx.int32), x2.astype(mx.int32)
    r = mx.remainder(x1, x2)  # sign of x2; moved by one x2 where the signs differ
    differs = (r != 0) & ((r < 0) != (x1 < 0))
    return mx.where(differs, r - x2, r)


@keras_op
def power(x1, x2):
    """``x1 ** x2``, in the operands' promoted dtype."""
    (x1, x2), _ = promote(x1, x2)
    return mx.power(x1, x2)


@keras_op
def reciprocal(x):
    """``1 / x``, in a float dtype."""
    return mx.reciprocal(to_float(x))


@keras_op
def square(x):
    """``x * x`` (bools are taken as int32)."""
    x = convert_to_tensor(x)
    if x.dtype == mx.bool_:
        x = x.astype(mx.int32)
    return mx.square(x)


# -- signs and magnitudes --------------------------------------------------------

@keras_op
def negative(x):
    """``-x``."""
    return mx.negative(convert_to_tensor(x))


@keras_op
def absolute(x):
    """``|x|``, in ``x``'s dtype."""
    return mx.abs(convert_to_tensor(x))


@keras_op
def abs(x):
    """Same as ``absolute``."""
    return absolute(x)


@keras_op
def fabs(x):
    """``|x|`` in a float dtype (ints and bools become floatx; complex is refused)."""
    x = convert_to_tensor(x)
    if "complex" in dtype_name(x):
        raise TypeError(f"fabs does not take complex input; received dtype {dtype_name(x)}.")
    return mx.abs(to_float(x))


@keras_op
def sign(x):
    """-1, 0 or 1 by the sign of ``x`` (nan stays nan), in ``x``'s dtype."""
    return mx.sign(convert_to_tensor(x))


# -- rounding --------------------------------------------------------------------

@keras_op
def floor(x):
    """The largest integer ``<= x``, in a float dtype."""
    return mx.floor(to_float(x))


@keras_op
def ceil(x):
    """The smallest integer ``>= x``, in a float dtype."""
    return mx.ceil(to_float(x))


@keras_op
def trunc(x):
    """``x`` rounded toward zero; ints and bools are returned as they are."""
    x = convert_to_tensor(x)
    return mx.trunc(x) if is_float(x) else x


@keras_op
def round(x, decimals=0):
    """``x`` rounded to ``decimals`` places, halves to even, in ``x``'s dtype.

    Negative ``decimals`` round to tens, hundreds...: on ints that is done in
    floatx and cast back, as Keras does.
    """
    x = convert_to_tensor(x)
    if x.dtype == mx.bool_ or (is_int(x) and decimals >= 0):
        return x
    if is_int(x):
        scale = 10.0 ** (-decimals)  # divide by 100 rather than multiply by 0.01: exact
        as_float = x.astype(backend.mlx_dtype(backend.floatx()))
        return (mx.round(as_float / scale) * scale).astype(x.dtype)
    return mx.round(x, decimals)


@keras_op
def clip(x, x_min, x_max):
    """``x`` limited to ``[x_min, x_max]`` (either may be None), in ``x``'s dtype
    (bools become int32)."""
    if x_min is None and x_max is None:
        raise ValueError("clip: `x_min` and `x_max` are both None; give at least one bound.")
    x = convert_to_tensor(x)
    dtype = mx.int32 if x.dtype == mx.bool_ else x.dtype
    x = x.astype(dtype)
    if x_min is not None:
        (x, low), _ = promote(x, x_min)
        x = mx.maximum(x, low)
    if x_max is not None:
        (x, high), _ = promote(x, x_max)
        x = mx.minimum(x, high)
    return x.astype(dtype)


# -- extrema ---------------------------------------------------------------------

@keras_op
def maximum(x1, x2):
    """The larger of ``x1`` and ``x2`` (nan if either is nan)."""
    (x1, x2), _ = promote(x1, x2)
    return mx.maximum(x1, x2)


@keras_op
def minimum(x1, x2):
    """The smaller of ``x1`` and ``x2`` (nan if either is nan)."""
    (x1, x2), _ = promote(x1, x2)
    return mx.minimum(x1, x2)


@keras_op
def fmax(x1, x2):
    """The larger of ``x1`` and ``x2``, ignoring a nan (nan only if both are)."""
    (x1, x2), _ = promote(x1, x2)
    if not is_float(x1):
        return mx.maximum(x1, x2)
    return mx.where(mx.isnan(x1), x2, mx.where(mx.isnan(x2), x1, mx.maximum(x1, x2)))


@keras_op
def fmin(x1, x2):
    """The smaller of ``x1`` and ``x2``, ignoring a nan (nan only if both are)."""
    (x1, x2), _ = promote(x1, x2)
    if not is_float(x1):
        return mx.minimum(x1, x2)
    return mx.where(mx.isnan(x1), x2, mx.where(mx.isnan(x2), x1, mx.minimum(x1, x2)))


# -- float helpers ---------------------------------------------------------------

@keras_op
def heaviside(x1, x2):
    """The step function: 0 where ``x1 < 0``, ``x2`` where ``x1 == 0``, 1 where ``x1 > 0``."""
    (x1, x2), _ = promote(x1, x2, to_float=True)
    x1, x2 = mx.broadcast_arrays(x1, x2)
    # nan in x1 falls through every test and is returned as it is.
    return mx.where(x1 < 0, mx.zeros_like(x1),
                    mx.where(x1 > 0, mx.ones_like(x1), mx.where(x1 == 0, x2, x1)))


@keras_op
def hypot(x1, x2):
    """``sqrt(x1**2 + x2**2)``, computed as ``hi * sqrt(1 + (lo/hi)**2)`` so the
    squares cannot overflow."""
    (x1, x2), _ = promote(x1, x2, to_float=True)
    a, b = mx.abs(x1), mx.abs(x2)
    hi, lo = mx.maximum(a, b), mx.minimum(a, b)
    ratio = lo / mx.where(hi == 0, mx.ones_like(hi), hi)
    result = hi * mx.sqrt(1 + ratio * ratio)
    # An infinite side makes the hypotenuse infinite, even beside a nan.
    return mx.where(mx.isinf(a) | mx.isinf(b), mx.full(result.shape, math.inf, result.dtype),
                    result)


@keras_op
def ldexp(x1, x2):
    """``x1 * 2**x2``, with an integer exponent ``x2``, in a float dtype."""
    exponent = convert_to_tensor(x2) if not isinstance(x2, int) else x2
    if not isinstance(exponent, int) and not is_int(exponent):
        raise TypeError(f"ldexp: the exponent `x2` must be an integer; received dtype "
                        f"{dtype_name(exponent)}.")
    (x1, x2), _ = promote(x1, x2, to_float=True)
    return x1 * mx.power(mx.array(2.0, x1.dtype), x2)


@keras_op
def nextafter(x1, x2):
    """The next representable float after ``x1`` toward ``x2``.

    Consecutive floats of one sign have consecutive bit patterns, so the step
    is +-1 on the bits read as an integer: away from zero adds one.
    """
    (x1, x2), _ = promote(x1, x2, to_float=True)
    x1, x2 = mx.broadcast_arrays(x1, x2)
    bits_dtype = BITS_OF[x1.dtype]
    away_from_zero = (x2 > x1) == (x1 > 0)
    bits = mx.view(x1, bits_dtype)
    stepped = mx.view(bits + mx.where(away_from_zero, 1, -1).astype(bits_dtype), x1.dtype)
    smallest = mx.view(mx.ones(x1.shape, bits_dtype), x1.dtype)  # the least subnormal
    from_zero = mx.where(x2 > 0, smallest, -smallest)
    result = mx.where(x1 == 0, from_zero, stepped)
    result = mx.where(x1 == x2, x2, result)
    return mx.where(mx.isnan(x1) | mx.isnan(x2), mx.full(x1.shape, math.nan, x1.dtype),
                    result)


@keras_op
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """``x`` with nan replaced by ``nan``, +inf by ``posinf`` and -inf by ``neginf``
    (default: the dtype's largest and smallest finite values). Ints are unchanged."""
    x = convert_to_tensor(x)
    if not is_float(x):
        return x
    return mx.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


# -- integers --------------------------------------------------------------------

def _euclid_steps(dtype):
    """Enough Euclid steps for any pair of ``dtype`` values: consecutive Fibonacci
    numbers are the worst case, and F(n) grows as phi**n."""
    bits = {1: 8, 2: 16, 4: 32, 8: 64}[dtype.size]
    return int(bits * math.log(2) / math.log((1 + 5 ** 0.5) / 2)) + 2


@keras_op
def gcd(x1, x2):
    """The greatest common divisor of integers ``|x1|`` and ``|x2|`` (Euclid's
    algorithm, unrolled to the dtype's worst-case number of steps)."""
    (a, b), _ = promote(x1, x2)
    require_integers("gcd", x1=a, x2=b)
    a, b = mx.broadcast_arrays(mx.abs(a), mx.abs(b))
    for _ in range(_euclid_steps(a.dtype)):
        done = b == 0
        safe_b = mx.where(done, mx.ones_like(b), b)
        a, b = mx.where(done, a, b), mx.where(done, b, mx.remainder(a, safe_b))
    return a


@keras_op
def lcm(x1, x2):
    """The least common multiple of integers ``x1`` and ``x2``: ``|x1 * x2| / gcd``
    (0 when either is 0)."""
    (a, b), _ = promote(x1, x2)
    require_integers("lcm", x1=a, x2=b)
    divisor = gcd(a, b)
    safe = mx.where(divisor == 0, mx.ones_like(divisor), divisor)
    return mx.abs(mx.floor_divide(a, safe) * b)


# -- complex parts ---------------------------------------------------------------

def _is_complex(x):
    return x.dtype == mx.complex64


@keras_op
def real(x):
    """The real part of ``x`` (``x`` itself for real input)."""
    x = convert_to_tensor(x)
    return mx.real(x) if _is_complex(x) else x


@keras_op
def imag(x):
    """The imaginary part of ``x`` (zeros of ``x``'s dtype for real input)."""
    x = convert_to_tensor(x)
    return mx.imag(x) if _is_complex(x) else mx.zeros_like(x)


@keras_op
def conjugate(x):
    """The complex conjugate ``real - i*imag`` (``x`` itself for real input)."""
    x = convert_to_tensor(x)
    return mx.conjugate(x) if _is_complex(x) else x


@keras_op
def conj(x):
    """Same as ``conjugate``."""
    return conjugate(x)


@keras_op
def angle(x):
    """The argument ``atan2(imag, real)`` of ``x``, in a float dtype (pi for
    negative reals)."""
    x = convert_to_tensor(x)
    if _is_complex(x):
        return mx.arctan2(mx.imag(x), mx.real(x))
    x = to_float(x)
    return mx.arctan2(mx.zeros_like(x), x)
