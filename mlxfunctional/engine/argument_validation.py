"""Checks of the plain arguments a layer is made with (sizes, rates, axes, shapes).

Keras refuses ``Dense(0)`` or ``Conv2D(8, kernel_size=-1)`` when the layer is
made, not when it is first called; every layer of the catalogue checks its
integer and rate arguments here. Each function returns the standardized value
and raises a ValueError naming the owner (the layer class), the argument, what
is expected and what was received::

    Dense: units must be a positive integer; received units=0

Integers are Python or NumPy integers; ``bool`` is refused although it is an
``int`` (``Dense(True)`` is a mistake, not one unit), and so are floats, even
integral ones, as in Keras. Rates and factors are real numbers (not bools nor
strings), finite and inside their range.

A leaf: it imports nothing from the package, so the engine and the layers can
both use it.
"""

import math
import numbers


def _label(owner):
    """``"Dense: "`` for a layer class, instance or name; ``""`` for None."""
    if owner is None:
        return ""
    if isinstance(owner, str):
        return f"{owner}: "
    cls = owner if isinstance(owner, type) else type(owner)
    return f"{cls.__name__}: "


def _error(owner, name, expected, value):
    return ValueError(f"{_label(owner)}{name} must be {expected}; received {name}={value!r}")


def is_integer(value):
    """Whether ``value`` is a Python or NumPy integer (``bool`` is not)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def as_tuple(value):
    """``tuple(value)`` for a sequence of values; None for a scalar or a string."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return None
    return tuple(value)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def integer(owner, name, value):
    """Any integer (an axis, an offset); returned as ``int``."""
    if not is_integer(value):
        raise _error(owner, name, "an integer", value)
    return int(value)


def positive_int(owner, name, value):
    """An integer > 0 (units, filters, a vocabulary size...)."""
    if not is_integer(value) or value <= 0:
        raise _error(owner, name, "a positive integer", value)
    return int(value)


def non_negative_int(owner, name, value):
    """An integer >= 0 (a padding, a cropping)."""
    if not is_integer(value) or value < 0:
        raise _error(owner, name, "a non-negative integer", value)
    return int(value)


def int_tuple(owner, name, value, n, allow_zero=False):
    """An integer, or a sequence of ``n`` integers, as a tuple of ``n`` ints.

    Every entry must be > 0 (>= 0 with ``allow_zero``): kernel sizes, strides,
    dilation rates, pool sizes, upsampling factors, paddings.
    """
    kind = "non-negative" if allow_zero else "positive"
    plural = "integer" if n == 1 else "integers"
    expected = f"a {kind} integer or a tuple of {n} {kind} {plural}"
    low = 0 if allow_zero else 1
    values = (value,) * n if is_integer(value) else as_tuple(value)
    if values is None or len(values) != n or not all(is_integer(v) and v >= low
                                                     for v in values):
        raise _error(owner, name, expected, value)
    return tuple(int(v) for v in values)


def rate(owner, name, value, include_one=False):
    """A fraction in [0, 1) (in [0, 1] with ``include_one``), as ``float``."""
    if not _is_real(value) or not (0 <= value <= 1 if include_one else 0 <= value < 1):
        raise _error(owner, name, f"a float in [0, {'1]' if include_one else '1)'}", value)
    return float(value)


def non_negative_float(owner, name, value):
    """A finite real number >= 0 (an epsilon, a slope, a regularization factor)."""
    if not _is_real(value) or not math.isfinite(value) or value < 0:
        raise _error(owner, name, "a finite non-negative number", value)
    return float(value)


def real(owner, name, value, allow_inf=False):
    """A finite real number (a threshold, a scale); ``allow_inf`` admits +-inf, never NaN."""
    if not _is_real(value) or math.isnan(value) or (not allow_inf and math.isinf(value)):
        raise _error(owner, name, "a number" if allow_inf else "a finite number", value)
    return float(value)


def seed(owner, value):
    """A random seed: an integer or None."""
    if value is None:
        return None
    return integer(owner, "seed", value)


def int_list(owner, name, value, error=ValueError):
    """An integer or a list/tuple of integers (axes), as ``int`` or a list of ints.

    ``error``: the exception class, for layers where Keras raises a TypeError.
    """
    if is_integer(value):
        return int(value)
    if isinstance(value, (list, tuple)) and all(is_integer(v) for v in value):
        return [int(v) for v in value]
    raise error(str(_error(owner, name, "an integer or a list of integers", value)))


def shape(owner, name, value, allow_scalar=False):
    """A shape: a sequence of non-negative integers or None (unknown sizes); with
    ``allow_scalar`` an integer ``n`` is the 1-D shape ``(n,)``."""
    expected = "a tuple of non-negative integers or None"
    dims = (value,) if allow_scalar and is_integer(value) else as_tuple(value)
    if dims is None or not all(d is None or (is_integer(d) and d >= 0) for d in dims):
        raise _error(owner, name, expected, value)
    return tuple(None if d is None else int(d) for d in dims)
