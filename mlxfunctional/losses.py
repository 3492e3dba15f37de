"""Losses, with Keras 3 names, arguments, defaults and numerics.

A loss *function* (``mean_squared_error(y_true, y_pred)``, see
:mod:`mlxfunctional.loss_functions`) returns one value per sample. A ``Loss``
object computes those values and reduces them, weighted by ``sample_weight``,
to a scalar:

    "sum_over_batch_size" / "mean":  sum(w * l) / number of loss elements
    "mean_with_sample_weight":       sum(w * l) / sum(w)
    "sum":                           sum(w * l)
    "none" / None:                   w * l, unreduced

A ``(batch,)`` or ``(batch, 1)`` weight scales every element of a sample.
"""

import mlx.core as mx

from mlxfunctional import loss_functions as lf
from mlxfunctional._resolve import get_object
from mlxfunctional.loss_functions import *  # noqa: F401,F403  (the functions and aliases)
from mlxfunctional.loss_functions import EPSILON, _array, divide_no_nan, \
    squeeze_or_expand_to_same_rank
from mlxfunctional.losses_base import ALL_OBJECTS, REDUCTIONS, Loss, LossFunctionWrapper, \
    _weights_like, apply_mask, deserialize, reduce_values, reduce_weighted_values, \
    serialize, standardize_reduction
from mlxfunctional import registry
from mlxfunctional import losses_crossentropy, losses_overlap, losses_structured
from mlxfunctional.losses_crossentropy import BinaryFocalCrossentropy, \
    CategoricalFocalCrossentropy, CategoricalGeneralizedCrossEntropy, \
    categorical_generalized_cross_entropy
from mlxfunctional.losses_overlap import Dice, Tversky, dice, tversky
from mlxfunctional.losses_structured import CTC, Circle, circle, ctc


_R = "sum_over_batch_size"


class MeanSquaredError(LossFunctionWrapper):
    """mean((y_true - y_pred)^2) over the last axis, then reduced.

    Args:
        reduction, name ("mean_squared_error"), dtype: as for ``Loss``.
    """

    def __init__(self, reduction=_R, name="mean_squared_error", dtype=None):
        super().__init__(lf.mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    """mean(|y_true - y_pred|) over the last axis, then reduced.

    Args:
        reduction, name ("mean_absolute_error"), dtype: as for ``Loss``.
    """

    def __init__(self, reduction=_R, name="mean_absolute_error", dtype=None):
        super().__init__(lf.mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7)) over the last axis.

    Args:
        reduction, name ("mean_absolute_percentage_error"), dtype: as for ``Loss``.
    """

    def __init__(self, reduction=_R, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(lf.mean_absolute_percentage_error, reduction=reduction, name=name,
                         dtype=dtype)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """mean((log(y_pred + 1) - log(y_true + 1))^2) over the last axis (values floored at 1e-7).

    Args:
        reduction, name ("mean_squared_logarithmic_error"), dtype: as for ``Loss``.
    """

    def __init__(self, reduction=_R, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(lf.mean_squared_logarithmic_error, reduction=reduction, name=name,
                         dtype=dtype)


class CosineSimilarity(LossFunctionWrapper):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): -1 is best.

    Args:
        axis: the feature axis (-1).
        reduction, name ("cosine_similarity"), dtype: as for ``Loss``.
    """

    def __init__(self, axis=-1, reduction=_R, name="cosine_similarity", dtype=None):
        super().__init__(lf.cosine_similarity, reduction=reduction, name=name, dtype=dtype,
                         axis=axis)
        self.axis = axis


class Huber(LossFunctionWrapper):
    """mean(0.5 e^2 if |e| <= delta else delta (|e| - 0.5 delta)), e = y_pred - y_true.

    Args:
        delta: where the loss turns from quadratic to linear (1.0).
        reduction, name ("huber_loss"), dtype: as for ``Loss``.
    """

    def __init__(self, delta=1.0, reduction=_R, name="huber_loss", dtype=None):
        super().__init__(lf.huber, reduction=reduction, name=name, dtype=dtype, delta=delta)
        self.delta = delta


class LogCosh(LossFunctionWrapper):
    """mean(log(cosh(y_pred - y_true))) over the last axis.

    Args:
        reduction, name ("log_cosh"), dtype: as for ``Loss``.
    """

    def __init__(self, reduction=_R, name="log_cosh", dtype=None):
        super().__init__(lf.log_cosh, reduction=reduction, name=name, dtype=dtype)


