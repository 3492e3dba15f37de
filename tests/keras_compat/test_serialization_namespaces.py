"""keras.saving helpers, continued: each namespace's get / serialize / deserialize and the
function forms Keras exports (see test_serialization_helpers.py)."""

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional.saving import serialize_keras_object


# -- each namespace's get / serialize / deserialize -----------------------------------------

def test_losses_get_serialize_deserialize():
    assert keras.losses.get("mse") is keras.losses.mean_squared_error
    assert keras.losses.get("categorical_crossentropy") is keras.losses.categorical_crossentropy
    assert isinstance(keras.losses.get("MeanSquaredError"), keras.losses.MeanSquaredError)
    huber = keras.losses.Huber(delta=2.0)
    assert keras.losses.deserialize(keras.losses.serialize(huber)).get_config() == \
        huber.get_config()
    # Keras 3's full form, as serialize_keras_object writes it.
    again = keras.losses.deserialize(serialize_keras_object(huber))
    assert isinstance(again, keras.losses.Huber) and again.get_config() == huber.get_config()


def test_metrics_get_serialize_deserialize():
    assert isinstance(keras.metrics.get("mse"), keras.metrics.MeanSquaredError)
    assert isinstance(keras.metrics.get("AUC"), keras.metrics.AUC)
    # Keras' metrics.get documentation example: a config dict gives an instance.
    metric = keras.metrics.get({"class_name": "CategoricalCrossentropy",
                                "config": {"from_logits": True}})
    assert isinstance(metric, keras.metrics.CategoricalCrossentropy)
    assert metric.get_config()["from_logits"] is True
    again = keras.metrics.deserialize(serialize_keras_object(metric))
    assert isinstance(again, keras.metrics.CategoricalCrossentropy)
    assert again.get_config() == metric.get_config()


def test_optimizers_activations_initializers_get():
    assert isinstance(keras.optimizers.get("adam"), keras.optimizers.Adam)
    assert isinstance(keras.optimizers.get("RMSprop"), keras.optimizers.RMSprop)
    sgd = keras.optimizers.SGD(0.25, momentum=0.5)
    again = keras.optimizers.deserialize(serialize_keras_object(sgd))
    assert isinstance(again, keras.optimizers.SGD)
    assert again.get_config()["momentum"] == 0.5
    assert keras.activations.get("relu") is keras.activations.relu
    assert keras.activations.get(None) is keras.activations.linear
    assert keras.activations.deserialize(
        serialize_keras_object(keras.activations.gelu)) is keras.activations.gelu
    assert isinstance(keras.initializers.get("glorot_uniform"), keras.initializers.GlorotUniform)
    init = keras.initializers.deserialize(serialize_keras_object(keras.initializers.HeNormal(7)))
    assert isinstance(init, keras.initializers.HeNormal) and init.seed == 7


# -- the function forms Keras exports ------------------------------------------------------

LOWERCASE_INITIALIZERS = {
    "constant": "Constant", "zeros": "Zeros", "ones": "Ones", "identity": "Identity",
    "random_normal": "RandomNormal", "random_uniform": "RandomUniform",
    "truncated_normal": "TruncatedNormal", "variance_scaling": "VarianceScaling",
    "orthogonal": "Orthogonal", "glorot_uniform": "GlorotUniform",
    "glorot_normal": "GlorotNormal", "he_normal": "HeNormal", "he_uniform": "HeUniform",
    "lecun_normal": "LecunNormal", "lecun_uniform": "LecunUniform",
}


@pytest.mark.parametrize("lower, upper", sorted(LOWERCASE_INITIALIZERS.items()))
def test_lowercase_initializers_are_the_classes(lower, upper):
    # As Keras exports them: `keras.initializers.glorot_uniform` is the class.
    assert getattr(keras.initializers, lower) is getattr(keras.initializers, upper)


