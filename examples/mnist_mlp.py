"""Guide §2-4: the MNIST MLP, defined with the functional API and trained on real data.

Builds the guide's model (55,050 parameters), prints its summary, trains it
with RMSprop on 8,000 of the bundled real MNIST images (validation_split=0.2)
and evaluates it on the other 2,000. ``--plot PATH`` draws it (§2),
``--save PATH`` saves it to a ``.mlxf`` file, reloads it and checks that the
reloaded model predicts exactly the same (§4).
"""

import mlxfunctional as keras
from mlxfunctional import layers
from mlxfunctional.datasets import mnist

from _common import parser, plot, save_and_reload


def build_model():
    inputs = keras.Input(shape=(784,), name="img")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")


def load_data():
    """The bundled sample: first 8,000 images to train, last 2,000 to test."""
    (x_train, y_train), (x_test, y_test) = mnist.load_data(sample=True)
    return ((x_train.reshape(-1, 784).astype("float32") / 255, y_train),
            (x_test.reshape(-1, 784).astype("float32") / 255, y_test))


def main(argv=None):
    args = parser(__doc__, epochs=5, batch_size=64, save=True).parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    model = build_model()
    model.summary()
    plot(model, args.plot)

    (x_train, y_train), (x_test, y_test) = load_data()
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.RMSprop(),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
              validation_split=0.2)
    test_scores = model.evaluate(x_test, y_test, verbose=0)
    print("Test loss:", test_scores[0])
    print("Test accuracy:", test_scores[1])
    if args.save:
        save_and_reload(model, args.save, x_test)


if __name__ == "__main__":
    main()
