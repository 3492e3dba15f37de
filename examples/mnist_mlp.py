"""Guide §2-3: the MNIST MLP, defined with the functional API and trained on real data.

Builds the guide's model (55,050 parameters), prints its summary, trains it
with RMSprop on 8,000 of the bundled real MNIST images (validation_split=0.2)
and evaluates it on the other 2,000.
"""

import argparse

import mlxfunctional as keras
from mlxfunctional import layers
from mlxfunctional.datasets import mnist


def build_model():
    inputs = keras.Input(shape=(784,), name="img")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    model = build_model()
    model.summary()

    (x, y) = mnist.load_sample()
    x = x.reshape(len(x), 784).astype("float32") / 255
    x_train, y_train, x_test, y_test = x[:8000], y[:8000], x[8000:], y[8000:]

    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.RMSprop(),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
              validation_split=0.2)
    test_scores = model.evaluate(x_test, y_test, verbose=0)
    print("Test loss:", test_scores[0])
    print("Test accuracy:", test_scores[1])


if __name__ == "__main__":
    main()
