"""Whole-model files: guide §4 and a round trip for every model of the guide.

A round trip saves a model, loads it back and checks the same class, layer
names, weights (bit for bit) and outputs (bit for bit: the same ops on the
same weights).
"""

import io
import json
import os
import zipfile

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import callbacks, layers
from mlxfunctional.saving import ModelFileError


def mnist_model():
    inputs = keras.Input(shape=(784,), name="img")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")


def _np(outputs):
    if isinstance(outputs, (list, tuple)):
        return [np.array(o) for o in outputs]
    return [np.array(outputs)]


def roundtrip(model, tmp_path, data, custom_objects=None, name="model.mlxf"):
    path = os.path.join(tmp_path, name)  # (a pathlib.Path would drop a trailing "/")
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects=custom_objects)
    assert type(loaded) is type(model)
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    assert loaded.count_params() == model.count_params()
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    for a, b in zip(_np(model(data)), _np(loaded(data)), strict=True):
        assert np.array_equal(a, b)
    return loaded


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


@pytest.mark.parametrize("name", ["m.h5", "m.keras", "m.npz", "model"])
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


# -- the guide's models ------------------------------------------------------------------


def _encoder(name_input="img"):
    encoder_input = keras.Input(shape=(28, 28, 1), name=name_input)
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    return encoder_input, layers.GlobalMaxPooling2D()(x)


def _decoder_layers(x):
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    return layers.Conv2DTranspose(1, 3, activation="relu")(x)


def test_section_5_encoder_and_autoencoder(tmp_path):
    encoder_input, encoder_output = _encoder()
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    x = layers.Reshape((4, 4, 1))(encoder_output)
    autoencoder = keras.Model(encoder_input, _decoder_layers(x), name="autoencoder")
    img = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    roundtrip(encoder, tmp_path, img, name="encoder.mlxf")
    loaded = roundtrip(autoencoder, tmp_path, img, name="autoencoder.mlxf")
    assert loaded.count_params() == 28_241


def test_section_6_nested_models_and_ensemble(tmp_path):
    encoder_input, encoder_output = _encoder("original_img")
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    decoder_input = keras.Input(shape=(16,), name="encoded_img")
    x = layers.Reshape((4, 4, 1))(decoder_input)
    decoder = keras.Model(decoder_input, _decoder_layers(x), name="decoder")
    autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
    autoencoder = keras.Model(autoencoder_input, decoder(encoder(autoencoder_input)),
                              name="autoencoder")
    img = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    loaded = roundtrip(autoencoder, tmp_path, img)
    assert [l.name for l in loaded.layers] == ["img", "encoder", "decoder"]
    with zipfile.ZipFile(tmp_path / "model.mlxf") as zf:
        keys = np.load(io.BytesIO(zf.read("weights.npz"))).files
    assert "encoder/conv2d/kernel" in keys and "decoder/conv2d_transpose_3/bias" in keys
    # the nested models are models again, and work alone
    inner = loaded.get_layer("encoder")
    assert isinstance(inner, keras.Model)
    assert np.array_equal(np.array(inner(img)), np.array(encoder(img)))

    def get_model():
        inputs = keras.Input(shape=(128,))
        return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(inputs))

    model1, model2, model3 = get_model(), get_model(), get_model()
    inputs = keras.Input(shape=(128,))
    outputs = layers.average([model1(inputs), model2(inputs), model3(inputs)])
    ensemble = keras.Model(inputs=inputs, outputs=outputs)
    x = np.random.default_rng(1).random((4, 128), dtype=np.float32)
    loaded = roundtrip(ensemble, tmp_path, x, name="ensemble.mlxf")
    assert loaded.count_params() == 3 * 129


