"""What augmentation costs inside the compiled training step.

The MNIST CNN of tests/test_augmentation_model.py (x/255, Conv2D(8, 3),
MaxPooling2D, Dense(10); batch 64, 28x28x1 images) is trained with ``fit`` in
three forms, in this process, alternating so machine noise hits all alike:

  - ``plain``: no augmentation (the baseline);
  - ``flip+rotate``: RandomFlip("horizontal") + RandomRotation(0.05), the layers
    of the keras.io image examples, drawn inside the compiled step;
  - ``rand_augment``: RandAugment(num_ops=2, factor=0.3) (every one of its eleven
    candidate operations runs, ``mx.where`` keeps the drawn one).

Each run: one epoch to trace and compile (dropped), then ``--epochs`` timed epochs
over ``--samples`` images; a run's figure is its median epoch. Prints samples/s per
form and the ratio to ``plain``, and the load average (other processes skew the
figures: rerun on an idle machine).

    python bench/augmentation.py [--samples 4096] [--epochs 3] [--repeats 3]
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import mlxfunctional as keras  # noqa: E402
from mlxfunctional import layers  # noqa: E402


def _model(form):
    inputs = keras.Input(shape=(28, 28, 1))
    x = inputs / 255.0
    if form == "flip+rotate":
        x = layers.RandomFlip("horizontal", seed=1)(x)
        x = layers.RandomRotation(0.05, seed=2)(x)
    elif form == "rand_augment":
        x = layers.RandAugment(value_range=(0, 1), num_ops=2, factor=0.3, seed=3)(x)
    x = layers.Conv2D(8, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    outputs = layers.Dense(10, activation="softmax")(layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


class _EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def run(form, x, y, epochs):
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = _model(form)
    timer = _EpochTimer()
    timer.times = []
    model.fit(x, y, batch_size=64, epochs=1 + epochs, verbose=0, callbacks=[timer])
    return len(x) / statistics.median(timer.times[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    (x, y), _ = keras.datasets.mnist.load_data(sample=True)
    x = x[:args.samples, ..., None].astype("float32")
    y = y[:args.samples].astype("int32")
    forms = ("plain", "flip+rotate", "rand_augment")
    results = {f: [] for f in forms}
    for _ in range(args.repeats):
        for form in forms:
            results[form].append(run(form, x, y, args.epochs))
    base = statistics.median(results["plain"])
    for form in forms:
        rate = statistics.median(results[form])
        print(f"{form:>13}: {rate:9.0f} samples/s  ratio to plain {rate / base:.2f}  "
              f"(runs: {', '.join(f'{r:.0f}' for r in results[form])})")
    print(f"load average: {', '.join(f'{v:.1f}' for v in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
