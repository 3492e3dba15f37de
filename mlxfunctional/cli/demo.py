"""``mlxf demo``: the guide's MNIST model, end to end, offline.

Builds the model of the guide's §2 (55,050 parameters), prints its summary,
draws it, trains it with RMSprop on the first 8,000 bundled real MNIST images
(``validation_split=0.2``) with the progress bar, evaluates it on the last
2,000, saves it, reloads the file and checks that the reloaded model predicts
exactly the same, then lists the files it wrote.
"""

import os

from .errors import EXIT_FAILURE, CLIError


def add_parser(sub):
    """Adds ``demo`` to ``sub`` (an argparse subparsers action)."""
    p = sub.add_parser("demo", help="train, draw, save and reload the guide's MNIST model",
                       description=__doc__.strip().splitlines()[0])
    p.add_argument("--out", default="mlxf-demo", help="where to write the files "
                   "(default ./mlxf-demo)")
    p.add_argument("--epochs", type=int, default=5, help="default 5, as in the guide")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run_demo)


def build_model():
    """The guide's §2 model: 784 -> Dense 64 relu -> Dense 64 relu -> Dense 10 softmax."""
    import mlxfunctional as keras
    from mlxfunctional import layers

    inputs = keras.Input(shape=(784,), name="img")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")


def _draw(model, out):
    """Writes model.png and model.svg; returns their paths, or [] saying why not."""
    from ..utils.plot import plot_model

    written = []
    for name in ("model.png", "model.svg"):
        path = os.path.join(out, name)
        try:
            plot_model(model, to_file=path, show_shapes=True)
        except ImportError as e:  # GraphvizNotFoundError: the message says how to install
            print(f"Drawing skipped: {e}")
            return written
        written.append(path)
    print("Drawing written to", " and ".join(written))
    return written


def run_demo(args):
    import numpy as np

    import mlxfunctional as keras
    from mlxfunctional.datasets import mnist

    out = args.out
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise CLIError(f"cannot create the output folder {out!r}: {e}", EXIT_FAILURE) from None

    keras.utils.set_random_seed(args.seed)
    model = build_model()
    model.summary()
    files = _draw(model, out)

    (x_train, y_train), (x_test, y_test) = mnist.load_data(sample=True)
    x_train = x_train.reshape(-1, 784).astype("float32") / 255
    x_test = x_test.reshape(-1, 784).astype("float32") / 255
    print(f"\nTraining on the bundled real MNIST images: {len(x_train):,} "
          f"(20% of them for validation), testing on the other {len(x_test):,}.")
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.RMSprop(),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
              validation_split=0.2)
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    print("Test loss:", test_loss)
    print("Test accuracy:", test_accuracy)

    path = os.path.join(out, "mnist_model.mlxf")
    model.save(path)
    files.append(path)
    reloaded = keras.models.load_model(path)
    before = np.asarray(model.predict(x_test, verbose=0))
    after = np.asarray(reloaded.predict(x_test, verbose=0))
    if not np.array_equal(before, after):
        raise CLIError(f"the model reloaded from {path} predicts differently (max "
                       f"difference {np.abs(before - after).max():g})", EXIT_FAILURE)
    print(f"Saved {path} and reloaded it: identical predictions on "
          f"{len(x_test):,} test images.")

    print("\nFiles written:")
    for f in files:
        print(f"  {os.path.abspath(f)}")
    print(f"Next: mlxf summary {path} | mlxf plot {path} -o model.svg | "
          f"mlxf predict {path} INPUT.npy")
