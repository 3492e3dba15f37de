"""Weight regularizers, with Keras 3 names, arguments and defaults.

A regularizer maps a weight to a scalar penalty added to the loss:
``L1(0.01)(w) == 0.01 * sum(|w|)``.
"""

import math

import mlx.core as mx

from mlxfunctional._resolve import (builtin_objects, deserialize_object, get_object,
                                    serialize_object)


def _non_negative(value, name):
    if value is None or isinstance(value, bool):
        raise ValueError(f"`{name}` must be a non-negative float. Received: {name}={value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative float. Received: {name}={value!r}")
    return value


class Regularizer:
    """Base class: ``__call__(x)`` returns a scalar ``mx.array`` penalty."""

    def __call__(self, x):
        return mx.array(0.0)

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config().")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        try:
            config = self.get_config()
        except NotImplementedError:
            config = {}
        args = ", ".join(f"{k}={v!r}" for k, v in config.items())
        return f"{type(self).__name__}({args})"


class L1(Regularizer):
    """l1 * sum(|x|).

    Args:
        l1: non-negative factor.
    """

    def __init__(self, l1=0.01):
        self.l1 = _non_negative(l1, "l1")

    def __call__(self, x):
        return self.l1 * mx.sum(mx.abs(x))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """l2 * sum(x^2).

    Args:
        l2: non-negative factor.
    """

    def __init__(self, l2=0.01):
        self.l2 = _non_negative(l2, "l2")

    def __call__(self, x):
        return self.l2 * mx.sum(mx.square(x))

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x^2).

    Args:
        l1: non-negative L1 factor (None counts as 0).
        l2: non-negative L2 factor (None counts as 0).
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _non_negative(0.0 if l1 is None else l1, "l1")
        self.l2 = _non_negative(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        penalty = mx.array(0.0, dtype=x.dtype)
        if self.l1:
            penalty = penalty + self.l1 * mx.sum(mx.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * mx.sum(mx.square(x))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalizes non-orthogonal rows (or columns) of a 2-D weight.

    With the rows (``"columns"``: the columns) of x scaled to unit L2 norm and
    P = x x^T (``"columns"``: x^T x) of size n x n:
    penalty = factor * 0.5 * sum(|P_ij|, i != j) / (n (n - 1) / 2).

    Args:
        factor: non-negative factor.
        mode: ``"rows"`` or ``"columns"``.
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _non_negative(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f"`mode` must be 'rows' or 'columns'. Received: mode={mode!r}")
        self.mode = mode

    def __call__(self, x):
        if x.ndim != 2:
            raise ValueError(f"OrthogonalRegularizer needs a 2-D weight. Received shape {x.shape}")
        if self.mode == "columns":
            x = x.T
        norms = mx.sqrt(mx.sum(mx.square(x), axis=1, keepdims=True))
        x = x / mx.maximum(norms, 1e-7)
        n = x.shape[0]
        off_diagonal = (x @ x.T) * (1 - mx.eye(n, dtype=x.dtype))
        num_pairs = n * (n - 1) / 2.0
        return self.factor * 0.5 * mx.sum(mx.abs(off_diagonal)) / num_pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

ALL_OBJECTS = builtin_objects((Regularizer, L1, L2, L1L2, OrthogonalRegularizer))
ALL_OBJECTS.update({"l1_l2": L1L2})


def serialize(regularizer):
    """Regularizer -> ``{"class_name": ..., "config": {...}}`` (a function -> its name)."""
    return serialize_object(regularizer, "regularizer")


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`; also takes a name such as ``"l2"``."""
    return deserialize_object(config, ALL_OBJECTS, custom_objects, "regularizer")


def get(identifier):
    """None, a name, a config dict, a Regularizer or a callable -> a regularizer (or None)."""
    return get_object(identifier, ALL_OBJECTS, "regularizer")
