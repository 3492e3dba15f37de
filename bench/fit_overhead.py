"""fit() against a hand-written compiled MLX loop, in one process, alternating runs.

For the guide's MNIST MLP and toy ResNet (batch 64) it times one epoch of:
  - ``fit``: ``model.fit(x, y, batch_size=64, epochs=1, verbose=0)`` on MLX arrays,
    compiled with the loss only (the same work as the hand loop); reported beside
    it: with ``metrics=["accuracy"]`` (more work per step) and on numpy arrays
    (one host->MLX copy per fit call);
  - ``hand``: the best hand-written loop on the *same* model and optimizer:
    ``nn.value_and_grad`` + ``mx.compile`` capturing model, optimizer and
    random state (NOTES.md), data already on the device, ``mx.eval`` per step;
  - ``raw``: the same loop on an equivalent model written with ``mlx.nn`` only.
Each variant runs beside a hand-loop run, in a pair whose order flips each time; fit/hand
is the median of the pairs' ratios (machine noise hits a pair alike), the rates are medians. Every run starts from a fresh
model and optimizer built from the same seed: a long-trained optimizer state
fills with denormal floats, which the processor computes more slowly where they
are not flushed to zero (mlxfunctional flushes them on MLX's CPU threads, see
_denormals.py), so runs start from the same numbers to compare the code and not
the numbers.

    python bench/fit_overhead.py [--repeats 10] [--samples 12800] [--clock wall|cpu]
        [--models mlp,resnet]

With OpenBLAS on fewer threads than cores (``OPENBLAS_NUM_THREADS=1`` on 2 cores),
``fit`` builds each step while the previous one computes (``step_calls.overlaps_host_work``);
the hand loop, in the same process, runs on the same BLAS threads.
"""

import argparse
import statistics
import time
from functools import partial

import mlxfunctional as keras  # first: loads the fast BLAS before mlx.core
import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np

from mlxfunctional import layers

# --clock cpu: this process's CPU seconds (all its threads): other processes taking the
# cores disturb it much less than wall time (what a user waits, the default).
CLOCK = [time.perf_counter]


def mnist_mlp():
    inputs = keras.Input(shape=(784,), name="img")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="mnist_model")


def toy_resnet():
    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])
    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="toy_resnet")


class RawMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2, self.l3 = nn.Linear(784, 64), nn.Linear(64, 64), nn.Linear(64, 10)

    def __call__(self, x):
        return mx.softmax(self.l3(nn.relu(self.l2(nn.relu(self.l1(x))))), axis=-1)


class RawResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(3, 32, 3), nn.Conv2d(32, 64, 3)
        self.res = [nn.Conv2d(64, 64, 3, padding=1) for _ in range(4)]
        self.c3 = nn.Conv2d(64, 64, 3)
        self.d1, self.drop, self.d2 = nn.Linear(64, 256), nn.Dropout(0.5), nn.Linear(256, 10)

    def __call__(self, x):
        x = nn.relu(self.c2(nn.relu(self.c1(x))))
        n, h, w, c = x.shape  # MaxPooling2D(3) as reshape + max (the fast form)
        b1 = x[:, : h // 3 * 3, : w // 3 * 3].reshape(n, h // 3, 3, w // 3, 3, c).max(axis=(2, 4))
        b2 = nn.relu(self.res[1](nn.relu(self.res[0](b1)))) + b1
        b3 = nn.relu(self.res[3](nn.relu(self.res[2](b2)))) + b2
        x = nn.relu(self.c3(b3)).mean(axis=(1, 2))
        return mx.softmax(self.d2(self.drop(nn.relu(self.d1(x)))), axis=-1)


def crossentropy(probs, y):
    # The loss fit() computes, written by hand: Keras' sparse categorical crossentropy
    # on probabilities (renormalized over the classes, clipped), so both loops do the
    # same work per step.
    p = mx.clip(probs / mx.sum(probs, axis=-1, keepdims=True), 1e-7, 1 - 1e-7)
    return -mx.mean(mx.take_along_axis(mx.log(p), y[:, None], axis=-1))


def hand_loop(model, x, y, batch_size):
    """One epoch of the best hand-written loop; returns seconds."""
    opt = optim.RMSprop(learning_rate=1e-3, alpha=0.9, eps=1e-7)
    opt.init(model.trainable_parameters())
    state = [model.state, opt.state, mx.random.state]
    keras_model = isinstance(model, keras.Model)

    def loss_fn(xb, yb):
        return crossentropy(model(xb, training=True) if keras_model else model(xb), yb)

    @partial(mx.compile, inputs=state, outputs=state)
    def step(xb, yb):
        loss, grads = nn.value_and_grad(model, loss_fn)(xb, yb)
        opt.update(model, grads)
        return loss

    n = x.shape[0]
    step(x[:batch_size], y[:batch_size])  # trace (kernels are cached) outside the timing
    mx.eval(state)
    start = CLOCK[0]()
    perm = mx.random.permutation(n)
    for i in range(0, n, batch_size):
        idx = perm[i: i + batch_size]
        step(x[idx], y[idx])
        mx.eval(state)
    return CLOCK[0]() - start


def fit_epoch(model, x, y, batch_size, metrics=None):
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=metrics)
    # Trace outside the timing, on the same arrays: the compiled step gathers each
    # batch from the whole data set, so the data set's shape is part of its signature.
    model.fit(x, y, batch_size=batch_size, steps_per_epoch=1, verbose=0)
    start = CLOCK[0]()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    return CLOCK[0]() - start


