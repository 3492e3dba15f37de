"""The guide's toy ResNet training step with MLX's own convolutions vs the per-shape rule
(``conv_shifted.choose``), in one process, alternating; then where the step's time
goes, layer by layer.

Step: ``fit`` on MLX arrays (batch 64, RMSprop, compiled), one model per policy built
from the same weights; each timed epoch runs ``--steps`` steps after a warm-up epoch
(which compiles). Policies alternate (mlx, auto, mlx, ...) ``--rounds`` times; the
medians and their ratio are printed.

Floor (``--floor N``): each Conv2D of the step, compiled, as the rule runs it (forward,
and the gradients the step needs: the kernel's, and the input's except for the first
layer) against the GEMMs an im2col formulation would run if its copies were free (the
forward's ``(rows, taps*in) @ (taps*in, out)``, the input gradient as the transposed
conv's ``(input rows, taps*out) @ (taps*out, in)``, the kernel gradient's ``(taps*in,
rows) @ (rows, out)``), N alternating rounds, medians. The GEMMs alone bound what any
formulation built from MLX's CPU ops (whose matrix products are OpenBLAS's) can reach.

Profile (``--profile``): each layer of the model alone, eager, on a random batch of
its input shape: forward, and forward plus the gradients with respect to its input and
its weights (what backpropagation asks of it), best of ``--repeats``; sorted by cost.
A shared machine makes every figure noisy.

VGG19 (``--vgg19 N``): predict of a batch of 4 (random weights), mlx vs auto, N
alternating rounds after a compiling one; images/s and the largest output difference.

    python bench/conv_resnet.py [--rounds 3] [--steps 10] [--profile] [--vgg19 2]
        [--floor 5] [--clock cpu]
"""

import argparse
import math
import statistics
import sys
import time

# --clock cpu: this process's CPU seconds (all its threads), which other processes
# taking the cores disturb much less than wall time; wall is what a user waits.
CLOCK = [time.perf_counter]
from pathlib import Path

import mlxfunctional as keras  # first: loads the fast BLAS before mlx.core
import mlx.core as mx
import mlx.nn as nn
import numpy as np

from mlxfunctional.compute import conv_shifted

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_overhead import toy_resnet  # noqa: E402  the guide's model, as fit_overhead uses


def _model(policy, weights=None):
    previous = conv_shifted.set_policy(policy)
    try:
        model = toy_resnet()
        if weights is not None:
            model.set_weights(weights)
        model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                      loss="sparse_categorical_crossentropy")
    finally:
        conv_shifted.set_policy(previous)
    return model


def _epoch(model, policy, x, y):
    previous = conv_shifted.set_policy(policy)  # the first (compiling) call traces with it
    try:
        t = CLOCK[0]()
        model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)
        return CLOCK[0]() - t
    finally:
        conv_shifted.set_policy(previous)


def step_times(rounds, steps):
    rng = np.random.default_rng(0)
    x = mx.array(rng.random((64 * steps, 32, 32, 3), dtype=np.float32))
    y = mx.array(rng.integers(0, 10, 64 * steps))
    keras.utils.set_random_seed(0)
    models = {"mlx": _model("mlx")}
    models["auto"] = _model("auto", models["mlx"].get_weights())
    for policy, model in models.items():
        _epoch(model, policy, x, y)  # compile
    times = {p: [] for p in models}
    for _ in range(rounds):
        for policy, model in models.items():
            times[policy].append(_epoch(model, policy, x, y) / steps)
    med = {p: statistics.median(v) for p, v in times.items()}
    print("toy ResNet train step, batch 64 (ms/step; runs): " + "; ".join(
        f"{p}: {1e3 * med[p]:.0f} ({', '.join(f'{1e3 * v:.0f}' for v in times[p])})"
        for p in times) + f"; mlx/auto x{med['mlx'] / med['auto']:.2f}", flush=True)


