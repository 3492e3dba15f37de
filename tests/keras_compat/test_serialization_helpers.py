"""Keras 3's serialization helpers: ``keras.saving.serialize_keras_object`` and
``deserialize_keras_object``, ``keras.layers.serialize/deserialize``, the registry
functions, and each namespace's ``get/serialize/deserialize``.

Expected dicts are Keras 3's documented config format
(``{"module", "class_name", "config", "registered_name"}``, functions as
``class_name="function"``), written out here. Reading a config never imports
the module it names (CVE-2025-1550): the refusal tests name modules that do not
exist and check that ``sys.modules`` is untouched.
"""

import sys

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import registry
from mlxfunctional.saving import deserialize_keras_object, serialize_keras_object


@pytest.fixture(autouse=True)
def clean_registry():
    """Registrations made by a test are forgotten after it."""
    objects = dict(registry._GLOBAL_CUSTOM_OBJECTS)
    names = dict(registry._GLOBAL_CUSTOM_NAMES)
    yield
    registry._GLOBAL_CUSTOM_OBJECTS.clear()
    registry._GLOBAL_CUSTOM_OBJECTS.update(objects)
    registry._GLOBAL_CUSTOM_NAMES.clear()
    registry._GLOBAL_CUSTOM_NAMES.update(names)


# -- the dict form -----------------------------------------------------------------------

def test_a_builtin_layer_is_written_in_keras_3_form_and_read_back():
    layer = keras.layers.Dense(3, activation="relu", name="d")
    config = serialize_keras_object(layer)
    assert set(config) == {"module", "class_name", "config", "registered_name"}
    assert config["module"] == "keras.layers"
    assert config["class_name"] == "Dense"
    assert config["registered_name"] is None
    assert config["config"]["units"] == 3 and config["config"]["name"] == "d"
    again = deserialize_keras_object(config)
    assert type(again) is keras.layers.Dense and again is not layer
    assert again.get_config() == layer.get_config()


@pytest.mark.parametrize("module, cls", [
    ("keras.losses", keras.losses.MeanSquaredError),
    ("keras.metrics", keras.metrics.MeanSquaredError),
])
def test_the_module_picks_between_builtins_that_share_a_name(module, cls):
    # The loss and the metric are both "MeanSquaredError": the namespace decides.
    config = serialize_keras_object(cls())
    assert (config["module"], config["class_name"]) == (module, "MeanSquaredError")
    assert type(deserialize_keras_object(config)) is cls


def test_functions_are_written_by_name():
    relu = serialize_keras_object(keras.activations.relu)
    assert relu == {"module": "keras.activations", "class_name": "function",
                    "config": "relu", "registered_name": "relu"}
    assert deserialize_keras_object(relu) is keras.activations.relu
    mse = serialize_keras_object(keras.losses.mean_squared_error)
    assert mse["class_name"] == "function" and mse["config"] == "mean_squared_error"
    assert deserialize_keras_object(mse) is keras.losses.mean_squared_error


def test_reads_a_config_written_by_keras():
    # The Adam config of Keras' deserialize_keras_object documentation: float32
    # values as Keras prints them, and the legacy "decay" key (ignored with a warning).
    with pytest.warns(UserWarning, match="decay"):
        adam = deserialize_keras_object({
            "class_name": "Adam",
            "config": {"amsgrad": False, "beta_1": 0.8999999761581421, "decay": 0.0,
                       "beta_2": 0.9990000128746033, "epsilon": 1e-07,
                       "learning_rate": 0.0010000000474974513, "name": "Adam"},
            "module": "keras.optimizers", "registered_name": None})
    assert isinstance(adam, keras.optimizers.Adam)
    assert adam.get_config()["beta_1"] == pytest.approx(0.9)
    assert float(np.asarray(adam.learning_rate)) == pytest.approx(1e-3)
    init = deserialize_keras_object({"module": "keras.initializers", "class_name": "GlorotUniform",
                                     "config": {"seed": 3}, "registered_name": None})
    assert isinstance(init, keras.initializers.GlorotUniform) and init.seed == 3