def ticket_model(num_words=10000, num_tags=12, num_departments=4):
    title_input = keras.Input(shape=(None,), name="title")
    body_input = keras.Input(shape=(None,), name="body")
    tags_input = keras.Input(shape=(num_tags,), name="tags")
    title_features = layers.LSTM(128)(layers.Embedding(num_words, 64)(title_input))
    body_features = layers.LSTM(32)(layers.Embedding(num_words, 64)(body_input))
    x = layers.concatenate([title_features, body_features, tags_input])
    priority_pred = layers.Dense(1, activation="sigmoid", name="priority")(x)
    department_pred = layers.Dense(num_departments, activation="softmax",
                                   name="department")(x)
    return keras.Model(inputs=[title_input, body_input, tags_input],
                       outputs=[priority_pred, department_pred])


def test_section_7_1_multi_input_multi_output_with_dict_losses(tmp_path):
    keras.utils.set_random_seed(0)
    model = ticket_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss={"priority": "binary_crossentropy",
                        "department": keras.losses.CategoricalCrossentropy()},
                  loss_weights={"priority": 1.0, "department": 0.2},
                  metrics={"department": ["accuracy"]}, run_eagerly=True)
    rng = np.random.default_rng(0)
    data = {"title": rng.integers(10000, size=(8, 10)), "body": rng.integers(10000, size=(8, 20)),
            "tags": rng.integers(2, size=(8, 12)).astype("float32")}
    targets = {"priority": rng.random((8, 1), dtype=np.float32),
               "department": np.eye(4, dtype="float32")[rng.integers(4, size=8)]}
    model.train_on_batch(data, targets)
    loaded = roundtrip(model, tmp_path, data)
    assert loaded.output_names == ["priority", "department"]
    assert loaded.compiled_loss.weights == [1.0, 0.2]
    assert isinstance(loaded.compiled_loss.losses[1], keras.losses.CategoricalCrossentropy)
    assert loaded.metrics_names == model.metrics_names
    assert "lstm/cell/recurrent_kernel" in _weight_keys(tmp_path / "model.mlxf")
    # One more step on each: the restored optimizer state continues exactly.
    a = model.train_on_batch(data, targets, return_dict=True)
    b = loaded.train_on_batch(data, targets, return_dict=True)
    assert a == b
    for wa, wb in zip(model.get_weights(), loaded.get_weights()):
        assert np.array_equal(wa, wb)


def _weight_keys(path):
    with zipfile.ZipFile(path) as zf:
        return np.load(io.BytesIO(zf.read("weights.npz"))).files


def test_section_7_2_toy_resnet(tmp_path):
    from test_guide import toy_resnet

    model = toy_resnet()
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    loaded = roundtrip(model, tmp_path, x)
    assert loaded.count_params() == 223_242
    assert loaded.get_layer("add_1").output.shape == (None, 9, 9, 64)


def test_section_8_shared_layers(tmp_path):
    shared_embedding = layers.Embedding(1000, 128)
    text_input_a = keras.Input(shape=(None,), dtype="int32")
    text_input_b = keras.Input(shape=(None,), dtype="int32")
    model = keras.Model([text_input_a, text_input_b],
                        [shared_embedding(text_input_a), shared_embedding(text_input_b)])
    a = np.array([[1, 2, 3]])
    loaded = roundtrip(model, tmp_path, [a, a[:, ::-1]])
    assert len(loaded.get_layer("embedding")._inbound_nodes) == 2
    assert loaded.count_params() == 128_000
    assert _weight_keys(tmp_path / "model.mlxf") == ["embedding/embeddings"]


class CustomDense(layers.Layer):
    """Guide §10."""

    def __init__(self, units=32):
        super(CustomDense, self).__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                 trainable=True)

    def call(self, inputs):
        return mx.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {"units": self.units}


def test_section_10_custom_layer_via_custom_objects(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, CustomDense(10)(inputs))
    model.save(tmp_path / "model.mlxf")
    with pytest.raises(ModelFileError) as info:
        keras.models.load_model(tmp_path / "model.mlxf")
    message = str(info.value)
    assert "'CustomDense'" in message and "custom_objects" in message
    assert "register_serializable" in message
    roundtrip(model, tmp_path, np.ones((2, 4), "float32"),
              custom_objects={"CustomDense": CustomDense})
    assert _weight_keys(tmp_path / "model.mlxf") == ["custom_dense/w", "custom_dense/b"]
    # the layer name is restored though this get_config() does not record it
    keras.backend.clear_session()
    again = keras.models.load_model(tmp_path / "model.mlxf",
                                    custom_objects={"CustomDense": CustomDense})
    assert again.layers[1].name == "custom_dense"


