"""Metrics as components: update_state inside mx.compile, a Keras-style custom metric
built with add_variable, default names, identifier resolution (get, get_metric,
accuracy_for) and config round trips.

Metric values against numpy references are in test_metrics.py.
"""

import mlx.core as mx
import numpy as np
import pytest

from _metric_reference import RNG, A, np_probs
from mlxfunctional import metrics
from mlxfunctional import registry


# -- compiled steps ---------------------------------------------------------------------------------

def test_update_state_inside_mx_compile_accumulates():
    # Few metrics, each kind of update once: on a cold cache every fused kernel costs
    # about a second of g++ time.
    def build():
        return [metrics.Mean(), metrics.SparseCategoricalAccuracy(name="acc"),
                metrics.Precision(thresholds=[0.3, 0.6]),
                metrics.AUC(multi_label=True, num_labels=4)]

    def step(ms, labels, probs, multi, sw):
        ms[0].update_state(probs, sample_weight=sw)
        ms[1].update_state(labels, probs, sample_weight=sw)
        ms[2].update_state(multi, probs, sample_weight=sw)
        ms[3].update_state(multi, probs)

    compiled_ms, eager_ms = build(), build()
    state = [m.variables for m in compiled_ms]
    dicts = list(state)
    compiled = mx.compile(lambda *a: step(compiled_ms, *a), inputs=state, outputs=state)
    for _ in range(3):
        batch = (mx.array(RNG.integers(0, 4, 8)), mx.array(np_probs(8, 4)),
                 mx.array(RNG.integers(0, 2, (8, 4)).astype(np.float32)),
                 mx.array(RNG.uniform(0, 2, 8).astype(np.float32)))
        compiled(*batch)
        step(eager_ms, *batch)
    assert all(m.variables is d for m, d in zip(compiled_ms, dicts))
    assert A(compiled_ms[0].variables["count"]) > 0
    for cm, em in zip(compiled_ms, eager_ms):
        np.testing.assert_allclose(A(cm.result()), A(em.result()), rtol=1e-5, err_msg=cm.name)
    for m in compiled_ms:  # reset between epochs, then the compiled step goes on
        m.reset_state()
    compiled(*batch)
    assert A(compiled_ms[0].variables["count"]) == pytest.approx(A(batch[3]).sum(), rel=1e-6)


def test_keras_style_custom_metric_with_add_variable():
    class BinaryTruePositives(metrics.Metric):
        def __init__(self, name="binary_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), initializer="zeros",
                                                    name="true_positives")

        def update_state(self, y_true, y_pred, sample_weight=None):
            values = mx.logical_and(mx.array(y_true) == 1, mx.array(y_pred) == 1)
            self.true_positives.assign(self.true_positives + mx.sum(values))

        def result(self):
            return self.true_positives.value

    m = BinaryTruePositives()
    state = [m.variables]
    f = mx.compile(lambda a, b: m.update_state(a, b), inputs=state, outputs=state)
    for _ in range(2):
        f(mx.array([1, 1, 0, 1]), mx.array([1, 0, 0, 1]))
    assert A(m.result()) == 4 and m(np.array([1]), np.array([1])).item() == 5
    m.reset_state()
    assert A(m.result()) == 0


# -- names, resolution, configs ----------------------------------------------------------------------

def test_default_names():
    expected = {metrics.Accuracy: "accuracy", metrics.BinaryAccuracy: "binary_accuracy",
                metrics.CategoricalAccuracy: "categorical_accuracy",
                metrics.SparseCategoricalAccuracy: "sparse_categorical_accuracy",
                metrics.Precision: "precision", metrics.Recall: "recall", metrics.AUC: "auc",
                metrics.MeanSquaredError: "mean_squared_error",
                metrics.RootMeanSquaredError: "root_mean_squared_error",
                metrics.TopKCategoricalAccuracy: "top_k_categorical_accuracy",
                metrics.TruePositives: "true_positives", metrics.LogCoshError: "logcosh"}
    for cls, name in expected.items():
        assert cls().name == name


def test_get_resolves_names():
    assert isinstance(metrics.get("accuracy"), metrics.Accuracy)
    assert isinstance(metrics.get("mse"), metrics.MeanSquaredError)
    assert isinstance(metrics.get("mae"), metrics.MeanAbsoluteError)
    assert isinstance(metrics.get("auc"), metrics.AUC)
    assert isinstance(metrics.get("AUC"), metrics.AUC)
    assert isinstance(metrics.get("precision"), metrics.Precision)
    assert isinstance(metrics.get("SparseCategoricalAccuracy"), metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.get("sparse_top_k_categorical_accuracy"),
                      metrics.SparseTopKCategoricalAccuracy)
    p = metrics.get({"class_name": "Precision", "config": {"thresholds": [0.3, 0.6]}})
    assert p.thresholds == [0.3, 0.6]
    assert metrics.get(metrics.binary_accuracy) is metrics.binary_accuracy
    with pytest.raises(ValueError, match="Unknown metric"):
        metrics.get("not_a_metric")


