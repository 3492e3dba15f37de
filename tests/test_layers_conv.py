"""Convolution layers against independent numpy references (Keras/TensorFlow semantics).

References: a direct convolution over zero-padded inputs (TensorFlow's "same" rule,
written out here), the scatter-add definition of a transposed convolution cropped
as TensorFlow's conv2d_backprop_input does, and per-channel depthwise convolutions.
"""

import itertools
import json
import math

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest

from mlxfunctional import Input, Model
from mlxfunctional.layers.conv_transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
from mlxfunctional.layers.convolutional import Conv1D, Conv2D, Conv3D
from mlxfunctional.layers.depthwise import (DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D,
                                            SeparableConv2D)

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def tup(v, rank):
    return (v,) * rank if isinstance(v, int) else tuple(v)


# ------------------------------------------------------------------ references

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


# ------------------------------------------------------------ hand-made checks

def test_same_stride2_even_input_pads_at_the_end():
    # n=4, k=3, s=2: TensorFlow pads 0 in front and 1 at the end.
    layer = Conv1D(1, 3, strides=2, padding="same", use_bias=False)
    x = np.array([1, 2, 3, 4], np.float32).reshape(1, 4, 1)
    y = run(layer, x, [np.array([1, 10, 100], np.float32).reshape(3, 1, 1)])
    np.testing.assert_allclose(y.ravel(), [1 + 20 + 300, 3 + 40])


def test_same_stride1_even_kernel_pads_at_the_end():
    # k=2, s=1: total pad 1, all of it after the last element.
    layer = Conv1D(1, 2, padding="same", use_bias=False)
    x = np.array([1, 2, 3], np.float32).reshape(1, 3, 1)
    y = run(layer, x, [np.array([1, 10], np.float32).reshape(2, 1, 1)])
    np.testing.assert_allclose(y.ravel(), [21, 32, 3])


def test_causal_dilated_sees_only_the_past():
    layer = Conv1D(1, 2, padding="causal", dilation_rate=2, use_bias=False)
    x = np.array([1, 2, 3, 4], np.float32).reshape(1, 4, 1)
    y = run(layer, x, [np.array([1, 10], np.float32).reshape(2, 1, 1)])
    np.testing.assert_allclose(y.ravel(), [10, 20, 31, 42])  # y[t] = x[t-2] + 10 x[t]


def test_transpose_valid_stride_larger_than_kernel():
    # Keras: length n*s + max(k - s, 0) = 6, the last element a zero gap.
    layer = Conv1DTranspose(1, 2, strides=3, use_bias=False)
    x = np.array([1, 2], np.float32).reshape(1, 2, 1)
    y = run(layer, x, [np.array([1, 10], np.float32).reshape(2, 1, 1)])
    np.testing.assert_allclose(y.ravel(), [1, 10, 0, 2, 20, 0])


def test_transpose_same_crops_like_tensorflow():
    # k=3, s=1, same: full scatter [1, 12, 123, 23, 3] cropped by 1 on each side.
    layer = Conv1DTranspose(1, 3, padding="same", use_bias=False)
    x = np.array([1, 2, 3], np.float32).reshape(1, 3, 1)
    y = run(layer, x, [np.array([1, 10, 100], np.float32).reshape(3, 1, 1)])
    np.testing.assert_allclose(y.ravel(), [10 + 2, 100 + 20 + 3, 200 + 30])


def test_depthwise_channel_order():
    # Output channel c*dm + m is channel c convolved with kernel[:, c, m].
    layer = DepthwiseConv1D(1, depth_multiplier=2, use_bias=False)
    x = np.array([[[1, 2]]], np.float32)
    y = run(layer, x, [np.array([[[1, 10], [100, 1000]]], np.float32)])
    np.testing.assert_allclose(y.ravel(), [1, 10, 200, 2000])


# ------------------------------------------------------- reference comparisons

