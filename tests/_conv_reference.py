"""Independent numpy references for the convolution tests (test_layers_conv*.py),
Keras/TensorFlow semantics: a direct convolution over zero-padded inputs
(TensorFlow's "same" rule, written out here), the scatter-add definition of a
transposed convolution cropped as TensorFlow's conv2d_backprop_input does, and
per-channel depthwise convolutions; with the random inputs the tests share.

The tests draw their data from the one generator ``RNG`` below, in order: run in
file-name order the test_layers_conv*.py files see the same data as when they were
one file.
"""

import itertools

import numpy as np

from mlxfunctional import Input


RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def tup(v, rank):
    return (v,) * rank if isinstance(v, int) else tuple(v)


def ref_conv(x, kernel, strides=1, padding="valid", dilation=1, groups=1):
    """Direct convolution: y[o] = sum_j xpad[o*s + j*d] @ kernel[j] (per group)."""
    rank = x.ndim - 2
    ks, s, d = kernel.shape[:rank], tup(strides, rank), tup(dilation, rank)
    lo, out = [], []
    for n, k, si, di in zip(x.shape[1:-1], ks, s, d):
        span = (k - 1) * di + 1
        if padding == "valid":
            out.append((n - span) // si + 1)
            lo.append(0)
        elif padding == "causal":  # (k-1)*d zeros in front, then "valid"
            out.append((n + span - 1 - span) // si + 1)
            lo.append(span - 1)
        else:  # TensorFlow "same": out = ceil(n/s), the odd pad element at the end
            o = -(-n // si)
            total = max((o - 1) * si + span - n, 0)
            out.append(o)
            lo.append(total // 2)
    hi = [max((o - 1) * si + (k - 1) * di + 1 - n - p, 0)
          for o, si, k, di, n, p in zip(out, s, ks, d, x.shape[1:-1], lo)]
    xp = np.pad(x, [(0, 0)] + list(zip(lo, hi)) + [(0, 0)])
    cin_g, cout = kernel.shape[-2], kernel.shape[-1]
    cout_g = cout // groups
    y = np.zeros((x.shape[0], *out, cout), np.float64)
    for j in itertools.product(*[range(k) for k in ks]):
        sl = tuple(slice(jj * di, jj * di + (o - 1) * si + 1, si)
                   for jj, di, o, si in zip(j, d, out, s))
        patch = xp[(slice(None),) + sl]
        for g in range(groups):
            y[..., g * cout_g:(g + 1) * cout_g] += (
                patch[..., g * cin_g:(g + 1) * cin_g] @ kernel[j][:, g * cout_g:(g + 1) * cout_g])
    return y


def keras_transpose_length(n, k, padding, output_padding, s, d):
    """Keras' compute_conv_transpose_output_length."""
    span = k + (k - 1) * (d - 1)
    if output_padding is None:
        return n * s + max(span - s, 0) if padding == "valid" else n * s
    pad = span // 2 if padding == "same" else 0
    return (n - 1) * s + span - 2 * pad + output_padding


def ref_conv_transpose(x, kernel, strides=1, padding="valid", output_padding=None, dilation=1):
    """Scatter-add: full[i*s + j*d] += x[i] . kernel[j]; then TF's crop by the forward pad."""
    rank = x.ndim - 2
    ks, s, d = kernel.shape[:rank], tup(strides, rank), tup(dilation, rank)
    op = (None,) * rank if output_padding is None else tup(output_padding, rank)
    full_shape = [(n - 1) * si + (k - 1) * di + 1
                  for n, si, k, di in zip(x.shape[1:-1], s, ks, d)]
    full = np.zeros((x.shape[0], *full_shape, kernel.shape[-2]), np.float64)
    for i in itertools.product(*[range(n) for n in x.shape[1:-1]]):
        for j in itertools.product(*[range(k) for k in ks]):
            at = tuple(ii * si + jj * di for ii, si, jj, di in zip(i, s, j, d))
            full[(slice(None),) + at] += x[(slice(None),) + i] @ kernel[j].T
    out_shape = [keras_transpose_length(n, k, padding, o, si, di)
                 for n, k, o, si, di in zip(x.shape[1:-1], ks, op, s, d)]
    y = np.zeros((x.shape[0], *out_shape, kernel.shape[-2]), np.float64)
    src, dst = [slice(None)], [slice(None)]
    for L, F, k, si, di in zip(out_shape, full_shape, ks, s, d):
        span = (k - 1) * di + 1
        # The forward "same" conv mapping L -> n pads `lo` in front: output m is full[m + lo].
        lo = max((-(-L // si) - 1) * si + span - L, 0) // 2 if padding == "same" else 0
        m = min(L, F - lo)
        src.append(slice(lo, lo + m))
        dst.append(slice(0, m))
    y[tuple(dst)] = full[tuple(src)]
    return y


def ref_depthwise(x, kernel, strides=1, padding="valid", dilation=1):
    """Channel c convolved with kernel[..., c, m] gives output channel c*dm + m."""
    dm = kernel.shape[-1]
    outs = []
    for c in range(x.shape[-1]):
        for m in range(dm):
            outs.append(ref_conv(x[..., c:c + 1], kernel[..., c:c + 1, m:m + 1],
                                 strides, padding, dilation))
    return np.concatenate(outs, axis=-1)


def ref_separable(x, dw, pw, strides=1, padding="valid", dilation=1):
    y = ref_depthwise(x, dw, strides, padding, dilation)
    return y @ pw.reshape(pw.shape[-2], pw.shape[-1])


def run(layer, x, weights):
    layer(Input(x.shape[1:]))
    layer.set_weights(weights)
    return np.array(layer(x))


def ref_conv_and_grads(x, w, strides, pads, dilation, groups, ct):
    """y = conv(x, w) and the gradients of sum(y * ct), float64, straight from
    y[n, i, o] = sum_{a, c} xpad[n, i*s + a*d, c] w[o, a, c] (per group): every tap's
    strided window of the padded input, its transpose scattered back for dx."""
    rank = x.ndim - 2
    kernel = w.shape[1:-1]
    xp = np.pad(x.astype(np.float64), [(0, 0)] + list(zip(*pads)) + [(0, 0)])
    out = [(p - (k - 1) * d - 1) // s + 1 for p, k, s, d in
           zip(xp.shape[1:-1], kernel, strides, dilation)]
    cin, cout = w.shape[-1], w.shape[0]
    og = cout // groups
    y = np.zeros((x.shape[0], *out, cout))
    dxp = np.zeros_like(xp)
    dw = np.zeros(w.shape)
    ct = ct.astype(np.float64)
    for tap in itertools.product(*[range(k) for k in kernel]):
        window = (slice(None),) + tuple(slice(a * d, a * d + (o - 1) * s + 1, s) for a, d, o, s
                                        in zip(tap, dilation, out, strides))
        for g in range(groups):
            xs = xp[window][..., g * cin:(g + 1) * cin]
            wt = w[(slice(g * og, (g + 1) * og),) + tap].astype(np.float64)  # (og, cin)
            cs = ct[..., g * og:(g + 1) * og]
            y[..., g * og:(g + 1) * og] += xs @ wt.T
            dxp[window + (slice(g * cin, (g + 1) * cin),)] += cs @ wt
            dw[(slice(g * og, (g + 1) * og),) + tap] += np.tensordot(
                cs, xs, axes=(list(range(rank + 1)), list(range(rank + 1))))
    crop = (slice(None),) + tuple(slice(lo, lo + n) for lo, n in
                                  zip(pads[0], x.shape[1:-1]))
    return y, dxp[crop], dw
