"""The APIs the Keras 3 guide "The Functional API" uses.

Our own programs with the guide's shapes; expected values are parameter counts by
formula (they equal what Keras prints in the guide: 55,050 / 18,672 / 9,569 /
28,241 / 223,242), shapes, and numpy forward passes.
"""

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers, ops

RNG = np.random.default_rng(0)


def dense_params(n_in, n_out):
    return n_in * n_out + n_out


def conv_params(k, c_in, c_out):
    return k * k * c_in * c_out + c_out


def lstm_params(n_in, units):
    return 4 * (units * (n_in + units) + units)


def test_input_tensor_shape_dtype_and_the_mnist_mlp():
    inputs = keras.Input(shape=(784,))
    assert inputs.shape == (None, 784) and inputs.dtype == "float32"
    img_inputs = keras.Input(shape=(32, 32, 3))
    assert img_inputs.shape == (None, 32, 32, 3)
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
    assert model.name == "mnist_model"
    assert model.count_params() == dense_params(784, 64) + dense_params(64, 64) + \
        dense_params(64, 10) == 55050
    x = RNG.random((4, 784), dtype=np.float32)
    w1, b1, w2, b2, w3, b3 = model.get_weights()
    h = np.maximum(np.maximum(x @ w1 + b1, 0) @ w2 + b2, 0)
    np.testing.assert_allclose(model.predict(x, verbose=0), h @ w3 + b3, rtol=1e-4, atol=1e-5)


def test_summary_prints_the_counts(capsys):
    inputs = keras.Input((784,))
    model = keras.Model(inputs, layers.Dense(10)(layers.Dense(64)(inputs)), name="m")
    model.summary()
    out = capsys.readouterr().out
    assert 'Model: "m"' in out
    # (per-layer counts print as tf.keras 2 does, 50240; Keras 3 writes 50,240)
    assert "50240" in out.replace(",", "") and " 650" in out
    assert "Total params: 50,890" in out


def test_fit_evaluate_on_flattened_images():
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(sample=True)
    assert x_train.shape[1:] == (28, 28) and x_train.dtype == np.uint8
    x_train = x_train[:512].reshape(-1, 784).astype("float32") / 255
    y_train = y_train[:512]
    inputs = keras.Input((784,))
    model = keras.Model(inputs, layers.Dense(10)(layers.Dense(32, activation="relu")(inputs)))
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.2,
                        verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["loss"][1] < history.history["loss"][0]
    loss, acc = model.evaluate(x_train, y_train, verbose=0)
    logits = model.predict(x_train, verbose=0)
    shifted = logits - logits.max(1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    assert loss == pytest.approx(-log_softmax[np.arange(512), y_train].mean(), rel=1e-4)
    assert acc == pytest.approx((logits.argmax(1) == y_train).mean(), abs=1e-6)


def conv_autoencoder():
    encoder_input = keras.Input((28, 28, 1), name="img")
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    decoder_input = keras.Input((16,), name="encoded_img")
    x = layers.Reshape((4, 4, 1))(decoder_input)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)
    decoder = keras.Model(decoder_input, decoder_output, name="decoder")
    return encoder, decoder


