"""The APIs the Keras 3 guide "Save, serialize, and export models" uses.

Our own programs, checked against numpy and the numbers Keras documents (configs,
registered names, parameter counts). Whole-model files are this package's ``.mlxf``
and weights ``.npz``: Keras' ``.keras``/``.weights.h5`` files are not written here.
"""

import json

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers, ops

RNG = np.random.default_rng(3)


def mlp(dropout=False):
    """784 -> 64 -> 64 -> 10, named as the guide names its layers."""
    inputs = keras.Input((784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    if dropout:
        x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10, name="predictions")(x)
    return keras.Model(inputs, outputs, name="3_layer_mlp")


def numpy_mlp(weights, x):
    w1, b1, w2, b2, w3, b3 = weights
    h = np.maximum(x @ w1 + b1, 0)
    h = np.maximum(h @ w2 + b2, 0)
    return h @ w3 + b3


@pytest.fixture
def registry_snapshot():
    """Registrations made by a test are removed afterwards."""
    saved = dict(keras.saving.get_custom_objects())
    yield
    keras.saving.get_custom_objects().clear()
    keras.saving.get_custom_objects().update(saved)


def test_layer_config_round_trip_keeps_constructor_arguments():
    layer = layers.Dense(3, activation="relu")
    config = layer.get_config()
    assert config["units"] == 3 and config["activation"] == "relu"
    twin = layers.Dense.from_config(config)
    assert twin.get_config() == config


def test_sequential_functional_and_json_rebuild_the_same_computation():
    x = RNG.random((5, 32), dtype=np.float32)
    seq = keras.Sequential([keras.Input((32,)), layers.Dense(1)])
    inputs = keras.Input((32,))
    func = keras.Model(inputs, layers.Dense(1)(inputs))
    for model, rebuilt in [(seq, keras.Sequential.from_config(seq.get_config())),
                           (func, keras.Model.from_config(func.get_config())),
                           (seq, keras.models.model_from_json(seq.to_json()))]:
        assert rebuilt.count_params() == 33
        rebuilt.set_weights(model.get_weights())
        w, b = model.get_weights()
        np.testing.assert_allclose(rebuilt.predict(x, verbose=0), x @ w + b, rtol=1e-5, atol=1e-6)


def test_clone_model_has_the_architecture_and_fresh_weights():
    model = mlp()
    clone = keras.models.clone_model(model)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    assert clone.count_params() == model.count_params() == 55050
    assert not np.allclose(clone.get_weights()[0], model.get_weights()[0])


def test_serialize_keras_object_of_a_regularizer():
    config = keras.saving.serialize_keras_object(keras.regularizers.L1(0.005))
    assert config["module"] == "keras.regularizers"
    assert config["class_name"] == "L1"
    assert config["config"]["l1"] == pytest.approx(0.005)
    assert config["registered_name"] is None
    reg = keras.saving.deserialize_keras_object(config)
    w = RNG.normal(size=(4, 3)).astype(np.float32)
    assert float(reg(w)) == pytest.approx(0.005 * np.abs(w).sum(), rel=1e-5)


def test_registered_names_carry_package_and_name(registry_snapshot):
    @keras.saving.register_keras_serializable(package="MyLayers", name="KernelMult")
    class MatMul(layers.Layer):
        def __init__(self, units, *, kernel_regularizer=None, nested=None, **kwargs):
            super().__init__(**kwargs)
            self.units, self.kernel_regularizer, self.nested = units, kernel_regularizer, nested

        def get_config(self):
            return {**super().get_config(), "units": self.units,
                    "kernel_regularizer": self.kernel_regularizer, "nested": self.nested}

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                          initializer="ones",
                                          regularizer=self.kernel_regularizer)

        def call(self, inputs):
            return ops.matmul(inputs, self.kernel)

    inner = MatMul(16, kernel_regularizer="l1")
    outer = MatMul(64, nested=inner)
    config = keras.layers.serialize(outer)
    assert config["registered_name"] == "MyLayers>KernelMult"
    assert config["class_name"] == "MatMul"
    assert config["config"]["nested"]["registered_name"] == "MyLayers>KernelMult"
    assert config["config"]["nested"]["config"]["units"] == 16
    json.dumps(config)  # plain data
    rebuilt = keras.layers.deserialize(config)
    assert isinstance(rebuilt, MatMul) and rebuilt.units == 64
    x = RNG.random((2, 5), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(rebuilt(x)), x.sum(1, keepdims=True) * np.ones((1, 64)),
                               rtol=1e-5)


