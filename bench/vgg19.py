"""VGG19 in mlxfunctional against a hand-written compiled MLX VGG19, in one process.

Prints:
  - the time to build ``applications.VGG19(weights=None)`` (the lazy shape trace;
    nothing is evaluated), median over several builds with ``clear_session()``
    between, and the same for ``include_top=False, input_shape=(None, None, 3)``;
  - forward throughput (images/s) on one random float32 batch of:
      ``predict``: ``model.predict(x, batch_size=B, verbose=0)`` (compiled step,
                   numpy output);
      ``call``:    ``mx.eval(model(x))`` (the graph walked eagerly, not compiled);
      ``hand``:    a VGG19 written with ``mlx.nn`` only (``Conv2d(padding=1)``,
                   ``relu``, ``MaxPool2d(2, 2)``, ``Linear``) holding the *same*
                   weights, run through ``mx.compile`` as a user would write it.
    The outputs are checked against each other first (``classifier_activation=None``,
    so logits). Each method gets one warm-up (trace + compile + run, timed and
    printed apart), then runs alternate (predict, call, hand, predict, ...) so
    machine noise hits all alike; the medians and the ratios
    mlxfunctional/hand-written are printed.

One batch-8 224x224 forward takes ~7 s on a 2-core CPU with OpenBLAS, so the
default run takes about 2 minutes. ``--quick`` (batch 2, 64x64, no top, 1 repeat)
is a smoke run of a few seconds.

    python bench/vgg19.py [--repeats 3] [--batch-size 8] [--image-size 224] [--quick]
"""

import argparse
import os
import platform
import statistics
import sys
import time
from functools import partial

import mlxfunctional as keras  # first: loads the fast BLAS before mlx.core
import mlx.core as mx
import mlx.nn as nn
import numpy as np

from mlxfunctional import _blas, backend
from mlxfunctional.applications import VGG19

# (convolutions per block, filters), as in mlxfunctional/applications/vgg19.py
BLOCKS = ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))
TOP = ("fc1", "fc2", "predictions")


class HandVGG19(nn.Module):
    """VGG19 with mlx.nn layers only (channels-last, like the Keras model)."""

    def __init__(self, include_top=True, classes=1000):
        super().__init__()
        self.blocks = []
        cin = 3
        for convs, filters in BLOCKS:
            block = []
            for _ in range(convs):
                block.append(nn.Conv2d(cin, filters, 3, padding=1))
                cin = filters
            self.blocks.append(block)
        self.pool = nn.MaxPool2d(2, 2)
        self.include_top = include_top
        if include_top:
            self.fc1 = nn.Linear(7 * 7 * 512, 4096)
            self.fc2 = nn.Linear(4096, 4096)
            self.predictions = nn.Linear(4096, classes)

    def __call__(self, x):
        for block in self.blocks:
            for conv in block:
                x = nn.relu(conv(x))
            x = self.pool(x)
        if self.include_top:
            x = x.reshape(x.shape[0], -1)  # (H, W, C) order, as Keras' Flatten here
            x = nn.relu(self.fc1(x))
            x = nn.relu(self.fc2(x))
            x = self.predictions(x)
        return x


def copy_weights(model, hand):
    """Copies the mlxfunctional model's weights (Keras layouts) into ``hand``."""
    for b, block in enumerate(hand.blocks, start=1):
        for i, conv in enumerate(block, start=1):
            kernel, bias = model.get_layer(f"block{b}_conv{i}").get_weights()
            conv.weight = mx.array(kernel.transpose(3, 0, 1, 2))  # (kh,kw,in,out)->(out,kh,kw,in)
            conv.bias = mx.array(bias)
    if hand.include_top:
        for name in TOP:
            kernel, bias = model.get_layer(name).get_weights()
            linear = getattr(hand, name)
            linear.weight = mx.array(kernel.T)  # (in,out)->(out,in)
            linear.bias = mx.array(bias)
    mx.eval(hand.parameters())