def test_plain_data_and_keras_special_forms_round_trip():
    data = {"n": 3, "f": 0.5, "s": "x", "none": None, "list": [1, [2, 3]],
            "np": np.arange(6, dtype="int32").reshape(2, 3), "np_scalar": np.float32(2.5),
            "mx": mx.array([1.5, -2.0]), "bytes": b"abc", "slice": slice(1, None, 2),
            "ellipsis": Ellipsis}
    config = serialize_keras_object(data)
    assert config["np"] == {"class_name": "__numpy__",
                            "config": {"value": [[0, 1, 2], [3, 4, 5]], "dtype": "int32"}}
    assert config["mx"] == {"class_name": "__tensor__",
                            "config": {"value": [1.5, -2.0], "dtype": "float32"}}
    assert config["bytes"] == {"class_name": "__bytes__", "config": {"value": "abc"}}
    assert config["np_scalar"] == 2.5 and type(config["np_scalar"]) is float
    back = deserialize_keras_object(config)
    assert back["n"] == 3 and back["s"] == "x" and back["none"] is None
    assert back["list"] == [1, [2, 3]]
    np.testing.assert_array_equal(back["np"], data["np"])
    assert back["np"].dtype == np.int32
    assert isinstance(back["mx"], mx.array) and back["mx"].tolist() == [1.5, -2.0]
    assert back["bytes"] == b"abc" and back["slice"] == slice(1, None, 2)
    assert back["ellipsis"] is Ellipsis


def test_bfloat16_tensors_and_module_objects():
    config = serialize_keras_object(mx.array([1.5, 2.25]).astype(mx.bfloat16))
    assert config["config"] == {"value": [1.5, 2.25], "dtype": "bfloat16"}
    back = deserialize_keras_object(config)
    assert back.dtype == mx.bfloat16 and back.astype(mx.float32).tolist() == [1.5, 2.25]
    # module_objects: how the namespaces' deserialize resolve a bare name; a class is
    # instantiated, a function returned, an unknown string stays a string.
    assert deserialize_keras_object("relu", module_objects=keras.activations.ALL_OBJECTS) \
        is keras.activations.relu
    zeros = deserialize_keras_object("Zeros", module_objects=keras.initializers.ALL_OBJECTS)
    assert isinstance(zeros, keras.initializers.Zeros)
    assert deserialize_keras_object("nothing", module_objects={}) == "nothing"


def test_models_round_trip():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(inputs))
    config = serialize_keras_object(model)
    assert config["module"] == "keras" and config["class_name"] == "Functional"
    clone = deserialize_keras_object(config)
    assert type(clone) is type(model) and clone.count_params() == model.count_params() == 10
    seq = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    config = serialize_keras_object(seq)
    assert (config["module"], config["class_name"]) == ("keras", "Sequential")
    assert deserialize_keras_object(config).count_params() == 8


# -- custom objects ----------------------------------------------------------------------

def test_registered_class_keeps_its_registered_name():
    # Keras' register_keras_serializable documentation example.
    @keras.saving.register_keras_serializable("my_package")
    class MyDense(keras.layers.Dense):
        pass

    assert keras.saving.get_registered_object("my_package>MyDense") is MyDense
    assert keras.saving.get_registered_name(MyDense) == "my_package>MyDense"
    config = serialize_keras_object(MyDense(2))
    assert config["class_name"] == "MyDense"
    assert config["registered_name"] == "my_package>MyDense"
    assert config["module"] == __name__
    assert type(deserialize_keras_object(config)) is MyDense


def test_registered_function_round_trips():
    @keras.utils.register_keras_serializable(package="fns")
    def cube(x):
        return x * x * x

    config = serialize_keras_object(cube)
    assert config["class_name"] == "function" and config["registered_name"] == "fns>cube"
    assert deserialize_keras_object(config) is cube


