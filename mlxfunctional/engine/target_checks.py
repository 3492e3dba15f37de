"""Targets checked against the model's outputs and what each compiled loss expects.

Without this check a target of the wrong shape reaches the loss and either
fails deep in MLX (``[broadcast_shapes] Shapes (64,5) and (64,3) cannot be
broadcast``) or, worse, broadcasts into a number: one-hot targets given to a
sparse crossentropy, or ``(64, 5)`` targets against a ``(64, 1)`` output,
train on nonsense and log a loss. ``CompiledLoss`` calls :func:`check` with
every output's targets and predictions before the loss runs. Shapes are known
when a step is traced, so inside a compiled step the check runs once per
traced signature and costs nothing per step; run eagerly it is a few tuple
comparisons.

The rules, for the built-in losses (Keras' ``losses.py`` and its ops):

- sparse crossentropy: integer labels shaped like the predictions without
  the class axis, optionally with a trailing 1 (``(64,)`` or ``(64, 1)``
  against ``(64, 10)``);
- every other built-in loss: targets of the output's shape, or that shape
  with a trailing 1 added or (for a last axis of 1) removed, the rank rule
  every loss applies. Keras' regression losses would broadcast ``(64, 5)``
  against ``(64, 1)`` into a loss over 320 pairs; here that is an error,
  since targets never mean to be broadcast against a model's output.

A loss without a rule (a user's function or ``Loss`` subclass) is not
checked; an error it raises on the targets is re-raised naming the loss, the
output and both shapes (:func:`explain`).
"""

import numpy as np

from .. import loss_functions as lf

_SPARSE = (lf.sparse_categorical_crossentropy,)
_SAME_SHAPE = (
    lf.mean_squared_error, lf.mean_absolute_error, lf.mean_absolute_percentage_error,
    lf.mean_squared_logarithmic_error, lf.huber, lf.log_cosh, lf.kl_divergence, lf.poisson,
    lf.hinge, lf.squared_hinge, lf.categorical_hinge, lf.cosine_similarity,
    lf.categorical_crossentropy, lf.binary_crossentropy, lf.binary_focal_crossentropy,
    lf.categorical_focal_crossentropy,
)


def _shape(x):
    # (a custom train_step may hand compute_loss numpy arrays or lists)
    return tuple(int(d) for d in getattr(x, "shape", None) or np.shape(x))


def _dtype(x):
    return getattr(x, "dtype", None) or np.asarray(x).dtype


def _same_shape_forms(pred):
    """The target shapes the rank rule accepts against predictions of shape ``pred``."""
    forms = [pred, pred + (1,)]
    if pred and pred[-1] == 1:
        forms.append(pred[:-1])
    return forms


def _sparse_forms(pred, axis):
    axis = axis % len(pred)
    labels = pred[:axis] + pred[axis + 1:]
    return [labels, labels + (1,)]


def _name(loss):
    return getattr(loss, "name", None) or getattr(loss, "__name__", type(loss).__name__)


def check(loss, output_name, y_true, y_pred):
    """Raises ValueError when ``y_true`` does not fit ``loss`` for this output.

    Args:
        loss: the compiled ``Loss`` of the output.
        output_name: the output's name, for the message.
        y_true, y_pred: the output's targets and predictions (arrays).
    """
    fn = getattr(loss, "fn", None)
    if fn not in _SPARSE and fn not in _SAME_SHAPE:
        return
    true, pred = _shape(y_true), _shape(y_pred)
    where = f'Loss "{_name(loss)}" of output "{output_name}"'
    if not pred:
        return  # (a scalar output: nothing to compare against)
    if fn in _SPARSE:
        forms = _sparse_forms(pred, loss._fn_kwargs.get("axis", -1))
        if true in forms:
            return
        hint = " They look one-hot: for one-hot targets use categorical_crossentropy." \
            if true == pred else ""
        raise ValueError(f"{where} expects integer class labels of shape {forms[0]} or "
                         f"{forms[1]} for predictions of shape {pred}; received targets of "
                         f"shape {true}.{hint}")
    if true in _same_shape_forms(pred):
        return
    hint = ""
    if fn in (lf.categorical_crossentropy, lf.categorical_focal_crossentropy) and \
            true in _sparse_forms(pred, -1):
        hint = (" They look like integer class labels: for those use "
                "sparse_categorical_crossentropy.")
    raise ValueError(f"{where} expects targets of the output's shape {pred}; received "
                     f"targets of shape {true}.{hint}")


def explain(error, loss, output_name, y_true, y_pred):
    """A ValueError naming the loss, the output and both shapes, for ``error``
    raised by a loss on these targets (e.g. MLX's ``[broadcast_shapes]``)."""
    return ValueError(f'Loss "{_name(loss)}" of output "{output_name}" failed on targets of '
                      f"shape {_shape(y_true)} ({_dtype(y_true)}) and predictions of shape "
                      f"{_shape(y_pred)} ({_dtype(y_pred)}): {error}")
