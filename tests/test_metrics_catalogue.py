"""F-scores, IoU family, R2, correlations and operating-point metrics against numpy
references computed another way (loops over samples and thresholds) and against the
numbers Keras 3.15's docstrings print; state names, reset, configs, and each metric
updated inside the compiled training step."""

import warnings

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as mf
from mlxfunctional import metrics

EPS = 1e-7
RNG = np.random.default_rng(11)


def A(x):
    mx.eval(x)
    return np.array(x.astype(mx.float32))


# -- numpy references -------------------------------------------------------------------------

def np_fbeta(y_true, y_pred, beta, threshold, average, weights=None):
    n, c = y_true.shape
    w = np.ones(n) if weights is None else np.asarray(weights, np.float64)
    tp, fp, fn, support = (np.zeros(c) for _ in range(4))
    for i in range(n):
        if threshold is None:
            row = y_pred[i]
            pred = [(row[j] == row.max()) and abs(row[j]) > 1e-9 for j in range(c)]
        else:
            pred = [y_pred[i, j] > threshold for j in range(c)]
        for j in range(c):
            t = y_true[i, j]
            tp[j] += w[i] * pred[j] * t
            fp[j] += w[i] * pred[j] * (1 - t)
            fn[j] += w[i] * (1 - pred[j]) * t
            support[j] += w[i] * t
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    p = tp / (tp + fp + EPS)
    r = tp / (tp + fn + EPS)
    f = (1 + beta ** 2) * p * r / (beta ** 2 * p + r + EPS)
    if average == "weighted":
        return (f * support / (support.sum() + EPS)).sum()
    return f.mean() if average in ("micro", "macro") else f


def np_confusion(labels, preds, n, weights=None, ignore=None):
    cm = np.zeros((n, n))
    w = np.ones(len(labels)) if weights is None else weights
    for t, p, wi in zip(labels, preds, w):
        if 0 <= t < n and 0 <= p < n and t != ignore:
            cm[int(t), int(p)] += wi
    return cm


def np_mean_iou(cm, ids):
    scores, present = [], 0
    for c in ids:
        union = cm[c, :].sum() + cm[:, c].sum() - cm[c, c]
        if union > 1e-9:
            present += 1
            scores.append(cm[c, c] / union)
    return sum(scores) / present if present else 0.0


def np_r2(y, p, w=None):
    w = np.ones_like(y) if w is None else np.broadcast_to(w[:, None], y.shape)
    mean = (w * y).sum(0) / w.sum(0)
    ss_tot = (w * (y - mean) ** 2).sum(0)
    ss_res = (w * (y - p) ** 2).sum(0)
    return 1 - ss_res / ss_tot, ss_tot


def np_rates(labels, scores, thresholds, weights=None):
    w = np.ones(len(labels)) if weights is None else np.asarray(weights, np.float64)
    out = []
    for t in thresholds:
        above = scores > t
        pos = labels != 0
        tp = (w * (above & pos)).sum()
        fp = (w * (above & ~pos)).sum()
        fn = (w * (~above & pos)).sum()
        tn = (w * (~above & ~pos)).sum()
        d = lambda a, b: a / b if b else 0.0
        out.append({"sensitivity": d(tp, tp + fn), "recall": d(tp, tp + fn),
                    "specificity": d(tn, tn + fp), "precision": d(tp, tp + fp)})
    return out


def np_best_at(labels, scores, num_thresholds, constrained, target, maximized, weights=None):
    thresholds = [0.5] if num_thresholds == 1 else list(np.linspace(0, 1, num_thresholds))
    best = 0.0
    for r in np_rates(labels, scores, thresholds, weights):
        if r[constrained] >= target:
            best = max(best, r[maximized])
    return best


# -- F-scores ---------------------------------------------------------------------------------

