"""predict/evaluate/fit on numpy arrays against the same calls on MLX arrays.

The guide's MNIST MLP (784-64-64-10). For each of predict (batch 1024),
evaluate (batch 1024) and fit (batch 64, one epoch), the same call is timed on
numpy input and on MLX input, alternating in one process; medians and the ratio
numpy/MLX (speed, 1.0 = no cost for numpy input) are printed. The MLX arrays
are made (and evaluated) before timing, so the ratio is the whole price a user
pays for handing numpy to the model.

    python bench/input_path.py [--repeats 7] [--samples 10000]
"""

import argparse
import statistics
import time

import mlxfunctional as keras  # first: loads the fast BLAS before mlx.core
import mlx.core as mx
import numpy as np

from mlxfunctional import layers


def mnist_mlp():
    inputs = keras.Input(shape=(784,), name="img")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="mnist_model")
    model.compile(optimizer=keras.optimizers.RMSprop(),
                  loss="sparse_categorical_crossentropy")
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--samples", type=int, default=10_000)
    p.add_argument("--which", nargs="+", default=["predict", "evaluate", "fit"])
    args = p.parse_args()
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((args.samples, 784), dtype=np.float32)
    y_np = rng.integers(0, 10, size=args.samples).astype(np.int32)
    x_mx, y_mx = mx.array(x_np), mx.array(y_np)
    mx.eval(x_mx, y_mx)
    model = mnist_mlp()
    calls = {
        "predict": lambda x, y: model.predict(x, batch_size=1024, verbose=0),
        "evaluate": lambda x, y: model.evaluate(x, y, batch_size=1024, verbose=0),
        "fit": lambda x, y: model.fit(x, y, batch_size=64, epochs=1, verbose=0),
    }
    print(f"{args.samples} samples, {args.repeats} alternating repeats; samples/s medians")
    for name in args.which:
        call = calls[name]
        for data in ((x_np, y_np), (x_mx, y_mx)):  # warm-up: compile both signatures
            call(*data)
        times = {"numpy": [], "mlx": []}
        cpu = {"numpy": [], "mlx": []}
        for _ in range(args.repeats):
            for kind, data in (("numpy", (x_np, y_np)), ("mlx", (x_mx, y_mx))):
                t0, c0 = time.perf_counter(), time.process_time()
                out = call(*data)
                if isinstance(out, mx.array):
                    mx.eval(out)
                times[kind].append(time.perf_counter() - t0)
                cpu[kind].append(time.process_time() - c0)
        rate = {k: args.samples / statistics.median(v) for k, v in times.items()}
        # CPU seconds of this process (all threads): less moved by other work on a
        # shared machine than wall time, so both ratios are printed.
        per_cpu = {k: args.samples / statistics.median(v) for k, v in cpu.items()}
        print(f"{name:9s} numpy {rate['numpy']:>11,.0f}  mlx {rate['mlx']:>11,.0f}  "
              f"numpy/mlx {rate['numpy'] / rate['mlx']:.2f}x  "
              f"[min-max numpy {args.samples / max(times['numpy']):,.0f}-"
              f"{args.samples / min(times['numpy']):,.0f}, mlx "
              f"{args.samples / max(times['mlx']):,.0f}-{args.samples / min(times['mlx']):,.0f}]  "
              f"per CPU-second numpy/mlx {per_cpu['numpy'] / per_cpu['mlx']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
