"""How STFTSpectrogram's framing + matmul compares with the strided convolution
Keras writes the same transform as (``ops.conv`` with the kernels, stride
``frame_step``), in this process, on the same weights.

Both forms compute the log magnitude of ``(batch, samples, channels)`` audio:

  - ``layer``: ``STFTSpectrogram`` itself (gather the frames, two matmuls);
  - ``conv``: ``mx.conv1d`` of each channel with the two kernels as filters
    (the baseline: what Keras' layer does).

Timed: a compiled forward pass, and a compiled forward + backward to the kernels
(the step of a trainable spectrogram). Each figure is the median of ``--repeats``
runs of ``--iters`` calls, the forms alternating so machine noise hits both alike.
Prints milliseconds per call and the layer / conv time ratio (< 1: the layer is
faster), and the load average. A first line times the framing alone: blocks of
``frame_step`` samples (``ops.extract_sequences``, which the layer uses) against
the gather of every index it replaced.

    python bench/spectrogram.py [--batch 8] [--samples 16000] [--iters 20] [--repeats 5]
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mlxfunctional import layers  # noqa: E402  (before mlx.core: it loads OpenBLAS)

import mlx.core as mx  # noqa: E402
import numpy as np  # noqa: E402


def _conv_form(real, imag, step):
    # Kernels (frame_length, 1, bins) -> MLX conv weights (bins, frame_length, 1).
    w = mx.concatenate([real, imag], axis=-1).transpose(2, 0, 1)
    bins = real.shape[-1]

    def run(x, w):
        batch, n, channels = x.shape
        signal = x.transpose(0, 2, 1).reshape(batch * channels, n, 1)
        out = mx.conv1d(signal, w, stride=step)  # (batch * channels, frames, 2 bins)
        re, im = out[..., :bins], out[..., bins:]
        mag = mx.log(mx.maximum(mx.sqrt(mx.maximum(re * re + im * im, 1e-7)), 1e-7))
        frames = mag.shape[1]
        return mag.reshape(batch, channels, frames, bins).transpose(0, 2, 1, 3).reshape(
            batch, frames, channels * bins)

    return run, w


def _time(fn, args, iters):
    mx.eval(fn(*args))  # compile
    start = time.perf_counter()
    for _ in range(iters):
        mx.eval(fn(*args))
    return (time.perf_counter() - start) / iters * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--samples", type=int, default=16000)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--frame-length", type=int, default=256)
    parser.add_argument("--frame-step", type=int, default=128)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    x = mx.array(np.random.default_rng(0).standard_normal(
        (args.batch, args.samples, args.channels)).astype(np.float32))
    layer = layers.STFTSpectrogram(mode="log", frame_length=args.frame_length,
                                   frame_step=args.frame_step)
    layer(x)
    real, imag = (mx.array(w) for w in layer.get_weights())
    conv, w = _conv_form(real, imag, args.frame_step)
    assert np.allclose(np.array(layer(x)), np.array(conv(x, w)), atol=1e-3)

    def layer_fwd(x):
        return layer(x)

    saved = layer.parameters()

    def layer_loss(params, x):
        layer.update(params)
        loss = mx.mean(layer(x))
        layer.update(saved)  # (leave no traced arrays in the layer)
        return loss

    def conv_loss(w, x):
        return mx.mean(conv(x, w))

    from mlxfunctional.ops.math_signal import extract_sequences

    def gather_frames(x):
        # The framing ops.extract_sequences used before: one gather of every index.
        count = (x.shape[-1] - args.frame_length) // args.frame_step + 1
        index = mx.arange(count)[:, None] * args.frame_step + mx.arange(args.frame_length)
        return x[..., index.astype(mx.int32)]

    signal = x.transpose(0, 2, 1)
    assert np.array_equal(np.array(gather_frames(signal)), np.array(extract_sequences(
        signal, args.frame_length, args.frame_step)))

    params = layer.trainable_parameters()
    forms = {
        "framing": (mx.compile(lambda s: extract_sequences(s, args.frame_length,
                                                           args.frame_step)), (signal,),
                    mx.compile(gather_frames), (signal,), ("blocks", "gather")),
        "forward": (mx.compile(layer_fwd), (x,), mx.compile(conv), (x, w), ("layer", "conv")),
        "forward+backward": (mx.compile(mx.grad(layer_loss)), (params, x),
                             mx.compile(mx.grad(conv_loss)), (w, x), ("layer", "conv")),
    }
    print(f"batch {args.batch}, {args.samples} samples x {args.channels} channel(s), "
          f"frame {args.frame_length} / step {args.frame_step}; load {os.getloadavg()[0]:.2f}")
    for name, (fn_a, args_a, fn_b, args_b, (a_name, b_name)) in forms.items():
        mine, theirs = [], []
        for _ in range(args.repeats):
            mine.append(_time(fn_a, args_a, args.iters))
            theirs.append(_time(fn_b, args_b, args.iters))
        a, b = statistics.median(mine), statistics.median(theirs)
        print(f"{name:>17}: {a_name} {a:8.2f} ms   {b_name} {b:8.2f} ms   "
              f"{a_name}/{b_name} {a / b:.2f}")


if __name__ == "__main__":
    main()