@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("beta,threshold", [(1.0, None), (2.0, 0.5), (0.5, 0.3)])
def test_fbeta_matches_numpy_over_two_batches(average, beta, threshold):
    y = (RNG.random((12, 4)) > 0.5).astype(np.float32)
    p = RNG.random((12, 4)).astype(np.float32)
    p[0] = 0  # an all-zero row predicts nothing
    w = RNG.random(12).astype(np.float32)
    m = metrics.FBetaScore(average=average, beta=beta, threshold=threshold)
    m.update_state(y[:5], p[:5], sample_weight=w[:5])
    m.update_state(y[5:], p[5:], sample_weight=w[5:])
    np.testing.assert_allclose(A(m.result()), np_fbeta(y, p, beta, threshold, average, w),
                               rtol=1e-5, atol=1e-6)
    f1 = metrics.F1Score(average=average, threshold=threshold)
    np.testing.assert_allclose(A(f1(y, p)), np_fbeta(y, p, 1.0, threshold, average), rtol=1e-5,
                               atol=1e-6)


def test_fscore_keras_docstring_numbers_and_state():
    y = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.int32)
    p = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32)
    m = metrics.FBetaScore(beta=2.0, threshold=0.5)
    np.testing.assert_allclose(A(m(y, p)), [0.3846154, 0.90909094, 0.8333334], rtol=1e-5)
    assert list(m.variables) == ["true_positives", "false_positives", "false_negatives",
                                 "intermediate_weights"]
    np.testing.assert_allclose(A(metrics.F1Score(threshold=0.5)(y, p)),
                               [0.5, 0.8, 0.6666667], rtol=1e-5)
    m.reset_state()
    assert all(np.all(A(v) == 0) for v in m.variables.values())


@pytest.mark.parametrize("kwargs,match", [({"average": "mean"}, "average"),
                                          ({"beta": 1}, "beta"), ({"beta": -1.0}, "beta"),
                                          ({"threshold": 1}, "threshold"),
                                          ({"threshold": 1.5}, "threshold")])
def test_fbeta_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        metrics.FBetaScore(**kwargs)


def test_fbeta_wants_2d_inputs():
    with pytest.raises(ValueError, match="2D inputs"):
        metrics.F1Score().update_state(np.zeros(3), np.zeros(3))


# -- IoU family -------------------------------------------------------------------------------

@pytest.mark.parametrize("ignore", [None, 0])
def test_iou_family_matches_numpy(ignore):
    n = 4
    labels = RNG.integers(-1, n + 1, 40)  # some outside [0, n): ignored
    preds = RNG.integers(0, n, 40)
    w = RNG.random(40)
    cm = np_confusion(labels, preds, n, w, ignore)
    m = metrics.MeanIoU(n, ignore_class=ignore, dtype="float32")
    m.update_state(labels[:15], preds[:15], sample_weight=w[:15])
    m.update_state(labels[15:], preds[15:], sample_weight=w[15:])
    np.testing.assert_allclose(A(m.variables["total_confusion_matrix"]), cm, rtol=1e-5)
    np.testing.assert_allclose(A(m.result()), np_mean_iou(cm, range(n)), rtol=1e-5)
    iou = metrics.IoU(n, [3, 1], ignore_class=ignore, dtype="float32")
    np.testing.assert_allclose(A(iou(labels, preds, sample_weight=w)), np_mean_iou(cm, [3, 1]),
                               rtol=1e-5)
    # One-hot labels and scores: argmax first (labels outside [0, n) cannot be one-hot).
    ok = (labels >= 0) & (labels < n)
    onehot = np.eye(n)[labels[ok]]
    scores = RNG.random((ok.sum(), n))
    cm1 = np_confusion(labels[ok], scores.argmax(-1), n, ignore=ignore)
    np.testing.assert_allclose(A(metrics.OneHotMeanIoU(n, ignore_class=ignore)(onehot, scores)),
                               np_mean_iou(cm1, range(n)), rtol=1e-5)
    np.testing.assert_allclose(A(metrics.OneHotIoU(n, [0, 2], ignore_class=ignore)(
        onehot, scores)), np_mean_iou(cm1, [0, 2]), rtol=1e-5)


def test_iou_segmentation_maps_flatten_and_int_state():
    labels = RNG.integers(0, 3, (2, 5, 5))
    preds = RNG.integers(0, 3, (2, 5, 5))
    m = metrics.MeanIoU(3)
    m.update_state(labels, preds)
    assert m.variables["total_confusion_matrix"].dtype == mx.int32
    cm = np_confusion(labels.ravel(), preds.ravel(), 3)
    np.testing.assert_array_equal(A(m.variables["total_confusion_matrix"]), cm)
    np.testing.assert_allclose(A(m.result()), np_mean_iou(cm, range(3)), rtol=1e-6)


