"""The shifted-GEMM convolution (compute/conv_shifted.py) against MLX's conv and a numpy
reference written from the definition, forward and both gradients, across ranks, strides,
dilations, Keras paddings and groups; and the rule that chooses it."""

import mlx.core as mx
import mlx.utils
import numpy as np
import pytest

from _conv_reference import ref_conv_and_grads as _np_conv_and_grads, ref_conv_transpose
from mlxfunctional import layers
from mlxfunctional.compute import conv_shifted, conv_utils

RNG = np.random.default_rng(16)


def _rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


CASES = [  # (input shape, filters, kernel, strides, dilation, padding, groups)
    ((2, 13, 3), 4, 3, 1, 1, "same", 1),
    ((2, 13, 3), 4, 4, 2, 1, "same", 1),
    ((2, 13, 3), 4, 5, 3, 1, "valid", 1),
    ((2, 13, 4), 6, 3, 1, 2, "same", 2),
    ((2, 13, 3), 4, 3, 2, 2, "valid", 1),  # both (keras.ops allows it; the layers don't)
    ((2, 9, 10, 3), 4, 3, 1, 1, "same", 1),
    ((2, 9, 10, 3), 4, 3, 1, 1, "valid", 1),
    ((2, 9, 10, 3), 4, 3, 2, 1, "same", 1),
    ((2, 10, 9, 3), 5, (3, 2), (2, 3), 1, "valid", 1),
    ((2, 9, 10, 3), 4, 3, 1, (2, 3), "same", 1),
    ((2, 8, 8, 4), 4, 1, 2, 1, "valid", 1),  # 1x1 stride 2: phases with no tap
    ((2, 8, 8, 4), 4, 2, 2, 1, "same", 1),  # even kernel at stride 2
    ((2, 8, 8, 4), 6, 3, 1, 1, "same", 2),
    ((1, 8, 7, 6), 6, 3, 2, 1, "same", 3),
    ((2, 6, 7, 5, 4), 4, 3, 1, 1, "same", 1),
    ((2, 6, 7, 5, 4), 4, 3, 2, 1, "same", 1),
    ((2, 7, 6, 5, 3), 4, 2, 1, 2, "valid", 1),
    ((1, 5, 6, 5, 4), 4, 3, 1, 1, "same", 2),
]


def _tup(v, rank):
    return (v,) * rank if isinstance(v, int) else tuple(v)


