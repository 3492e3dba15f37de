"""Guide §2: the MNIST MLP, defined with the functional API and run on real data.

Builds the guide's model, prints its summary (55,050 parameters) and runs it
forward on the bundled real MNIST test images. Training arrives with fit().
"""

import argparse
import time

import mlx.core as mx
import numpy as np

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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    mx.random.seed(args.seed)
    model = build_model()
    model.summary()

    x, y = mnist.load_sample()
    x = x.reshape(len(x), 784).astype("float32") / 255
    start = time.perf_counter()
    probs = []
    for i in range(0, len(x), args.batch_size):
        probs.append(np.array(model(x[i: i + args.batch_size])))
    probs = np.concatenate(probs)
    seconds = time.perf_counter() - start
    print(f"Forward pass on {len(x):,} real MNIST images: output {probs.shape}, "
          f"{len(x) / seconds:,.0f} images/s")
    print(f"Rows sum to 1 (softmax): {np.allclose(probs.sum(axis=1), 1, atol=1e-5)}")
    print(f"Accuracy before training (chance is ~10%): {(probs.argmax(1) == y).mean():.1%}")


if __name__ == "__main__":
    main()
