"""What bounds-checking ids and labels costs fit(), in one process, alternating runs.

Two models, batch 64, one epoch each run, compiled with
``sparse_categorical_crossentropy`` and ``metrics=["accuracy"]``:
  - a text classifier: ``Embedding(10000, 64)`` on 32 ids -> mean over time ->
    ``Dense(10)``: every id and label passes ``engine/index_bounds.py``;
  - the guide's MNIST MLP: labels only.
Each is timed ``checked`` (as shipped: clamp + mask + the tally every step
captures) and ``unchecked``: ``bounded`` and ``checked`` replaced by a bare
int32 cast and the tally left out of the step's state -- MLX's raw, unsafe
gather, the baseline.
Runs alternate (checked, unchecked, ...) from the same seed; the medians and
the ratio checked/unchecked are printed.

    python bench/index_bounds.py [--repeats 5] [--samples 12800]
"""

import argparse
import contextlib
import statistics
import time

import mlxfunctional as keras  # first: loads the fast BLAS before mlx.core
import mlx.core as mx
import numpy as np

from mlxfunctional import layers
from mlxfunctional.engine import index_bounds, step_methods


def text_model():
    inputs = keras.Input((32,), dtype="int32", name="ids")
    x = layers.Embedding(10000, 64)(inputs)
    x = layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


def mnist_mlp():
    inputs = keras.Input((784,), name="img")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


@contextlib.contextmanager
def unchecked():
    """MLX's raw gather: no clamp, no mask, no tally (unsafe: the baseline only)."""
    saved = index_bounds.bounded, index_bounds.checked, step_methods.StepMethods._step_state

    def bare(indices, size, *args, **kwargs):
        return indices.astype(mx.int32), None

    def without_tally(self, mode):
        return [part for part in saved[2](self, mode) if part is not index_bounds.TALLY]

    index_bounds.bounded = index_bounds.checked = bare
    step_methods.StepMethods._step_state = without_tally
    try:
        yield
    finally:
        index_bounds.bounded, index_bounds.checked, step_methods.StepMethods._step_state = saved


def one_run(make, x, y, checked):
    keras.utils.set_random_seed(0)
    with contextlib.nullcontext() if checked else unchecked():
        model = make()
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x[:64], y[:64], batch_size=64, epochs=1, verbose=0)  # trace + JIT
        start = time.perf_counter()
        model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)
        return len(x) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=12800)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.samples
    cases = {
        "text (Embedding + labels)": (text_model, mx.array(rng.integers(0, 10000, (n, 32)),
                                                           dtype=mx.int32)),
        "MNIST MLP (labels)": (mnist_mlp, mx.array(rng.random((n, 784), np.float32))),
    }
    y = mx.array(rng.integers(0, 10, n), dtype=mx.int32)
    print(f"device {mx.default_device()}, {n} samples, batch 64, {args.repeats} repeats")
    for name, (make, x) in cases.items():
        runs = {True: [], False: []}
        for _ in range(args.repeats):
            for checked in (True, False):
                runs[checked].append(one_run(make, x, y, checked))
        ok, raw = statistics.median(runs[True]), statistics.median(runs[False])
        print(f"{name}: checked {ok:,.0f} samples/s, unchecked {raw:,.0f} samples/s, "
              f"ratio {ok / raw:.3f}")


if __name__ == "__main__":
    main()