def test_binary_iou_thresholds_with_greater_or_equal():
    y = RNG.integers(0, 2, 30)
    p = RNG.random(30).astype(np.float32)
    p[:3] = 0.3  # exactly at the threshold: class 1
    w = RNG.random(30)
    cm = np_confusion(y, (p >= 0.3).astype(int), 2, w)
    for ids in ([0, 1], [1]):
        m = metrics.BinaryIoU(target_class_ids=ids, threshold=0.3, dtype="float32")
        np.testing.assert_allclose(A(m(y, p, sample_weight=w)), np_mean_iou(cm, ids), rtol=1e-5)


def test_iou_keras_docstring_numbers():
    assert A(metrics.IoU(2, [0])([0, 0, 1, 1], [0, 1, 0, 1])) == pytest.approx(1 / 3, rel=1e-6)
    m = metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    assert A(m([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])) == pytest.approx(0.33333334, rel=1e-6)
    m = metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3, dtype="float32")
    assert A(m([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7], sample_weight=[0.2, 0.3, 0.4, 0.1])) == \
        pytest.approx(0.17361112, rel=1e-5)
    assert A(metrics.MeanIoU(2)([0, 0, 1, 1], [0, 1, 0, 1])) == pytest.approx(1 / 3, rel=1e-6)
    m = metrics.MeanIoU(2, dtype="float32")
    assert A(m([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=[0.3, 0.3, 0.3, 0.1])) == \
        pytest.approx(0.23809525, rel=1e-5)
    y = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]])
    p = np.array([[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
    sw = [0.1, 0.2, 0.3, 0.4]
    assert A(metrics.OneHotIoU(3, [0, 2], dtype="float32")(y, p, sample_weight=sw)) == \
        pytest.approx(0.071, abs=1e-3)
    assert A(metrics.OneHotMeanIoU(3, dtype="float32")(y, p, sample_weight=sw)) == \
        pytest.approx(0.048, abs=1e-3)
    assert A(metrics.IoU(2, [0, 1]).result()) == 0.0  # nothing seen yet


def test_iou_warns_on_float_weights_with_int_state_and_checks_ids():
    with pytest.warns(UserWarning, match="integer weights"):
        metrics.MeanIoU(2).update_state([0, 1], [0, 1], sample_weight=np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="out of range"):
        metrics.IoU(2, [0, 2])
    with pytest.raises(ValueError, match="num_classes"):
        metrics.MeanIoU(0)


# -- R2 and correlations ----------------------------------------------------------------------

@pytest.mark.parametrize("aggregation", ["uniform_average", "variance_weighted_average", None])
def test_r2_matches_numpy(aggregation):
    y = RNG.normal(size=(20, 3))
    p = y + 0.5 * RNG.normal(size=(20, 3))
    w = RNG.random(20)
    m = metrics.R2Score(class_aggregation=aggregation)
    m.update_state(y[:7].astype(np.float32), p[:7].astype(np.float32), sample_weight=w[:7])
    m.update_state(y[7:].astype(np.float32), p[7:].astype(np.float32), sample_weight=w[7:])
    raw, ss_tot = np_r2(y, p, w)
    expected = {"uniform_average": raw.mean(), None: raw,
                "variance_weighted_average": (raw * ss_tot).sum() / ss_tot.sum()}[aggregation]
    np.testing.assert_allclose(A(m.result()), expected, rtol=1e-4)
    assert set(m.variables) == {"num_samples", "squared_sum", "sum", "residual", "count"}


def test_adjusted_r2_and_its_fallback():
    y = RNG.normal(size=(10, 1))
    p = y + 0.3 * RNG.normal(size=(10, 1))
    raw = np_r2(y, p)[0][0]
    m = metrics.R2Score(num_regressors=3)
    m.update_state(y.astype(np.float32), p.astype(np.float32))
    n = 10
    np.testing.assert_allclose(A(m.result()), 1 - (1 - raw) * (n - 1) / (n - 3 - 1), rtol=1e-4)
    few = metrics.R2Score(num_regressors=9)  # n - 1 == p: plain R2, as Keras
    few.update_state(y.astype(np.float32), p.astype(np.float32))
    np.testing.assert_allclose(A(few.result()), raw, rtol=1e-4)


def test_r2_keras_docstring_number_and_arguments():
    m = metrics.R2Score()
    m.update_state(np.array([[1], [4], [3]], np.float32), np.array([[2], [4], [4]], np.float32))
    assert A(m.result()) == pytest.approx(0.57142854, rel=1e-6)
    with pytest.raises(ValueError, match="class_aggregation"):
        metrics.R2Score(class_aggregation="mean")
    with pytest.raises(ValueError, match="num_regressors"):
        metrics.R2Score(num_regressors=-1)


def test_correlations_match_numpy_and_keras():
    y = np.array([[0, 1, 0.5], [1, 1, 0.2], [1, 1, 0.1], [0.1, 0.7, 0.0]], np.float32)
    p = np.array([[0.1, 0.9, 0.5], [1, 0.9, 0.2], [0.2, 0.8, 0], [0.3, 0.3, 0.9]], np.float32)
    pcc = np.array([np.corrcoef(a, b)[0, 1] for a, b in zip(y.astype(float), p.astype(float))])
    m = metrics.PearsonCorrelation()
    m.update_state(y[:2], p[:2])
    np.testing.assert_allclose(A(m.result()), pcc[:2].mean(), rtol=1e-5)
    m.update_state(y[2:], p[2:])
    np.testing.assert_allclose(A(m.result()), pcc.mean(), rtol=1e-5)
    ccc = []
    for a, b in zip(y.astype(float), p.astype(float)):
        cov = ((a - a.mean()) * (b - b.mean())).mean()
        ccc.append(2 * cov / (a.var() + b.var() + (a.mean() - b.mean()) ** 2))
    c = metrics.ConcordanceCorrelation()
    np.testing.assert_allclose(A(c(y, p)), np.mean(ccc), rtol=1e-5)
    np.testing.assert_allclose(ccc, [0.97560976, 0.98765432, 0.46511628, -0.46376812],
                               rtol=1e-6)  # Keras' printed values, for the reference itself
    # A rank-1 pair is one series, not one value per sample.
    a, b = RNG.normal(size=9), RNG.normal(size=9)
    np.testing.assert_allclose(A(metrics.PearsonCorrelation()(a, b)), np.corrcoef(a, b)[0, 1],
                               rtol=1e-4)


# -- operating points -------------------------------------------------------------------------

CASES = [(metrics.SensitivityAtSpecificity, "specificity", "sensitivity"),
         (metrics.SpecificityAtSensitivity, "sensitivity", "specificity"),
         (metrics.PrecisionAtRecall, "recall", "precision"),
         (metrics.RecallAtPrecision, "precision", "recall")]


@pytest.mark.parametrize("cls,constrained,maximized", CASES, ids=lambda c: getattr(c, "__name__", c))
@pytest.mark.parametrize("target,num_thresholds", [(0.5, 200), (0.8, 7), (0.3, 1)])
def test_operating_points_match_numpy(cls, constrained, maximized, target, num_thresholds):
    labels = RNG.integers(0, 2, 60)
    scores = np.clip(0.35 * labels + RNG.random(60) * 0.65, 0, 1).astype(np.float32)
    scores[:4] = [0.0, 1.0, 0.5, 0.25]  # on thresholds
    w = RNG.random(60)
    m = cls(target, num_thresholds=num_thresholds)
    m.update_state(labels[:25], scores[:25], sample_weight=w[:25])
    m.update_state(labels[25:], scores[25:], sample_weight=w[25:])
    expected = np_best_at(labels, scores.astype(np.float64), num_thresholds, constrained,
                          target, maximized, w)
    np.testing.assert_allclose(A(m.result()), expected, rtol=1e-4, atol=1e-6)


def test_operating_points_class_id():
    y = np.eye(3)[RNG.integers(0, 3, 30)]
    p = RNG.random((30, 3)).astype(np.float32)
    m = metrics.PrecisionAtRecall(0.6, num_thresholds=11, class_id=2)
    expected = np_best_at(y[:, 2], p[:, 2].astype(np.float64), 11, "recall", 0.6, "precision")
    np.testing.assert_allclose(A(m(y, p)), expected, rtol=1e-5)


def test_operating_points_keras_docstring_numbers():
    y, p = [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]
    for cls, plain, weights, weighted in (
            (metrics.SensitivityAtSpecificity, 0.5, [1, 1, 2, 2, 1], 0.333333),
            (metrics.SpecificityAtSensitivity, 0.66666667, [1, 1, 2, 2, 2], 0.5),
            (metrics.PrecisionAtRecall, 0.5, [2, 2, 2, 1, 1], 0.33333333)):
        m = cls(0.5)
        assert A(m(y, p)) == pytest.approx(plain, rel=1e-5)
        m.reset_state()
        assert A(m(y, p, sample_weight=weights)) == pytest.approx(weighted, rel=1e-5)
    m = metrics.RecallAtPrecision(0.8)
    assert A(m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])) == pytest.approx(0.5)
    m.reset_state()
    assert A(m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1])) == \
        pytest.approx(1.0)


