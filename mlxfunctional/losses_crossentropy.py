"""Crossentropy variants: the focal losses and generalized crossentropy.

``BinaryFocalCrossentropy`` and ``CategoricalFocalCrossentropy`` wrap the
per-sample functions of :mod:`mlxfunctional.loss_functions`;
``categorical_generalized_cross_entropy`` lives here.
"""

import mlx.core as mx

from mlxfunctional import loss_functions as lf
from mlxfunctional.loss_functions import _array
from mlxfunctional.losses_base import LossFunctionWrapper

_R = "sum_over_batch_size"

__all__ = ["BinaryFocalCrossentropy", "CategoricalFocalCrossentropy",
           "CategoricalGeneralizedCrossEntropy", "categorical_generalized_cross_entropy"]


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """(1 - p^q) / q per sample, p the predicted probability of the integer label.

    Between crossentropy (q -> 0) and mean absolute error (q = 1); robust to
    noisy labels (Zhang & Sabuncu, 2018).

    Args:
        y_true: integer class labels, ``(batch, ...)`` or ``(batch, ..., 1)``.
        y_pred: probabilities ``(batch, ..., num_classes)``.
        q: the exponent, in (0, 1).
    """
    y_pred = _array(y_pred)
    y_true = _array(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = mx.squeeze(y_true, -1)
    # The label's probability picked by comparison with the class indices (no gather:
    # MLX gathers do not check bounds); a label outside the classes picks 0.
    classes = mx.arange(y_pred.shape[-1])
    is_label = mx.expand_dims(y_true.astype(mx.int32), -1) == classes
    p = mx.sum(mx.where(is_label, y_pred, 0), axis=-1)
    return (1.0 - mx.power(p, q)) / q


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary crossentropy scaled by (1 - p_t)^gamma, p_t the probability given to the
    true label: confident right answers count less (Lin et al., 2018).

    Args:
        apply_class_balancing: also weight by ``alpha`` for label 1, ``1 - alpha`` for 0.
        alpha: the class-1 weight when balancing (0.25).
        gamma: the focusing exponent (2.0); 0 gives binary crossentropy.
        from_logits: y_pred holds logits rather than probabilities.
        label_smoothing: s in [0, 1]; targets become t (1 - s) + s / 2.
        axis: the axis averaged over (-1).
        reduction, name ("binary_focal_crossentropy"), dtype: as for ``Loss``.
    """

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction=_R, name="binary_focal_crossentropy",
                 dtype=None):
        super().__init__(lf.binary_focal_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, apply_class_balancing=apply_class_balancing, alpha=alpha,
                         gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing,
                         axis=axis)
        self.apply_class_balancing, self.alpha, self.gamma = apply_class_balancing, alpha, gamma
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """sum(alpha (1 - p)^gamma * (-t log p)) over the class axis, for one-hot t.

    Args:
        alpha: the weight (0.25).
        gamma: the focusing exponent (2.0).
        from_logits: y_pred holds logits rather than probabilities.
        label_smoothing: s in [0, 1]; targets become t (1 - s) + s / num_classes.
        axis: the class axis (-1).
        reduction, name ("categorical_focal_crossentropy"), dtype: as for ``Loss``.
    """

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction=_R, name="categorical_focal_crossentropy", dtype=None):
        super().__init__(lf.categorical_focal_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.alpha, self.gamma = alpha, gamma
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """(1 - p^q) / q, p the predicted probability of the integer label.

    Args:
        q: in (0, 1) (0.5): near 0 it behaves like crossentropy, at 1 like
            mean absolute error.
        reduction, name ("categorical_generalized_cross_entropy"), dtype: as for ``Loss``.
    """

    def __init__(self, q=0.5, reduction=_R, name="categorical_generalized_cross_entropy",
                 dtype=None):
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q < 1:
            raise ValueError(f"q must be in the interval (0, 1). Received: q={q!r}")
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction,
                         name=name, dtype=dtype, q=q)
        self.q = q


CLASSES = (BinaryFocalCrossentropy, CategoricalFocalCrossentropy,
           CategoricalGeneralizedCrossEntropy)
FUNCTIONS = (categorical_generalized_cross_entropy,)
