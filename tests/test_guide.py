"""Every code block of the guide (shared/seed/functional-api-guide.zh.md), ported.

`keras` -> `mlxfunctional`, TensorFlow ops -> MLX ops. Parameter counts are
the numbers Keras prints for the same models.
"""

import mlx.core as mx
import numpy as np

import mlxfunctional as keras
from mlxfunctional import layers
from mlxfunctional.applications import VGG19


def _finite(x):
    return bool(np.isfinite(np.array(x)).all())


def _shapes(model):
    return [l.output.shape if not isinstance(l, keras.InputLayer) else l.batch_shape
            for l in model.layers]


def test_section_2_mnist_model():
    inputs = keras.Input(shape=(784,))
    assert inputs.shape == (None, 784) and inputs.dtype == "float32"
    img_inputs = keras.Input(shape=(32, 32, 3))
    assert img_inputs.shape == (None, 32, 32, 3)

    inputs = keras.Input(shape=(784,), name="img")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
    assert model.count_params() == 55_050
    assert [l.name for l in model.layers] == ["img", "dense", "dense_1", "dense_2"]
    y = model(np.random.rand(8, 784).astype("float32"))
    assert y.shape == (8, 10) and _finite(y)
    np.testing.assert_allclose(np.array(y).sum(axis=1), 1, rtol=1e-5)


def _encoder(name_input="img"):
    encoder_input = keras.Input(shape=(28, 28, 1), name=name_input)
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)
    return encoder_input, encoder_output


def _decoder_layers(x):
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    return layers.Conv2DTranspose(1, 3, activation="relu")(x)


def test_section_5_encoder_and_autoencoder_share_a_graph():
    encoder_input, encoder_output = _encoder()
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    assert encoder.count_params() == 18_672
    assert _shapes(encoder) == [(None, 28, 28, 1), (None, 26, 26, 16), (None, 24, 24, 32),
                                (None, 8, 8, 32), (None, 6, 6, 32), (None, 4, 4, 16), (None, 16)]
    x = layers.Reshape((4, 4, 1))(encoder_output)
    decoder_output = _decoder_layers(x)
    autoencoder = keras.Model(encoder_input, decoder_output, name="autoencoder")
    assert autoencoder.count_params() == 28_241
    assert autoencoder.output_shape == (None, 28, 28, 1)
    y = autoencoder(np.random.rand(2, 28, 28, 1).astype("float32"))
    assert y.shape == (2, 28, 28, 1) and _finite(y)


def test_section_6_models_are_callable_like_layers():
    encoder_input, encoder_output = _encoder("original_img")
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    decoder_input = keras.Input(shape=(16,), name="encoded_img")
    x = layers.Reshape((4, 4, 1))(decoder_input)
    decoder = keras.Model(decoder_input, _decoder_layers(x), name="decoder")
    assert decoder.count_params() == 9_569

    autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
    encoded_img = encoder(autoencoder_input)
    decoded_img = decoder(encoded_img)
    autoencoder = keras.Model(autoencoder_input, decoded_img, name="autoencoder")
    assert [l.name for l in autoencoder.layers] == ["img", "encoder", "decoder"]
    assert autoencoder.count_params() == 28_241
    img = np.random.rand(2, 28, 28, 1).astype("float32")
    y = autoencoder(img)
    np.testing.assert_allclose(np.array(y), np.array(decoder(encoder(img))), rtol=1e-5, atol=1e-6)

    def get_model():
        inputs = keras.Input(shape=(128,))
        outputs = layers.Dense(1, activation="sigmoid")(inputs)
        return keras.Model(inputs, outputs)

    model1, model2, model3 = get_model(), get_model(), get_model()
    inputs = keras.Input(shape=(128,))
    outputs = layers.average([model1(inputs), model2(inputs), model3(inputs)])
    ensemble_model = keras.Model(inputs=inputs, outputs=outputs)
    assert ensemble_model.count_params() == 3 * 129
    x = np.random.rand(4, 128).astype("float32")
    mean = (np.array(model1(x)) + np.array(model2(x)) + np.array(model3(x))) / 3
    np.testing.assert_allclose(np.array(ensemble_model(x)), mean, rtol=1e-5)