CONV_CASES = [
    # (cls, input spatial, channels, kwargs)
    (Conv1D, (9,), 3, dict(filters=4, kernel_size=3)),
    (Conv1D, (9,), 3, dict(filters=4, kernel_size=3, padding="same", strides=2)),
    (Conv1D, (10,), 3, dict(filters=4, kernel_size=4, padding="same", strides=2)),
    (Conv1D, (10,), 3, dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2)),
    (Conv1D, (11,), 4, dict(filters=6, kernel_size=3, padding="causal", strides=2, groups=2)),
    (Conv1D, (10,), 4, dict(filters=2, kernel_size=3, padding="same", groups=2,
                            activation="relu")),
    (Conv2D, (7, 8), 3, dict(filters=5, kernel_size=3)),
    (Conv2D, (7, 8), 3, dict(filters=5, kernel_size=3, padding="same", strides=2)),
    (Conv2D, (8, 6), 2, dict(filters=3, kernel_size=(2, 3), padding="same", strides=(2, 1))),
    (Conv2D, (9, 9), 2, dict(filters=3, kernel_size=3, padding="same", dilation_rate=2)),
    (Conv2D, (8, 7), 2, dict(filters=3, kernel_size=3, dilation_rate=(2, 1))),
    (Conv2D, (6, 7), 6, dict(filters=4, kernel_size=3, padding="same", groups=2, strides=2)),
    (Conv2D, (6, 6), 4, dict(filters=4, kernel_size=1, groups=4, use_bias=False)),
    (Conv3D, (5, 6, 4), 2, dict(filters=3, kernel_size=3)),
    (Conv3D, (5, 6, 4), 2, dict(filters=3, kernel_size=(3, 2, 3), padding="same", strides=2)),
    (Conv3D, (6, 5, 5), 4, dict(filters=2, kernel_size=2, padding="same", dilation_rate=2,
                                groups=2)),
]