@pytest.mark.parametrize("cls", [c[0] for c in CASES])
def test_operating_points_refuse_bad_arguments(cls):
    with pytest.raises(ValueError, match="range"):
        cls(1.5)
    with pytest.raises(ValueError, match="num_thresholds"):
        cls(0.5, num_thresholds=0)


# -- configs ----------------------------------------------------------------------------------

INSTANCES = [metrics.FBetaScore(average="macro", beta=2.0, threshold=0.4, name="fb"),
             metrics.F1Score(average="weighted"), metrics.IoU(3, [2, 0], ignore_class=1),
             metrics.MeanIoU(4, dtype="float32", sparse_y_pred=False),
             metrics.BinaryIoU([1], threshold=0.2), metrics.OneHotIoU(3, [1]),
             metrics.OneHotMeanIoU(5, ignore_class=0, sparse_y_pred=True),
             metrics.R2Score("variance_weighted_average", 2), metrics.PearsonCorrelation(axis=0),
             metrics.ConcordanceCorrelation(dtype="float16"),
             metrics.SensitivityAtSpecificity(0.3, 50, class_id=1, name="s"),
             metrics.SpecificityAtSensitivity(0.4), metrics.PrecisionAtRecall(0.7, 10),
             metrics.RecallAtPrecision(0.9, num_thresholds=1)]


