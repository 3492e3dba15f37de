"""predict/evaluate/fit on numpy arrays against the same calls on MLX arrays.

The guide's MNIST MLP (784-64-64-10). For each of predict (batch 1024),
evaluate (batch 1024) and fit (batch 64, one epoch), the same call is timed on
numpy input and on MLX input, alternating in one process; medians and the ratio
numpy/MLX (speed, 1.0 = no cost for numpy input) are printed. The MLX arrays
are made (and evaluated) before timing, so the ratio is the whole price a user
pays for handing numpy to the model. predict is also timed without reading
batch i + 1 while MLX computes batch i and with it (``trainer.READ_AHEAD``,
by default on a GPU only), the lever that overlaps conversion with compute.

    python bench/input_path.py [--repeats 7] [--samples 10000]
"""

import argparse
import statistics
import time

import mlxfunctional as keras  # first: loads the fast BLAS before mlx.core
import mlx.core as mx
import numpy as np

from mlxfunctional import layers
from mlxfunctional.engine import trainer


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

    def predict(x, y, read_ahead=None):
        trainer.READ_AHEAD = read_ahead  # the lever: read batch i + 1 while i computes
        try:
            return model.predict(x, batch_size=1024, verbose=0)
        finally:
            trainer.READ_AHEAD = None

    numpy_in, mlx_in = (x_np, y_np), (x_mx, y_mx)
    groups = {  # variants timed in turn; each is compared with the last (MLX input)
        "predict": [("numpy (default)", predict, numpy_in),
                    ("numpy, read-ahead", lambda x, y: predict(x, y, True), numpy_in),
                    ("numpy, no read-ahead", lambda x, y: predict(x, y, False), numpy_in),
                    ("mlx", predict, mlx_in)],
        "evaluate": [("numpy", lambda x, y: model.evaluate(x, y, batch_size=1024, verbose=0),
                      numpy_in),
                     ("mlx", lambda x, y: model.evaluate(x, y, batch_size=1024, verbose=0),
                      mlx_in)],
        "fit": [("numpy", lambda x, y: model.fit(x, y, batch_size=64, verbose=0), numpy_in),
                ("mlx", lambda x, y: model.fit(x, y, batch_size=64, verbose=0), mlx_in)],
    }
    print(f"{args.samples} samples, {args.repeats} alternating repeats; samples/s medians "
          "[min-max]; ratio to MLX input by wall time and by this process's CPU time "
          "(all threads; less moved by other work on a shared machine)")
    for name in args.which:
        variants = groups[name]
        for _, call, data in variants:  # warm-up: compile every signature
            call(*data)
        wall = [[] for _ in variants]
        cpu = [[] for _ in variants]
        for _ in range(args.repeats):
            for i, (_, call, data) in enumerate(variants):
                t0, c0 = time.perf_counter(), time.process_time()
                call(*data)
                wall[i].append(time.perf_counter() - t0)
                cpu[i].append(time.process_time() - c0)
        base_wall, base_cpu = statistics.median(wall[-1]), statistics.median(cpu[-1])
        for (label, _, _), w, c in zip(variants, wall, cpu):
            rate = args.samples / statistics.median(w)
            print(f"{name:8s} {label:22s} {rate:>11,.0f} [{args.samples / max(w):,.0f}-"
                  f"{args.samples / min(w):,.0f}]  vs mlx: wall "
                  f"{base_wall / statistics.median(w):.2f}x, CPU "
                  f"{base_cpu / statistics.median(c):.2f}x", flush=True)
    print(f"load average after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
