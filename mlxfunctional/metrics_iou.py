"""Intersection-over-union metrics: IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU.

State: one ``(num_classes, num_classes)`` confusion matrix ("total_confusion_matrix",
rows the labels, columns the predictions), integer by default as in Keras.
Each batch adds its weighted counts with one scatter-add over flat indices
``label * num_classes + prediction``: no loop, no host sync. Labels or
predictions outside [0, num_classes), and labels equal to ``ignore_class``,
add nothing. For class c, IoU = tp / (tp + fp + fn) =
cm[c, c] / (row_c + col_c - cm[c, c]); classes that never occur are left out
of the mean.
"""

import warnings

import mlx.core as mx

from mlxfunctional import backend
from mlxfunctional.loss_functions import EPSILON, _array
from mlxfunctional.metrics_base import Metric


def _check_count(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Argument `{what}` must be a positive integer. "
                         f"Received: {what}={value!r}")
    return value


class _IoUBase(Metric):
    """The confusion-matrix accumulation shared by the IoU metrics."""

    _direction = "up"  # higher is better (EarlyStopping/ModelCheckpoint mode="auto")

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=dtype or "int32")
        self.num_classes = _check_count(num_classes, "num_classes")
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = sparse_y_true, sparse_y_pred, axis
        self.add_variable((num_classes, num_classes), name="total_confusion_matrix")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _array(y_true), _array(y_pred)
        if not self.sparse_y_true:
            y_true = mx.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = mx.argmax(y_pred, axis=self.axis)
        dtype = backend.mlx_dtype(self.dtype)
        # Labels are read as integers the way a cast to the state dtype reads them.
        y_true = y_true.astype(dtype).astype(mx.int32).reshape(-1)
        y_pred = y_pred.astype(dtype).astype(mx.int32).reshape(-1)
        if sample_weight is None:
            weight = mx.ones(y_true.shape, dtype=dtype)
        else:
            sample_weight = _array(sample_weight)
            if backend.is_float_dtype(sample_weight.dtype) and \
                    not backend.is_float_dtype(dtype):
                warnings.warn("You are passing weight as `float`, but dtype is `int`. This may "
                              "result in an incorrect weight due to type casting. Consider "
                              "using integer weights.", stacklevel=2)
            weight = mx.broadcast_to(sample_weight.astype(dtype).reshape(-1)
                                     if sample_weight.ndim > 1 else sample_weight.astype(dtype),
                                     y_true.shape)
        n = self.num_classes
        valid = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
        if self.ignore_class is not None:
            valid = valid & (y_true != self.ignore_class)
        # Invalid entries go to cell 0 with weight 0 (a gather/scatter must stay in bounds).
        index = mx.where(valid, y_true * n + y_pred, 0)
        weight = mx.where(valid, weight, mx.zeros_like(weight))
        cm = mx.zeros((n * n,), dtype=dtype).at[index].add(weight).reshape(n, n)
        self.variables["total_confusion_matrix"] = self.variables["total_confusion_matrix"] + cm

    def _base_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class}


class IoU(_IoUBase):
    """Mean over ``target_class_ids`` of tp / (tp + fp + fn) per class.

    Args:
        num_classes: the number of classes (the confusion matrix is square in it).
        target_class_ids: the classes averaged.
        name, dtype: the state dtype ("int32" when None; a float dtype takes
            fractional sample weights).
        ignore_class: a label left out (e.g. a "void" class in segmentation).
        sparse_y_true, sparse_y_pred: integer labels (True) or scores to argmax over ``axis``.
        axis: the class axis of non-sparse inputs (-1).
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        target_class_ids = list(target_class_ids)
        if not target_class_ids:
            raise ValueError("Argument `target_class_ids` must name at least one class.")
        if max(target_class_ids) >= num_classes or min(target_class_ids) < 0:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which "
                             f"is [0, {num_classes}).")
        self.target_class_ids = target_class_ids

    def result(self):
        cm = self.variables["total_confusion_matrix"].astype(mx.float32)
        tp = mx.diagonal(cm)
        union = mx.sum(cm, axis=0) + mx.sum(cm, axis=1) - tp
        ids = mx.array(self.target_class_ids)
        tp, union = mx.take(tp, ids), mx.take(union, ids)  # ids checked in __init__
        present = union > 1e-9  # a class never seen nor predicted does not count
        iou = mx.where(present, tp / (union + EPSILON), 0.0)
        return mx.sum(iou, axis=self.axis) / (mx.sum(present.astype(mx.float32)) + EPSILON)

    def get_config(self):
        return {**self._base_config(), "target_class_ids": self.target_class_ids,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of two classes, predictions thresholded: y_pred >= threshold is class 1.

    Args:
        target_class_ids: (0, 1) averages both; [1] scores the positive class only.
        threshold: 0.5.
        name, dtype: as ``IoU``.
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name,
                         dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = (_array(y_pred).astype(mx.float32) >= self.threshold).astype(mx.int32)
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self.dtype}


class MeanIoU(IoU):
    """IoU averaged over all ``num_classes`` classes. Args as ``IoU`` without
    ``target_class_ids``."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(_check_count(num_classes, "num_classes"))),
                         name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {**self._base_config(), "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """``IoU`` for one-hot labels (argmax over ``axis``); predictions are scores
    unless ``sparse_y_pred``. Args as ``IoU`` without ``sparse_y_true``."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {**self._base_config(), "target_class_ids": self.target_class_ids,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """``MeanIoU`` for one-hot labels. Args as ``MeanIoU`` without ``sparse_y_true``."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {**self._base_config(), "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


CLASSES = (IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU)
