"""Depthwise convolution as a shifted multiply-add, for MLX's CPU backend.

A depthwise convolution (one group per input channel: ``DepthwiseConv*``,
``SeparableConv*``, ``Conv*(groups=channels)``) has no GEMM in it: output channel
``c * m + j`` is ``sum_t x[i*s + t*d, c] * w[c, j, t]``. MLX runs it as a grouped
convolution, which its CPU backend computes with naive loops. Here instead, on the
flattened phases of the padded input (``conv_shifted.PhaseLayout``: tap ``t`` reads a
contiguous row slice), the output is ``sum_t phase_t[o_t:o_t + L] * w_t``: one
broadcast multiply-add per tap, and its gradients (``mx.custom_function``) the same
kind of sums:

* input: ``dphase[q] = sum_t dY[q - o_t] * w_t`` (summed over the multiplier ``j``);
* kernel: ``dw_t = sum_r phase_t[r + o_t] * dY[r]`` (a reduction over the rows).

Measured (``bench/conv.py --only dw``, mlx 0.32.4, 2-core AMD EPYC, CPU seconds of the
process) against ``mx.conv_general(groups=channels)``: see :func:`choose`.
"""

import mlx.core as mx

from . import conv_shifted


def choose(input_shape, multiplier):
    """Whether a depthwise convolution runs as the shifted multiply-add: on the CPU,
    always (unless ``conv_shifted.set_policy`` forces ``"mlx"``); elsewhere MLX's own.
    The shapes are arguments for a shape rule should another machine need one.

    Measured with ``bench/conv.py --only dw --clock cpu`` (CPU seconds, 2 shared cores,
    mlx 0.32.4; 7 shapes: stride 1 and 2, dilated, multiplier 1 and 2, 1D, maps 7x7 to
    56x56) against ``mx.conv_general(groups=channels)``: compiled (as a training step
    runs), forward 2.0-3.9x and forward+gradients 1.3-5.7x faster; eager, forward+
    gradients 1.8-5.1x and forward 2.2-4.1x (one eager 56x56x32 forward run tied:
    the eager chain allocates a full-size array per tap). No shape was found where
    MLX's (naive-loop) grouped convolution is faster. PyTorch's specialised depthwise
    kernels stay ahead (ours/torch 0.12-0.79 forward+gradients, except dilated: 1.15-1.47).
    """
    mode = conv_shifted.policy()
    if mode != "auto":
        return mode != "mlx"
    return mx.default_device().type == mx.DeviceType.cpu


def depthwise_conv(inputs, kernel, strides, padding, dilation):
    """Channel ``c`` of ``inputs`` (channels last) convolved with ``kernel[c]`` of shape
    ``(multiplier, *kernel_size)``: output channel ``c * multiplier + j``. ``padding`` is
    ``([lo...], [hi...])``. Equal to ``mx.conv_general(inputs, reshape(kernel, (c * m,
    *k, 1)), stride, padding, kernel_dilation, groups=c)``."""
    channels, multiplier = kernel.shape[:2]
    layout = conv_shifted.PhaseLayout(inputs.shape, kernel.shape[2:], strides, padding,
                                      dilation)
    y = _shifted_mac(layout.split(inputs), kernel, layout.taps, layout.length)
    return layout.crop(y)


def _tap_weights(kernel):
    """``(c, m, *k)`` -> ``(taps, c, m)``: tap t's per-channel factors."""
    channels, multiplier = kernel.shape[:2]
    return mx.transpose(mx.reshape(kernel, (channels, multiplier, -1)), (2, 0, 1))


def _shifted_mac(phases, kernel, taps, length):
    """The wide output ``(length, c * m)``: ``sum_t phases[p_t, o_t:o_t + length] * w_t``."""
    channels, multiplier = kernel.shape[:2]

    def times(a, w):  # (rows, c) x (c, m) -> (rows, c * m), channel-major as Keras orders
        if multiplier == 1:
            return a * w[:, 0]
        return mx.reshape(a[:, :, None] * w, (a.shape[0], channels * multiplier))

    @mx.custom_function
    def f(phases, kernel):
        wt = _tap_weights(kernel)
        y = None
        for t, (p, off) in enumerate(taps):
            term = times(phases[p, off:off + length], wt[t])
            y = term if y is None else y + term
        return y

    @f.vjp
    def f_vjp(primals, cotangent, output):
        phases, kernel = primals
        n_phases, rows, _ = phases.shape
        span = max(off for _, off in taps)
        wt = _tap_weights(kernel)
        # With one kernel per channel everything stays 2-D (rows, c): no broadcast axis.
        dy = cotangent if multiplier == 1 else mx.reshape(cotangent,
                                                           (length, channels, multiplier))
        # dphase[q] = sum over the phase's taps of dy[q - off] . w_t (over j): dy framed by
        # `span` zero rows in front and the uncovered rows behind, read at shifted slices.
        framed = mx.pad(dy, [(span, rows - length)] + [(0, 0)] * (dy.ndim - 1))
        grads = [None] * n_phases
        for t, (p, off) in enumerate(taps):
            a = framed[span - off:span - off + rows]
            term = a * (wt[t][:, 0] if multiplier == 1 else wt[t])
            grads[p] = term if grads[p] is None else grads[p] + term
        # The sum over j once per phase, not per tap: a reduction over a short last axis is
        # slow (multiplier 2, 16x28x28x32, compiled forward+gradients 88 -> 62 ms CPU).
        grads = [mx.zeros((rows, channels), dtype=cotangent.dtype) if g is None
                 else g if multiplier == 1 else g.sum(-1) for g in grads]
        dphases = mx.stack(grads) if n_phases > 1 else grads[0][None]
        # dw_t[c, j] = sum_r phase_t[r + o_t, c] * dy[r, c, j]
        reads = [phases[p, off:off + length] for p, off in taps]
        if multiplier == 1:
            dw = mx.stack([(a * dy).sum(0) for a in reads])[..., None]  # (taps, c, 1)
        else:  # dy as (m, rows, c) once: each tap reduces (m, rows, c) over the rows
            # (16x30x30x32, m=2: 4.9 against 8.6 ms CPU for (rows, c, m) summed over rows)
            dy_m = mx.contiguous(mx.moveaxis(dy, 2, 0))
            dw = mx.stack([mx.transpose((a * dy_m).sum(1)) for a in reads])  # (taps, c, m)
        dw = mx.transpose(dw, (1, 2, 0))
        return dphases, mx.reshape(dw, kernel.shape)

    return f(phases, kernel)
