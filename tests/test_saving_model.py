"""Whole-model files: guide §4, the file's members (plain JSON and npz), the directory
form, refused suffixes, compile=False, what cannot be saved (unregistered lambdas,
subclassed models, settings that are not data), ModelCheckpoint writing model files,
JSON configs, unknown classes, and reading a file with numpy and json alone.

Round trips of every model of the guide are in test_saving_model_guide.py.
"""

import io
import json
import os
import zipfile

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from _model_roundtrip import CustomDense, roundtrip
from mlxfunctional import callbacks, layers
from mlxfunctional.saving import ModelFileError


def mnist_model():
    inputs = keras.Input(shape=(784,), name="img")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")


# -- guide §4 ------------------------------------------------------------------------


def test_guide_section_4_save_and_load_model(tmp_path):
    keras.utils.set_random_seed(1)
    model = mnist_model()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.RMSprop(),
                  metrics=["accuracy"], run_eagerly=True)
    x = np.random.default_rng(0).random((64, 784), dtype=np.float32)
    y = np.arange(64) % 10
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    expected = model.predict(x, verbose=0)

    path = str(tmp_path / "path_to_my_model.mlxf")
    model.save(path)
    del model
    # Recreate the exact same model purely from the file:
    model = keras.models.load_model(path)
    assert np.array_equal(model.predict(x, verbose=0), expected)
    # ... including its training configuration and optimizer state
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)
    assert model.optimizer.iterations == 2
    assert model.compiled_loss.raw == ["sparse_categorical_crossentropy"]
    assert model.metrics_names == ["loss", "accuracy"]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}


def test_file_members_are_plain_json_and_npz(tmp_path):
    model = mnist_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    model.train_on_batch(np.ones((4, 784), "float32"), np.arange(4))
    model.save(tmp_path / "m.mlxf")
    with zipfile.ZipFile(tmp_path / "m.mlxf") as zf:
        assert zf.namelist() == ["config.json", "weights.npz", "optimizer.npz", "metadata.json"]
        config = json.loads(zf.read("config.json"))
        metadata = json.loads(zf.read("metadata.json"))
        weights = np.load(io.BytesIO(zf.read("weights.npz")))
        optimizer = np.load(io.BytesIO(zf.read("optimizer.npz")))
        assert zf.getinfo("weights.npz").compress_type == zipfile.ZIP_STORED
    assert config["class_name"] == "Functional" and config["config"]["name"] == "mnist_model"
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    assert config["compile_config"]["loss"] == "sparse_categorical_crossentropy"
    assert metadata["format"] == "mlxfunctional.model" and metadata["format_version"] == 1
    assert metadata["mlx_version"] == mx.__version__ and metadata["saved_at"].endswith("Z")
    assert set(metadata["members"]) == {"config.json", "weights.npz", "optimizer.npz"}
    assert sorted(weights.files) == ["dense/bias", "dense/kernel", "dense_1/bias",
                                     "dense_1/kernel", "dense_2/bias", "dense_2/kernel"]
    assert np.array_equal(weights["dense/kernel"], model.get_layer("dense").get_weights()[0])
    assert int(optimizer["step"]) == 1 and optimizer["step"].shape == ()
    assert optimizer["slots/dense/kernel/momentum"].shape == (784, 64)


def test_directory_form(tmp_path):
    model = mnist_model()
    x = np.ones((2, 784), "float32")
    roundtrip(model, tmp_path, x, name="as_dir/")
    assert sorted(os.listdir(tmp_path / "as_dir")) == ["config.json", "metadata.json",
                                                       "weights.npz"]
    os.mkdir(tmp_path / "existing")
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    model.save(tmp_path / "existing")
    assert "optimizer.npz" in os.listdir(tmp_path / "existing")
    loaded = keras.models.load_model(tmp_path / "existing")
    assert isinstance(loaded.optimizer, keras.optimizers.SGD)
    # Saving an uncompiled model over it removes the old optimizer state.
    mnist_model().save(tmp_path / "existing")
    assert "optimizer.npz" not in os.listdir(tmp_path / "existing")
    assert getattr(keras.models.load_model(tmp_path / "existing"), "compiled_loss", None) is None


@pytest.mark.parametrize("name", ["m.npz", "model"])  # (.keras/.h5: test_keras_files.py)
def test_other_suffixes_are_refused_naming_both_forms(tmp_path, name):
    with pytest.raises(ValueError, match=r"\.mlxf.*directory"):
        mnist_model().save(tmp_path / name)
    assert os.listdir(tmp_path) == []
    (tmp_path / name).write_bytes(b"not ours")
    with pytest.raises(ModelFileError, match=r"\.mlxf.*directory"):
        keras.models.load_model(tmp_path / name)


def test_compile_false_and_uncompiled_models(tmp_path):
    model = mnist_model()
    model.compile(optimizer="adam", loss="mse", run_eagerly=True)
    model.save(tmp_path / "c.mlxf")
    loaded = keras.models.load_model(tmp_path / "c.mlxf", compile=False)
    assert getattr(loaded, "compiled_loss", None) is None
    mnist_model().save(tmp_path / "u.mlxf")
    with zipfile.ZipFile(tmp_path / "u.mlxf") as zf:
        assert "optimizer.npz" not in zf.namelist()
        assert json.loads(zf.read("config.json"))["compile_config"] is None


