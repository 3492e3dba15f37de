"""Metric values accumulated over several batches against independent numpy references
written from Keras 3's documented definitions: Mean/Sum, the accuracies, regression
and loss-based metrics, and the confusion-matrix metrics (TruePositives...
FalseNegatives, Precision, Recall, AUC, the latter against Keras' own algorithm).

Metrics as components (updates inside mx.compile, custom metrics, names, identifier
resolution, configs) are in test_metrics_state_config.py.
"""

import mlx.core as mx
import numpy as np
import pytest

from _metric_reference import RNG, A, np_probs
from mlxfunctional import metrics


def accumulate(metric, batches):
    for batch in batches:
        metric.update_state(*batch[:2], sample_weight=batch[2] if len(batch) > 2 else None)
    return A(metric.result())


def weighted_mean(per_batch_values, per_batch_weights=None):
    values = np.concatenate(per_batch_values)
    weights = np.ones_like(values) if per_batch_weights is None else np.concatenate(
        per_batch_weights)
    return (values * weights).sum() / weights.sum()


# -- Mean / Sum ------------------------------------------------------------------------------

def test_mean_and_sum_weighted_over_batches():
    xs = [RNG.normal(size=n).astype(np.float32) for n in (4, 7, 3)]
    ws = [RNG.uniform(0, 2, n).astype(np.float32) for n in (4, 7, 3)]
    mean, summed = metrics.Mean(), metrics.Sum()
    for x, w in zip(xs, ws):
        mean.update_state(x, sample_weight=w)
        summed.update_state(x, sample_weight=w)
    assert A(mean.result()) == pytest.approx(weighted_mean(xs, ws), rel=1e-5)
    assert A(summed.result()) == pytest.approx(sum((x * w).sum() for x, w in zip(xs, ws)),
                                               rel=1e-5)
    plain = metrics.Mean()
    for x in xs:
        plain.update_state(x)
    assert A(plain.result()) == pytest.approx(np.concatenate(xs).mean(), rel=1e-5)
    # 2-D values with per-sample weights: each row is averaged, then weighted.
    m = metrics.Mean()
    v, w = RNG.normal(size=(5, 3)), RNG.uniform(size=5)
    m.update_state(v, sample_weight=w)
    assert A(m.result()) == pytest.approx((v.mean(1) * w).sum() / w.sum(), rel=1e-5)


def test_mean_loss_tracker_path():
    """What a trainer does: a scalar loss weighted by the batch size."""
    tracker = metrics.Mean(name="loss")
    for loss, n in ((0.5, 32), (0.25, 32), (1.0, 8)):
        tracker.update_state(mx.array(loss), sample_weight=n)
    assert A(tracker.result()) == pytest.approx((0.5 * 32 + 0.25 * 32 + 8) / 72, rel=1e-6)
    assert metrics.Mean().result().item() == 0.0  # nothing seen: 0, not nan


def test_reset_state_keeps_the_same_dict():
    m = metrics.Mean()
    state = m.variables
    m.update_state([1.0, 2.0])
    assert m.variables is state and A(state["count"]) == 2
    m.reset_state()
    assert m.variables is state and A(state["total"]) == 0 and A(state["count"]) == 0
    p = metrics.AUC(num_thresholds=5)
    p.update_state([0, 1], [0.2, 0.8])
    p.reset_state()
    assert all(A(v).sum() == 0 and v.shape == (5,) for v in p.variables.values())


# -- accuracy ----------------------------------------------------------------------------------

def batches_of(make, sizes=(5, 8, 3), weighted=True):
    out = []
    for n in sizes:
        t, p = make(n)
        out.append((t, p, RNG.uniform(0, 2, n).astype(np.float32)) if weighted else (t, p))
    return out


def classes(n, c=4):
    return RNG.integers(0, c, n), RNG.normal(size=(n, c)).astype(np.float32)