def test_glorot_uniform_draws_within_its_limit():
    values = np.asarray(keras.initializers.glorot_uniform(seed=1)((200, 300)))
    limit = np.sqrt(6.0 / (200 + 300))
    assert values.shape == (200, 300)
    assert np.abs(values).max() <= limit
    assert values.var() == pytest.approx(limit ** 2 / 3, rel=0.02)  # variance of U[-l, l]


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_metric_functions_match_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.random((4, 5)).astype("float32"), rng.random((4, 5)).astype("float32")
    np.testing.assert_allclose(np.asarray(keras.metrics.mean_squared_error(a, b)),
                               ((a - b) ** 2).mean(-1), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(keras.metrics.mean_absolute_error(a, b)),
                               np.abs(a - b).mean(-1), rtol=1e-6)
    logits = rng.standard_normal((4, 5)).astype("float32")
    labels = np.array([0, 4, 2, 1])
    expected = -np.log(_softmax(logits)[np.arange(4), labels])
    np.testing.assert_allclose(np.asarray(keras.metrics.sparse_categorical_crossentropy(
        labels, logits, from_logits=True)), expected, rtol=1e-5)
    p = np.clip(b, 1e-7, 1 - 1e-7)
    y = (a > 0.5).astype("float32")
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(-1)
    np.testing.assert_allclose(np.asarray(keras.metrics.binary_crossentropy(y, b)), bce,
                               rtol=1e-5)
    # sparse_categorical_accuracy: the label is the argmax.
    np.testing.assert_array_equal(
        np.asarray(keras.metrics.sparse_categorical_accuracy(labels, logits)),
        (logits.argmax(-1) == labels).astype("float32"))


METRIC_FUNCTIONS = (
    "binary_accuracy binary_crossentropy categorical_accuracy categorical_crossentropy "
    "categorical_hinge hinge huber kl_divergence log_cosh mean_absolute_error "
    "mean_absolute_percentage_error mean_squared_error mean_squared_logarithmic_error "
    "poisson sparse_categorical_accuracy sparse_categorical_crossentropy "
    "sparse_top_k_categorical_accuracy squared_hinge top_k_categorical_accuracy "
    "binary_focal_crossentropy categorical_focal_crossentropy pearson_correlation "
    "concordance_correlation").split()


def test_metric_function_names_keras_exports_exist():
    for name in METRIC_FUNCTIONS:
        assert callable(getattr(keras.metrics, name)), name
    # The per-sample loss functions are the same objects in both namespaces.
    assert keras.metrics.mean_squared_error is keras.losses.mean_squared_error


def test_saving_and_utils_export_the_helpers():
    for name in ("serialize_keras_object", "deserialize_keras_object", "get_custom_objects",
                 "get_registered_name", "get_registered_object", "custom_object_scope",
                 "CustomObjectScope", "register_keras_serializable"):
        assert getattr(keras.saving, name) is getattr(keras.utils, name), name


