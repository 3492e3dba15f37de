"""Elementwise comparisons, tests, logic and bit operations, and the selections
``where``/``select``; also ``view``, which reads the same bits as another dtype.

Comparisons promote their operands (``int32 < 1.5`` compares in float) and
return bool; logical ops take any dtype as "nonzero is True"; bit operations
take ints and bools only.
"""

import mlx.core as mx
import numpy as np

from .. import backend
from ..engine.trace import in_trace
from .dtypes import convert_to_tensor
from .numpy_elementwise_operands import BITS_OF, is_float, promote, require_integers
from .operation import keras_op

__all__ = [
    "allclose", "bitwise_and", "bitwise_invert", "bitwise_left_shift",
    "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "equal",
    "greater", "greater_equal", "isclose", "isfinite", "isinf", "isnan",
    "isneginf", "isposinf", "isreal", "left_shift", "less", "less_equal",
    "logical_and", "logical_not", "logical_or", "logical_xor", "not_equal",
    "right_shift", "select", "signbit", "view", "where",
]


# -- comparisons -------------------------------------------------------------------

def _comparison(name, fn, symbol):
    def op(x1, x2):
        (x1, x2), _ = promote(x1, x2)
        return fn(x1, x2)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``x1 {symbol} x2``, elementwise, as bool."
    return keras_op(op)


equal = _comparison("equal", mx.equal, "==")
not_equal = _comparison("not_equal", mx.not_equal, "!=")
greater = _comparison("greater", mx.greater, ">")
greater_equal = _comparison("greater_equal", mx.greater_equal, ">=")
less = _comparison("less", mx.less, "<")
less_equal = _comparison("less_equal", mx.less_equal, "<=")


@keras_op
def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """``|x1 - x2| <= atol + rtol * |x2|`` (equal infinities are close; nans only
    with ``equal_nan``), as bool."""
    (x1, x2), _ = promote(x1, x2, to_float=True)
    return mx.isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan)


