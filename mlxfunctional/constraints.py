"""Weight constraints, with Keras 3 names, arguments and defaults.

A constraint maps a weight to its projection, applied after each optimizer
update. ``axis`` is in Keras layout: for a Dense kernel ``(in, out)`` axis 0
constrains each output unit's incoming weight vector; for a conv kernel
``(kh, kw, in, out)`` use ``axis=[0, 1, 2]``.
"""

import mlx.core as mx

from mlxfunctional._resolve import (builtin_objects, deserialize_object, get_object,
                                    serialize_object)

_EPSILON = 1e-7


def _norms(w, axis):
    """sqrt(sum(w^2, axis)) with kept dimensions."""
    return mx.sqrt(mx.sum(mx.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class: ``__call__(w)`` returns the constrained weight (here w itself)."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Rescales slices whose L2 norm along ``axis`` exceeds ``max_value``.

    w * clip(n, 0, max_value) / (eps + n), n = ||w||_2 along ``axis``.

    Args:
        max_value: maximum norm.
        axis: axis (or list of axes) the norm is taken over.
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = mx.clip(norms, 0, self.max_value)
        return w * (desired / (_EPSILON + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves norms along ``axis`` towards [min_value, max_value].

    w * (rate * clip(n, min_value, max_value) + (1 - rate) * n) / (eps + n).

    Args:
        min_value: minimum norm.
        max_value: maximum norm.
        rate: 1.0 enforces the bounds strictly, smaller values move part way.
        axis: axis (or list of axes) the norm is taken over.
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * mx.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (_EPSILON + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value,
                "rate": self.rate, "axis": self.axis}


class NonNeg(Constraint):
    """w * (w >= 0): negative entries become 0."""

    def __call__(self, w):
        return w * (w >= 0).astype(w.dtype)


class UnitNorm(Constraint):
    """w / (eps + ||w||_2 along ``axis``).

    Args:
        axis: axis (or list of axes) the norm is taken over.
    """

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (_EPSILON + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm

ALL_OBJECTS = builtin_objects((Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm))


def serialize(constraint):
    """Constraint -> ``{"class_name": ..., "config": {...}}`` (a function -> its name)."""
    return serialize_object(constraint, "constraint")


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`; also takes a name such as ``"max_norm"``."""
    return deserialize_object(config, ALL_OBJECTS, custom_objects, "constraint")


def get(identifier):
    """None, a name, a config dict, a Constraint or a callable -> a constraint (or None)."""
    return get_object(identifier, ALL_OBJECTS, "constraint")