def test_section_10_custom_layer_via_registration(tmp_path):
    @keras.saving.register_serializable(package="GuideTests")
    class RegisteredDense(CustomDense):
        pass

    inputs = keras.Input((4,))
    model = keras.Model(inputs, RegisteredDense(10)(inputs))
    roundtrip(model, tmp_path, np.ones((2, 4), "float32"))
    assert keras.saving.get_registered_object("GuideTests>RegisteredDense") is RegisteredDense
    with zipfile.ZipFile(tmp_path / "model.mlxf") as zf:
        config = json.loads(zf.read("config.json"))
    assert config["config"]["layers"][1]["class_name"] == "GuideTests>RegisteredDense"


class CustomRNN(layers.Layer):
    """Guide §12 (its second CustomRNN), with a get_config."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.projection_1 = layers.Dense(units=units, activation="tanh")
        self.projection_2 = layers.Dense(units=units, activation="tanh")
        self.classifier = layers.Dense(1, activation="sigmoid")

    def call(self, inputs):
        outputs = []
        state = mx.zeros(shape=(inputs.shape[0], self.units))
        for t in range(inputs.shape[1]):
            h = self.projection_1(inputs[:, t, :])
            state = h + self.projection_2(state)
            outputs.append(state)
        return self.classifier(mx.stack(outputs, axis=1))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _section_12_model(cls):
    inputs = keras.Input(batch_shape=(16, 10, 5))
    x = layers.Conv1D(32, 3)(inputs)
    return keras.Model(inputs, cls()(x))


def test_section_12_custom_rnn_via_custom_objects_and_registration(tmp_path):
    x = np.random.default_rng(0).random((16, 10, 5), dtype=np.float32)
    model = _section_12_model(CustomRNN)
    roundtrip(model, tmp_path, x, custom_objects={"CustomRNN": CustomRNN})
    # sublayers are keyed by the attribute holding them, not by counter names (dense_7)
    assert sorted(_weight_keys(tmp_path / "model.mlxf")) == sorted([
        "conv1d/kernel", "conv1d/bias", "custom_rnn/projection_1/kernel",
        "custom_rnn/projection_1/bias", "custom_rnn/projection_2/kernel",
        "custom_rnn/projection_2/bias", "custom_rnn/classifier/kernel",
        "custom_rnn/classifier/bias"])

    @keras.saving.register_serializable(package="GuideTests")
    class RegisteredRNN(CustomRNN):
        pass

    roundtrip(_section_12_model(RegisteredRNN), tmp_path, x, name="registered.mlxf")


def test_sequential_recurrent_wrappers_and_batchnorm(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((6, 3)),
        layers.Bidirectional(layers.LSTM(4, return_sequences=True)),
        layers.TimeDistributed(layers.Dense(5)),
        layers.BatchNormalization(),
        layers.GRU(3),
        CustomDense(2),
    ])
    model.compile(optimizer="adam", loss="mse", run_eagerly=True)
    x = np.random.default_rng(0).random((8, 6, 3), dtype=np.float32)
    model.fit(x, np.zeros((8, 2), "float32"), epochs=1, verbose=0)  # moves BN statistics
    loaded = roundtrip(model, tmp_path, x, custom_objects={"CustomDense": CustomDense})
    keys = _weight_keys(tmp_path / "model.mlxf")
    assert "bidirectional/forward_layer/cell/kernel" in keys
    assert "bidirectional/backward_layer/cell/kernel" in keys
    assert "time_distributed/layer/kernel" in keys
    assert "batch_normalization/moving_variance" in keys
    assert loaded.layers[-1].name == model.layers[-1].name


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