def vgg19_forward(rounds, batch=4):
    """VGG19 (random weights) predict on one batch, policy mlx vs auto, alternating."""
    from mlxfunctional import applications
    x = mx.array(np.random.default_rng(0).random((batch, 224, 224, 3), dtype=np.float32))
    keras.utils.set_random_seed(0)
    models, times, outs = {}, {"mlx": [], "auto": []}, {}
    for policy in times:
        models[policy] = applications.VGG19(weights=None)
        if policy != "mlx":
            models[policy].set_weights(models["mlx"].get_weights())
    for i in range(rounds + 1):
        for policy, model in models.items():
            previous = conv_shifted.set_policy(policy)
            try:
                t = CLOCK[0]()
                outs[policy] = np.array(model.predict(x, batch_size=batch, verbose=0))
                if i:  # the first round compiles
                    times[policy].append(batch / (CLOCK[0]() - t))
            finally:
                conv_shifted.set_policy(previous)
    med = {p: statistics.median(v) for p, v in times.items()}
    diff = float(np.abs(outs["mlx"] - outs["auto"]).max())
    print(f"VGG19 forward, batch {batch} (images/s; runs): " + "; ".join(
        f"{p}: {med[p]:.2f} ({', '.join(f'{v:.2f}' for v in times[p])})" for p in times)
        + f"; auto/mlx x{med['auto'] / med['mlx']:.2f}; max |prob diff| {diff:.1e}", flush=True)


def _best(fn, repeats):
    mx.eval(fn())
    best = float("inf")
    for _ in range(repeats):
        t = CLOCK[0]()
        mx.eval(fn())
        best = min(best, CLOCK[0]() - t)
    return best


def profile(repeats, policies):
    """Per layer, fwd and fwd+grad under each policy (alternating per layer)."""
    model = toy_resnet()
    rng = np.random.default_rng(1)
    rows = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        shapes = layer.input if isinstance(layer.input, list) else [layer.input]
        xs = [mx.array(rng.standard_normal((64,) + tuple(s.shape[1:])).astype(np.float32))
              for s in shapes]
        arg = xs if len(xs) > 1 else xs[0]
        out = layer(arg)
        ct = mx.array(rng.standard_normal(out.shape).astype(np.float32))
        params = layer.trainable_parameters()

        def loss(params, xs, layer=layer, ct=ct):
            layer.update(params)
            return (layer(xs if len(xs) > 1 else xs[0], training=True) * ct).sum()

        cells = []
        for policy in policies:
            previous = conv_shifted.set_policy(policy)
            try:
                grad = mx.grad(loss, argnums=(0, 1))
                cells.append((_best(lambda: layer(arg), repeats),
                              _best(lambda: grad(params, xs), repeats)))
            finally:
                conv_shifted.set_policy(previous)
        rows.append((cells, layer.name, type(layer).__name__, tuple(xs[0].shape),
                     tuple(out.shape)))
    print(f"per layer, eager, batch 64 (ms, best of {repeats}; fwd / fwd+grad of input and "
          f"weights), policies {', '.join(policies)}:")
    for i, policy in enumerate(policies):
        total = sum(r[0][i][1] for r in rows)
        print(f"  sum of fwd+grad under {policy}: {1e3 * total:.0f} ms")
    for cells, name, kind, shape_in, shape_out in sorted(rows, key=lambda r: -r[0][-1][1]):
        print(f"  {name:22s} {kind:22s} {str(shape_in):18s}->{str(shape_out):18s} " + "  ".join(
            f"{p} {1e3 * f:6.1f}/{1e3 * b:6.1f}" for p, (f, b) in zip(policies, cells)))