@pytest.mark.parametrize("weighted", [False, True])
def test_accuracies_against_numpy(weighted):
    cases = []
    b = batches_of(lambda n: (RNG.integers(0, 3, (n, 2)), RNG.integers(0, 3, (n, 2))),
                   weighted=weighted)
    cases.append((metrics.Accuracy(), b, [(t == p).mean(1) for t, p, *_ in b]))
    b = batches_of(lambda n: (RNG.integers(0, 2, (n, 1)), RNG.uniform(size=(n, 1))),
                   weighted=weighted)
    cases.append((metrics.BinaryAccuracy(threshold=0.3), b,
                  [(t == (p > 0.3)).mean(1) for t, p, *_ in b]))
    b = batches_of(lambda n: (RNG.integers(0, 2, (n, 3)).astype(np.float32),
                              RNG.uniform(size=(n, 3))), weighted=weighted)
    cases.append((metrics.BinaryAccuracy(), b, [(t == (p > 0.5)).mean(1) for t, p, *_ in b]))
    b = batches_of(lambda n: (lambda l, p: (np.eye(4)[l], p))(*classes(n)), weighted=weighted)
    cases.append((metrics.CategoricalAccuracy(), b,
                  [t.argmax(1) == p.argmax(1) for t, p, *_ in b]))
    for shape_fn in (lambda l: l, lambda l: l[:, None], lambda l: l.astype(np.float32)):
        b = batches_of(lambda n: (lambda l, p: (shape_fn(l), p))(*classes(n)),
                       weighted=weighted)
        cases.append((metrics.SparseCategoricalAccuracy(), b,
                      [np.ravel(t) == p.argmax(1) for t, p, *_ in b]))
    for metric, batches, per in cases:
        got = accumulate(metric, batches)
        weights = [bt[2] for bt in batches] if weighted else None
        assert got == pytest.approx(weighted_mean([x.astype(float) for x in per], weights),
                                    rel=1e-5), metric.name


def np_in_top_k(label, scores, k):
    return label in np.argsort(-scores, kind="stable")[:k]  # no ties in random data


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_accuracies(k):
    b = batches_of(lambda n: classes(n, 5))
    per = [np.array([np_in_top_k(l, s, k) for l, s in zip(t, p)], float) for t, p, _ in b]
    expected = weighted_mean(per, [w for *_, w in b])
    assert accumulate(metrics.SparseTopKCategoricalAccuracy(k=k), b) == pytest.approx(expected)
    one_hot = [(np.eye(5)[t], p, w) for t, p, w in b]
    assert accumulate(metrics.TopKCategoricalAccuracy(k=k), one_hot) == pytest.approx(expected)
    col = [(t[:, None], p, w) for t, p, w in b]
    assert accumulate(metrics.SparseTopKCategoricalAccuracy(k=k), col) == pytest.approx(expected)


def test_top_k_ties_count_as_in():
    # TF/Keras in_top_k: a target tied at the k-th place is in the top k.
    m = metrics.SparseTopKCategoricalAccuracy(k=1)
    m.update_state([1, 2], [[0.5, 0.5, 0.0], [0.2, 0.3, 0.1]])
    assert A(m.result()) == pytest.approx(0.5)


def test_keras_documented_accuracy_values():
    m = metrics.Accuracy()
    m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]], sample_weight=[1, 1, 0, 0])
    assert A(m.result()) == pytest.approx(0.5)
    m = metrics.CategoricalAccuracy()
    m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
                   sample_weight=[0.7, 0.3])
    assert A(m.result()) == pytest.approx(0.3)
    m = metrics.BinaryAccuracy()
    m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    assert A(m.result()) == pytest.approx(0.75)


def test_rank_one_inputs_are_one_sample_per_element():
    m = metrics.BinaryAccuracy()
    m.update_state(np.array([1, 0, 1, 1]), np.array([0.9, 0.2, 0.1, 0.7]),
                   sample_weight=[1.0, 1.0, 2.0, 0.0])
    m.update_state(np.array([0, 0]), np.array([0.9, 0.1]))
    assert A(m.result()) == pytest.approx((1 + 1 + 0 + 0 + 0 + 1) / 6)