@pytest.mark.parametrize("cls, spatial, channels, kwargs", CONV_CASES)
def test_conv_matches_reference(cls, spatial, channels, kwargs):
    layer = cls(**kwargs)
    rank = len(spatial)
    groups = kwargs.get("groups", 1)
    x = rand(2, *spatial, channels)
    kernel = rand(*tup(kwargs["kernel_size"], rank), channels // groups, kwargs["filters"])
    weights = [kernel]
    if kwargs.get("use_bias", True):
        weights.append(rand(kwargs["filters"]))
    y = run(layer, x, weights)
    want = ref_conv(x, kernel, kwargs.get("strides", 1), kwargs.get("padding", "valid"),
                    kwargs.get("dilation_rate", 1), groups)
    if len(weights) > 1:
        want = want + weights[1]
    if kwargs.get("activation") == "relu":
        want = np.maximum(want, 0)
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


TRANSPOSE_CASES = [
    (Conv1DTranspose, (5,), 2, dict(filters=3, kernel_size=3)),
    (Conv1DTranspose, (5,), 2, dict(filters=3, kernel_size=3, strides=2)),
    (Conv1DTranspose, (5,), 2, dict(filters=3, kernel_size=3, strides=2, padding="same")),
    (Conv1DTranspose, (4,), 2, dict(filters=3, kernel_size=4, strides=2, padding="same")),
    (Conv1DTranspose, (4,), 2, dict(filters=3, kernel_size=2, strides=3)),
    (Conv1DTranspose, (5,), 2, dict(filters=3, kernel_size=3, strides=2, output_padding=1)),
    (Conv1DTranspose, (5,), 2, dict(filters=3, kernel_size=3, strides=2, padding="same",
                                    output_padding=1)),
    (Conv1DTranspose, (6,), 2, dict(filters=3, kernel_size=3, dilation_rate=2,
                                    padding="same")),
    (Conv2DTranspose, (4, 5), 3, dict(filters=2, kernel_size=3)),
    (Conv2DTranspose, (4, 5), 3, dict(filters=2, kernel_size=3, strides=2, padding="same")),
    (Conv2DTranspose, (4, 3), 3, dict(filters=2, kernel_size=(3, 2), strides=(2, 3))),
    (Conv2DTranspose, (3, 4), 3, dict(filters=2, kernel_size=3, strides=(3, 2), padding="same",
                                      output_padding=(2, 0))),
    (Conv2DTranspose, (4, 4), 2, dict(filters=3, kernel_size=3, dilation_rate=2,
                                      activation="relu")),
    (Conv3DTranspose, (3, 4, 2), 2, dict(filters=2, kernel_size=2, strides=2)),
    (Conv3DTranspose, (3, 3, 4), 2, dict(filters=2, kernel_size=3, strides=(2, 1, 2),
                                         padding="same")),
]


@pytest.mark.parametrize("cls, spatial, channels, kwargs", TRANSPOSE_CASES)
def test_conv_transpose_matches_reference(cls, spatial, channels, kwargs):
    layer = cls(**kwargs)
    rank = len(spatial)
    x = rand(2, *spatial, channels)
    kernel = rand(*tup(kwargs["kernel_size"], rank), kwargs["filters"], channels)
    bias = rand(kwargs["filters"])
    y = run(layer, x, [kernel, bias])
    want = ref_conv_transpose(x, kernel, kwargs.get("strides", 1),
                              kwargs.get("padding", "valid"), kwargs.get("output_padding"),
                              kwargs.get("dilation_rate", 1)) + bias
    if kwargs.get("activation") == "relu":
        want = np.maximum(want, 0)
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


DEPTHWISE_CASES = [
    (DepthwiseConv1D, (9,), 3, dict(kernel_size=3)),
    (DepthwiseConv1D, (10,), 3, dict(kernel_size=3, depth_multiplier=2, strides=2,
                                     padding="same")),
    (DepthwiseConv1D, (10,), 2, dict(kernel_size=3, dilation_rate=2, padding="same")),
    (DepthwiseConv2D, (7, 8), 3, dict(kernel_size=3, depth_multiplier=2)),
    (DepthwiseConv2D, (8, 7), 2, dict(kernel_size=(3, 2), strides=2, padding="same",
                                      depth_multiplier=3)),
    (DepthwiseConv2D, (7, 7), 2, dict(kernel_size=3, dilation_rate=2, padding="same")),
]


@pytest.mark.parametrize("cls, spatial, channels, kwargs", DEPTHWISE_CASES)
def test_depthwise_matches_reference(cls, spatial, channels, kwargs):
    layer = cls(**kwargs)
    dm = kwargs.get("depth_multiplier", 1)
    x = rand(2, *spatial, channels)
    kernel = rand(*tup(kwargs["kernel_size"], len(spatial)), channels, dm)
    bias = rand(channels * dm)
    y = run(layer, x, [kernel, bias])
    want = ref_depthwise(x, kernel, kwargs.get("strides", 1), kwargs.get("padding", "valid"),
                         kwargs.get("dilation_rate", 1)) + bias
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


SEPARABLE_CASES = [
    (SeparableConv1D, (9,), 3, dict(filters=4, kernel_size=3)),
    (SeparableConv1D, (10,), 3, dict(filters=4, kernel_size=4, strides=2, padding="same",
                                     depth_multiplier=2)),
    (SeparableConv2D, (7, 8), 3, dict(filters=5, kernel_size=3, padding="same")),
    (SeparableConv2D, (8, 8), 2, dict(filters=3, kernel_size=3, strides=2, padding="same",
                                      depth_multiplier=2, activation="relu")),
    (SeparableConv2D, (9, 8), 2, dict(filters=3, kernel_size=2, dilation_rate=2)),
]


@pytest.mark.parametrize("cls, spatial, channels, kwargs", SEPARABLE_CASES)
def test_separable_matches_reference(cls, spatial, channels, kwargs):
    layer = cls(**kwargs)
    rank, dm, f = len(spatial), kwargs.get("depth_multiplier", 1), kwargs["filters"]
    x = rand(2, *spatial, channels)
    dw = rand(*tup(kwargs["kernel_size"], rank), channels, dm)
    pw = rand(*(1,) * rank, channels * dm, f)
    bias = rand(f)
    y = run(layer, x, [dw, pw, bias])
    want = ref_separable(x, dw, pw, kwargs.get("strides", 1), kwargs.get("padding", "valid"),
                         kwargs.get("dilation_rate", 1)) + bias
    if kwargs.get("activation") == "relu":
        want = np.maximum(want, 0)
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


def test_conv_stack_in_a_model_matches_reference():
    inputs = Input((8, 8, 1))
    a, b = Conv2D(4, 3, padding="same", strides=2), Conv2DTranspose(2, 3, strides=2,
                                                                      padding="same")
    model = Model(inputs, b(a(inputs)))
    k1, b1, k2, b2 = rand(3, 3, 1, 4), rand(4), rand(3, 3, 2, 4), rand(2)
    a.set_weights([k1, b1])
    b.set_weights([k2, b2])
    x = rand(2, 8, 8, 1)
    want = ref_conv_transpose(ref_conv(x, k1, 2, "same") + b1, k2, 2, "same") + b2
    np.testing.assert_allclose(np.array(model(x)), want, rtol=1e-4, atol=1e-4)


# The layers are linear in their kernels, so the gradient G of sum(r * layer(x)) must
# satisfy <G, V> = sum(r * reference(x, V)) for any V (checked in Keras' layout).
GRAD_CASES = [
    (lambda: Conv2D(4, 3, strides=2, padding="same", use_bias=False), (7, 8, 2), "kernel",
     lambda x, v, l: ref_conv(x, v, 2, "same")),
    (lambda: Conv3D(4, 2, groups=2, padding="same", use_bias=False), (3, 4, 3, 4), "kernel",
     lambda x, v, l: ref_conv(x, v, 1, "same", 1, 2)),
    (lambda: Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1,
                             use_bias=False), (3, 4, 2), "kernel",
     lambda x, v, l: ref_conv_transpose(x, v, 2, "same", 1)),
    (lambda: DepthwiseConv2D(3, depth_multiplier=2, padding="same", use_bias=False),
     (5, 5, 3), "kernel", lambda x, v, l: ref_depthwise(x, v, 1, "same")),
    (lambda: SeparableConv1D(3, 3, strides=2, use_bias=False), (9, 2), "depthwise_kernel",
     lambda x, v, l: ref_separable(x, v, l.get_weights()[1], 2)),
]


