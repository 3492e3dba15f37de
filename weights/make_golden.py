"""Regenerates the golden files of model-file format version 1.

    .venv/bin/python weights/make_golden.py

writes, beside this script:
- ``mnist_mlp_v1.mlxf``: the guide's MNIST MLP (§2-3: 784-64-64-10, 55,050
  parameters, RMSprop, sparse categorical crossentropy, accuracy), trained
  one epoch (batch 64, seed 0, no shuffling) on the first 2,000 images of the
  bundled real MNIST sample;
- ``mnist_mlp_v1_expected.npz``: ``x`` (16 sample images, 784 float32 in
  [0, 1]) and ``predictions`` (that model's softmax outputs for them).

``tests/test_saving_golden.py`` loads these files with every later version
of mlxfunctional: a file written in format version 1 must keep loading and
predicting the same. So this script is for format version 1 only -- do not
re-run it to "fix" a failing golden test (that would hide the regression the
test exists to catch). A new format version gets its own script and files
(``..._v2``) next to these.
"""

import os

import numpy as np

import mlxfunctional as keras
from mlxfunctional import layers
from mlxfunctional.datasets import mnist

HERE = os.path.dirname(os.path.abspath(__file__))


def build_model():
    inputs = keras.Input(shape=(784,), name="img")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")


def main():
    keras.utils.set_random_seed(0)
    (x, y) = mnist.load_sample()
    x = x.reshape(len(x), 784).astype("float32") / 255
    model = build_model()
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
    model.fit(x[:2000], y[:2000], batch_size=64, epochs=1, shuffle=False, verbose=0)
    model.save(os.path.join(HERE, "mnist_mlp_v1.mlxf"))
    sample = x[8000:8016]
    np.savez(os.path.join(HERE, "mnist_mlp_v1_expected.npz"), x=sample,
             predictions=model.predict(sample, verbose=0))
    print("wrote mnist_mlp_v1.mlxf and mnist_mlp_v1_expected.npz")


if __name__ == "__main__":
    main()
