"""One transformer block's training step: fit() against a hand-written compiled MLX
version of the same block, in one process, alternating runs (issue 14).

The block (batch 32, sequence 128, d_model 256, 4 heads of 64, feed-forward 1024):
``x + MHA(x, x)`` -> LayerNorm -> ``+ Dense(1024, relu) -> Dense(256)`` -> LayerNorm,
mean squared error against a target sequence, Adam (bias-corrected, eps 1e-7, as
Keras). No dropout: both sides then do the same arithmetic.

  - ``fit``: the block as a functional model (MultiHeadAttention, LayerNormalization,
    Dense), ``model.fit(x, y, batch_size=32, epochs=1, verbose=0)`` on MLX arrays;
  - ``hand``: an ``mlx.nn`` module written directly (``nn.Linear`` projections,
    ``mx.fast.scaled_dot_product_attention``, ``nn.LayerNorm``), ``nn.value_and_grad``
    + ``mx.compile`` capturing model, optimizer and random state, ``mlx.optimizers.Adam``,
    data already on the device, ``mx.eval`` per step.

Each run starts from fresh weights and optimizer (see bench/fit_overhead.py for why).
Prints the medians (wall clock and process CPU time) and the best runs, and the ratio
hand_time / fit_time (>= 0.95: fit costs at most about 5% more than the hand-written
step). On a shared machine single runs vary by +-10%: run it several times.

    python bench/transformer_block.py [--repeats 5] [--steps 10]
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
from mlx.utils import tree_flatten

from mlxfunctional import layers

BATCH, SEQ, D_MODEL, HEADS, FF = 32, 128, 256, 4, 1024


def keras_block():
    inputs = keras.Input(shape=(SEQ, D_MODEL))
    attn = layers.MultiHeadAttention(num_heads=HEADS, key_dim=D_MODEL // HEADS)(inputs, inputs)
    x = layers.LayerNormalization()(inputs + attn)
    ffn = layers.Dense(FF, activation="relu")(x)
    ffn = layers.Dense(D_MODEL)(ffn)
    outputs = layers.LayerNormalization()(x + ffn)
    return keras.Model(inputs, outputs)


class HandBlock(nn.Module):
    """The same block in plain MLX."""

    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(D_MODEL, D_MODEL) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(D_MODEL, eps=1e-3), nn.LayerNorm(D_MODEL, eps=1e-3)
        self.ff1, self.ff2 = nn.Linear(D_MODEL, FF), nn.Linear(FF, D_MODEL)

    def __call__(self, x):
        b, t, _ = x.shape

        def heads(y):
            return y.reshape(b, t, HEADS, -1).transpose(0, 2, 1, 3)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        a = mx.fast.scaled_dot_product_attention(q, k, v, scale=(D_MODEL // HEADS) ** -0.5)
        x = self.ln1(x + self.o(a.transpose(0, 2, 1, 3).reshape(b, t, -1)))
        return self.ln2(x + self.ff2(nn.relu(self.ff1(x))))


class Clock:
    """Wall-clock and process CPU seconds since it was made. On a shared machine the
    CPU time (all the process's threads) is the steadier of the two: it does not count
    the time other processes hold the cores."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self):
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def hand_loop(model, x, y):
    """One epoch of the hand-written compiled loop; returns (wall, cpu) seconds."""
    opt = optim.Adam(learning_rate=1e-3, eps=1e-7, bias_correction=True)
    opt.init(model.trainable_parameters())
    state = [model.state, opt.state, mx.random.state]

    def loss_fn(xb, yb):
        return mx.mean(mx.square(model(xb) - yb))

    @partial(mx.compile, inputs=state, outputs=state)
    def step(xb, yb):
        loss, grads = nn.value_and_grad(model, loss_fn)(xb, yb)
        opt.update(model, grads)
        return loss

    step(x[:BATCH], y[:BATCH])  # trace outside the timing
    mx.eval(state)
    clock = Clock()
    perm = mx.random.permutation(x.shape[0])
    for i in range(0, x.shape[0], BATCH):
        idx = perm[i: i + BATCH]
        step(x[idx], y[idx])
        mx.eval(state)
    return clock.read()


def fit_epoch(model, x, y):
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.fit(x, y, batch_size=BATCH, steps_per_epoch=1, verbose=0)  # trace
    clock = Clock()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    return clock.read()


def fresh(build, seed=0):
    mx.random.seed(seed)
    return build()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="training steps per run")
    args = parser.parse_args()
    from mlxfunctional import _blas

    rng = np.random.default_rng(0)
    n = BATCH * args.steps
    x = mx.array(rng.standard_normal((n, SEQ, D_MODEL), dtype=np.float32))
    y = mx.array(rng.standard_normal((n, SEQ, D_MODEL), dtype=np.float32))
    params = fresh(keras_block).count_params()
    hand_params = sum(v.size for _, v in tree_flatten(HandBlock().parameters()))
    assert params == hand_params, (params, hand_params)
    times = {"fit": [], "hand": []}
    for _ in range(args.repeats):
        times["fit"].append(fit_epoch(fresh(keras_block), x, y))
        times["hand"].append(hand_loop(fresh(HandBlock), x, y))
    print(f"device: {mx.default_device()}; BLAS: {_blas.describe()}")
    print(f"transformer block, batch {BATCH}, seq {SEQ}, d_model {D_MODEL}, {HEADS} heads, "
          f"ff {FF}, {params:,} params; median of {args.repeats} alternating runs of "
          f"{args.steps} steps")
    # The median, and the best run (the least disturbed by other processes).
    for i, clock, pick in ((0, "wall", statistics.median), (1, "cpu", statistics.median),
                           (0, "best wall", min)):
        fit_s, hand_s = (pick(t[i] for t in times[k]) / args.steps for k in ("fit", "hand"))
        print(f"  {clock:9}: fit() {fit_s * 1e3:7.1f} ms/step, hand MLX {hand_s * 1e3:7.1f} "
              f"ms/step, ratio hand/fit {hand_s / fit_s:.3f}  (goal >= 0.95)")


if __name__ == "__main__":
    main()
