"""Overlap losses for segmentation: Dice and Tversky.

Both compare soft masks through sums over ``axis`` (all axes when None, one
value for the batch; ``axis=(1, 2, 3)`` gives one value per image), with
Keras' epsilon (1e-7) in the denominator so empty masks give 1, not NaN.
"""

import mlx.core as mx

from mlxfunctional.loss_functions import EPSILON, _array
from mlxfunctional.losses_base import LossFunctionWrapper

_R = "sum_over_batch_size"

__all__ = ["Dice", "Tversky", "dice", "tversky"]


def _axis(axis):
    # Configs come back from JSON with lists; MLX takes a list or an int.
    return list(axis) if isinstance(axis, (list, tuple)) else axis


def dice(y_true, y_pred, axis=None):
    """1 - 2 sum(t p) / (sum(t) + sum(p) + eps), the sums over ``axis``."""
    y_pred = _array(y_pred)
    y_true = _array(y_true, y_pred.dtype)
    axis = _axis(axis)
    intersection = mx.sum(y_true * y_pred, axis=axis)
    total = mx.sum(y_true, axis=axis) + mx.sum(y_pred, axis=axis)
    return 1.0 - 2.0 * intersection / (total + EPSILON)


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """1 - I / (I + alpha sum(t (1 - p)) + beta sum(p (1 - t)) + eps), I = sum(t p).

    ``alpha`` weights the target mass the prediction misses and ``beta`` the
    predicted mass outside the target (Keras' assignment); alpha = beta = 0.5
    is the Dice loss.
    """
    y_pred = _array(y_pred)
    y_true = _array(y_true, y_pred.dtype)
    axis = _axis(axis)
    intersection = mx.sum(y_true * y_pred, axis=axis)
    missed = mx.sum(y_true * (1.0 - y_pred), axis=axis)
    extra = mx.sum(y_pred * (1.0 - y_true), axis=axis)
    return 1.0 - intersection / (intersection + alpha * missed + beta * extra + EPSILON)


class Dice(LossFunctionWrapper):
    """1 - 2 sum(t p) / (sum(t) + sum(p)) over ``axis``, then reduced.

    Args:
        reduction, name ("dice"): as for ``Loss``.
        axis: the axes summed over (None: all of them, one value per call).
        dtype: as for ``Loss``.
    """

    def __init__(self, reduction=_R, name="dice", axis=None, dtype=None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class Tversky(LossFunctionWrapper):
    """1 - I / (I + alpha sum(t (1 - p)) + beta sum(p (1 - t))), I = sum(t p) over ``axis``.

    Args:
        alpha, beta: the weights of the two kinds of error (0.5 each: Dice).
        reduction, name ("tversky"): as for ``Loss``.
        axis: the axes summed over (None: all of them).
        dtype: as for ``Loss``.
    """

    def __init__(self, alpha=0.5, beta=0.5, reduction=_R, name="tversky", axis=None,
                 dtype=None):
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha,
                         beta=beta, axis=axis)
        self.alpha, self.beta, self.axis = alpha, beta, axis


CLASSES = (Dice, Tversky)
FUNCTIONS = (dice, tversky)
