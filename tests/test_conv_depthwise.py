"""The depthwise convolution as a shifted multiply-add (compute/conv_depthwise.py) against
MLX's grouped conv and a numpy reference written from the definition, forward and both
gradients, across ranks, strides, dilations, Keras paddings and depth multipliers; and
the routes that reach it (depthwise_convolve, grouped_conv with groups == channels)."""

import mlx.core as mx
import numpy as np
import pytest

from _conv_reference import ref_conv_and_grads, ref_depthwise
from mlxfunctional import layers
from mlxfunctional.compute import conv_depthwise, conv_shifted, conv_utils

RNG = np.random.default_rng(61)


def _rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _tup(v, rank):
    return (v,) * rank if isinstance(v, int) else tuple(v)


CASES = [  # (input shape, multiplier, kernel, strides, dilation, padding)
    ((2, 13, 3), 1, 3, 1, 1, "same"),
    ((2, 13, 3), 2, 4, 2, 1, "same"),
    ((2, 13, 4), 1, 3, 1, 2, "valid"),
    ((2, 13, 3), 3, 5, 3, 1, "valid"),
    ((2, 9, 10, 3), 1, 3, 1, 1, "same"),
    ((2, 9, 10, 5), 1, 3, 2, 1, "same"),
    ((2, 10, 9, 4), 2, (3, 2), (2, 3), 1, "valid"),
    ((2, 9, 10, 3), 1, 3, 1, (2, 3), "same"),
    ((2, 8, 8, 4), 2, 1, 2, 1, "valid"),  # 1x1 stride 2: phases with no tap
    ((2, 8, 8, 4), 1, 2, 2, 1, "same"),  # even kernel at stride 2
    ((1, 7, 7, 6), 3, 3, 2, 1, "same"),
    ((2, 6, 7, 5, 4), 1, 3, 1, 1, "same"),
    ((1, 6, 7, 5, 3), 2, 3, 2, 1, "same"),
    ((1, 7, 6, 5, 2), 1, 2, 1, 2, "valid"),
]


