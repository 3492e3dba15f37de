"""Guide §7.2: a toy ResNet (residual connections) for CIFAR-10-shaped images.

Builds the guide's model (223,242 parameters) and trains it with RMSprop and
categorical crossentropy. By default the data are random images of CIFAR-10's
shape (32x32x3, 10 classes), so it runs offline in seconds and the accuracy is
chance; ``--cifar10`` uses ``mlxfunctional.datasets.cifar10.load_data()``
(a download, cached).
"""

import numpy as np

import mlxfunctional as keras
from mlxfunctional import layers

from _common import parser, plot, save_and_reload


def build_model():
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


def load_data(use_cifar10, samples, rng):
    """``(x_train, y_train)`` as float32 images in [0, 1] and int labels."""
    if use_cifar10:
        from mlxfunctional.datasets import cifar10

        (x_train, y_train), _ = cifar10.load_data()
        return x_train[:samples].astype("float32") / 255.0, y_train[:samples]
    print(f"Training on {samples} random CIFAR-10-shaped images (pass --cifar10 for "
          "the real data): the accuracy will be chance.")
    x = rng.random((samples, 32, 32, 3)).astype("float32")
    y = rng.integers(10, size=(samples, 1))
    return x, y


def main(argv=None):
    p = parser(__doc__, epochs=1, batch_size=64, save=True)
    p.add_argument("--samples", type=int, default=320,
                   help="training images, 20%% held out for validation (default 320)")
    p.add_argument("--cifar10", action="store_true", help="train on real CIFAR-10")
    args = p.parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    model = build_model()
    model.summary()
    plot(model, args.plot)

    x_train, y_train = load_data(args.cifar10, args.samples, rng)
    y_train = keras.utils.to_categorical(y_train, 10)
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss="categorical_crossentropy",
                  metrics=["acc"])
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
              validation_split=0.2)
    if args.save:
        save_and_reload(model, args.save, x_train[:16])


if __name__ == "__main__":
    main()
