"""Guide §5: one graph of layers, two models (an encoder and an autoencoder).

Builds the guide's encoder (18,672 parameters) and the autoencoder sharing its
layers (28,241), prints both summaries, then trains the autoencoder to
reconstruct bundled MNIST images and shows that the encoder, which shares its
layers, changed with it.
"""

import numpy as np

import mlxfunctional as keras
from mlxfunctional import layers
from mlxfunctional.datasets import mnist

from _common import parser, plot, save_and_reload


def build_models():
    encoder_input = keras.Input(shape=(28, 28, 1), name="img")
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")

    x = layers.Reshape((4, 4, 1))(encoder_output)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)
    autoencoder = keras.Model(encoder_input, decoder_output, name="autoencoder")
    return encoder, autoencoder


def main(argv=None):
    p = parser(__doc__, epochs=1, batch_size=32, save=True)
    p.add_argument("--samples", type=int, default=256,
                   help="bundled MNIST images to train on (default 256)")
    args = p.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    encoder, autoencoder = build_models()
    encoder.summary()
    autoencoder.summary()
    plot(autoencoder, args.plot)

    x, _ = mnist.load_sample()
    x = x[:args.samples, :, :, None].astype("float32") / 255
    code_before = np.asarray(encoder.predict(x[:8], verbose=0))
    autoencoder.compile(optimizer="adam", loss="mse")
    autoencoder.fit(x, x, batch_size=args.batch_size, epochs=args.epochs)
    code_after = np.asarray(encoder.predict(x[:8], verbose=0))
    # The encoder is the first half of the autoencoder's graph: training one trains both.
    print("Encoder output shape:", code_after.shape)
    print("Encoder changed by training the autoencoder:",
          bool(np.abs(code_after - code_before).max() > 0))
    if args.save:
        save_and_reload(autoencoder, args.save, x[:64])


if __name__ == "__main__":
    main()
