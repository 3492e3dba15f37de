"""Losses over structured targets: CTC (label sequences) and Circle (embeddings).
"""

import mlx.core as mx

from mlxfunctional.loss_functions import _array
from mlxfunctional.losses_base import LossFunctionWrapper
from mlxfunctional._ctc import ctc_negative_log_likelihood

_R = "sum_over_batch_size"

__all__ = ["CTC", "Circle", "circle", "ctc"]


def ctc(y_true, y_pred):
    """-log P(labels | logits) per sample, over every time step of ``y_pred``.

    Args:
        y_true: integer labels ``(batch, max_label_length)``; 0 is the blank and
            pads the end, so a sample's length is its count of non-zero labels.
        y_pred: logits ``(batch, steps, num_classes)`` (not softmaxed).
    """
    y_pred = _array(y_pred)
    y_true = _array(y_true)
    if y_true.ndim != 2:
        raise ValueError("Targets `y_true` are expected to be a tensor of shape "
                         f"`(batch_size, max_length)` in integer format. "
                         f"Received: y_true.shape={tuple(y_true.shape)}")
    if y_pred.ndim != 3:
        raise ValueError("Logits `y_pred` are expected to be a tensor of shape "
                         "`(batch_size, max_length, num_classes)`. "
                         f"Received: y_pred.shape={tuple(y_pred.shape)}")
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(f"CTC: y_true and y_pred must have the same batch size. Received: "
                         f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}")
    batch, steps = y_pred.shape[0], y_pred.shape[1]
    if batch == 0 or steps == 0:  # MLX reductions refuse empty inputs
        return mx.zeros((batch,), dtype=y_pred.dtype)
    # Computed in float32 at least (as Keras does); the Loss casts the result back.
    logits = y_pred if y_pred.dtype in (mx.float32, mx.float64) else y_pred.astype(mx.float32)
    labels = y_true.astype(mx.int32)
    label_length = mx.sum(labels != 0, axis=-1).astype(mx.int32)
    output_length = mx.full((batch,), steps, dtype=mx.int32)
    return ctc_negative_log_likelihood(labels, logits, label_length, output_length, 0)


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
           gamma=80, margin=0.4):
    """Circle loss (Sun et al., 2020) of unit-norm embeddings against references.

    With cosine distances d = max(1 - y_pred . ref, 0), each positive pair (same
    label) contributes -gamma max(margin + d, 0) (margin - d) and each negative
    pair gamma max(1 + margin - d, 0) (1 - margin - d); a row's loss is
    softplus(logsumexp(positives) + logsumexp(negatives)).

    Args:
        y_true: integer labels ``(batch,)``.
        y_pred: L2-normalized embeddings ``(batch, dim)``.
        ref_labels, ref_embeddings: the references (default: the batch itself).
        remove_diagonal: leave out each sample's pair with itself from the positives.
        gamma: the scale (80); margin: the relaxation (0.4).
    """
    y_pred = _array(y_pred)
    labels = _array(y_true).astype(mx.int32)
    refs = y_pred if ref_embeddings is None else _array(ref_embeddings, y_pred.dtype)
    ref_labels = labels if ref_labels is None else _array(ref_labels).astype(mx.int32)
    distance = mx.maximum(1.0 - y_pred @ refs.T, 0.0)
    positive = labels.reshape(-1, 1) == ref_labels.reshape(1, -1)
    negative = mx.logical_not(positive)
    if remove_diagonal:
        positive = positive & mx.logical_not(mx.eye(positive.shape[0], positive.shape[1],
                                                     dtype=mx.bool_))
    pos_weight = mx.maximum((margin + distance) * positive, 0.0)
    neg_weight = mx.maximum((1.0 + margin - distance) * negative, 0.0)
    pos_logits = -gamma * pos_weight * (margin - distance)
    neg_logits = gamma * neg_weight * (1.0 - margin - distance)
    # The dtype's lowest finite value stands for log(0): a row with no positive pair
    # gives softplus(-huge) = 0 without the NaN gradient an all -inf logsumexp has.
    low = mx.finfo(distance.dtype).min
    p_loss = mx.logsumexp(mx.where(positive, pos_logits, low), axis=1)
    n_loss = mx.logsumexp(mx.where(negative, neg_logits, low), axis=1)
    return mx.logaddexp(p_loss + n_loss, 0.0)


class CTC(LossFunctionWrapper):
    """Connectionist temporal classification loss (see :func:`ctc`).

    Args:
        reduction, name ("ctc"), dtype: as for ``Loss``.
    """

    def __init__(self, reduction=_R, name="ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)


class Circle(LossFunctionWrapper):
    """Circle loss between integer labels and L2-normalized embeddings (see :func:`circle`);
    samples whose loss is 0 are left out of the average.

    Args:
        gamma: the scale (80.0).
        margin: the relaxation (0.4).
        remove_diagonal: leave out self-pairs from the positives (True).
        reduction, name ("circle"), dtype: as for ``Loss``.
    """

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True, reduction=_R,
                 name="circle", dtype=None):
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma,
                         margin=margin, remove_diagonal=remove_diagonal)
        self.gamma, self.margin, self.remove_diagonal = gamma, margin, remove_diagonal

    def _loss_mask(self, y_true, y_pred, losses):
        return losses > 0


CLASSES = (CTC, Circle)
FUNCTIONS = (ctc, circle)