# -- regression and loss-based metrics -----------------------------------------------------------

EPS = 1e-7


def np_l2n(x):
    return x / np.maximum(np.sqrt((x ** 2).sum(-1, keepdims=True)), EPS)


REGRESSION = [
    (metrics.MeanSquaredError, lambda t, p: ((t - p) ** 2).mean(-1)),
    (metrics.MeanAbsoluteError, lambda t, p: np.abs(t - p).mean(-1)),
    (metrics.MeanAbsolutePercentageError,
     lambda t, p: 100 * (np.abs(t - p) / np.maximum(np.abs(t), EPS)).mean(-1)),
    (metrics.MeanSquaredLogarithmicError,
     lambda t, p: ((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2).mean(-1)),
    (metrics.CosineSimilarity, lambda t, p: (np_l2n(t) * np_l2n(p)).sum(-1)),
    (metrics.LogCoshError, lambda t, p: np.log(np.cosh(p - t)).mean(-1)),
    (metrics.Hinge, lambda t, p: np.maximum(1 - (2 * t - 1) * p, 0).mean(-1)),
    (metrics.SquaredHinge, lambda t, p: (np.maximum(1 - (2 * t - 1) * p, 0) ** 2).mean(-1)),
]


@pytest.mark.parametrize("cls,fn", REGRESSION, ids=lambda x: getattr(x, "__name__", ""))
def test_regression_metrics(cls, fn):
    hinge = cls in (metrics.Hinge, metrics.SquaredHinge)
    b = batches_of(lambda n: ((RNG.integers(0, 2, (n, 3)) if hinge else RNG.uniform(0.1, 2, (
        n, 3))).astype(np.float32), RNG.normal(size=(n, 3)).astype(np.float32) + 1))
    expected = weighted_mean([fn(t, p) for t, p, _ in b], [w for *_, w in b])
    assert accumulate(cls(), b) == pytest.approx(expected, rel=1e-5)


def test_root_mean_squared_error():
    b = batches_of(lambda n: (RNG.normal(size=(n, 2)), RNG.normal(size=(n, 2))))
    expected = np.sqrt(weighted_mean([((t - p) ** 2).mean(1) for t, p, _ in b],
                                     [w for *_, w in b]))
    assert accumulate(metrics.RootMeanSquaredError(), b) == pytest.approx(expected, rel=1e-5)
    m = metrics.RootMeanSquaredError()
    m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    assert A(m.result()) == pytest.approx(0.5)  # Keras' documented value


def test_probabilistic_metrics():
    b = batches_of(lambda n: (np.eye(3)[RNG.integers(0, 3, n)], np_probs(n)))
    ws = [w for *_, w in b]
    cce = [-(t * np.log(np.clip(p, EPS, 1 - EPS))).sum(1) for t, p, _ in b]
    assert accumulate(metrics.CategoricalCrossentropy(), b) == pytest.approx(
        weighted_mean(cce, ws), rel=1e-5)
    sparse = [(t.argmax(1), p, w) for t, p, w in b]
    assert accumulate(metrics.SparseCategoricalCrossentropy(), sparse) == pytest.approx(
        weighted_mean(cce, ws), rel=1e-5)
    kld = [(t * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1))).sum(1) for t, p, _ in b]
    assert accumulate(metrics.KLDivergence(), b) == pytest.approx(weighted_mean(kld, ws),
                                                                  rel=1e-4)
    bb = batches_of(lambda n: (RNG.integers(0, 2, (n, 1)).astype(np.float32),
                               RNG.normal(size=(n, 1)).astype(np.float32)))
    s = [1 / (1 + np.exp(-p)) for _, p, _ in bb]
    bce = [(-(t * np.log(q) + (1 - t) * np.log(1 - q))).mean(1) for (t, _, _), q in zip(bb, s)]
    assert accumulate(metrics.BinaryCrossentropy(from_logits=True), bb) == pytest.approx(
        weighted_mean(bce, [w for *_, w in bb]), rel=1e-5)
    pb = batches_of(lambda n: (RNG.poisson(2, (n, 2)).astype(np.float32),
                               RNG.uniform(0.5, 3, (n, 2)).astype(np.float32)))
    poisson = [(p - t * np.log(p + EPS)).mean(1) for t, p, _ in pb]
    assert accumulate(metrics.Poisson(), pb) == pytest.approx(
        weighted_mean(poisson, [w for *_, w in pb]), rel=1e-5)