def test_nested_models_as_layers_counts_and_shapes():
    encoder, decoder = conv_autoencoder()
    assert encoder.output_shape == (None, 16)
    assert [l.output.shape for l in encoder.layers[1:5]] == [
        (None, 26, 26, 16), (None, 24, 24, 32), (None, 8, 8, 32), (None, 6, 6, 32)]
    assert encoder.count_params() == conv_params(3, 1, 16) + conv_params(3, 16, 32) + \
        conv_params(3, 32, 32) + conv_params(3, 32, 16) == 18672
    assert decoder.output_shape == (None, 28, 28, 1)
    assert decoder.count_params() == conv_params(3, 1, 16) + conv_params(3, 16, 32) + \
        conv_params(3, 32, 16) + conv_params(3, 16, 1) == 9569
    autoencoder_input = keras.Input((28, 28, 1), name="img")
    autoencoder = keras.Model(autoencoder_input, decoder(encoder(autoencoder_input)))
    assert autoencoder.count_params() == 28241
    x = RNG.random((2, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(autoencoder.predict(x, verbose=0),
                               decoder.predict(encoder.predict(x, verbose=0), verbose=0),
                               rtol=1e-4, atol=1e-5)


def test_ensembling_averages_models():
    def get_model():
        inputs = keras.Input((128,))
        return keras.Model(inputs, layers.Dense(1)(inputs))

    models = [get_model() for _ in range(3)]
    inputs = keras.Input((128,))
    outputs = layers.average([m(inputs) for m in models])
    ensemble = keras.Model(inputs, outputs)
    x = RNG.random((4, 128), dtype=np.float32)
    expected = np.mean([m.predict(x, verbose=0) for m in models], axis=0)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def ticket_model(num_tags=12, num_words=10000, num_departments=4):
    title_input = keras.Input((None,), name="title")
    body_input = keras.Input((None,), name="body")
    tags_input = keras.Input((num_tags,), name="tags")
    title = layers.LSTM(128)(layers.Embedding(num_words, 64)(title_input))
    body = layers.LSTM(32)(layers.Embedding(num_words, 64)(body_input))
    x = layers.concatenate([title, body, tags_input])
    priority = layers.Dense(1, name="priority")(x)
    department = layers.Dense(num_departments, name="department")(x)
    return keras.Model([title_input, body_input, tags_input], {"priority": priority,
                                                               "department": department})


def test_multi_input_multi_output_counts_and_training_with_dicts():
    model = ticket_model()
    expected = 2 * 10000 * 64 + lstm_params(64, 128) + lstm_params(64, 32) + \
        dense_params(172, 1) + dense_params(172, 4)
    assert model.count_params() == expected
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss={"priority": keras.losses.BinaryCrossentropy(from_logits=True),
                        "department": keras.losses.CategoricalCrossentropy(from_logits=True)},
                  loss_weights={"priority": 1.0, "department": 0.2})
    n = 16
    data = {"title": RNG.integers(10000, size=(n, 10)), "body": RNG.integers(10000, size=(n, 20)),
            "tags": RNG.integers(2, size=(n, 12)).astype("float32")}
    targets = {"priority": RNG.random((n, 1)),
               "department": np.eye(4)[RNG.integers(4, size=n)]}
    history = model.fit(data, targets, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    out = model.predict(data, verbose=0)
    assert out["priority"].shape == (n, 1) and out["department"].shape == (n, 4)


def test_toy_resnet_count_and_shapes():
    inputs = keras.Input((32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])
    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs, outputs, name="toy_resnet")
    assert block_1_output.shape == (None, 9, 9, 64)
    assert model.count_params() == 223242  # Keras prints "Total params: 223,242"
    assert model.predict(RNG.random((2, 32, 32, 3), dtype=np.float32), verbose=0).shape == (2, 10)


def test_shared_embedding_is_one_set_of_weights():
    shared = layers.Embedding(1000, 128)
    a, b = keras.Input((None,), dtype="int32"), keras.Input((None,), dtype="int32")
    model = keras.Model([a, b], [shared(a), shared(b)])
    assert model.count_params() == 128000
    ids = RNG.integers(1000, size=(2, 5))
    ea, eb = model.predict([ids, ids[:, ::-1]], verbose=0)
    table = shared.get_weights()[0]
    np.testing.assert_allclose(ea, table[ids])
    np.testing.assert_allclose(eb, table[ids[:, ::-1]])


def test_intermediate_outputs_make_a_feature_extractor():
    inputs = keras.Input((8,))
    h1 = layers.Dense(4, activation="relu")(inputs)
    h2 = layers.Dense(3)(h1)
    model = keras.Model(inputs, h2)
    features = keras.Model(inputs=model.input, outputs=[l.output for l in model.layers])
    x = RNG.random((2, 8), dtype=np.float32)
    outs = features(x)
    assert len(outs) == 3
    w1, b1, w2, b2 = model.get_weights()
    np.testing.assert_allclose(np.asarray(outs[0]), x, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(outs[1]), np.maximum(x @ w1 + b1, 0), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(outs[2]), np.maximum(x @ w1 + b1, 0) @ w2 + b2,
                               rtol=1e-5, atol=1e-6)


def test_vgg19_layers_expose_outputs_for_feature_extraction():
    vgg19 = keras.applications.VGG19(weights=None)
    features = [layer.output for layer in vgg19.layers]
    assert features[0].shape == (None, 224, 224, 3)
    assert features[-1].shape == (None, 1000)
    assert vgg19.count_params() == 143667240
    extractor = keras.Model(inputs=vgg19.input, outputs=features[:3])
    assert [o.shape for o in extractor.outputs] == [(None, 224, 224, 3), (None, 224, 224, 64),
                                                    (None, 224, 224, 64)]


class CustomDense(layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                 trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_custom_layer_in_a_graph_and_from_config_with_custom_objects():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, CustomDense(10)(inputs))
    assert model.count_params() == 50
    config = model.get_config()
    with pytest.raises(ValueError, match="CustomDense"):
        keras.Model.from_config(config)
    rebuilt = keras.Model.from_config(config, custom_objects={"CustomDense": CustomDense})
    rebuilt.set_weights(model.get_weights())
    x = RNG.random((3, 4), dtype=np.float32)
    w, b = model.get_weights()
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), x @ w + b, rtol=1e-5, atol=1e-6)


def test_functional_model_inside_a_subclassed_layer_and_a_stateful_batch_shape():
    units, timesteps, input_dim, batch_size = 8, 5, 3, 4
    inputs = keras.Input((None, units))
    head = keras.Model(inputs, layers.Dense(1)(layers.GlobalAveragePooling1D()(inputs)))

    class Recurrent(layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.projection_1 = layers.Dense(units, activation="tanh")
            self.projection_2 = layers.Dense(units, activation="tanh")
            self.head = head

        def call(self, inputs):
            outputs = []
            state = ops.zeros(shape=(inputs.shape[0], units))
            for t in range(inputs.shape[1]):
                h = self.projection_1(inputs[:, t, :])
                state = h + self.projection_2(state)
                outputs.append(state)
            features = ops.stack(outputs, axis=1)
            return self.head(features)

    x_in = keras.Input(batch_shape=(batch_size, timesteps, input_dim))
    x = layers.Conv1D(32, 3)(x_in)
    assert x.shape == (batch_size, timesteps - 2, 32)
    model = keras.Model(x_in, Recurrent(units)(x))
    out = model.predict(RNG.random((batch_size, timesteps, input_dim), dtype=np.float32),
                        verbose=0)
    assert out.shape == (batch_size, 1)