class Hinge(LossFunctionWrapper):
    """mean(max(1 - y_true * y_pred, 0)); 0/1 labels are mapped to -1/1.

    Args:
        reduction, name ("hinge"), dtype: as for ``Loss``.
    """

    def __init__(self, reduction=_R, name="hinge", dtype=None):
        super().__init__(lf.hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    """mean(max(1 - y_true * y_pred, 0)^2); 0/1 labels are mapped to -1/1.

    Args:
        reduction, name ("squared_hinge"), dtype: as for ``Loss``.
    """

    def __init__(self, reduction=_R, name="squared_hinge", dtype=None):
        super().__init__(lf.squared_hinge, reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(LossFunctionWrapper):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0).

    Args:
        reduction, name ("categorical_hinge"), dtype: as for ``Loss``.
    """

    def __init__(self, reduction=_R, name="categorical_hinge", dtype=None):
        super().__init__(lf.categorical_hinge, reduction=reduction, name=name, dtype=dtype)


class KLDivergence(LossFunctionWrapper):
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [1e-7, 1].

    Args:
        reduction, name ("kl_divergence"), dtype: as for ``Loss``.
    """

    def __init__(self, reduction=_R, name="kl_divergence", dtype=None):
        super().__init__(lf.kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(LossFunctionWrapper):
    """mean(y_pred - y_true * log(y_pred + 1e-7)) over the last axis.

    Args:
        reduction, name ("poisson"), dtype: as for ``Loss``.
    """

    def __init__(self, reduction=_R, name="poisson", dtype=None):
        super().__init__(lf.poisson, reduction=reduction, name=name, dtype=dtype)


class BinaryCrossentropy(LossFunctionWrapper):
    """mean(-(t log p + (1 - t) log(1 - p)), axis), p = sigmoid(y_pred) or clip(y_pred).

    Args:
        from_logits: y_pred holds logits rather than probabilities.
        label_smoothing: s in [0, 1]; targets become t (1 - s) + s / 2.
        axis: the axis averaged over (-1).
        reduction, name ("binary_crossentropy"), dtype: as for ``Loss``.
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_R,
                 name="binary_crossentropy", dtype=None):
        super().__init__(lf.binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class CategoricalCrossentropy(LossFunctionWrapper):
    """-sum(t log p, axis) for one-hot t; p = softmax(y_pred) or y_pred / sum(y_pred), clipped.

    Args:
        from_logits: y_pred holds logits rather than probabilities.
        label_smoothing: s in [0, 1]; targets become t (1 - s) + s / num_classes.
        axis: the class axis (-1).
        reduction, name ("categorical_crossentropy"), dtype: as for ``Loss``.
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_R,
                 name="categorical_crossentropy", dtype=None):
        super().__init__(lf.categorical_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, from_logits=from_logits, label_smoothing=label_smoothing,
                         axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """-log p[label] for integer labels of shape (batch,) or (batch, 1).

    Args:
        from_logits: y_pred holds logits rather than probabilities.
        ignore_class: a label whose entries are left out of the loss and of
            the average (for example a padding or "void" class).
        reduction, name ("sparse_categorical_crossentropy"), dtype: as for ``Loss``.
        axis: the class axis (-1); Keras' function takes it, its class does not.
    """

    def __init__(self, from_logits=False, ignore_class=None, reduction=_R,
                 name="sparse_categorical_crossentropy", dtype=None, axis=-1):
        super().__init__(lf.sparse_categorical_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, from_logits=from_logits, ignore_class=ignore_class,
                         axis=axis)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis

    def _loss_mask(self, y_true, y_pred, losses):
        if self.ignore_class is None:
            return None
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = mx.squeeze(y_true, -1)
        return y_true != self.ignore_class


CLASSES = (Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError,
           MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity, Huber,
           LogCosh, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
           BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy) \
    + losses_crossentropy.CLASSES + losses_overlap.CLASSES + losses_structured.CLASSES
FUNCTIONS = lf.FUNCTIONS + losses_crossentropy.FUNCTIONS + losses_overlap.FUNCTIONS \
    + losses_structured.FUNCTIONS

# Keras' table: class names give classes, function names and the short aliases give
# the per-sample functions ("mean_squared_error" is the function, as in Keras).
ALL_OBJECTS.update({cls.__name__: cls for cls in CLASSES})
ALL_OBJECTS.update({fn.__name__: fn for fn in FUNCTIONS})
ALL_OBJECTS.update({"mse": lf.mse, "MSE": lf.mse, "mae": lf.mae, "MAE": lf.mae,
                    "mape": lf.mape, "MAPE": lf.mape, "msle": lf.msle, "MSLE": lf.msle,
                    "kld": lf.kld, "KLD": lf.kld, "bce": lf.bce, "BCE": lf.bce,
                    "logcosh": lf.log_cosh, "kullback_leibler_divergence": lf.kl_divergence})
for _obj in CLASSES + FUNCTIONS:
    registry.register_builtin(_obj)
del _obj


def get(identifier):
    """Keras' ``losses.get``: a function name ("mse", "categorical_crossentropy")
    gives the per-sample function; a class name, config dict or class an instance."""
    return get_object(identifier, ALL_OBJECTS, "loss")


def is_binary_or_sparse_categorical(y_true_shape, y_pred_shape):
    """Keras' shape rule: binary when y_pred's last dim is 1; sparse when the
    target has lower rank, or a last dim of 1 against several classes."""
    is_binary = y_pred_shape[-1] == 1
    is_sparse = len(y_true_shape) < len(y_pred_shape) or (
        y_true_shape[-1] == 1 and y_pred_shape[-1] != 1)
    return is_binary, is_sparse


def get_loss(identifier, y_true_shape=None, y_pred_shape=None):
    """What ``compile(loss=...)`` needs: always a ``Loss`` object (None stays None).

    "crossentropy"/"ce" picks binary, sparse or categorical crossentropy from
    the shapes, as Keras' compile does; a function is wrapped in
    ``LossFunctionWrapper`` named by the user's string (or the function's name).
    """
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        if y_pred_shape is None or y_true_shape is None:
            raise ValueError(f"loss={identifier!r} needs the target and output shapes.")
        is_binary, is_sparse = is_binary_or_sparse_categorical(y_true_shape, y_pred_shape)
        fn = lf.binary_crossentropy if is_binary else (
            lf.sparse_categorical_crossentropy if is_sparse else lf.categorical_crossentropy)
    else:
        fn = get(identifier)
    if isinstance(fn, Loss):
        return fn
    name = identifier if isinstance(identifier, str) else getattr(fn, "__name__", None)
    return LossFunctionWrapper(fn, name=name)
