"""Whole-model files: a save/load round trip for every model of the guide (§5 to §12,
custom layers via custom_objects and via registration, and a Sequential of recurrent
wrappers and BatchNormalization).

A round trip (tests/_model_roundtrip.py) saves a model, loads it back and checks the
same class, layer names, weights (bit for bit) and outputs (bit for bit: the same ops
on the same weights).
"""

import io
import json
import zipfile

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from _model_roundtrip import CustomDense, roundtrip
from mlxfunctional import layers
from mlxfunctional.saving import ModelFileError


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