# -- confusion-matrix metrics --------------------------------------------------------------------

def np_counts(y_true, y_pred, thresholds, weight=None, top_k=None, class_id=None):
    """Weighted tp, fp, tn, fn per threshold, straight from the definition."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float).copy()
    if top_k is not None:
        for row in y_pred.reshape(-1, y_pred.shape[-1]):
            drop = np.argsort(-row, kind="stable")[top_k:]
            row[drop] = -np.inf
    if class_id is not None:
        y_true, y_pred = y_true[:, class_id], y_pred[:, class_id]
    weight = None if weight is None else np.asarray(weight, float)
    if weight is not None and weight.shape != y_pred.shape:  # per-sample: scales each row
        weight = weight.reshape((-1,) + (1,) * (y_pred.ndim - 1))
    w = np.ones(y_pred.shape) if weight is None else np.broadcast_to(weight, y_pred.shape)
    label = y_true.reshape(y_pred.shape) != 0
    out = []
    for t in thresholds:
        pos = y_pred > t
        out.append([(w * (label & pos)).sum(), (w * (~label & pos)).sum(),
                    (w * (~label & ~pos)).sum(), (w * (label & ~pos)).sum()])
    return np.array(out)  # (T, 4): tp, fp, tn, fn


def confusion_batches(sizes=(6, 9, 4), c=1):
    out = []
    for n in sizes:
        shape = (n, c) if c > 1 else (n,)
        t = RNG.integers(0, 2, shape)
        out.append((t, np.clip(0.3 * t + RNG.uniform(0, 0.7, shape), 0, 1).astype(np.float32),
                    RNG.uniform(0, 2, n).astype(np.float32)))
    return out


def summed_counts(batches, thresholds, **kw):
    return sum(np_counts(t, p, thresholds, w, **kw) for t, p, w in batches)


def ratio(a, b):
    return np.where(b == 0, 0.0, a / np.where(b == 0, 1, b))


@pytest.mark.parametrize("thresholds", [None, 0.7, [0.2, 0.45, 0.9],
                                        [0.0, 0.25, 0.5, 0.75, 1.0]])
def test_precision_recall_thresholds(thresholds):
    b = confusion_batches(c=3)
    thr = [0.5] if thresholds is None else np.atleast_1d(thresholds)
    tp, fp, tn, fn = summed_counts(b, thr).T
    got_p = accumulate(metrics.Precision(thresholds=thresholds), b)
    got_r = accumulate(metrics.Recall(thresholds=thresholds), b)
    np.testing.assert_allclose(got_p, np.squeeze(ratio(tp, tp + fp)) if len(thr) == 1
                               else ratio(tp, tp + fp), rtol=1e-5)
    np.testing.assert_allclose(got_r, np.squeeze(ratio(tp, tp + fn)) if len(thr) == 1
                               else ratio(tp, tp + fn), rtol=1e-5)
    for cls, col in ((metrics.TruePositives, tp), (metrics.FalsePositives, fp),
                     (metrics.TrueNegatives, tn), (metrics.FalseNegatives, fn)):
        # Weighted float32 counts: a count that is 0 may come out as ~1e-6 (e.g. FN at
        # threshold 0 as positives minus true positives), so the tolerance is absolute too.
        np.testing.assert_allclose(accumulate(cls(thresholds=thresholds), b),
                                   col[0] if len(thr) == 1 else col, rtol=1e-5,
                                   atol=1e-6 * float(np.max(col)) + 1e-6)


@pytest.mark.parametrize("top_k,class_id,thresholds", [(1, None, None), (2, None, None),
                                                       (None, 1, None), (2, 2, None),
                                                       (2, None, [0.3, 0.6])])
def test_precision_recall_top_k_and_class_id(top_k, class_id, thresholds):
    b = []
    for n in (7, 5, 8):
        scores = RNG.uniform(size=(n, 4)).astype(np.float32)
        b.append((RNG.integers(0, 2, (n, 4)), scores, RNG.uniform(0, 2, n).astype(np.float32)))
    default = [0.5] if top_k is None else [-1e10]
    thr = default if thresholds is None else thresholds
    tp, fp, _, fn = summed_counts(b, thr, top_k=top_k, class_id=class_id).T
    kw = dict(thresholds=thresholds, top_k=top_k, class_id=class_id)
    np.testing.assert_allclose(accumulate(metrics.Precision(**kw), b),
                               np.squeeze(ratio(tp, tp + fp)), rtol=1e-5)
    np.testing.assert_allclose(accumulate(metrics.Recall(**kw), b),
                               np.squeeze(ratio(tp, tp + fn)), rtol=1e-5)


def test_precision_top_k_ties_take_the_first_index():
    m = metrics.Precision(top_k=2)
    m.update_state([0, 0, 1, 1], [1, 1, 1, 1])
    assert A(m.result()) == 0.0  # Keras' documented value: the first two of four ties


def test_precision_with_no_positive_predictions_is_zero():
    m = metrics.Precision()
    m.update_state([1, 0], [0.1, 0.2])
    assert A(m.result()) == 0.0


def keras_auc_thresholds(n):
    return [-1e-7] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + 1e-7]


def np_auc(counts, curve="ROC", summation="interpolation"):
    tp, fp, tn, fn = counts.T
    if curve == "PR" and summation == "interpolation":  # Davis & Goadrich, as Keras documents
        area = 0.0
        p = tp + fp
        for i in range(len(tp) - 1):
            dtp, dp = tp[i] - tp[i + 1], p[i] - p[i + 1]
            slope = dtp / dp if dp > 0 else 0.0
            intercept = tp[i + 1] - slope * p[i + 1]
            log_ratio = np.log(p[i] / p[i + 1]) if p[i] > 0 and p[i + 1] > 0 else 0.0
            denom = tp[i + 1] + fn[i + 1]
            area += slope * (dtp + intercept * log_ratio) / denom if denom > 0 else 0.0
        return area
    recall = ratio(tp, tp + fn)
    x, y = (ratio(fp, fp + tn), recall) if curve == "ROC" else (recall, ratio(tp, tp + fp))
    pick = {"interpolation": lambda a, b: (a + b) / 2, "minoring": np.minimum,
            "majoring": np.maximum}[summation]
    return sum((x[i] - x[i + 1]) * pick(y[i], y[i + 1]) for i in range(len(x) - 1))


def exact_roc_auc(y, s, w):
    pos, neg = y != 0, y == 0
    diff = s[pos][:, None] - s[neg][None, :]
    pair_w = w[pos][:, None] * w[neg][None, :]
    return ((diff > 0) + 0.5 * (diff == 0)).astype(float).__mul__(pair_w).sum() / pair_w.sum()


def average_precision(y, s):
    order = np.argsort(-s, kind="stable")
    hits = y[order] != 0
    precision_at = np.cumsum(hits) / np.arange(1, len(y) + 1)
    return precision_at[hits].mean()


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize("summation", ["interpolation", "minoring", "majoring"])
def test_auc_against_keras_algorithm(curve, summation):
    b = confusion_batches((40, 25, 35))
    for num in (7, 200):
        counts = summed_counts(b, keras_auc_thresholds(num))
        got = accumulate(metrics.AUC(num_thresholds=num, curve=curve,
                                     summation_method=summation), b)
        assert got == pytest.approx(np_auc(counts, curve, summation), rel=1e-4, abs=1e-6)


def test_auc_close_to_exact_values():
    y = RNG.integers(0, 2, 600)
    s = np.clip(0.25 * y + RNG.uniform(0, 0.75, 600), 0, 1).astype(np.float32)
    w = RNG.uniform(0.5, 1.5, 600).astype(np.float32)
    batches = [(y[i:i + 200], s[i:i + 200], w[i:i + 200]) for i in (0, 200, 400)]
    assert accumulate(metrics.AUC(), batches) == pytest.approx(exact_roc_auc(y, s, w), abs=5e-3)
    pr = metrics.AUC(curve="PR")
    pr.update_state(y, s)
    assert A(pr.result()) == pytest.approx(average_precision(y, s), abs=0.02)


def test_auc_explicit_uneven_thresholds_and_logits():
    b = confusion_batches()
    thr = [0.1, 0.35, 0.4, 0.8]
    counts = summed_counts(b, [-1e-7] + thr + [1 + 1e-7])
    got = accumulate(metrics.AUC(thresholds=thr), b)
    assert got == pytest.approx(np_auc(counts), rel=1e-5)
    logits = [(t, np.log(p + 1e-3) - np.log(1 - p + 1e-3), w) for t, p, w in b]
    probs = [(t, 1 / (1 + np.exp(-z)), w) for t, z, w in logits]
    counts = summed_counts(probs, keras_auc_thresholds(50))
    got = accumulate(metrics.AUC(num_thresholds=50, from_logits=True), logits)
    assert got == pytest.approx(np_auc(counts), rel=1e-4)


def test_auc_boundary_predictions():
    # p = 0 and p = 1 sit inside the curve thanks to the -eps / 1 + eps end thresholds.
    m = metrics.AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert A(m.result()) == pytest.approx(0.75)  # Keras' documented value
    y, s = np.array([0, 1, 1, 0, 1]), np.array([0.0, 1.0, 0.5, 0.5, 0.0], np.float32)
    m = metrics.AUC(num_thresholds=5)
    m.update_state(y, s)
    assert A(m.result()) == pytest.approx(np_auc(np_counts(y, s, keras_auc_thresholds(5))))
    p = metrics.Precision(thresholds=[0.0, 0.5, 1.0])  # evenly spaced: the bucket path
    p.update_state(y, s)
    tp, fp, _, _ = np_counts(y, s, [0.0, 0.5, 1.0]).T
    np.testing.assert_allclose(A(p.result()), ratio(tp, tp + fp))


@pytest.mark.parametrize("label_weights", [None, [0.2, 1.0, 3.0]])
@pytest.mark.parametrize("curve", ["ROC", "PR"])
def test_auc_multi_label(label_weights, curve):
    b = confusion_batches(c=3)
    per_label = []
    for j in range(3):
        cols = [(t[:, j], p[:, j], w) for t, p, w in b]
        per_label.append(np_auc(summed_counts(cols, keras_auc_thresholds(40)), curve))
    lw = np.ones(3) if label_weights is None else np.array(label_weights)
    expected = (np.array(per_label) * lw).sum() / lw.sum()
    for kw in ({"num_labels": 3}, {}):  # built up front, or on the first batch
        m = metrics.AUC(num_thresholds=40, curve=curve, multi_label=True,
                        label_weights=label_weights, **kw)
        assert accumulate(m, b) == pytest.approx(expected, rel=1e-4)
    assert m.variables["true_positives"].shape == (40, 3)


def test_auc_flattened_label_weights():
    b = confusion_batches(c=3)
    lw = np.array([0.5, 2.0, 1.0])
    counts = sum(np_counts(t, p, keras_auc_thresholds(30), w[:, None] * lw[None, :])
                 for t, p, w in b)
    got = accumulate(metrics.AUC(num_thresholds=30, label_weights=lw), b)
    assert got == pytest.approx(np_auc(counts), rel=1e-4)


def test_auc_invalid_arguments():
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match="summation"):
        metrics.AUC(summation_method="left")
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="num_labels"):
        metrics.AUC(num_labels=3)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.Precision(thresholds=[0.5, 1.5])