def test_section_7_1_multi_input_multi_output():
    num_tags, num_words, num_departments = 12, 10000, 4
    title_input = keras.Input(shape=(None,), name="title")
    body_input = keras.Input(shape=(None,), name="body")
    tags_input = keras.Input(shape=(num_tags,), name="tags")
    title_features = layers.Embedding(num_words, 64)(title_input)
    body_features = layers.Embedding(num_words, 64)(body_input)
    assert title_features.shape == (None, None, 64)
    title_features = layers.LSTM(128)(title_features)
    body_features = layers.LSTM(32)(body_features)
    x = layers.concatenate([title_features, body_features, tags_input])
    priority_pred = layers.Dense(1, activation="sigmoid", name="priority")(x)
    department_pred = layers.Dense(num_departments, activation="softmax", name="department")(x)
    model = keras.Model(inputs=[title_input, body_input, tags_input],
                        outputs=[priority_pred, department_pred])
    assert model.count_params() == 1_392_097
    assert model.output_names == ["priority", "department"]
    assert [l.name for l in model.layers] == [
        "title", "body", "embedding", "embedding_1", "lstm", "lstm_1", "tags",
        "concatenate", "priority", "department"]

    title_data = np.random.randint(num_words, size=(8, 10))
    body_data = np.random.randint(num_words, size=(8, 100))
    tags_data = np.random.randint(2, size=(8, num_tags)).astype("float32")
    priority, department = model({"title": title_data, "body": body_data, "tags": tags_data})
    assert priority.shape == (8, 1) and department.shape == (8, 4)
    assert _finite(priority) and _finite(department)


def toy_resnet():
    inputs = keras.Input(shape=(32, 32, 3), name="img")
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
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="toy_resnet")


def test_section_7_2_toy_resnet():
    model = toy_resnet()
    assert model.count_params() == 223_242
    assert [l.name for l in model.layers] == [
        "img", "conv2d", "conv2d_1", "max_pooling2d", "conv2d_2", "conv2d_3", "add",
        "conv2d_4", "conv2d_5", "add_1", "conv2d_6", "global_average_pooling2d", "dense",
        "dropout", "dense_1"]
    assert model.get_layer("add_1").output.shape == (None, 9, 9, 64)
    y = model(np.random.rand(2, 32, 32, 3).astype("float32"))
    assert y.shape == (2, 10) and _finite(y)


def test_section_8_shared_embedding():
    shared_embedding = layers.Embedding(1000, 128)
    text_input_a = keras.Input(shape=(None,), dtype="int32")
    text_input_b = keras.Input(shape=(None,), dtype="int32")
    encoded_input_a = shared_embedding(text_input_a)
    encoded_input_b = shared_embedding(text_input_b)
    assert encoded_input_a.shape == encoded_input_b.shape == (None, None, 128)
    assert len(shared_embedding._inbound_nodes) == 2
    model = keras.Model([text_input_a, text_input_b], [encoded_input_a, encoded_input_b])
    assert model.count_params() == 128_000
    a = np.array([[1, 2, 3]])
    ea, eb = model([a, a[:, ::-1]])
    np.testing.assert_allclose(np.array(ea)[0, ::-1], np.array(eb)[0])


def test_section_9_feature_extraction_random_weights():
    # With the guide's VGG19() -- ImageNet weights -- in test_applications_pretrained.py.
    vgg19 = VGG19(weights=None)
    assert vgg19.count_params() == 143_667_240
    features_list = [layer.output for layer in vgg19.layers]
    assert len(features_list) == 26
    feat_extraction_model = keras.Model(inputs=vgg19.input, outputs=features_list)
    img = np.random.random((1, 224, 224, 3)).astype("float32")
    extracted_features = feat_extraction_model(img)
    assert [tuple(f.shape) for f in extracted_features[:4]] == [
        (1, 224, 224, 3), (1, 224, 224, 64), (1, 224, 224, 64), (1, 112, 112, 64)]
    assert extracted_features[-1].shape == (1, 1000)
    np.testing.assert_allclose(np.array(extracted_features[-1]).sum(), 1, rtol=1e-4)


def test_section_10_custom_layer():
    class CustomDense(layers.Layer):
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

    inputs = keras.Input((4,))
    outputs = CustomDense(10)(inputs)
    model = keras.Model(inputs, outputs)
    config = model.get_config()
    new_model = keras.Model.from_config(config, custom_objects={"CustomDense": CustomDense})
    assert new_model.count_params() == model.count_params() == 50
    assert new_model(np.ones((2, 4), "float32")).shape == (2, 10)


