"""Convolution layers (Conv, ConvTranspose, DepthwiseConv, SeparableConv; 1-3D) against
independent numpy references (tests/_conv_reference.py, Keras/TensorFlow semantics):
hand-made padding cases, randomized comparisons, a conv stack in a model, and kernel
gradients.

Shapes, parameter counts, weight layout, configs and errors are in
test_layers_conv_api.py.
"""

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest

from _conv_reference import (rand, ref_conv, ref_conv_transpose, ref_depthwise, ref_separable,
                             run, tup)
from mlxfunctional import Input, Model
from mlxfunctional.layers.conv_transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
from mlxfunctional.layers.convolutional import Conv1D, Conv2D, Conv3D
from mlxfunctional.layers.depthwise import (DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D,
                                            SeparableConv2D)


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