def floor(rounds):
    """Per Conv2D of the toy ResNet: the rule's convolution (forward; the gradients
    the step needs) against the GEMMs of an im2col formulation with free copies."""
    from mlxfunctional.compute import conv_utils
    model, rng = toy_resnet(), np.random.default_rng(2)
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    rows = []
    for i, layer in enumerate(convs):
        shape = (64,) + tuple(layer.input.shape[1:])
        k, cin, cout = layer.kernel_size, shape[-1], layer.filters
        x = mx.array(rng.standard_normal(shape).astype(np.float32))
        w = mx.array(rng.standard_normal((cout, *k, cin)).astype(np.float32) * 0.05)

        def conv(x, w, layer=layer):
            return conv_utils.convolve(x, w, layer.strides, layer.padding, layer.dilation_rate, 1)

        out = conv(x, w)
        ct = mx.array(rng.standard_normal(out.shape).astype(np.float32))
        wrt = (1,) if i == 0 else (0, 1)  # the first layer's input needs no gradient
        grad = mx.compile(mx.grad(lambda x, w, ct=ct, conv=conv: (conv(x, w) * ct).sum(),
                                  argnums=wrt))
        taps, m, m_in = math.prod(k), math.prod(out.shape[:-1]), math.prod(shape[:-1])
        a, b = (mx.array(rng.standard_normal(s).astype(np.float32))
                for s in ((m, taps * cin), (taps * cin, cout)))
        dy, dcols = (mx.array(rng.standard_normal(s).astype(np.float32))
                     for s in ((m, cout), (m_in, taps * cout)))
        wt = mx.array(rng.standard_normal((taps * cout, cin)).astype(np.float32))
        fns = {"conv fwd": (mx.compile(conv), (x, w)), "conv grads": (grad, (x, w)),
               "gemm fwd": (lambda: a @ b, ()), "gemm dw": (lambda: a.T @ dy, ())}
        if i:
            fns["gemm dx"] = (lambda: dcols @ wt, ())
        times = {name: [] for name in fns}
        for _ in range(rounds):
            for name, (fn, args) in fns.items():
                times[name].append(_best(lambda fn=fn, args=args: fn(*args), 1))
        med = {name: statistics.median(v) for name, v in times.items()}
        rows.append((f"{shape[1]}x{shape[2]}x{cin}->{cout} {layer.padding}", med))
    print(f"conv floor, batch 64 (ms, compiled, medians of {rounds} rounds): the rule's "
          "conv vs the GEMMs of an im2col formulation with free copies")
    totals = [0.0, 0.0, 0.0, 0.0]
    for name, med in rows:
        fwd, grads = med["conv fwd"], med["conv grads"]
        g_fwd, g_grads = med["gemm fwd"], med["gemm dw"] + med.get("gemm dx", 0.0)
        for j, v in enumerate((fwd, grads, g_fwd, g_grads)):
            totals[j] += v
        print(f"  {name:26s} fwd {1e3 * fwd:7.2f} (GEMM {1e3 * g_fwd:7.2f}, x{fwd / g_fwd:.2f})"
              f"  grads {1e3 * grads:7.2f} (GEMMs {1e3 * g_grads:7.2f}, x{grads / g_grads:.2f})")
    print(f"  all {len(rows)} convs: fwd+grads {1e3 * (totals[0] + totals[1]):.1f} ms, "
          f"their GEMMs {1e3 * (totals[2] + totals[3]):.1f} ms "
          f"(x{(totals[0] + totals[1]) / (totals[2] + totals[3]):.2f})", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--vgg19", type=int, default=0, help="rounds of VGG19 forward")
    parser.add_argument("--floor", type=int, default=0,
                        help="rounds of the conv-vs-GEMM floor comparison")
    parser.add_argument("--policies", default="mlx,shifted,hybrid,auto",
                        help="formulations the profile compares (the last sorts)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = parser.parse_args()
    CLOCK[0] = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.rounds:
        step_times(args.rounds, args.steps)
    if args.vgg19:
        vgg19_forward(args.vgg19)
    if args.floor:
        floor(args.floor)
    if args.profile:
        profile(args.repeats, args.policies.split(","))


if __name__ == "__main__":
    main()