class Scale(keras.layers.Layer):
    """An unregistered custom layer."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_unregistered_class_needs_custom_objects_or_a_scope():
    config = serialize_keras_object(Scale(3.0))
    assert config["registered_name"] == "Scale"
    with pytest.raises(ValueError, match="Unknown class 'Scale'"):
        deserialize_keras_object(config)
    assert deserialize_keras_object(config, custom_objects={"Scale": Scale}).factor == 3.0
    with keras.saving.custom_object_scope({"Scale": Scale}):
        assert deserialize_keras_object(config).factor == 3.0
    with keras.utils.CustomObjectScope({"Scale": Scale}):
        assert keras.layers.deserialize(config).factor == 3.0


def test_get_custom_objects_is_the_live_registry():
    # Keras' documented use: adding to the dict makes the name resolvable.
    objects = keras.saving.get_custom_objects()
    assert objects is keras.utils.get_custom_objects()
    config = serialize_keras_object(Scale(5.0))
    objects["Scale"] = Scale
    assert deserialize_keras_object(config).factor == 5.0
    assert keras.saving.get_registered_object("Scale") is Scale
    del objects["Scale"]
    with pytest.raises(ValueError, match="Unknown class"):
        deserialize_keras_object(config)


def test_a_bare_name_resolves_a_registration_when_hand_added_keys_lack_a_package():
    registry.get_custom_objects()["Plain"] = Scale       # no "package>" prefix
    registry.get_custom_objects()["pkg>Other"] = dict
    assert registry.get_registered_object("Other") is dict
    assert registry.get_registered_object("Plain") is Scale


# -- refusals ----------------------------------------------------------------------------

def _modules_untouched(call):
    before = set(sys.modules)
    with pytest.raises(ValueError) as info:
        call()
    assert set(sys.modules) == before
    return str(info.value)


def test_a_module_named_in_a_config_is_never_imported():
    message = _modules_untouched(lambda: deserialize_keras_object({
        "module": "evil_payload_pkg.models", "class_name": "Payload", "config": {},
        "registered_name": None}))
    assert "never imported" in message and "Payload" in message
    assert "evil_payload_pkg" not in sys.modules


def test_a_function_from_an_arbitrary_module_is_refused():
    # os.system is importable, but only the package's tables and the registry count.
    message = _modules_untouched(lambda: deserialize_keras_object({
        "module": "os", "class_name": "function", "config": "system",
        "registered_name": "system"}))
    assert "Unknown function 'system'" in message
    _modules_untouched(lambda: deserialize_keras_object({
        "module": "subprocess_fake_mod", "class_name": "function", "config": "run",
        "registered_name": None}))


def test_non_modeling_keras_apis_are_not_resolvable():
    # keras.utils.get_file exists here, but it is not in any modeling namespace.
    with pytest.raises(ValueError, match="Unknown function 'get_file'"):
        deserialize_keras_object({"module": "keras.utils", "class_name": "function",
                                  "config": "get_file", "registered_name": "get_file"})


def test_a_builtin_is_only_found_in_its_own_namespace():
    with pytest.raises(ValueError, match="Unknown class 'Dense'"):
        deserialize_keras_object({"module": "keras.losses", "class_name": "Dense",
                                  "config": {"units": 1}, "registered_name": None})
    # Without a module, the registry's built-ins resolve it.
    assert isinstance(deserialize_keras_object({"class_name": "Dense", "config": {"units": 1}}),
                      keras.layers.Dense)


def test_lambdas_are_refused_both_ways():
    with pytest.raises(ValueError, match="lambda"):
        serialize_keras_object(lambda x: x)
    lambda_config = {"class_name": "__lambda__", "config": {"value": "4wEAAAAAAAAA"}}
    for safe_mode in (True, False):
        with pytest.raises(ValueError, match="never runs code"):
            deserialize_keras_object(lambda_config, safe_mode=safe_mode)


def test_malformed_configs_name_the_problem():
    with pytest.raises(ValueError, match="must be a dict"):
        deserialize_keras_object({"module": "keras.layers", "class_name": "Dense",
                                  "config": [1, 2], "registered_name": None})
    with pytest.raises(ValueError, match="function config"):
        deserialize_keras_object({"class_name": "function", "config": {"a": 1}})
    with pytest.raises(ValueError, match="special form"):
        deserialize_keras_object({"class_name": "__typespec__", "config": {}})
    with pytest.raises(ValueError, match="get_config"):
        serialize_keras_object(object())


def test_layers_deserialize_refuses_what_is_not_a_layer():
    loss = serialize_keras_object(keras.losses.Huber())
    with pytest.raises(ValueError, match="not a Layer"):
        keras.layers.deserialize(loss)
    with pytest.raises(ValueError, match="expects a dict"):
        keras.layers.deserialize("Dense")


def test_layers_serialize_round_trip():
    layer = keras.layers.Conv2D(4, 3, padding="same", name="c")
    config = keras.layers.serialize(layer)
    assert (config["module"], config["class_name"]) == ("keras.layers", "Conv2D")
    again = keras.layers.deserialize(config)
    assert type(again) is keras.layers.Conv2D and again.get_config() == layer.get_config()
    # Our own compact form is read too.
    assert type(keras.layers.deserialize({"class_name": "Dense", "config": {"units": 2}})) \
        is keras.layers.Dense
