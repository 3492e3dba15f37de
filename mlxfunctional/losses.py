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

from mlxfunctional import backend
from mlxfunctional import loss_functions as lf
from mlxfunctional._resolve import deserialize_object, get_object, serialize_object
from mlxfunctional.engine import global_batch, index_bounds
from mlxfunctional.loss_functions import *  # noqa: F401,F403  (the functions and aliases)
from mlxfunctional.loss_functions import EPSILON, _array, divide_no_nan, \
    squeeze_or_expand_to_same_rank
from mlxfunctional import registry

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def _weights_like(values, sample_weight):
    """Matches ``sample_weight`` to ``values`` without changing ``values``' shape:
    a trailing 1 beyond their rank is squeezed away ((batch, 1) against
    (batch,)) and missing trailing axes are added, so a ``(batch,)`` weight
    scales every element of a sample. (Keras would reshape the values instead.)"""
    if sample_weight.ndim == values.ndim + 1 and sample_weight.shape[-1] == 1:
        sample_weight = mx.squeeze(sample_weight, -1)
    if 0 < sample_weight.ndim < values.ndim:
        sample_weight = sample_weight.reshape(
            sample_weight.shape + (1,) * (values.ndim - sample_weight.ndim))
    return values, sample_weight


def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of "
                         f"{REDUCTIONS}. Received: reduction={reduction!r}")
    return reduction


def apply_mask(sample_weight, mask, dtype, reduction):
    """Merges a boolean ``mask`` into the sample weights.

    For the averaging reductions the valid entries get weight total/valid,
    so that dividing by the number of elements averages over valid ones only.
    """
    if mask is None:
        return sample_weight
    mask = mask.astype(dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        mask = mask * global_batch.mean_over(mx.array(float(mask.size), dtype=dtype),
                                             mx.sum(mask))
    if sample_weight is None:
        return mask
    mask, sample_weight = _weights_like(mask, sample_weight.astype(dtype))
    return sample_weight * mask


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Reduces already-weighted per-sample values (see the module docstring)."""
    if reduction in (None, "none") or values.ndim == 0 or values.size == 0:
        return values
    loss = mx.sum(values)
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return global_batch.mean_over(loss, mx.sum(mx.broadcast_to(sample_weight, values.shape)))
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        return loss / values.size
    return global_batch.sum_over_rows(loss)  # "sum"


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None):
    """``values * sample_weight`` (mask merged in), then :func:`reduce_values`."""
    reduction = standardize_reduction(reduction)
    values = _array(values, dtype)
    if sample_weight is not None:
        sample_weight = _array(sample_weight, values.dtype)
    sample_weight = apply_mask(sample_weight, mask, values.dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = _weights_like(values, sample_weight)
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


class Loss:
    """Base class: subclasses implement ``call(y_true, y_pred)`` -> per-sample losses.

    ``loss(y_true, y_pred, sample_weight=None)`` casts both to ``dtype``, runs
    ``call`` and reduces (see the module docstring).

    Args:
        name: defaults to the snake_case class name.
        reduction: "sum_over_batch_size" (default), "sum", "mean",
            "mean_with_sample_weight", "none" or None.
        dtype: computation dtype; ``backend.floatx()`` when None.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or backend.to_snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype_arg = dtype
        self.dtype = backend.standardize_dtype(dtype or backend.floatx())

    def __call__(self, y_true, y_pred, sample_weight=None, mask=None):
        """The reduced loss. ``mask`` (an extension: MLX arrays carry no Keras
        mask) is a boolean array shaped like the per-sample losses; masked-out
        entries are left out, and averages are over the valid entries."""
        dtype = backend.mlx_dtype(self.dtype)
        y_pred = _array(y_pred, dtype)
        y_true = _array(y_true, dtype)
        with index_bounds.caller(f'loss "{self.name}"'):  # (names itself in label errors)
            losses = self.call(y_true, y_pred)
        own_mask = self._loss_mask(y_true, y_pred)
        if own_mask is not None:
            mask = own_mask if mask is None else (_array(mask) & own_mask)
        elif mask is not None:
            mask = _array(mask)
        return reduce_weighted_values(losses, sample_weight, mask, self.reduction, dtype)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call().")

    def _loss_mask(self, y_true, y_pred):
        # Per-sample validity a loss decides itself (SparseCategoricalCrossentropy's ignore_class).
        return None

    def get_config(self):
        config = {"name": self.name, "reduction": self.reduction}
        if self._dtype_arg is not None:
            config["dtype"] = self.dtype
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class LossFunctionWrapper(Loss):
    """A ``Loss`` around a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    Before ``fn`` runs, ranks that differ by a trailing 1 are matched, and a
    rank-1 pair becomes ``(batch, 1)`` so that each element is one sample
    (Keras would average a rank-1 pair over the batch into one value).

    Args:
        fn: the loss function.
        reduction, name, dtype: as for ``Loss``.
        **kwargs: passed to ``fn`` on every call.
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if y_true.ndim == 1 and y_pred.ndim == 1:
            y_true, y_pred = y_true[:, None], y_pred[:, None]
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        if type(self) is LossFunctionWrapper:  # subclasses fix fn; their kwargs are their args
            config["fn"] = serialize(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("fn"), (str, dict)):
            config["fn"] = deserialize(config["fn"])
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__}({getattr(self.fn, '__name__', self.fn)}, " \
               f"kwargs={self._fn_kwargs})>"


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

    def _loss_mask(self, y_true, y_pred):
        if self.ignore_class is None:
            return None
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = mx.squeeze(y_true, -1)
        return y_true != self.ignore_class


CLASSES = (Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError,
           MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity, Huber,
           LogCosh, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
           BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy)

# Keras' table: class names give classes, function names and the short aliases give
# the per-sample functions ("mean_squared_error" is the function, as in Keras).
ALL_OBJECTS = {cls.__name__: cls for cls in CLASSES}
ALL_OBJECTS.update({fn.__name__: fn for fn in lf.FUNCTIONS})
ALL_OBJECTS.update({"mse": lf.mse, "MSE": lf.mse, "mae": lf.mae, "MAE": lf.mae,
                    "mape": lf.mape, "MAPE": lf.mape, "msle": lf.msle, "MSLE": lf.msle,
                    "kld": lf.kld, "KLD": lf.kld, "bce": lf.bce, "BCE": lf.bce,
                    "logcosh": lf.log_cosh, "kullback_leibler_divergence": lf.kl_divergence})
for _obj in CLASSES + lf.FUNCTIONS:
    registry.register_builtin(_obj)
del _obj


def serialize(loss):
    """Loss object -> ``{"class_name", "config"}``; loss function -> its name."""
    return serialize_object(loss, "loss")


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`; also takes a name such as ``"mse"``."""
    return deserialize_object(config, ALL_OBJECTS, custom_objects, "loss")


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
