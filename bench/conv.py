"""Conv1D/2D/3D on the CPU: our shifted-GEMM formulation vs MLX's own conv (vs PyTorch).

For each case it times, in this one process and alternating the implementations:
  - ``fwd``: the convolution alone (``mx.eval`` of the output);
  - ``fwd+grad``: the output and both gradients (input and kernel) of
    ``sum(conv(x, w) * ct)``, i.e. what a training step pays for the layer;
for ``shifted`` (``conv_shifted.set_policy("shifted")``; for a depthwise conv, the
shifted multiply-add of ``conv_depthwise``), ``hybrid`` (MLX's forward,
the shifted gradient), ``mlx`` (``mx.conv_general``) and ``torch`` (``torch.nn.functional.conv{1,2,3}d`` with
autograd, channels-first, when torch is importable). The choice the layers make
(``conv_shifted.choose``, the rule) is printed per case; ``ours/torch`` compares it. Every call goes
through ``conv_utils.convolve``, the function the Conv layers call, with Keras'
padding strings.

Ratios ``mlx/shifted`` > 1 mean ours is faster. Each figure is the fastest of two
alternating rounds of ``--repeats`` timed runs (after one warm-up each): on a shared
machine the fastest run is the least disturbed; the figures stay noisy.

    python bench/conv.py [--repeats 3] [--only 2d] [--clock cpu] [--compile]
"""

import argparse
import time

# --clock cpu: this process's CPU seconds (all its threads), which other processes
# taking the cores disturb much less than wall time; wall is what a user waits.
CLOCK = [time.perf_counter]
COMPILE = [False]  # --compile: every MLX function through mx.compile (fuses elementwise chains)

import mlxfunctional  # noqa: F401  first: loads the fast BLAS before mlx.core
import mlx.core as mx
import numpy as np

from mlxfunctional.compute import conv_depthwise, conv_shifted, conv_utils

# (name, input shape (channels last), filters, kernel, stride, dilation, padding, groups)
CASES = [
    ("1d s1", (32, 512, 64), 128, 3, 1, 1, "same"),
    ("1d s2", (32, 512, 64), 128, 3, 2, 1, "same"),
    ("1d d2", (32, 512, 64), 128, 3, 1, 2, "same"),
    ("2d s1 toy-resnet 30x30x32->64", (64, 30, 30, 32), 64, 3, 1, 1, "valid"),
    ("2d s1 9x9x64->64", (64, 9, 9, 64), 64, 3, 1, 1, "same"),
    ("2d s2 14x14x256->512", (16, 14, 14, 256), 512, 3, 2, 1, "same"),
    # an image's first layer, strided: hybrid, its kernel gradient one GEMM for all taps
    ("2d s2 32x32x3->32", (64, 32, 32, 3), 32, 3, 2, 1, "same"),
    ("2d d2 30x30x32->64", (16, 30, 30, 32), 64, 3, 1, 2, "same"),
    ("2d g2 30x30x32->64", (16, 30, 30, 32), 64, 3, 1, 1, "same", 2),
    ("2d g2 9x9x64->64", (64, 9, 9, 64), 64, 3, 1, 1, "same", 2),
    # depthwise (groups == channels; DepthwiseConv*, SeparableConv*): ours is the shifted
    # multiply-add of conv_depthwise (no GEMM), under every policy but "mlx"
    ("dw 2d s1 56x56x32", (16, 56, 56, 32), 32, 3, 1, 1, "same", 32),
    ("dw 2d s2 56x56x32", (16, 56, 56, 32), 32, 3, 2, 1, "same", 32),
    ("dw 2d s1 14x14x128", (16, 14, 14, 128), 128, 3, 1, 1, "same", 128),
    ("dw 2d s1 7x7x512", (16, 7, 7, 512), 512, 3, 1, 1, "same", 512),
    ("dw 2d d2 28x28x32", (16, 28, 28, 32), 32, 3, 1, 2, "same", 32),
    ("dw 2d m2 28x28x32->64", (16, 28, 28, 32), 64, 3, 1, 1, "same", 32),
    ("dw 1d s1 256x64 k5", (16, 256, 64), 64, 5, 1, 1, "same", 64),
    ("3d s1 16^3x16->32", (4, 16, 16, 16, 16), 32, 3, 1, 1, "same"),
    ("3d s2 16^3x16->32", (4, 16, 16, 16, 16), 32, 3, 2, 1, "same"),
    # transposed (Conv*Transpose): the rule's formulation vs MLX's; torch not compared
    ("T 1d s2 64x32->16", (8, 64, 32), 16, 4, 2, 1, "same"),
    ("T 2d s2 14x14x256->128", (16, 14, 14, 256), 128, 3, 2, 1, "same"),
    ("T 2d s1 28x28x64->32", (16, 28, 28, 64), 32, 3, 1, 1, "same"),
]


def _timed(fn, repeats):
    mx.eval(fn())  # warm-up
    times = []
    for _ in range(repeats):
        t = CLOCK[0]()
        mx.eval(fn())
        times.append(CLOCK[0]() - t)
    return min(times)  # on a busy machine the fastest run is the least disturbed one