def build_times(builds, **kwargs):
    """Seconds per build of VGG19(weights=None, **kwargs), clear_session() between."""
    times = []
    for _ in range(builds):
        backend.clear_session()
        start = time.perf_counter()
        model = VGG19(weights=None, **kwargs)
        times.append(time.perf_counter() - start)
        del model
    backend.clear_session()
    return times


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def forward(args):
    top = args.image_size == 224 and not args.no_top
    shape = (args.image_size, args.image_size, 3)
    backend.clear_session()
    mx.random.seed(0)
    if top:
        model = VGG19(weights=None, classifier_activation=None)
    else:
        model = VGG19(weights=None, include_top=False, input_shape=shape)
    hand = HandVGG19(include_top=top)
    copy_weights(model, hand)  # get_weights() evaluates the model's lazy initial weights
    hand_forward = partial(mx.compile, inputs=hand.state)(lambda x: hand(x))

    rng = np.random.default_rng(0)
    x = mx.array(rng.random((args.batch_size,) + shape, dtype=np.float32))
    mx.eval(x)
    batch = args.batch_size

    def call():
        out = model(x)
        mx.eval(out)
        return out

    def hand_call():
        out = hand_forward(x)
        mx.eval(out)
        return out

    runs = {
        "predict": lambda: model.predict(x, batch_size=batch, verbose=0),
        "call": call,
        "hand": hand_call,
    }

    print(f"forward: batch {batch}, {shape[0]}x{shape[1]}x3 float32 random input, "
          f"include_top={top}{', classifier_activation=None' if top else ''}; "
          f"1 warm-up + {args.repeats} alternating runs each")
    first, outputs = {}, {}
    for name, fn in runs.items():
        first[name], out = timed(fn)
        outputs[name] = np.asarray(out)
    print("  first call (trace + compile + run): "
          + ", ".join(f"{name} {t:.2f} s" for name, t in first.items()))

    ref = outputs["hand"]
    scale = float(np.abs(ref).max())
    diffs = {name: float(np.abs(outputs[name] - ref).max()) for name in ("predict", "call")}
    worst = max(diffs.values()) / scale if scale > 0 else float("inf")
    print(f"  check vs hand-written, output shape {ref.shape}: max |diff| "
          + ", ".join(f"{name} {d:.3g}" for name, d in diffs.items())
          + f"; output scale (max |out|) {scale:.3g}; relative {worst:.3g} "
          + ("< 1e-3: OK" if worst < 1e-3 else ">= 1e-3: MISMATCH"))
    if not worst < 1e-3:
        sys.exit("mlxfunctional's VGG19 and the hand-written one disagree")

    times = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, fn in runs.items():
            times[name].append(timed(fn)[0])
    median = {name: statistics.median(t) for name, t in times.items()}
    rate = {name: batch / t for name, t in median.items()}
    labels = {
        "predict": f"model.predict(x, batch_size={batch})",
        "call": "mx.eval(model(x))",
        "hand": "hand-written mlx.nn, mx.compile",
    }
    print(f"  images/s, median of {args.repeats}:")
    for name in runs:
        spread = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"    {labels[name]:<36} {rate[name]:>8.3f}   ({median[name]:.2f} s/batch; "
              f"runs {spread} s)")
    print(f"  ratio mlxfunctional/hand-written (images/s): predict "
          f"{rate['predict'] / rate['hand']:.3f}, call {rate['call'] / rate['hand']:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help="timed runs each (3)")
    parser.add_argument("--batch-size", type=int, default=None, help="images per batch (8)")
    parser.add_argument("--image-size", type=int, default=None,
                        help="input height and width (224; other sizes run without the top)")
    parser.add_argument("--no-top", action="store_true", help="include_top=False at 224 too")
    parser.add_argument("--builds", type=int, default=None, help="builds timed per variant (5)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: batch 2, 64x64, no top, 1 repeat, 3 builds")
    args = parser.parse_args()
    defaults = (dict(repeats=1, batch_size=2, image_size=64, builds=3) if args.quick
                else dict(repeats=3, batch_size=8, image_size=224, builds=5))
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)

    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, mlx {mx.__version__}, device {mx.default_device()}")
    print(f"BLAS: {_blas.describe()}; mlxfunctional {getattr(keras, '__version__', '?')}")

    for label, kwargs in (("VGG19(weights=None)", {}),
                          ("VGG19(weights=None, include_top=False, input_shape=(None, None, 3))",
                           dict(include_top=False, input_shape=(None, None, 3)))):
        t = build_times(args.builds, **kwargs)
        print(f"build {label}: {statistics.median(t) * 1e3:.1f} ms median of {args.builds} "
              f"(first {t[0] * 1e3:.1f} ms, min {min(t) * 1e3:.1f} ms)")
    forward(args)


if __name__ == "__main__":
    main()