@pytest.mark.parametrize("metric", INSTANCES, ids=lambda m: type(m).__name__)
def test_config_round_trip(metric):
    config = metric.get_config()
    again = metrics.deserialize(metrics.serialize(metric))
    assert type(again) is type(metric) and again.get_config() == config
    assert type(metric).from_config(config).get_config() == config
    assert metrics.ALL_OBJECTS[type(metric).__name__] is type(metric)


def test_keras_config_keys():
    assert metrics.F1Score().get_config() == {"name": "f1_score", "dtype": "float32",
                                              "average": None, "threshold": None}
    assert metrics.BinaryIoU().get_config() == {"target_class_ids": [0, 1], "threshold": 0.5,
                                                "name": "binary_io_u", "dtype": "int32"}
    assert metrics.SensitivityAtSpecificity(0.5).get_config() == {
        "name": "sensitivity_at_specificity", "dtype": "float32", "class_id": None,
        "num_thresholds": 200, "specificity": 0.5}
    assert metrics.R2Score().get_config() == {"name": "r2_score", "dtype": "float32",
                                              "class_aggregation": "uniform_average",
                                              "num_regressors": 0}


# -- in the compiled training step --------------------------------------------------------------

def _model(units, activation):
    L = mf.layers
    inputs = L.Input((5,))
    return mf.Model(inputs, L.Dense(units, activation=activation)(inputs))


def test_metrics_in_fit_match_a_direct_update():
    x = RNG.normal(size=(40, 5)).astype(np.float32)
    cls = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    y = np.eye(3)[cls].astype(np.float32)
    model = _model(3, "softmax")
    ms = [metrics.F1Score(average="macro"), metrics.OneHotMeanIoU(3),
          metrics.OneHotIoU(3, [0, 2]), metrics.R2Score(), metrics.PearsonCorrelation(),
          metrics.ConcordanceCorrelation(), metrics.FBetaScore(beta=2.0, threshold=0.3)]
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=ms)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    logs = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    pred = np.array(model.predict(x, batch_size=40, verbose=0))
    fresh = [metrics.F1Score(average="macro"), metrics.OneHotMeanIoU(3),
             metrics.OneHotIoU(3, [0, 2]), metrics.R2Score(), metrics.PearsonCorrelation(),
             metrics.ConcordanceCorrelation(), metrics.FBetaScore(beta=2.0, threshold=0.3)]
    for m in fresh:
        for i in range(0, 40, 8):  # the same batches as evaluate
            m.update_state(y[i:i + 8], pred[i:i + 8])
        np.testing.assert_allclose(logs[m.name], A(m.result()), rtol=1e-4, atol=1e-6)


