"""Convolution layers beyond their values: symbolic output shapes, parameter counts,
weight names and Keras shapes, initializer fans, regularizer losses, config round
trips, and the errors for wrong ranks, small inputs and bad arguments."""

import json
import math

import numpy as np
import pytest

from _conv_reference import rand, run
from mlxfunctional import Input
from mlxfunctional.layers.conv_transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
from mlxfunctional.layers.convolutional import Conv1D, Conv2D, Conv3D
from mlxfunctional.layers.depthwise import (DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D,
                                            SeparableConv2D)


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