def test_section_11_functional_and_subclassed_mlp():
    inputs = keras.Input(shape=(32,))
    x = layers.Dense(64, activation="relu")(inputs)
    outputs = layers.Dense(10)(x)
    mlp = keras.Model(inputs, outputs)

    class MLP(keras.Model):
        def __init__(self, **kwargs):
            super(MLP, self).__init__(**kwargs)
            self.dense_1 = layers.Dense(64, activation="relu")
            self.dense_2 = layers.Dense(10)

        def call(self, inputs):
            x = self.dense_1(inputs)
            return self.dense_2(x)

    sub = MLP()
    _ = sub(mx.zeros((1, 32)))
    assert sub.count_params() == mlp.count_params() == 2_762
    sub.set_weights(mlp.get_weights())
    x = np.random.rand(3, 32).astype("float32")
    np.testing.assert_allclose(np.array(sub(x)), np.array(mlp(x)), rtol=1e-5)


def test_section_12_mixing_styles(capsys):
    units, timesteps, input_dim, batch_size = 32, 10, 5, 16

    inputs = keras.Input((None, units))
    x = layers.GlobalAveragePooling1D()(inputs)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)

    class CustomRNN(layers.Layer):
        def __init__(self):
            super(CustomRNN, self).__init__()
            self.units = units
            self.projection_1 = layers.Dense(units=units, activation="tanh")
            self.projection_2 = layers.Dense(units=units, activation="tanh")
            self.classifier = model

        def call(self, inputs):
            outputs = []
            state = mx.zeros(shape=(inputs.shape[0], self.units))
            for t in range(inputs.shape[1]):
                x = inputs[:, t, :]
                h = self.projection_1(x)
                y = h + self.projection_2(state)
                state = y
                outputs.append(y)
            features = mx.stack(outputs, axis=1)
            print(features.shape)
            return self.classifier(features)

    rnn_model = CustomRNN()
    out = rnn_model(mx.zeros((1, timesteps, input_dim)))
    assert capsys.readouterr().out.strip() == "(1, 10, 32)"
    assert out.shape == (1, 1)
    assert rnn_model.count_params() == (5 * 32 + 32) + (32 * 32 + 32) + 33

    class CustomRNN2(layers.Layer):
        def __init__(self):
            super(CustomRNN2, self).__init__()
            self.units = units
            self.projection_1 = layers.Dense(units=units, activation="tanh")
            self.projection_2 = layers.Dense(units=units, activation="tanh")
            self.classifier = layers.Dense(1, activation="sigmoid")

        def call(self, inputs):
            outputs = []
            state = mx.zeros(shape=(inputs.shape[0], self.units))
            for t in range(inputs.shape[1]):
                x = inputs[:, t, :]
                h = self.projection_1(x)
                y = h + self.projection_2(state)
                state = y
                outputs.append(y)
            features = mx.stack(outputs, axis=1)
            return self.classifier(features)

    inputs = keras.Input(batch_shape=(batch_size, timesteps, input_dim))
    x = layers.Conv1D(32, 3)(inputs)
    outputs = CustomRNN2()(x)
    model = keras.Model(inputs, outputs)
    assert outputs.shape == (16, 8, 1)
    y = model(np.random.rand(16, 10, 5).astype("float32"))
    assert y.shape == (16, 8, 1) and _finite(y)
    rnn_model = CustomRNN2()
    assert rnn_model(mx.zeros((1, 10, 5))).shape == (1, 10, 1)


def test_toy_resnet_with_keras_layout_weights_matches_numpy():
    """Weights given in Keras' layouts and order reproduce Keras' formulas."""
    from numpy_reference import conv2d, dense, max_pool2d, relu, softmax

    model = toy_resnet()
    rng = np.random.default_rng(0)
    weights = [rng.normal(0, 0.1, w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)
    w = iter(weights)
    x = rng.random((2, 32, 32, 3)).astype("float32")

    def conv(v, padding="valid"):
        return relu(conv2d(v, next(w), next(w), padding))

    h = conv(conv(x))
    b1 = max_pool2d(h, 3)
    b2 = conv(conv(b1, "same"), "same") + b1
    b3 = conv(conv(b2, "same"), "same") + b2
    h = conv(b3).mean(axis=(1, 2))
    h = relu(dense(h, next(w), next(w)))  # Dropout is the identity at inference
    expected = softmax(dense(h, next(w), next(w)))
    np.testing.assert_allclose(np.array(model(x)), expected, rtol=1e-4, atol=1e-6)