def test_binary_metrics_in_fit_match_a_direct_update():
    x = RNG.normal(size=(40, 5)).astype(np.float32)
    y = (x[:, 0] + 0.3 * x[:, 1] > 0).astype(np.float32)[:, None]
    model = _model(1, "sigmoid")
    names = [metrics.BinaryIoU(), metrics.MeanIoU(2), metrics.SensitivityAtSpecificity(0.5),
             metrics.SpecificityAtSensitivity(0.5), metrics.PrecisionAtRecall(0.5),
             metrics.RecallAtPrecision(0.5)]
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=names)
    hist = model.fit(x, y, batch_size=10, epochs=2, verbose=0)
    assert all(np.isfinite(v).all() for v in hist.history.values())
    logs = model.evaluate(x, y, batch_size=10, verbose=0, return_dict=True)
    pred = np.array(model.predict(x, batch_size=40, verbose=0))
    fresh = [metrics.BinaryIoU(), metrics.MeanIoU(2), metrics.SensitivityAtSpecificity(0.5),
             metrics.SpecificityAtSensitivity(0.5), metrics.PrecisionAtRecall(0.5),
             metrics.RecallAtPrecision(0.5)]
    for m in fresh:
        for i in range(0, 40, 10):
            m.update_state(y[i:i + 10], pred[i:i + 10])
        np.testing.assert_allclose(logs[m.name], A(m.result()), rtol=1e-4, atol=1e-6)


def test_model_file_keeps_the_compiled_metrics(tmp_path):
    model = _model(3, "softmax")
    model.compile(optimizer="adam", loss="categorical_crossentropy",
                  metrics=[metrics.F1Score(average="micro", threshold=0.4),
                           metrics.OneHotMeanIoU(3, name="miou")])
    x = RNG.normal(size=(8, 5)).astype(np.float32)
    y = np.eye(3)[RNG.integers(0, 3, 8)].astype(np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(str(tmp_path / "m.mlxf"))
        again = mf.saving.load_model(str(tmp_path / "m.mlxf"))
    logs = again.evaluate(x, y, verbose=0, return_dict=True)
    assert "f1_score" in logs and "miou" in logs


def test_callbacks_maximize_these_metrics_in_auto_mode():
    from mlxfunctional.callbacks.monitor import infer_direction
    model = _model(1, "sigmoid")
    new = [metrics.BinaryIoU(), metrics.MeanIoU(2, name="miou"), metrics.R2Score(),
           metrics.PearsonCorrelation(name="pcc"), metrics.F1Score(),
           metrics.RecallAtPrecision(0.5, name="rap"), metrics.OneHotIoU(2, [0], name="x")]
    model.compile(optimizer="sgd", loss="mse", metrics=new)
    for m in new:
        assert infer_direction("val_" + m.name, model) == "up", m.name


def test_state_made_on_the_first_compiled_batch_counts_that_batch():
    # F1Score and R2Score create their per-class state from the first batch's shapes,
    # here inside the first compiled evaluate step.
    x = RNG.normal(size=(40, 5)).astype(np.float32)
    y = np.eye(3)[RNG.integers(0, 3, 40)].astype(np.float32)
    model = _model(3, "softmax")
    model.compile(optimizer="adam", loss="categorical_crossentropy",
                  metrics=[metrics.F1Score(average="macro"), metrics.R2Score()])
    logs = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    pred = np.array(model.predict(x, verbose=0))
    r2 = metrics.R2Score()
    for i in range(0, 40, 8):
        r2.update_state(y[i:i + 8], pred[i:i + 8])
    np.testing.assert_allclose(logs["f1_score"], np_fbeta(y, pred, 1.0, None, "macro"),
                               rtol=1e-5)
    np.testing.assert_allclose(logs["r2_score"], A(r2.result()), rtol=1e-5)