@pytest.mark.parametrize("shape, multiplier, kernel, strides, dilation, padding", CASES)
def test_forward_and_both_gradients(shape, multiplier, kernel, strides, dilation, padding):
    rank = len(shape) - 2
    kernel, strides, dilation = (_tup(v, rank) for v in (kernel, strides, dilation))
    channels = shape[-1]
    xn = _rand(*shape)
    kn = _rand(channels, multiplier, *kernel)  # conv_utils' depthwise form (c, m, *k)
    wn = kn.reshape(channels * multiplier, *kernel, 1)  # MLX's grouped-conv weight
    pads = conv_utils.explicit_pads(shape[1:-1], kernel, padding, strides, dilation)
    x, k = mx.array(xn), mx.array(kn)

    def ours(x, k):
        return conv_depthwise.depthwise_conv(x, k, list(strides), pads, list(dilation))

    y = ours(x, k)
    y_ref, dx_ref, dw_ref = ref_conv_and_grads(xn, wn, strides, pads, dilation, channels,
                                               ct := _rand(*y.shape))
    np.testing.assert_allclose(np.array(y), y_ref, rtol=1e-4, atol=1e-4)
    ctm = mx.array(ct)
    dx, dk = mx.grad(lambda x, k: (ours(x, k) * ctm).sum(), argnums=(0, 1))(x, k)
    np.testing.assert_allclose(np.array(dx), dx_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.array(dk), dw_ref.reshape(kn.shape), rtol=1e-4, atol=1e-3)
    if rank < 3:  # MLX groups 1D/2D convolutions only
        def theirs(x, k):
            return mx.conv_general(x, mx.reshape(k, wn.shape), stride=list(strides),
                                   padding=pads, kernel_dilation=list(dilation),
                                   groups=channels)
        np.testing.assert_allclose(np.array(y), np.array(theirs(x, k)), rtol=1e-4, atol=1e-4)
        dx2, dk2 = mx.grad(lambda x, k: (theirs(x, k) * ctm).sum(), argnums=(0, 1))(x, k)
        np.testing.assert_allclose(np.array(dx), np.array(dx2), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(np.array(dk), np.array(dk2), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("policy", ["auto", "mlx"])
def test_routes_agree_with_the_reference(policy):
    # depthwise_convolve (the Depthwise/Separable layers, ops.depthwise_conv) and
    # grouped_conv with one group per channel (Conv2D(groups=channels)) reach the shifted
    # multiply-add under "auto" on the CPU and MLX's grouped conv under "mlx".
    xn, kn = _rand(2, 11, 9, 6), _rand(6, 2, 3, 3)
    ref = ref_depthwise(xn, np.transpose(kn, (2, 3, 0, 1)), 2, "same")
    previous = conv_shifted.set_policy(policy)
    try:
        y1 = conv_utils.depthwise_convolve(mx.array(xn), mx.array(kn), (2, 2), "same", (1, 1))
        pads = conv_utils.explicit_pads((11, 9), (3, 3), "same", (2, 2), (1, 1))
        y2 = conv_utils.grouped_conv(mx.array(xn), mx.array(kn.reshape(12, 3, 3, 1)), (2, 2),
                                     pads, (1, 1), 6)
    finally:
        conv_shifted.set_policy(previous)
    np.testing.assert_allclose(np.array(y1), ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.array(y2), ref, rtol=1e-4, atol=1e-4)


def test_rule():
    previous = conv_shifted.set_policy("mlx")
    try:
        assert not conv_depthwise.choose((4, 30, 30, 32), 1)
    finally:
        conv_shifted.set_policy(previous)
    on_cpu = mx.default_device().type == mx.DeviceType.cpu
    assert conv_depthwise.choose((4, 30, 30, 32), 1) == on_cpu


def test_second_order_gradient():
    # The VJP is written in differentiable ops: a gradient of a gradient agrees with MLX's.
    x, k = mx.array(_rand(2, 8, 8, 3)), mx.array(_rand(3, 1, 3, 3))
    pads = ([1, 0], [1, 1])

    def penalty(conv):
        return lambda x: (mx.grad(lambda x: (conv(x) ** 2).sum())(x) ** 2).sum()

    ours = penalty(lambda x: conv_depthwise.depthwise_conv(x, k, [2, 2], pads, [1, 1]))
    theirs = penalty(lambda x: mx.conv_general(x, mx.reshape(k, (3, 3, 3, 1)), stride=2,
                                               padding=pads, groups=3))
    np.testing.assert_allclose(np.array(mx.grad(ours)(x)), np.array(mx.grad(theirs)(x)),
                               rtol=1e-3, atol=1e-3)


def test_layer_trains_inside_compile():
    # A DepthwiseConv2D's kernel gradient in a compiled step equals the reference's.
    layer = layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2,
                                   use_bias=False)
    xn = _rand(2, 9, 9, 3)
    layer.build(xn.shape)
    kernel = layer["kernel"]  # stored (c, m, *k)

    def loss(k):
        return (conv_utils.depthwise_convolve(mx.array(xn), k, (2, 2), "same", (1, 1))
                ** 2).sum()

    g = mx.compile(mx.grad(loss))(kernel)
    kn = np.array(kernel)
    pads = conv_utils.explicit_pads((9, 9), (3, 3), "same", (2, 2), (1, 1))
    y_ref, _, _ = ref_conv_and_grads(xn, kn.reshape(6, 3, 3, 1), (2, 2), pads, (1, 1), 3,
                                     np.zeros((2, 5, 5, 6)))
    _, _, dw_ref = ref_conv_and_grads(xn, kn.reshape(6, 3, 3, 1), (2, 2), pads, (1, 1), 3,
                                      2 * y_ref)
    np.testing.assert_allclose(np.array(g), dw_ref.reshape(kn.shape), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(np.array(layer(mx.array(xn))), y_ref, rtol=1e-4, atol=1e-4)