def test_nested_objects_in_a_custom_config_survive_a_model_file(tmp_path):
    # The pattern of Keras 3's serialization guide: a layer holding another layer
    # serializes it with serialize_keras_object in get_config and rebuilds it with
    # deserialize_keras_object in from_config; a registered function is an activation.
    @keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
    def custom_fn(x):
        return x ** 2

    @keras.saving.register_keras_serializable(package="MyLayers")
    class Wrapper(keras.layers.Layer):
        def __init__(self, sublayer, **kwargs):
            super().__init__(**kwargs)
            self.sublayer = sublayer

        def call(self, x):
            return self.sublayer(x)

        def get_config(self):
            return {**super().get_config(),
                    "sublayer": keras.saving.serialize_keras_object(self.sublayer)}

        @classmethod
        def from_config(cls, config):
            sublayer = keras.saving.deserialize_keras_object(config.pop("sublayer"))
            return cls(sublayer, **config)

    inputs = keras.Input((3,))
    model = keras.Model(inputs, Wrapper(keras.layers.Dense(2, activation=custom_fn))(inputs))
    config = keras.layers.serialize(model.layers[1])
    assert config["registered_name"] == "MyLayers>Wrapper"
    assert config["config"]["sublayer"]["class_name"] == "Dense"
    assert config["config"]["sublayer"]["config"]["activation"] == "my_package>custom_fn"
    x = np.random.default_rng(0).random((4, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    kernel, bias = (np.asarray(w) for w in model.layers[1].sublayer.get_weights())
    np.testing.assert_allclose(expected, (x @ kernel + bias) ** 2, rtol=1e-5)  # Dense, squared
    model.save(tmp_path / "m.mlxf")
    again = keras.models.load_model(tmp_path / "m.mlxf")
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, rtol=1e-6)


def test_focal_crossentropies_match_their_formulas():
    rng = np.random.default_rng(3)
    t = (rng.random((6, 4)) > 0.5).astype("float32")
    p = rng.uniform(0.02, 0.98, (6, 4)).astype("float32")
    p_t = t * p + (1 - t) * (1 - p)
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(np.asarray(keras.metrics.binary_focal_crossentropy(t, p)),
                               ((1 - p_t) ** 2 * bce).mean(-1), rtol=1e-5)
    balance = t * 0.3 + (1 - t) * 0.7
    np.testing.assert_allclose(
        np.asarray(keras.losses.binary_focal_crossentropy(
            t, p, apply_class_balancing=True, alpha=0.3, gamma=1.5)),
        (balance * (1 - p_t) ** 1.5 * bce).mean(-1), rtol=1e-5)
    # From logits: the sigmoid first.
    logits = np.log(p / (1 - p))
    np.testing.assert_allclose(
        np.asarray(keras.metrics.binary_focal_crossentropy(t, logits, from_logits=True)),
        ((1 - p_t) ** 2 * bce).mean(-1), rtol=1e-4)
    onehot = np.eye(4, dtype="float32")[rng.integers(0, 4, 6)]
    logits = rng.standard_normal((6, 4)).astype("float32")
    q = _softmax(logits)
    expected = (0.25 * (1 - q) ** 2 * -(onehot * np.log(q))).sum(-1)
    np.testing.assert_allclose(np.asarray(keras.metrics.categorical_focal_crossentropy(
        onehot, logits, from_logits=True)), expected, rtol=1e-5)
    assert keras.losses.get("binary_focal_crossentropy") is \
        keras.losses.binary_focal_crossentropy


def test_correlation_functions_match_numpy():
    rng = np.random.default_rng(4)
    t, p = rng.standard_normal((3, 20)), rng.standard_normal((3, 20))
    p = 0.5 * t + p  # correlated
    r = [np.corrcoef(a, b)[0, 1] for a, b in zip(t, p)]
    np.testing.assert_allclose(np.asarray(keras.metrics.pearson_correlation(
        t.astype("float32"), p.astype("float32"))), r, rtol=1e-4)
    ccc = [2 * np.cov(a, b, bias=True)[0, 1] / (a.var() + b.var() + (a.mean() - b.mean()) ** 2)
           for a, b in zip(t, p)]
    np.testing.assert_allclose(np.asarray(keras.metrics.concordance_correlation(
        t.astype("float32"), p.astype("float32"))), ccc, rtol=1e-4)
    # Perfect agreement is 1; a shifted copy still correlates perfectly but does not agree.
    x = t[0].astype("float32")
    assert float(keras.metrics.concordance_correlation(x, x)) == pytest.approx(1.0, abs=1e-5)
    assert float(keras.metrics.pearson_correlation(x, x + 3)) == pytest.approx(1.0, abs=1e-5)
    v = float(x.var())
    assert float(keras.metrics.concordance_correlation(x, x + 3)) == pytest.approx(
        2 * v / (2 * v + 9), rel=1e-5)
