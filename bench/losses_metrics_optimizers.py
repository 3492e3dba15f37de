"""What the issue-14 losses, metrics and optimizers cost in fit(), against a baseline
run in the same process, alternating runs.

The guide's MNIST MLP (784-64-64-10, batch 64) on random data, one fit epoch per
run, each from a fresh model and optimizer built from the same seed:
  - ``baseline``: Adam, categorical crossentropy, no metrics;
  - ``+ metrics``: the same plus F1Score(average="macro"), OneHotMeanIoU(10),
    PrecisionAtRecall(0.5, class_id=0) and R2Score, updated inside the compiled step;
  - ``focal loss``: CategoricalFocalCrossentropy instead of crossentropy;
  - ``LossScaleOptimizer``: Adam wrapped in dynamic loss scaling (finite check,
    unscale, where-select of the update and of Adam's state);
  - ``Lamb`` / ``Adafactor`` / ``Muon`` instead of Adam.
Runs alternate (baseline, + metrics, ..., baseline, ...) so machine noise hits all
alike; the first epoch of each configuration (trace + JIT) is run once and not
timed. Prints each configuration's median samples/s and its ratio to the baseline.

    python bench/losses_metrics_optimizers.py [--repeats 5] [--samples 12800]
"""

import argparse
import statistics
import time

import mlxfunctional as keras  # first: loads the fast BLAS before mlx.core
import mlx.core as mx
import numpy as np

from mlxfunctional import layers, losses, metrics, optimizers


def mlp():
    inputs = keras.Input(shape=(784,))
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


CONFIGS = {
    "baseline": lambda: (optimizers.Adam(1e-3), losses.CategoricalCrossentropy(), []),
    "+ metrics": lambda: (optimizers.Adam(1e-3), losses.CategoricalCrossentropy(),
                          [metrics.F1Score(average="macro"), metrics.OneHotMeanIoU(10),
                           metrics.PrecisionAtRecall(0.5, class_id=0), metrics.R2Score()]),
    "focal loss": lambda: (optimizers.Adam(1e-3), losses.CategoricalFocalCrossentropy(), []),
    "LossScaleOptimizer": lambda: (optimizers.LossScaleOptimizer(optimizers.Adam(1e-3)),
                                   losses.CategoricalCrossentropy(), []),
    "Lamb": lambda: (optimizers.Lamb(1e-3), losses.CategoricalCrossentropy(), []),
    "Adafactor": lambda: (optimizers.Adafactor(1e-3), losses.CategoricalCrossentropy(), []),
    "Muon": lambda: (optimizers.Muon(1e-3), losses.CategoricalCrossentropy(), []),
}


def fresh(config):
    keras.utils.set_random_seed(0)
    model = mlp()
    optimizer, loss, ms = CONFIGS[config]()
    model.compile(optimizer=optimizer, loss=loss, metrics=ms)
    return model


def epoch_seconds(model, x, y):
    start = time.perf_counter()
    model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=12800)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = mx.array(rng.random((args.samples, 784), dtype=np.float32))
    y = mx.array(np.eye(10, dtype=np.float32)[rng.integers(0, 10, args.samples)])
    for config in CONFIGS:  # trace and JIT-compile every step once, untimed
        epoch_seconds(fresh(config), x[:640], y[:640])
    times = {config: [] for config in CONFIGS}
    for _ in range(args.repeats):
        for config in CONFIGS:
            times[config].append(epoch_seconds(fresh(config), x, y))
    base = args.samples / statistics.median(times["baseline"])
    print(f"MNIST MLP, batch 64, {args.samples} samples, median of {args.repeats} epochs")
    for config, secs in times.items():
        rate = args.samples / statistics.median(secs)
        print(f"  {config:20s} {rate:10,.0f} samples/s   x{rate / base:.2f} of baseline")


if __name__ == "__main__":
    main()