def test_functional_config_holds_sub_layers_as_configs(registry_snapshot):
    # The guide's pattern: a custom layer's get_config() returns its sub-layers as
    # objects and from_config deserializes them. The model config must be plain data.
    @keras.saving.register_keras_serializable(package="ComplexModels")
    class Wrapper(layers.Layer):
        def __init__(self, first_layer, second_layer=None, **kwargs):
            super().__init__(**kwargs)
            self.first_layer = first_layer
            self.second_layer = second_layer or layers.Dense(8)

        def get_config(self):
            return {**super().get_config(), "first_layer": self.first_layer,
                    "second_layer": self.second_layer}

        @classmethod
        def from_config(cls, config):
            config["first_layer"] = keras.layers.deserialize(config["first_layer"])
            config["second_layer"] = keras.layers.deserialize(config["second_layer"])
            return cls(**config)

        def call(self, inputs):
            return self.first_layer(self.second_layer(inputs))

    inputs = keras.Input((32,))
    model = keras.Model(inputs, Wrapper(layers.Dense(4, kernel_regularizer=keras.regularizers.L1L2(
        l1=1e-5, l2=1e-4)))(inputs))
    config = model.get_config()
    json.dumps(config)
    wrapper_config = [l for l in config["layers"] if l["class_name"].endswith("Wrapper")][0]
    first = wrapper_config["config"]["first_layer"]
    assert first["class_name"] == "Dense" and first["config"]["units"] == 4
    assert first["config"]["kernel_regularizer"]["config"]["l2"] == pytest.approx(1e-4)
    rebuilt = keras.Model.from_config(config)
    assert rebuilt.count_params() == model.count_params() == 32 * 8 + 8 + 8 * 4 + 4
    rebuilt.set_weights(model.get_weights())
    x = RNG.random((3, 32), dtype=np.float32)
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_custom_objects_three_ways_through_a_model_file(tmp_path, registry_snapshot):
    class Scale(layers.Layer):
        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    def square(x):
        return x ** 2

    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.Dense(1, activation=square)(Scale(0.5)(inputs)))
    model.compile(optimizer="rmsprop", loss="mean_squared_error")
    model.fit(RNG.random((4, 4)), RNG.random((4, 1)), verbose=0)
    path = tmp_path / "custom.mlxf"
    model.save(path)
    x = RNG.random((4, 4))
    w, b = model.get_weights()
    expected = (0.5 * x @ w + b) ** 2
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    objects = {"Scale": Scale, "square": square}
    loaded = keras.models.load_model(path, custom_objects=objects)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    with keras.saving.custom_object_scope(objects):
        loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="Scale"):
        keras.models.load_model(path)
    keras.saving.register_keras_serializable(package="MyLayers")(Scale)
    keras.saving.register_keras_serializable(package="my_package", name="square")(square)
    assert keras.saving.get_registered_name(Scale) == "MyLayers>Scale"
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_weights_move_between_layers_models_and_files(tmp_path):
    a, b = layers.Dense(64, activation="relu"), layers.Dense(64, activation="relu")
    a.build((None, 784))
    b.build((None, 784))
    b.set_weights(a.get_weights())
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)

    functional = mlp()
    with_dropout = mlp(dropout=True)  # Dropout has no weights: the lists line up
    with_dropout.set_weights(functional.get_weights())
    x = RNG.random((3, 784), dtype=np.float32)
    expected = numpy_mlp(functional.get_weights(), x)
    np.testing.assert_allclose(with_dropout.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.d1 = layers.Dense(64, activation="relu")
            self.d2 = layers.Dense(64, activation="relu")
            self.d3 = layers.Dense(10)

        def call(self, inputs):
            return self.d3(self.d2(self.d1(inputs)))

    sub = Subclassed()
    sub(np.ones((1, 784), np.float32))
    sub.set_weights(functional.get_weights())
    assert len(sub.weights) == len(functional.weights) == 6
    np.testing.assert_allclose(np.asarray(sub(x)), expected, rtol=1e-4, atol=1e-5)

    path = tmp_path / "pretrained.weights.npz"
    functional.save_weights(path)
    pretrained = mlp()
    pretrained.load_weights(path)
    np.testing.assert_allclose(pretrained.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)


def test_extracted_layers_make_a_new_sequential():
    pretrained = mlp()
    extracted = pretrained.layers[:-1]  # the guide drops the head...
    extracted.append(layers.Dense(5, name="dense_3"))  # ...and adds a new one
    model = keras.Sequential(extracted)
    # 784*64+64 + 64*64+64 + 64*5+5, as Keras' summary prints (54,725)
    assert model.count_params() == 54725
    assert model.layers[0] is pretrained.layers[1]
    assert model.output_shape == (None, 5)


def test_weights_read_as_numpy_and_names_keep_their_order():
    functional = mlp()
    for v, w in zip(functional.weights, functional.get_weights()):
        np.testing.assert_array_equal(v.numpy(), w)

    class NestedDense(layers.Layer):
        def __init__(self, units, name=None):
            super().__init__(name=name)
            self.dense_1 = layers.Dense(units, name="dense_1")
            self.dense_2 = layers.Dense(units, name="dense_2")

        def call(self, inputs):
            return self.dense_2(self.dense_1(inputs))

    model = keras.Sequential([keras.Input((784,)), NestedDense(10, "nested")])
    names = [v.name for v in model.weights]
    assert names == ["kernel", "bias", "kernel", "bias"]
    model.get_layer("nested").dense_1.trainable = False
    # Keras lists weights in creation order, whatever is frozen: the order is unchanged.
    assert [v.name for v in model.weights] == names
    assert len(model.trainable_weights) == 2