@pytest.mark.parametrize("make, in_shape, key, ref", GRAD_CASES)
def test_kernel_gradient(make, in_shape, key, ref):
    layer = make()
    x = rand(2, *in_shape)
    layer(Input(in_shape))
    r = rand(*np.array(layer(x)).shape)
    grads = nn.value_and_grad(layer, lambda: (layer(mx.array(x)) * mx.array(r)).sum())()[1]
    spec = next(s for s in layer._weight_specs if s.name == key)
    g = np.array(spec.to_keras(grads[spec.key]))
    v = rand(*g.shape)
    np.testing.assert_allclose((g * v).sum(), (r * ref(x, v, layer)).sum(), rtol=1e-3)


# ------------------------------------------------------------------ shapes

SHAPE_CASES = [
    (lambda: Conv1D(4, 3), (None, 3), (None, None, 4)),
    (lambda: Conv1D(4, 3, strides=2), (10, 3), (None, 4, 4)),
    (lambda: Conv1D(4, 3, strides=2, padding="same"), (None, 3), (None, None, 4)),
    (lambda: Conv1D(4, 3, strides=2, padding="same"), (11, 3), (None, 6, 4)),
    (lambda: Conv1D(4, 5, padding="causal", dilation_rate=3), (None, 3), (None, None, 4)),
    (lambda: Conv1D(4, 5, padding="causal", dilation_rate=3), (7, 3), (None, 7, 4)),
    (lambda: Conv2D(8, 3), (28, 28, 1), (None, 26, 26, 8)),
    (lambda: Conv2D(8, 3, strides=2, padding="same"), (7, 8, 2), (None, 4, 4, 8)),
    (lambda: Conv2D(8, 3, dilation_rate=2), (None, None, 2), (None, None, None, 8)),
    (lambda: Conv2D(8, 3, dilation_rate=2), (9, 10, 2), (None, 5, 6, 8)),
    (lambda: Conv3D(2, (3, 2, 1), strides=(1, 2, 3)), (5, 6, 7, 1), (None, 3, 3, 3, 2)),
    (lambda: Conv1DTranspose(4, 3), (None, 3), (None, None, 4)),
    (lambda: Conv1DTranspose(4, 3, strides=2), (7, 3), (None, 15, 4)),
    (lambda: Conv1DTranspose(4, 2, strides=3), (4, 3), (None, 12, 4)),
    (lambda: Conv1DTranspose(4, 3, strides=2, padding="same"), (7, 3), (None, 14, 4)),
    (lambda: Conv1DTranspose(4, 3, strides=2, output_padding=1), (7, 3), (None, 16, 4)),
    (lambda: Conv1DTranspose(4, 3, strides=2, padding="same", output_padding=0), (7, 3),
     (None, 13, 4)),
    (lambda: Conv2DTranspose(16, 3), (26, 26, 32), (None, 28, 28, 16)),
    (lambda: Conv2DTranspose(1, 3, strides=2, padding="same"), (None, 5, 2), (None, None, 10, 1)),
    (lambda: Conv3DTranspose(2, 2, strides=2), (3, 4, 5, 1), (None, 6, 8, 10, 2)),
    (lambda: DepthwiseConv1D(3, depth_multiplier=2), (None, 3), (None, None, 6)),
    (lambda: DepthwiseConv2D(3, strides=2, padding="same"), (7, 8, 4), (None, 4, 4, 4)),
    (lambda: SeparableConv1D(5, 3, padding="same"), (None, 3), (None, None, 5)),
    (lambda: SeparableConv2D(5, 3, depth_multiplier=2), (7, 8, 4), (None, 5, 6, 5)),
]


