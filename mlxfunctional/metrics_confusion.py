"""Thresholded confusion-matrix metrics: TruePositives... Precision, Recall, AUC.

At every threshold t a prediction counts as positive when ``y_pred > t``
(strictly) and a label as positive when ``y_true != 0``; weighted counts
tp/fp/tn/fn accumulate per threshold. Evenly spaced thresholds (AUC's
default) use Keras' bucket method: each prediction lands in bucket
``ceil(p * (T - 1)) - 1``, one scatter-add and a reversed cumulative sum
give all T counts in O(N + T) instead of O(N * T).
"""

import numpy as np
import mlx.core as mx

from mlxfunctional.loss_functions import EPSILON, _array, squeeze_or_expand_to_same_rank
from mlxfunctional.metrics_base import Metric, divide_no_nan

NEG_INF = -1e10
_KEYS = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives",
         "fn": "false_negatives"}


def parse_init_thresholds(thresholds, default_threshold=0.5):
    """None -> [default]; a number -> [number]; checks each lies in [0, 1]."""
    if thresholds is None:
        return [default_threshold]
    thresholds = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) \
        else [thresholds]
    bad = [t for t in thresholds if t is None or t < 0 or t > 1]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return [float(t) for t in thresholds]


def is_evenly_distributed_thresholds(thresholds):
    """True for at least 3 thresholds equal to i / (n - 1) within 1e-7."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=EPSILON))


def _filter_top_k(x, k):
    """Keeps the k largest entries of the last axis (ties: lowest index first),
    sets the rest to NEG_INF."""
    kth = mx.min(mx.topk(x, k, axis=-1), axis=-1, keepdims=True)
    greater = x > kth
    ties = x == kth
    room = k - mx.sum(greater, axis=-1, keepdims=True)  # tied places left inside the top k
    keep = greater | (ties & (mx.cumsum(ties.astype(mx.int32), axis=-1) <= room))
    return mx.where(keep, x, mx.array(NEG_INF, dtype=x.dtype))


def confusion_counts(keys, y_true, y_pred, thresholds, top_k=None, class_id=None,
                     sample_weight=None, multi_label=False, label_weights=None,
                     thresholds_distributed_evenly=False, dtype=mx.float32):
    """Weighted counts for this batch: ``{key: array}`` for key in tp/fp/tn/fn,
    shaped ``(T,)``, or ``(T, num_labels)`` with ``multi_label``."""
    y_true, y_pred = _array(y_true, dtype), _array(y_pred, dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = mx.expand_dims(_array(sample_weight, dtype), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight,
                                                          expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {y_pred.shape}")
        y_true = y_true[..., class_id:class_id + 1]
        y_pred = y_pred[..., class_id:class_id + 1]
    weights = mx.ones_like(y_pred) if sample_weight is None \
        else mx.broadcast_to(sample_weight, y_pred.shape)
    if label_weights is not None and not multi_label:
        weights = weights * mx.broadcast_to(_array(label_weights, dtype), y_pred.shape)
    label = (y_true != 0).astype(dtype)
    if not multi_label:
        y_pred, label, weights = y_pred.reshape(-1), label.reshape(-1), weights.reshape(-1)
    true_w, false_w = label * weights, (1.0 - label) * weights  # (M,) or (N, L)
    if thresholds_distributed_evenly:
        tp, fp = _bucket_counts(y_pred, true_w, false_w, thresholds, multi_label)
    else:
        thr = mx.array(np.asarray(thresholds, dtype=np.float32)).astype(dtype)
        if multi_label:  # (T, N, L) comparisons summed over the samples
            above = (y_pred[None] > thr[:, None, None]).astype(dtype)
            tp, fp = mx.sum(above * true_w, axis=1), mx.sum(above * false_w, axis=1)
        else:  # (T, M) @ (M,): one matrix-vector product per count
            above = (y_pred[None, :] > thr[:, None]).astype(dtype)
            tp, fp = above @ true_w, above @ false_w
    out = {"tp": tp, "fp": fp}
    if "fn" in keys or "tn" in keys:  # the rest of each label's weight
        out["fn"] = mx.sum(true_w, axis=0) - tp
        out["tn"] = mx.sum(false_w, axis=0) - fp
    return {k: out[k] for k in keys}


def _bucket_counts(y_pred, true_w, false_w, thresholds, multi_label):
    n = len(thresholds)
    with_epsilon = thresholds[0] < 0.0 or thresholds[-1] > 1.0
    bucket = mx.ceil(mx.clip(y_pred, 0.0, 1.0) * (n - 1)) - 1
    if with_epsilon:  # every p in [0, 1] exceeds the first threshold, -eps
        bucket = mx.maximum(bucket, 0)
    above = bucket >= 0  # p == 0 exceeds no threshold, nor does a NaN p
    valid = above.astype(true_w.dtype)
    # (a NaN p would cast to index -2**31: MLX's scatter does not check bounds)
    index = mx.where(above, bucket, 0).astype(mx.int32)
    size = n
    if multi_label:  # one bucket row per label: flat index bucket * L + label
        labels = y_pred.shape[-1]
        index = (index * labels + mx.arange(labels)).reshape(-1)
        size = n * labels
        true_w, false_w, valid = true_w.reshape(-1), false_w.reshape(-1), valid.reshape(-1)
    counts = []
    for w in (true_w, false_w):
        buckets = mx.zeros((size,), dtype=w.dtype).at[index].add(w * valid)
        if multi_label:
            buckets = buckets.reshape(n, -1)
        counts.append(mx.cumsum(buckets, axis=0, reverse=True))  # count(p > t_i) = sum_{j>=i}
    return counts


class _ConfusionMetric(Metric):
    """Shared by the metrics below: thresholds, variables, accumulation."""

    def _setup_thresholds(self, thresholds, default_threshold):
        self.init_thresholds = thresholds
        self.thresholds = parse_init_thresholds(thresholds, default_threshold)
        self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(self.thresholds)

    def _accumulate(self, keys, y_true, y_pred, sample_weight, **kwargs):
        counts = confusion_counts(
            keys, y_true, y_pred, self.thresholds, sample_weight=sample_weight,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            dtype=self.variables[_KEYS[keys[0]]].dtype, **kwargs)
        for key, value in counts.items():
            self.variables[_KEYS[key]] = self.variables[_KEYS[key]] + value

    def _squeeze(self, value):
        return value[0] if len(self.thresholds) == 1 else value


class _ConfusionMatrixConditionCount(_ConfusionMetric):
    _key = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._setup_thresholds(thresholds, 0.5)
        self.add_variable((len(self.thresholds),), name=_KEYS[self._key])

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._accumulate([self._key], y_true, y_pred, sample_weight)

    def result(self):
        return self._squeeze(self.variables[_KEYS[self._key]])

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """Weighted count of y_true != 0 and y_pred > threshold.

    Args:
        thresholds: a float or list of floats in [0, 1] (0.5); one result per threshold.
        name ("true_positives"), dtype.
    """
    _key = "tp"


class FalsePositives(_ConfusionMatrixConditionCount):
    """Weighted count of y_true == 0 and y_pred > threshold. Args as ``TruePositives``."""
    _key = "fp"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of y_true == 0 and y_pred <= threshold. Args as ``TruePositives``."""
    _key = "tn"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of y_true != 0 and y_pred <= threshold. Args as ``TruePositives``."""
    _key = "fn"


class Precision(_ConfusionMetric):
    """tp / (tp + fp) at each threshold (0 when nothing was predicted positive).

    Args:
        thresholds: float or list in [0, 1]; default 0.5, or, with ``top_k``,
            "any of the top k" (a threshold of -1e10).
        top_k: only each row's k largest predictions can be positive.
        class_id: only this class (column) is scored.
        name ("precision"), dtype.
    """

    _keys = ("tp", "fp")

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.top_k, self.class_id = top_k, class_id
        self._setup_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        for key in self._keys:
            self.add_variable((len(self.thresholds),), name=_KEYS[key])

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._accumulate(list(self._keys), y_true, y_pred, sample_weight, top_k=self.top_k,
                         class_id=self.class_id)

    def result(self):
        tp, other = (self.variables[_KEYS[k]] for k in self._keys)
        return self._squeeze(divide_no_nan(tp, tp + other))

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Recall(Precision):
    """tp / (tp + fn) at each threshold (0 when there were no positive labels).

    Args: as ``Precision`` (name "recall").
    """

    _keys = ("tp", "fn")


_CURVES = {"roc": "ROC", "pr": "PR"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(_ConfusionMetric):
    """Area under the ROC or PR curve from tp/fp/tn/fn at ``num_thresholds``
    thresholds (Keras' approximation).

    Thresholds: -1e-7, i / (num_thresholds - 1) for i = 1..num_thresholds-2, 1 + 1e-7.
    ROC: x = fp / (fp + tn), y = tp / (tp + fn); PR: x = recall, y = precision.
    area = sum_i (x_i - x_{i+1}) * h_i with h_i = (y_i + y_{i+1}) / 2
    ("interpolation"), min ("minoring") or max ("majoring"). PR with
    "interpolation" integrates precision between thresholds as Davis &
    Goadrich (2006): tp and fp interpolate linearly, precision does not.

    Args:
        num_thresholds: > 1 (200).
        curve: "ROC" or "PR".
        summation_method: "interpolation", "minoring" or "majoring".
        name ("auc"), dtype.
        thresholds: explicit thresholds in [0, 1] instead of ``num_thresholds``.
        multi_label: one curve per label (column), averaged (by ``label_weights``).
        num_labels: the label count, so the state exists before the first batch.
        label_weights: per-label weights (flattened case: weights of the entries).
        from_logits: apply a sigmoid to y_pred first.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        super().__init__(name=name, dtype=dtype)
        if str(curve).lower() not in _CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are '
                             '["PR", "ROC"]')
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". '
                             f"Expected values are {list(_SUMMATIONS)}")
        self.curve = _CURVES[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(parse_init_thresholds(thresholds))
            self.num_thresholds = len(inner) + 2
            evenly = is_evenly_distributed_thresholds(np.array([0.0] + inner + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            evenly = True
        # Endpoints below 0 and above 1 so that p = 0 and p = 1 fall inside the curve.
        self.thresholds = [0.0 - EPSILON] + inner + [1.0 + EPSILON]
        self._thresholds_distributed_evenly = evenly
        self.multi_label, self.num_labels = bool(multi_label), num_labels
        self.label_weights = None if label_weights is None \
            else mx.array(np.asarray(label_weights, dtype=np.float32))
        self._from_logits = from_logits
        self._built = False
        if num_labels and not self.multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        if not self.multi_label or num_labels:
            self.build(None, (None, num_labels))

    def build(self, y_true_shape=None, y_pred_shape=None):
        """Creates tp/fp/tn/fn: shape (T,), or (T, num_labels) with multi_label."""
        if self._built:
            return
        shape = (self.num_thresholds,)
        if self.multi_label:
            if y_pred_shape is None or len(y_pred_shape) != 2:
                raise ValueError("AUC(multi_label=True) expects y_pred of shape "
                                 f"(batch, num_labels); received {y_pred_shape}.")
            shape = (self.num_thresholds, int(y_pred_shape[1]))
        for key in ("tp", "fp", "tn", "fn"):
            self.add_variable(shape, name=_KEYS[key])
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _array(y_pred)
        self.build(None, y_pred.shape)
        if self._from_logits:
            y_pred = mx.sigmoid(y_pred)
        self._accumulate(["tp", "fp", "tn", "fn"], y_true, y_pred, sample_weight,
                         multi_label=self.multi_label,
                         label_weights=None if self.multi_label else self.label_weights)

    def _average(self, per_threshold_terms):
        if not self.multi_label:
            return mx.sum(per_threshold_terms)
        by_label = mx.sum(per_threshold_terms, axis=0)
        if self.label_weights is None:
            return mx.mean(by_label)
        return divide_no_nan(mx.sum(by_label * self.label_weights), mx.sum(self.label_weights))

    def interpolate_pr_auc(self):
        """Davis & Goadrich: between thresholds i and i+1, tp = tp_{i+1} + slope * (p - p_{i+1})
        in the number of predicted positives p; integrate precision = tp / p over recall."""
        v = self.variables
        tp, fp, fn = v["true_positives"], v["false_positives"], v["false_negatives"]
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, mx.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = mx.where(both, divide_no_nan(p[:-1], mx.maximum(p[1:], 0)), mx.ones_like(p[1:]))
        terms = divide_no_nan(slope * (dtp + intercept * mx.log(ratio)),
                              mx.maximum(tp[1:] + fn[1:], 0))
        return self._average(terms)

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        v = self.variables
        tp, fp = v["true_positives"], v["false_positives"]
        tn, fn = v["true_negatives"], v["false_negatives"]
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = mx.minimum(y[:-1], y[1:])
        else:
            heights = mx.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None
                  else np.array(self.label_weights).tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


CLASSES = (TruePositives, FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall, AUC)