@keras_op
def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether ``isclose`` holds everywhere: a scalar bool."""
    return mx.all(isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan))


# -- tests of values ---------------------------------------------------------------

def _float_test(name, fn, otherwise, doc):
    """An op testing float values with ``fn``; on ints and bools every element
    gives ``otherwise`` (they are never nan or infinite)."""

    def op(x):
        x = convert_to_tensor(x)
        if is_float(x) or x.dtype == mx.complex64:
            return fn(x)
        return mx.full(x.shape, otherwise, mx.bool_)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return keras_op(op)


isfinite = _float_test("isfinite", mx.isfinite, True, "Whether ``x`` is neither inf nor nan.")
isinf = _float_test("isinf", mx.isinf, False, "Whether ``x`` is +inf or -inf.")
isnan = _float_test("isnan", mx.isnan, False, "Whether ``x`` is nan.")
isneginf = _float_test("isneginf", mx.isneginf, False, "Whether ``x`` is -inf.")
isposinf = _float_test("isposinf", mx.isposinf, False, "Whether ``x`` is +inf.")


@keras_op
def isreal(x):
    """Whether ``x`` has no imaginary part (always True for real dtypes)."""
    x = convert_to_tensor(x)
    if x.dtype == mx.complex64:
        return mx.imag(x) == 0
    return mx.full(x.shape, True, mx.bool_)


@keras_op
def signbit(x):
    """Whether the sign bit of ``x`` is set: True for negatives, -0.0 and -nan."""
    x = convert_to_tensor(x)
    if is_float(x):  # the sign bit is the top bit: the int of the same bits is < 0
        return mx.view(x, BITS_OF[x.dtype]) < 0
    if x.dtype == mx.bool_:
        return mx.zeros(x.shape, mx.bool_)
    return x < 0


# -- logic -------------------------------------------------------------------------

def _truth(x):
    x = convert_to_tensor(x)
    return x if x.dtype == mx.bool_ else x != 0


@keras_op
def logical_not(x):
    """``not x``: True where ``x`` is zero."""
    return mx.logical_not(_truth(x))


@keras_op
def logical_and(x1, x2):
    """``x1 and x2``, elementwise (nonzero is True)."""
    return mx.logical_and(_truth(x1), _truth(x2))


@keras_op
def logical_or(x1, x2):
    """``x1 or x2``, elementwise (nonzero is True)."""
    return mx.logical_or(_truth(x1), _truth(x2))


@keras_op
def logical_xor(x1, x2):
    """Exactly one of ``x1`` and ``x2`` is true (nonzero)."""
    return mx.not_equal(_truth(x1), _truth(x2))


# -- bits --------------------------------------------------------------------------

def _int_operands(op, x, y):
    (x, y), _ = promote(x, y)
    require_integers(op, x=x, y=y)
    return x, y


@keras_op
def bitwise_and(x, y):
    """``x & y`` on the bits of ints (logical and on bools)."""
    return mx.bitwise_and(*_int_operands("bitwise_and", x, y))


@keras_op
def bitwise_or(x, y):
    """``x | y`` on the bits of ints (logical or on bools)."""
    return mx.bitwise_or(*_int_operands("bitwise_or", x, y))


@keras_op
def bitwise_xor(x, y):
    """``x ^ y`` on the bits of ints (logical xor on bools)."""
    return mx.bitwise_xor(*_int_operands("bitwise_xor", x, y))


@keras_op
def bitwise_invert(x):
    """``~x``: every bit of an int flipped (logical not on bools)."""
    x = convert_to_tensor(x)
    require_integers("bitwise_invert", x=x)
    return mx.logical_not(x) if x.dtype == mx.bool_ else mx.bitwise_invert(x)


@keras_op
def bitwise_not(x):
    """Same as ``bitwise_invert``."""
    return bitwise_invert(x)


@keras_op
def bitwise_left_shift(x, y):
    """``x << y``: the bits of ``x`` moved ``y`` places up (``x * 2**y``)."""
    return mx.left_shift(*_int_operands("bitwise_left_shift", x, y))


@keras_op
def left_shift(x, y):
    """Same as ``bitwise_left_shift``."""
    return bitwise_left_shift(x, y)


@keras_op
def bitwise_right_shift(x, y):
    """``x >> y``: the bits of ``x`` moved ``y`` places down (arithmetic shift for
    signed ints, ``floor(x / 2**y)``)."""
    return mx.right_shift(*_int_operands("bitwise_right_shift", x, y))


@keras_op
def right_shift(x, y):
    """Same as ``bitwise_right_shift``."""
    return bitwise_right_shift(x, y)


@keras_op
def view(x, dtype=None):
    """The bits of ``x`` read as ``dtype`` (no conversion): a different item size
    rescales the last axis (four uint8 per float32)."""
    x = convert_to_tensor(x)
    if dtype is None:
        return x
    return mx.view(x, backend.mlx_dtype(backend.standardize_dtype(dtype)))


# -- selection ---------------------------------------------------------------------

@keras_op
def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` is true, else ``x2`` (broadcast together).

    With ``condition`` alone: the indices of its nonzero elements, one int32
    array per axis (numpy's ``nonzero``). Their length depends on the values,
    so that form runs eagerly only: not inside a compiled step or as a node of
    a symbolic graph.
    """
    if (x1 is None) != (x2 is None):
        raise ValueError("where: `x1` and `x2` must be both given or both None; received "
                         f"x1={'None' if x1 is None else 'a value'}, "
                         f"x2={'None' if x2 is None else 'a value'}.")
    if x1 is None:
        return _nonzero(condition)
    (x1, x2), _ = promote(x1, x2)
    return mx.where(_truth(condition), x1, x2)


def _nonzero(condition):
    refusal = ("where(condition) with one argument returns indices whose number depends "
               "on the values of `condition`, which MLX cannot trace")
    if in_trace():
        raise ValueError(f"{refusal}: it cannot be part of a symbolic model. Pass `x1` and "
                         "`x2` to select values instead.")
    try:
        values = np.asarray(convert_to_tensor(condition))
    except ValueError as e:  # MLX refuses to evaluate inside mx.compile
        raise ValueError(f"{refusal} inside a compiled function (mx.compile, a compiled "
                         "training step). Call it eagerly, or pass `x1` and `x2`.") from e
    return tuple(mx.array(i.astype(np.int32)) for i in np.nonzero(values))


@keras_op
def select(condlist, choicelist, default=0):
    """``choicelist[i]`` where ``condlist[i]`` is the first true condition, else
    ``default`` (all broadcast together)."""
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)):
        raise ValueError("select: `condlist` and `choicelist` must be lists; received "
                         f"{type(condlist).__name__} and {type(choicelist).__name__}.")
    if not condlist or len(condlist) != len(choicelist):
        raise ValueError("select: `condlist` and `choicelist` must be non-empty lists of "
                         f"one length; received lengths {len(condlist)} and "
                         f"{len(choicelist)}.")
    (*choices, result), _ = promote(*choicelist, default)
    # From the last choice back, so the first true condition is applied last and wins.
    for condition, choice in reversed(list(zip(condlist, choices))):
        result = mx.where(_truth(condition), choice, result)
    return result
