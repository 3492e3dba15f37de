"""Guide §6: models are callable like layers (encoder + decoder, and an ensemble).

Builds an encoder (18,672 parameters) and a decoder (9,569), chains them by
calling them as layers into an autoencoder (28,241), then averages three small
models into an ensemble (387) and checks its output is the mean of theirs.
"""

import numpy as np

import mlxfunctional as keras
from mlxfunctional import layers

from _common import parser, plot, save_and_reload


def build_autoencoder():
    encoder_input = keras.Input(shape=(28, 28, 1), name="original_img")
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    encoder.summary()

    decoder_input = keras.Input(shape=(16,), name="encoded_img")
    x = layers.Reshape((4, 4, 1))(decoder_input)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)
    decoder = keras.Model(decoder_input, decoder_output, name="decoder")
    decoder.summary()

    autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
    encoded_img = encoder(autoencoder_input)
    decoded_img = decoder(encoded_img)
    autoencoder = keras.Model(autoencoder_input, decoded_img, name="autoencoder")
    autoencoder.summary()
    return encoder, decoder, autoencoder


def get_model():
    inputs = keras.Input(shape=(128,))
    outputs = layers.Dense(1, activation="sigmoid")(inputs)
    return keras.Model(inputs, outputs)


def build_ensemble():
    model1, model2, model3 = get_model(), get_model(), get_model()
    inputs = keras.Input(shape=(128,))
    y1 = model1(inputs)
    y2 = model2(inputs)
    y3 = model3(inputs)
    outputs = layers.average([y1, y2, y3])
    ensemble_model = keras.Model(inputs=inputs, outputs=outputs)
    return ensemble_model, (model1, model2, model3)


def main(argv=None):
    args = parser(__doc__, save=True).parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    encoder, decoder, autoencoder = build_autoencoder()
    plot(autoencoder, args.plot, expand_nested=True)
    img = rng.random((2, 28, 28, 1)).astype("float32")
    chained = np.asarray(decoder(encoder(img)))
    print("autoencoder(img) == decoder(encoder(img)):",
          bool(np.allclose(np.asarray(autoencoder(img)), chained, rtol=1e-5, atol=1e-6)))

    ensemble_model, members = build_ensemble()
    ensemble_model.summary()
    x = rng.random((4, 128)).astype("float32")
    mean = sum(np.asarray(m(x)) for m in members) / 3
    print("ensemble output == mean of its 3 models:",
          bool(np.allclose(np.asarray(ensemble_model(x)), mean, rtol=1e-5)))
    if args.save:
        save_and_reload(autoencoder, args.save, img)


if __name__ == "__main__":
    main()