def _mlx_fns(x, w, ct, stride, dilation, padding, groups, policy, transposed=False):
    def conv(x, w):
        previous = conv_shifted.set_policy(policy)
        try:
            if transposed:  # w is (filters, *k, in) as the Conv*Transpose layers store it
                return conv_utils.transpose_convolve(x, w, stride, padding, None, dilation)
            return conv_utils.convolve(x, w, stride, padding, dilation, groups)
        finally:
            conv_shifted.set_policy(previous)

    grad = mx.value_and_grad(lambda x, w: (conv(x, w) * ct).sum(), argnums=(0, 1))
    if COMPILE[0]:  # the policy is set inside conv, so the trace records it
        conv, grad = mx.compile(conv), mx.compile(grad)
    return (lambda: conv(x, w)), (lambda: grad(x, w))


def _torch_fns(torch, xn, wn, ctn, stride, dilation, padding, groups):
    rank = xn.ndim - 2
    conv = getattr(torch.nn.functional, f"conv{rank}d")
    # channels-first; "same" at stride 2 is asymmetric in Keras, so pad explicitly.
    pads = conv_utils.explicit_pads(xn.shape[1:-1], wn.shape[1:-1], padding, stride, dilation)
    flat = [v for lo, hi in reversed(list(zip(*pads))) for v in (lo, hi)]
    x = torch.tensor(np.moveaxis(xn, -1, 1).copy(), requires_grad=True)
    w = torch.tensor(np.moveaxis(wn, -1, 1).copy(), requires_grad=True)
    ct = torch.tensor(np.moveaxis(ctn, -1, 1).copy())

    def fwd():
        with torch.no_grad():
            return conv(torch.nn.functional.pad(x, flat), w, stride=stride, dilation=dilation,
                        groups=groups)

    def both():
        x.grad = w.grad = None
        y = conv(torch.nn.functional.pad(x, flat), w, stride=stride, dilation=dilation,
                        groups=groups)
        (y * ct).sum().backward()
        return x.grad, w.grad

    return fwd, both


def _torch_timed(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t = CLOCK[0]()
        fn()
        times.append(CLOCK[0]() - t)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--compile", action="store_true",
                        help="mx.compile the MLX functions (as a compiled training step does)")
    args = parser.parse_args()
    CLOCK[0] = time.process_time if args.clock == "cpu" else time.perf_counter
    COMPILE[0] = args.compile
    try:
        import torch
        torch.set_num_threads(2)
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    print(f"mlx {mx.__version__}, device {mx.default_device()}, torch "
          f"{torch.__version__ if torch else 'not importable'}; "
          f"{'compiled' if args.compile else 'eager'}; seconds, fastest of 2 "
          f"rounds x {args.repeats}; ratios > 1: shifted faster")
    for name, shape, filters, k, s, d, padding, *groups in CASES:
        if args.only not in name:
            continue
        groups = groups[0] if groups else 1
        rank = len(shape) - 2
        stride, dilation = (s,) * rank, (d,) * rank
        xn = rng.standard_normal(shape).astype(np.float32)
        wn = (rng.standard_normal((filters,) + (k,) * rank + (shape[-1] // groups,)) * 0.05
              ).astype(np.float32)
        x, w = mx.array(xn), mx.array(wn)
        transposed = name.startswith("T ")
        depthwise = groups == shape[-1] > 1
        ctn = np.asarray(_mlx_fns(x, w, None, stride, dilation, padding, groups, "auto",
                                  transposed)[0]())
        ctn = rng.standard_normal(ctn.shape).astype(np.float32)
        ct = mx.array(ctn)
        fns = {p: _mlx_fns(x, w, ct, stride, dilation, padding, groups, p, transposed)
               for p in (("shifted", "mlx") if transposed or depthwise
                         else ("shifted", "hybrid", "mlx"))}
        res = {p: [[], []] for p in fns}
        if torch is not None and not transposed:
            fns["torch"] = _torch_fns(torch, xn, wn, ctn, stride, dilation, padding, groups)
            res["torch"] = [[], []]
        for _ in range(2):  # alternate the implementations, twice
            for p, (fwd, both) in fns.items():
                timer = _torch_timed if p == "torch" else _timed
                res[p][0].append(timer(fwd, args.repeats))
                res[p][1].append(timer(both, args.repeats))
        med = {p: [min(v[0]), min(v[1])] for p, v in res.items()}
        if transposed or depthwise:
            chosen = (conv_shifted.choose_transpose(shape, stride, dilation) if transposed
                      else conv_depthwise.choose(shape, filters // groups))
            rule = "shifted" if chosen else "mlx"
            med["hybrid"] = med["shifted"]  # a transposed or depthwise conv has no hybrid
        else:
            rule = conv_shifted.choose(shape, w.shape, stride, dilation, groups)
        line = (f"{name:32s} rule={rule:7s} "
                f"fwd shifted {med['shifted'][0]:.4f} mlx {med['mlx'][0]:.4f} "
                f"(x{med['mlx'][0] / med['shifted'][0]:.2f}) | "
                f"fwd+grad shifted {med['shifted'][1]:.4f} mlx {med['mlx'][1]:.4f} "
                f"(x{med['mlx'][1] / med['shifted'][1]:.2f}) hybrid {med['hybrid'][1]:.4f} "
                f"(x{med['mlx'][1] / med['hybrid'][1]:.2f}) | "
                f"grad/fwd shifted {med['shifted'][1] / med['shifted'][0]:.1f} "
                f"mlx {med['mlx'][1] / med['mlx'][0]:.1f}")
        if "torch" in med:
            line += (f" | torch fwd {med['torch'][0]:.4f} fwd+grad {med['torch'][1]:.4f} "
                     f"(ours/torch x{med['torch'][1] / med[rule][1]:.2f})")
        print(line, flush=True)


if __name__ == "__main__":
    main()