def test_get_metric_names_and_accuracy_choice():
    acc = metrics.get_metric("acc", (None,), (None, 10))
    assert isinstance(acc, metrics.SparseCategoricalAccuracy) and acc.name == "acc"
    acc = metrics.get_metric("accuracy", (None, 10), (None, 10))
    assert isinstance(acc, metrics.CategoricalAccuracy) and acc.name == "accuracy"
    assert isinstance(metrics.get_metric("accuracy", (None, 1), (None, 10)),
                      metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.get_metric("acc", (None, 1), (None, 1)), metrics.BinaryAccuracy)
    assert metrics.get_metric("mse").name == "mse"
    assert isinstance(metrics.get_metric("mse"), metrics.MeanSquaredError)
    wrapped = metrics.get_metric(metrics.binary_accuracy)
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "binary_accuracy"
    assert metrics.get_metric(metrics.AUC(name="roc")).name == "roc"


def test_accuracy_for_rules():
    sce, cce, bce = ("sparse_categorical_crossentropy", "categorical_crossentropy",
                     "binary_crossentropy")
    from mlxfunctional import losses
    assert metrics.accuracy_for(sce, (None, 10)) is metrics.SparseCategoricalAccuracy
    assert metrics.accuracy_for(losses.SparseCategoricalCrossentropy(from_logits=True),
                                (None, 10)) is metrics.SparseCategoricalAccuracy
    assert metrics.accuracy_for(losses.get_loss(sce), (None, 10)) \
        is metrics.SparseCategoricalAccuracy
    assert metrics.accuracy_for(cce, (None, 10)) is metrics.CategoricalAccuracy
    assert metrics.accuracy_for(bce, (None, 1)) is metrics.BinaryAccuracy
    assert metrics.accuracy_for("mse", (None, 1)) is metrics.BinaryAccuracy
    # Keras 3 decides by shapes: multi-label BCE with same-shaped targets -> categorical.
    assert metrics.accuracy_for(bce, (None, 5)) is metrics.CategoricalAccuracy
    assert metrics.accuracy_for(None, (None, 5), target_shape=(None,)) \
        is metrics.SparseCategoricalAccuracy
    assert metrics.accuracy_for(sce, (None, 7, 10)) is metrics.SparseCategoricalAccuracy


ALL_METRICS = [
    metrics.Mean(name="m"), metrics.Sum(), metrics.Accuracy(), metrics.BinaryAccuracy(
        threshold=0.7), metrics.CategoricalAccuracy(), metrics.SparseCategoricalAccuracy(),
    metrics.TopKCategoricalAccuracy(k=3), metrics.SparseTopKCategoricalAccuracy(k=2),
    metrics.MeanSquaredError(), metrics.MeanAbsoluteError(),
    metrics.MeanAbsolutePercentageError(), metrics.MeanSquaredLogarithmicError(),
    metrics.RootMeanSquaredError(), metrics.CosineSimilarity(axis=-1), metrics.LogCoshError(),
    metrics.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    metrics.CategoricalCrossentropy(label_smoothing=0.2),
    metrics.SparseCategoricalCrossentropy(from_logits=True), metrics.KLDivergence(),
    metrics.Poisson(), metrics.Hinge(), metrics.SquaredHinge(), metrics.CategoricalHinge(),
    metrics.TruePositives(thresholds=[0.2, 0.4]), metrics.FalseNegatives(),
    metrics.Precision(top_k=2, class_id=1), metrics.Recall(thresholds=0.3),
    metrics.AUC(num_thresholds=31, curve="PR", summation_method="minoring"),
    metrics.AUC(thresholds=[0.2, 0.5], multi_label=True, num_labels=2,
                label_weights=[1.0, 2.0], from_logits=True),
    metrics.MeanMetricWrapper(metrics.binary_accuracy, name="ba", threshold=0.2),
]


@pytest.mark.parametrize("metric", ALL_METRICS, ids=lambda m: type(m).__name__)
def test_config_round_trip(metric):
    config = metric.get_config()
    rebuilt = type(metric).from_config(config)
    assert rebuilt.get_config() == config
    again = metrics.deserialize(metrics.serialize(metric))
    assert type(again) is type(metric) and again.get_config() == config
    assert again.variables.keys() == metric.variables.keys()


def test_wrapper_of_registered_custom_function_round_trips():
    @registry.register_serializable(package="MetricTest")
    def within_one(y_true, y_pred):
        return (mx.abs(y_true - y_pred) <= 1).astype(mx.float32)

    m = metrics.MeanMetricWrapper(within_one)
    assert m.name == "within_one"
    again = metrics.deserialize(metrics.serialize(m))
    assert again._fn is within_one
    again.update_state([[1.0], [5.0]], [[1.5], [2.0]])
    assert A(again.result()) == pytest.approx(0.5)