@pytest.mark.parametrize("make, in_shape, out_shape", SHAPE_CASES)
def test_symbolic_output_shape(make, in_shape, out_shape):
    layer = make()
    assert layer(Input(in_shape)).shape == out_shape
    concrete = tuple(n if n is not None else 9 for n in in_shape)
    y = layer(rand(2, *concrete))
    assert all(w is None or w == g for w, g in zip(out_shape[1:], y.shape[1:]))


# ------------------------------------------------------------------ params

def _conv(rank, f, k, c, groups=1, bias=True):
    return k ** rank * (c // groups) * f + (f if bias else 0)


PARAM_CASES = [
    # Keras' own numbers from the guide's models.
    (lambda: Conv2D(16, 3), (28, 28, 1), 160),
    (lambda: Conv2D(32, 3), (26, 26, 16), 4640),
    (lambda: Conv2DTranspose(16, 3), (24, 24, 1), 160),
    (lambda: Conv2DTranspose(1, 3), (26, 26, 16), 145),
    (lambda: Conv1D(8, 5), (None, 3), _conv(1, 8, 5, 3)),
    (lambda: Conv2D(8, 3, groups=2), (9, 9, 4), _conv(2, 8, 3, 4, groups=2)),
    (lambda: Conv3D(4, 2, use_bias=False), (4, 4, 4, 3), _conv(3, 4, 2, 3, bias=False)),
    (lambda: Conv1DTranspose(5, 3), (None, 2), 3 * 5 * 2 + 5),
    (lambda: Conv3DTranspose(2, 3, use_bias=False), (3, 3, 3, 4), 27 * 2 * 4),
    (lambda: DepthwiseConv2D(3, depth_multiplier=2), (9, 9, 16), 9 * 16 * 2 + 32),
    (lambda: DepthwiseConv1D(5, use_bias=False), (None, 6), 5 * 6),
    (lambda: SeparableConv2D(8, 3), (9, 9, 16), 9 * 16 + 16 * 8 + 8),
    (lambda: SeparableConv1D(4, 5, depth_multiplier=2), (None, 3), 5 * 3 * 2 + 6 * 4 + 4),
]


@pytest.mark.parametrize("make, in_shape, count", PARAM_CASES)
def test_param_count(make, in_shape, count):
    layer = make()
    layer(Input(in_shape))
    assert layer.count_params() == count


def test_weight_names_and_keras_shapes():
    cases = [
        (Conv2D(4, (3, 2)), (6, 6, 3), [("kernel", (3, 2, 3, 4)), ("bias", (4,))]),
        (Conv2DTranspose(4, (3, 2)), (6, 6, 3), [("kernel", (3, 2, 4, 3)), ("bias", (4,))]),
        (DepthwiseConv2D(3, depth_multiplier=2), (6, 6, 3),
         [("kernel", (3, 3, 3, 2)), ("bias", (6,))]),
        (SeparableConv1D(5, 3, depth_multiplier=2), (6, 3),
         [("depthwise_kernel", (3, 3, 2)), ("pointwise_kernel", (1, 6, 5)), ("bias", (5,))]),
    ]
    for layer, in_shape, want in cases:
        layer(Input(in_shape))
        names = [spec.name for spec in layer._weight_specs]
        shapes = [w.shape for w in layer.get_weights()]
        assert list(zip(names, shapes)) == want, layer.name


def test_initializer_fans_use_keras_layout():
    # glorot_uniform limit sqrt(6 / (fan_in + fan_out)) with Keras' (k, k, in, out) fans.
    layer = Conv2D(64, 3)
    layer(Input((8, 8, 32)))
    kernel = layer.get_weights()[0]
    limit = math.sqrt(6 / (9 * 32 + 9 * 64))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit


def test_regularizer_losses():
    layer = Conv1D(2, 3, kernel_regularizer="l2", activity_regularizer="l1")
    x = rand(1, 5, 2)
    kernel = rand(3, 2, 2)
    y = run(layer, x, [kernel, np.zeros(2, np.float32)])
    losses = sorted(float(np.array(v)) for v in layer.losses)
    want = sorted([0.01 * float((kernel.astype(np.float64) ** 2).sum()),
                   0.01 * float(np.abs(y).sum())])
    np.testing.assert_allclose(losses, want, rtol=1e-4)


# ------------------------------------------------------------------ config

CONFIG_CASES = [
    (lambda: Conv1D(3, 3, padding="causal", dilation_rate=2, activation="tanh"), (7, 2)),
    (lambda: Conv2D(4, (3, 2), strides=(2, 1), padding="SAME", groups=2,
                    kernel_regularizer="l2", use_bias=False), (7, 6, 4)),
    (lambda: Conv3D(2, 2, padding="same", bias_initializer="ones"), (3, 4, 5, 2)),
    (lambda: Conv1DTranspose(3, 3, strides=2, padding="same", output_padding=0), (5, 2)),
    (lambda: Conv2DTranspose(3, 3, strides=2, output_padding=1, activation="relu"), (4, 5, 2)),
    (lambda: Conv3DTranspose(2, 2, dilation_rate=2), (3, 3, 3, 2)),
    (lambda: DepthwiseConv1D(3, depth_multiplier=2, padding="same"), (6, 2)),
    (lambda: DepthwiseConv2D(3, strides=2, depthwise_initializer="he_normal"), (7, 7, 3)),
    (lambda: SeparableConv1D(4, 3, depth_multiplier=2, strides=2), (8, 2)),
    (lambda: SeparableConv2D(4, 3, padding="same", pointwise_constraint="non_neg"), (6, 5, 2)),
]


@pytest.mark.parametrize("make, in_shape", CONFIG_CASES)
def test_config_round_trip(make, in_shape):
    layer = make()
    layer(Input(in_shape))
    config = json.loads(json.dumps(layer.get_config()))
    clone = type(layer).from_config(config)
    clone(Input(in_shape))
    clone.set_weights(layer.get_weights())
    x = rand(2, *in_shape)
    np.testing.assert_array_equal(np.array(layer(x)), np.array(clone(x)))
    again = clone.get_config()
    assert json.loads(json.dumps(again)) == config


def test_config_keys_match_keras():
    keys = set(Conv2D(2, 3).get_config())
    assert {"filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
            "groups", "activation", "use_bias", "kernel_initializer", "bias_initializer",
            "kernel_regularizer", "bias_regularizer", "activity_regularizer",
            "kernel_constraint", "bias_constraint"} <= keys
    assert Conv2D(2, 3).get_config()["kernel_size"] == (3, 3)
    assert "depth_multiplier" in DepthwiseConv2D(3).get_config()
    assert "pointwise_initializer" in SeparableConv2D(2, 3).get_config()
    assert Conv2DTranspose(2, 3).get_config()["output_padding"] is None


# ------------------------------------------------------------------ errors

@pytest.mark.parametrize("make, in_shape", [
    (lambda: Conv1D(2, 3, name="c1"), (5, 6, 2)),
    (lambda: Conv2D(2, 3, name="c1"), (5, 2)),
    (lambda: Conv3D(2, 3, name="c1"), (5, 5, 2)),
    (lambda: Conv2DTranspose(2, 3, name="c1"), (5, 5, 5, 2)),
    (lambda: DepthwiseConv2D(3, name="c1"), (5, 2)),
    (lambda: SeparableConv1D(2, 3, name="c1"), (5, 5, 2)),
])
def test_wrong_rank_is_a_value_error_naming_layer_and_shape(make, in_shape):
    with pytest.raises(ValueError, match=r"c1[\s\S]*" + re_shape((None,) + in_shape)):
        make()(Input(in_shape))


def re_shape(shape):
    return r"\(" + r", ".join(str(d) for d in shape) + r"\)"


def test_wrong_input_after_build():
    layer = Conv2D(2, 3, name="built_conv")
    layer(Input((6, 6, 3)))
    with pytest.raises(ValueError, match=r"built_conv[\s\S]*\(1, 6, 6\)"):
        layer(rand(1, 6, 6))
    with pytest.raises(ValueError, match=r"built_conv[\s\S]*axis -1[\s\S]*\(1, 6, 6, 4\)"):
        layer(rand(1, 6, 6, 4))


def test_input_too_small():
    with pytest.raises(ValueError, match=r"small_conv[\s\S]*\(None, 2, 6, 3\)"):
        Conv2D(2, 3, name="small_conv")(Input((2, 6, 3)))
    layer = Conv1D(2, 5, name="small_eager")
    layer(Input((None, 3)))
    with pytest.raises(ValueError, match=r"small_eager[\s\S]*\(1, 3, 3\)"):
        layer(rand(1, 3, 3))


@pytest.mark.parametrize("make, match", [
    (lambda: Conv2D(2, 3, data_format="channels_first"), "channels_first"),
    (lambda: SeparableConv2D(2, 3, data_format="channels_first"), "channels_first"),
    (lambda: Conv2D(2, 3, padding="causal"), "padding"),
    (lambda: SeparableConv1D(2, 3, padding="causal"), "padding"),
    (lambda: Conv2D(2, 3, padding="full"), "padding"),
    (lambda: Conv2D(3, 3, groups=2), "groups"),
    (lambda: Conv2D(0, 3), "filters"),
    (lambda: Conv2D(2, (3, 0)), "kernel_size"),
    (lambda: Conv2D(2, (3, 3, 3)), "kernel_size"),
    (lambda: Conv1D(2, 3, strides=2, dilation_rate=2), "dilation_rate"),
    (lambda: Conv2DTranspose(2, 3, strides=2, output_padding=2), "output_padding"),
    (lambda: DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_groups_must_divide_input_channels():
    with pytest.raises(ValueError, match=r"groups=2[\s\S]*3 channels"):
        Conv2D(4, 3, groups=2)(Input((5, 5, 3)))


def test_unknown_channels_is_an_error():
    with pytest.raises(ValueError, match="channel"):
        Conv2D(4, 3)(Input((5, 5, None)))