def fresh(build, seed=0):
    mx.random.seed(seed)
    return build()


def bench(name, build, raw_build, shape, samples, batch_size, repeats):
    rng = np.random.default_rng(0)
    x_np = rng.random((samples,) + shape, dtype=np.float32)
    y_np = rng.integers(0, 10, samples).astype(np.int32)
    x, y = mx.array(x_np), mx.array(y_np)
    runs = {
        "fit": lambda: fit_epoch(fresh(build), x, y, batch_size),
        "fit_acc": lambda: fit_epoch(fresh(build), x, y, batch_size, ["accuracy"]),
        "fit_np": lambda: fit_epoch(fresh(build), x_np, y_np, batch_size),
        "hand": lambda: hand_loop(fresh(build), x, y, batch_size),
        "raw": lambda: hand_loop(fresh(raw_build), x, y, batch_size),
    }
    # Each variant runs right beside a hand-loop run, in a pair whose order flips each time,
    # and is compared with that run only: this machine's speed drifts by up to 2x within
    # seconds, and a pair spans well under a second for the MLP (measured: with the five
    # variants in a turning order, fit/hand moved 0.89-1.03 between invocations).
    times = {k: [] for k in runs}
    ratios = {k: [] for k in runs if k != "hand"}
    order = list(ratios)
    for r in range(repeats):
        for k in order[r % len(order):] + order[:r % len(order)]:
            # Which runs first flips with each repeat, for every variant: a run right after
            # the other variant's is slower (measured ~5% for the MLP, either way round).
            pair = ("hand", k) if (r + order.index(k)) % 2 == 0 else (k, "hand")
            took = {v: runs[v]() for v in pair}
            for v in pair:
                times[v].append(took[v])
            ratios[k].append(took["hand"] / took[k])
    rate = {k: samples / statistics.median(v) for k, v in times.items()}

    def vs_hand(k):  # the median of the pairs' own ratios
        return statistics.median(ratios[k])

    print(f"{name}: samples/s, median of {repeats}; fit/hand: median of {repeats} pairs' ratios")
    print(f"  fit, loss only            {rate['fit']:>9,.0f}   fit/hand {vs_hand('fit'):.3f}"
          f"   fit/raw {rate['fit'] / rate['raw']:.3f}")
    print(f"  fit, + accuracy metric    {rate['fit_acc']:>9,.0f}   fit/hand {vs_hand('fit_acc'):.3f}")
    print(f"  fit, numpy input          {rate['fit_np']:>9,.0f}   fit/hand {vs_hand('fit_np'):.3f}")
    print(f"  hand loop, same model     {rate['hand']:>9,.0f}")
    print(f"  hand loop, raw mlx.nn     {rate['raw']:>9,.0f}")
    return rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--samples", type=int, default=12_800)
    parser.add_argument("--resnet-samples", type=int, default=640)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--models", default="mlp,resnet",
                        help="comma-separated: mlp, resnet (default both)")
    args = parser.parse_args()
    CLOCK[0] = time.process_time if args.clock == "cpu" else time.perf_counter
    mx.random.seed(0)
    from mlxfunctional import _blas

    from mlxfunctional.engine.step_calls import overlaps_host_work

    threads = dict(_blas.kernels()).get("BLAS kernel (MLX)", "")
    print(f"BLAS: {_blas.describe()}, {threads.split(' (from')[0] or 'threads unknown'}; "
          f"fit's steps overlap host work: {'yes' if overlaps_host_work() else 'no'}; "
          f"batch 64; {args.repeats} alternating runs each; {args.clock} clock")
    models = args.models.split(",")
    if "mlp" in models:
        bench("mnist_mlp", mnist_mlp, RawMLP, (784,), args.samples, 64, args.repeats)
    if "resnet" in models:
        bench("toy_resnet", toy_resnet, RawResNet, (32, 32, 3), args.resnet_samples, 64,
              args.repeats)


if __name__ == "__main__":
    main()