@pytest.mark.parametrize("formulation", ["conv", "hybrid"])
@pytest.mark.parametrize("shape, filters, kernel, strides, dilation, padding, groups", CASES)
def test_forward_and_both_gradients(shape, filters, kernel, strides, dilation, padding, groups,
                                    formulation):
    rank = len(shape) - 2
    kernel, strides, dilation = (_tup(v, rank) for v in (kernel, strides, dilation))
    xn = _rand(*shape)
    wn = _rand(filters, *kernel, shape[-1] // groups)
    pads = conv_utils.explicit_pads(shape[1:-1], kernel, padding, strides, dilation)
    x, w = mx.array(xn), mx.array(wn)

    def ours(x, w):  # shifted GEMMs both ways, or MLX's forward with their gradient
        return getattr(conv_shifted, formulation)(x, w, list(strides), pads, list(dilation),
                                                  groups)

    def theirs(x, w):
        return mx.concatenate([  # MLX groups 1D/2D only
            mx.conv_general(xg, wg, stride=list(strides), padding=pads,
                            kernel_dilation=list(dilation))
            for xg, wg in zip(mx.split(x, groups, -1), mx.split(w, groups, 0))], axis=-1)

    y = ours(x, w)
    y_ref, dx_ref, dw_ref = _np_conv_and_grads(xn, wn, strides, pads, dilation, groups,
                                               ct := _rand(*y.shape))
    np.testing.assert_allclose(np.array(y), y_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.array(y), np.array(theirs(x, w)), rtol=1e-4, atol=1e-4)
    ctm = mx.array(ct)
    for fn, where in ((ours, "ours"), (theirs, "mlx")):
        dx, dw = mx.grad(lambda x, w: (fn(x, w) * ctm).sum(), argnums=(0, 1))(x, w)
        np.testing.assert_allclose(np.array(dx), dx_ref, rtol=1e-4, atol=1e-4, err_msg=where)
        np.testing.assert_allclose(np.array(dw), dw_ref, rtol=1e-4, atol=1e-3, err_msg=where)


@pytest.mark.parametrize("group", [2, 64])
@pytest.mark.parametrize("shape, filters, kernel, strides, dilation, padding, groups", CASES)
def test_kernel_gradient_with_taps_sharing_a_gemm(shape, filters, kernel, strides, dilation,
                                                  padding, groups, group):
    # Forced tap groups (2: a last, shorter group for odd tap counts; 64: all taps in one
    # GEMM) give the numpy reference's kernel and input gradients.
    rank = len(shape) - 2
    kernel, strides, dilation = (_tup(v, rank) for v in (kernel, strides, dilation))
    xn, wn = _rand(*shape), _rand(filters, *kernel, shape[-1] // groups)
    pads = conv_utils.explicit_pads(shape[1:-1], kernel, padding, strides, dilation)
    x, w = mx.array(xn), mx.array(wn)
    previous = conv_shifted.set_kernel_grad_group(group)
    try:
        y = conv_shifted.conv(x, w, list(strides), pads, list(dilation), groups)
        _, dx_ref, dw_ref = _np_conv_and_grads(xn, wn, strides, pads, dilation, groups,
                                               ct := _rand(*y.shape))
        ctm = mx.array(ct)
        dx, dw = mx.grad(lambda x, w: (conv_shifted.conv(
            x, w, list(strides), pads, list(dilation), groups) * ctm).sum(), argnums=(0, 1))(x, w)
    finally:
        conv_shifted.set_kernel_grad_group(previous)
    np.testing.assert_allclose(np.array(dx), dx_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.array(dw), dw_ref, rtol=1e-4, atol=1e-3)


def test_kernel_grad_group_rule():
    assert conv_shifted.kernel_grad_group(9, 3) == 9  # a first layer's 27 columns
    assert conv_shifted.kernel_grad_group(9, 32) == 1
    assert conv_shifted.kernel_grad_group(3, 8) == 3
    with pytest.raises(ValueError, match="taps per GEMM"):
        conv_shifted.set_kernel_grad_group(0)


@pytest.mark.parametrize("formulation", ["conv", "hybrid"])
def test_second_order_gradient_through_the_custom_vjp(formulation):
    # The VJP is written in differentiable ops: a gradient of a gradient (e.g. a gradient
    # penalty) must agree with MLX's own conv.
    x, w = mx.array(_rand(2, 8, 8, 3)), mx.array(_rand(4, 3, 3, 3))
    pads = ([1, 0], [1, 1])

    def penalty(conv):
        def inner(x):
            return (conv(x) ** 2).sum()
        return lambda x: (mx.grad(inner)(x) ** 2).sum()

    ours = penalty(lambda x: getattr(conv_shifted, formulation)(x, w, [2, 2], pads, [1, 1]))
    theirs = penalty(lambda x: mx.conv_general(x, w, stride=[2, 2], padding=pads))
    np.testing.assert_allclose(np.array(mx.grad(ours)(x)), np.array(mx.grad(theirs)(x)),
                               rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("formulation", ["conv", "hybrid"])
def test_inside_compile(formulation):
    x, w = mx.array(_rand(2, 9, 9, 3)), mx.array(_rand(4, 3, 3, 3))
    pads = ([1, 1], [1, 1])

    def loss(x, w):
        return (getattr(conv_shifted, formulation)(x, w, [2, 2], pads, [1, 1]) ** 2).sum()

    step = mx.compile(mx.value_and_grad(loss, argnums=(0, 1)))
    plain = mx.value_and_grad(
        lambda x, w: (mx.conv_general(x, w, stride=2, padding=pads) ** 2).sum(),
        argnums=(0, 1))
    for got, want in zip(mlx.utils.tree_flatten(step(x, w)), mlx.utils.tree_flatten(plain(x, w))):
        np.testing.assert_allclose(np.array(got[1]), np.array(want[1]), rtol=1e-4, atol=1e-4)


def test_rule():
    choose = conv_shifted.choose
    if mx.default_device().type != mx.DeviceType.cpu:  # MLX's own kernels off the CPU
        assert choose((16, 14, 14, 256), (512, 3, 3, 256), [2, 2], [1, 1], 1) == "mlx"
        return
    # strided: MLX's forward, our gradient (MLX's strided gradient runs naive loops)
    assert choose((16, 14, 14, 256), (512, 3, 3, 256), [2, 2], [1, 1], 1) == "hybrid"
    # dilated or grouped: ours both ways
    assert choose((4, 9, 9, 8), (8, 3, 3, 8), [1, 1], [2, 2], 1) == "shifted"
    assert choose((4, 30, 30, 8), (8, 3, 3, 4), [1, 1], [1, 1], 2) == "shifted"
    # stride 1: ours on large maps, MLX on small ones and with few input channels
    assert choose((64, 9, 9, 64), (64, 3, 3, 64), [1, 1], [1, 1], 1) == "mlx"
    assert choose((64, 30, 30, 32), (64, 3, 3, 32), [1, 1], [1, 1], 1) == "shifted"
    assert choose((64, 32, 32, 3), (32, 3, 3, 3), [1, 1], [1, 1], 1) == "mlx"
    # depthwise-like grouping stays with MLX
    assert choose((4, 30, 30, 32), (32, 3, 3, 1), [2, 2], [1, 1], 32) == "mlx"
    with pytest.raises(ValueError, match="policy"):
        conv_shifted.set_policy("fast")


@pytest.mark.parametrize("policy", ["shifted", "mlx", "hybrid"])
def test_layers_agree_under_both_policies(policy):
    # The Conv layers route through the rule; forcing either formulation must give the
    # same outputs and kernel gradients (the layer tests run under "auto").
    xn = _rand(2, 12, 11, 5)
    layer = layers.Conv2D(6, 3, strides=2, padding="same")
    layer.build(xn.shape)
    previous = conv_shifted.set_policy(policy)
    try:
        y = layer(mx.array(xn))
        g = mx.grad(lambda w: (conv_utils.convolve(mx.array(xn), w, (2, 2), "same", (1, 1))
                               ** 2).sum())(layer["kernel"])
    finally:
        conv_shifted.set_policy(previous)
    kernel = np.array(layer["kernel"])
    pads = conv_utils.explicit_pads((12, 11), (3, 3), "same", (2, 2), (1, 1))
    y_ref, _, _ = _np_conv_and_grads(xn, kernel, (2, 2), pads, (1, 1), 1,
                                     np.zeros((2, 6, 6, 6), np.float32))
    np.testing.assert_allclose(np.array(y), y_ref + np.array(layer["bias"]), rtol=1e-4,
                               atol=1e-4)
    _, _, dw_ref = _np_conv_and_grads(xn, kernel, (2, 2), pads, (1, 1), 1, 2 * y_ref)
    np.testing.assert_allclose(np.array(g), dw_ref, rtol=1e-4, atol=1e-3)


TRANSPOSE_CASES = [  # (input shape, filters, kernel, strides, padding, output_padding, dilation)
    ((2, 5, 3), 4, 3, 2, "valid", None, 1),
    ((2, 5, 3), 4, 3, 2, "same", None, 1),
    ((2, 5, 3), 4, 2, 3, "valid", None, 1),  # stride > kernel: uncovered outputs stay zero
    ((2, 5, 3), 4, 3, 2, "valid", 1, 1),
    ((2, 6, 3), 4, 3, 1, "same", None, 2),
    ((2, 4, 5, 3), 4, 3, 2, "same", None, 1),
    ((2, 4, 5, 3), 4, (3, 2), (2, 3), "valid", (1, 2), 1),
    ((2, 5, 4, 3), 4, 3, 1, "valid", None, 1),
    ((1, 3, 4, 3, 2), 3, 3, 2, "same", None, 1),
    ((1, 3, 3, 4, 2), 3, 2, (1, 2, 2), "valid", None, 1),
]


@pytest.mark.parametrize("shape, filters, kernel, strides, padding, output_padding, dilation",
                         TRANSPOSE_CASES)
def test_transposed_conv_as_shifted_input_gradient(shape, filters, kernel, strides, padding,
                                                   output_padding, dilation):
    rank = len(shape) - 2
    kernel, strides, dilation = (_tup(v, rank) for v in (kernel, strides, dilation))
    op = None if output_padding is None else _tup(output_padding, rank)
    xn = _rand(*shape)
    keras_kernel = _rand(*kernel, filters, shape[-1])  # Keras (*k, filters, in)
    x, w = mx.array(xn), mx.array(np.moveaxis(keras_kernel, -2, 0))  # (filters, *k, in)

    def run(policy):
        def f(x, w):
            previous = conv_shifted.set_policy(policy)
            try:
                return conv_utils.transpose_convolve(x, w, strides, padding, op, dilation)
            finally:
                conv_shifted.set_policy(previous)
        return f

    def ref(x, k):
        return ref_conv_transpose(x, k, strides, padding, op, dilation)

    ours = run("shifted")
    y = ours(x, w)
    y_ref = ref(xn, keras_kernel)
    np.testing.assert_allclose(np.array(y), y_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.array(y), np.array(run("mlx")(x, w)), rtol=1e-4, atol=1e-4)
    # The output is linear in x and in the kernel: the gradients of sum(y * ct) are
    # <ref(basis vector), ct> for every entry (MLX's own gradient is no reference here:
    # where trailing outputs see no input it returns a wrongly shaped input gradient).
    ctn = _rand(*y.shape)
    dx_ref = np.array([np.sum(ref(e.reshape(xn.shape), keras_kernel) * ctn)
                       for e in np.eye(xn.size, dtype=np.float32)]).reshape(xn.shape)
    dk_ref = np.array([np.sum(ref(xn, e.reshape(keras_kernel.shape)) * ctn)
                       for e in np.eye(keras_kernel.size, dtype=np.float32)])
    dk_ref = np.moveaxis(dk_ref.reshape(keras_kernel.shape), -2, 0)
    ct = mx.array(ctn)
    dx, dw = mx.grad(lambda x, w: (ours(x, w) * ct).sum(), argnums=(0, 1))(x, w)
    np.testing.assert_allclose(np.array(dx), dx_ref, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(np.array(dw), dk_ref, rtol=1e-4, atol=1e-3)
