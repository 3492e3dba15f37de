"""The ``Loss`` base class, ``LossFunctionWrapper`` and the reductions.

A leaf under :mod:`mlxfunctional.losses` so that the loss families in their
own modules (``losses_crossentropy``, ``losses_overlap``, ...) can subclass
``LossFunctionWrapper`` while ``losses`` imports them all (no import cycle).
``ALL_OBJECTS`` is the one table of losses by name: ``losses`` fills it.
"""

import mlx.core as mx

from mlxfunctional import backend
from mlxfunctional._resolve import deserialize_object, serialize_object
from mlxfunctional.engine import global_batch, index_bounds
from mlxfunctional.loss_functions import _array, squeeze_or_expand_to_same_rank

# Name -> loss class or function; filled by mlxfunctional.losses when it is imported.
ALL_OBJECTS = {}

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
        y_true = _array(y_true)
        keep = self._integer_targets and mx.issubdtype(y_true.dtype, mx.integer)
        y_true = _array(y_true, None if keep else dtype)
        with index_bounds.caller(f'loss "{self.name}"'):  # (names itself in label errors)
            losses = self.call(y_true, y_pred)
        own_mask = self._loss_mask(y_true, y_pred, losses)
        if own_mask is not None:
            mask = own_mask if mask is None else (_array(mask) & own_mask)
        elif mask is not None:
            mask = _array(mask)
        return reduce_weighted_values(losses, sample_weight, mask, self.reduction, dtype)

    # Keras casts the targets to the loss' dtype; losses of integer labels keep integer
    # targets as they are (the same labels, without two casts per step).
    _integer_targets = False

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call().")

    def _loss_mask(self, y_true, y_pred, losses):
        # Per-sample validity a loss decides itself (SparseCategoricalCrossentropy's
        # ignore_class; Circle leaves out its zero losses).
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
        self._integer_targets = getattr(fn, "integer_targets", False)

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


def serialize(loss):
    """Loss object -> ``{"class_name", "config"}``; loss function -> its name."""
    return serialize_object(loss, "loss")


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`; also takes a name such as ``"mse"``."""
    return deserialize_object(config, ALL_OBJECTS, custom_objects, "loss")