def test_lambda_saves_only_with_a_registered_function(tmp_path):
    @keras.saving.register_serializable(package="GuideTests")
    def times_three(x):
        return x * 3

    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Lambda(times_three)(layers.Dense(2)(inputs)))
    roundtrip(model, tmp_path, np.ones((1, 3), "float32"))

    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Lambda(lambda x: x * 3, name="anon")(inputs))
    with pytest.raises(ValueError, match='"anon".*register_serializable'):
        model.save(tmp_path / "lambda.mlxf")
    assert sorted(os.listdir(tmp_path)) == ["model.mlxf"]  # nothing else written


def test_subclassed_models_are_weights_only(tmp_path):
    class MLP(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense_1 = layers.Dense(4)

        def call(self, inputs):
            return self.dense_1(inputs)

    model = MLP()
    model(np.ones((1, 3), "float32"))
    with pytest.raises(NotImplementedError, match="save_weights"):
        model.save(tmp_path / "sub.mlxf")
    model.save_weights(tmp_path / "sub.npz")
    other = MLP()
    other(np.ones((1, 3), "float32"))
    other.load_weights(tmp_path / "sub.npz")
    assert np.array_equal(other.get_weights()[0], model.get_weights()[0])


def test_model_checkpoint_writes_whole_model_files(tmp_path):
    model = mnist_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    x = np.random.default_rng(0).random((16, 784), dtype=np.float32)
    y = np.arange(16) % 10
    path = str(tmp_path / "ckpt-{epoch:02d}.mlxf")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0,
              callbacks=[callbacks.ModelCheckpoint(path, monitor="loss")])
    assert sorted(os.listdir(tmp_path)) == ["ckpt-01.mlxf", "ckpt-02.mlxf"]
    last = keras.models.load_model(tmp_path / "ckpt-02.mlxf")
    assert last.optimizer.iterations == 4
    for a, b in zip(model.get_weights(), last.get_weights()):
        assert np.array_equal(a, b)


def test_to_json_and_model_from_json_still_work():
    model = mnist_model()
    again = keras.models.model_from_json(model.to_json())
    assert [l.name for l in again.layers] == [l.name for l in model.layers]
    with pytest.raises(ValueError, match="CustomDense"):
        inputs = keras.Input((4,))
        keras.models.model_from_json(keras.Model(inputs, CustomDense(2)(inputs)).to_json())


def test_unknown_classes_never_resolve_outside_the_registry(tmp_path):
    model = mnist_model()
    model.save(tmp_path / "m.mlxf")
    for bad in ("os.system", "subprocess.Popen", "builtins.eval", "system"):
        members = _members(tmp_path / "m.mlxf")
        config = json.loads(members["config.json"])
        config["config"]["layers"][1]["class_name"] = bad
        config["config"]["layers"][1]["module"] = "os"
        members["config.json"] = json.dumps(config).encode()
        _write(tmp_path / "bad.mlxf", members)
        with pytest.raises(ModelFileError, match=f"Unknown layer class '{bad}'"):
            keras.models.load_model(tmp_path / "bad.mlxf")


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _write(path, members, fix_metadata=True):
    """Writes members as a model file; recomputes metadata's checksums (as an attacker can)."""
    import hashlib

    members = dict(members)
    if fix_metadata and "metadata.json" in members:
        meta = json.loads(members["metadata.json"])
        meta["members"] = {n: {"bytes": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                           for n, d in members.items() if n != "metadata.json"}
        members["metadata.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_a_layer_frozen_after_training_keeps_loading(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.Dense(2, name="b")(layers.Dense(5, name="a")(inputs)))
    model.compile(optimizer="adam", loss="mse", run_eagerly=True)
    x, y = np.ones((4, 4), "float32"), np.zeros((4, 2), "float32")
    model.train_on_batch(x, y)
    model.get_layer("a").trainable = False  # its Adam slots are now stale
    model.compile(optimizer=model.optimizer, loss="mse", run_eagerly=True)
    model.train_on_batch(x, y)
    loaded = roundtrip(model, tmp_path, x)
    assert loaded.get_layer("a").trainable is False
    assert model.train_on_batch(x, y) == loaded.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert np.array_equal(a, b)


def test_settings_that_are_not_data_save_the_model_uncompiled_with_a_warning(tmp_path):
    import mlx.optimizers as mlx_optimizers

    model = mnist_model()
    model.compile(optimizer="adam", loss=lambda y, p: (y - p) ** 2, run_eagerly=True)
    with pytest.warns(UserWarning, match="without its compile.*lambda loss"):
        model.save(tmp_path / "a.mlxf")
    model.compile(optimizer=mlx_optimizers.SGD(0.1), loss="mse", run_eagerly=True)
    with pytest.warns(UserWarning, match="not an mlxfunctional optimizer"):
        model.save(tmp_path / "b.mlxf")
    for name in ("a.mlxf", "b.mlxf"):
        loaded = keras.models.load_model(tmp_path / name)
        assert getattr(loaded, "compiled_loss", None) is None


def test_readme_recipe_reads_a_file_with_numpy_and_json(tmp_path):
    mnist_model().save(tmp_path / "my_model.mlxf")
    with zipfile.ZipFile(tmp_path / "my_model.mlxf") as zf:
        config = json.loads(zf.read("config.json"))
        weights = np.load(io.BytesIO(zf.read("weights.npz")))
    assert [layer["name"] for layer in config["config"]["layers"]] == [
        "img", "dense", "dense_1", "dense_2"]
    assert weights["dense/kernel"].shape == (784, 64)
