"""Reshaping layers against numpy references of Keras' documented semantics."""

import json
import math

import mlx.core as mx
import numpy as np
import pytest

from mlxfunctional import Input, Layer, Model
from mlxfunctional.layers.reshaping import (Cropping1D, Cropping2D, Cropping3D, Flatten,
                                            Permute, RepeatVector, Reshape, UpSampling1D,
                                            UpSampling2D, UpSampling3D, ZeroPadding1D,
                                            ZeroPadding2D, ZeroPadding3D)

RNG = np.random.default_rng(1)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def check(layer, x, ref):
    """Output equals ``ref``; the layer has no weights; the JSON config round trip agrees."""
    out = np.array(layer(x))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    assert layer.count_params() == 0
    config = json.loads(json.dumps(layer.get_config()))
    clone = type(layer).from_config(config)
    np.testing.assert_allclose(np.array(clone(x)), out, rtol=1e-6, atol=1e-6)
    assert clone.get_config() == layer.get_config()


class NonZeroMask(Layer):
    """Test helper: passes inputs through and masks the all-zero steps."""

    def compute_mask(self, inputs, mask=None):
        return mx.any(inputs != 0, axis=-1)


# ---------------------------------------------------------------- Flatten, Reshape, Permute

def test_flatten():
    x = rand(2, 4, 4, 2)
    check(Flatten(), x, x.reshape(2, 32))
    assert Flatten()(Input((4, 4, 2))).shape == (None, 32)
    assert Flatten()(Input((None, 8))).shape == (None, None)
    assert Flatten()(Input((3, 5), batch_size=7)).shape == (7, 15)
    np.testing.assert_allclose(np.array(Flatten()(np.arange(3, dtype=np.float32))),
                               [[0], [1], [2]])
    with pytest.raises(ValueError, match="channels_first"):
        Flatten(data_format="channels_first")


def test_reshape():
    x = rand(3, 16)
    check(Reshape((4, 4, 1)), x, x.reshape(3, 4, 4, 1))
    check(Reshape((-1, 2)), x, x.reshape(3, 8, 2))
    assert Reshape((4, 4, 1))(Input((16,))).shape == (None, 4, 4, 1)
    assert Reshape((2, -1))(Input((3, 4))).shape == (None, 2, 6)
    # Unknown sizes: -1 stays unknown, a fully given target is known.
    assert Reshape((-1, 5))(Input((None,))).shape == (None, None, 5)
    assert Reshape((2, -1))(Input((None, 3))).shape == (None, 2, None)
    assert Reshape((-1, 3))(Input((None, None, 3))).shape == (None, None, 3)
    assert Reshape((5, 7))(Input((None,))).shape == (None, 5, 7)
    layer = Reshape((-1, 5))
    layer(Input((None,)))
    np.testing.assert_allclose(np.array(layer(x[:, :15])), x[:, :15].reshape(3, 3, 5))
    assert Reshape([2, 8]).get_config()["target_shape"] == (2, 8)


def test_reshape_errors_name_layer_and_both_shapes():
    with pytest.raises(ValueError, match=r'"rs_a".*\(None, 16\).*\(4, 4, 2\)'):
        Reshape((4, 4, 2), name="rs_a")(Input((16,)))
    with pytest.raises(ValueError, match=r'"rs_b".*\(None, 15\).*\(-1, 4\)'):
        Reshape((-1, 4), name="rs_b")(Input((15,)))
    layer = Reshape((-1, 5), name="rs_c")
    layer(Input((None,)))
    with pytest.raises(ValueError, match=r'"rs_c".*\(2, 7\).*\(-1, 5\)'):
        layer(rand(2, 7))
    with pytest.raises(ValueError, match="-1"):
        Reshape((-1, -1))


def test_permute():
    x = rand(2, 3, 4, 5)
    check(Permute((3, 1, 2)), x, np.transpose(x, (0, 3, 1, 2)))
    assert Permute((2, 1))(Input((10, 64))).shape == (None, 64, 10)
    assert Permute((2, 1))(Input((None, 64))).shape == (None, 64, None)
    with pytest.raises(ValueError, match="dims"):
        Permute((0, 1))
    with pytest.raises(ValueError, match=r'"perm_a".*ndim=3.*\(2, 3, 4, 5\)'):
        Permute((2, 1), name="perm_a")(x)


def test_repeat_vector():
    x = rand(2, 5)
    check(RepeatVector(3), x, np.stack([x] * 3, axis=1))
    assert RepeatVector(3)(Input((32,))).shape == (None, 3, 32)
    with pytest.raises(ValueError, match=r'"rep_a".*ndim=2.*\(None, 4, 5\)'):
        RepeatVector(2, name="rep_a")(Input((4, 5)))


def test_reshaping_layers_drop_masks():
    inp = Input((6, 4))
    masked = NonZeroMask()(inp)
    assert masked._mask_shape == (None, 6)
    for layer in (Flatten(), Reshape((4, 6)), Permute((2, 1)), UpSampling1D(),
                  ZeroPadding1D(), Cropping1D()):
        assert layer(masked)._mask_shape is None, type(layer).__name__
    x = rand(2, 6, 4)
    x[:, 2] = 0
    model = Model(inp, Flatten()(NonZeroMask()(inp)))
    np.testing.assert_allclose(np.array(model(x)), x.reshape(2, 24))


# ---------------------------------------------------------------- UpSampling

def test_upsampling_nearest():
    x = rand(2, 3, 4)
    check(UpSampling1D(3), x, np.repeat(x, 3, axis=1))
    x2 = rand(2, 3, 4, 2)
    check(UpSampling2D((2, 3)), x2, np.repeat(np.repeat(x2, 2, axis=1), 3, axis=2))
    x3 = rand(1, 2, 3, 2, 2)
    ref = np.repeat(np.repeat(np.repeat(x3, 2, axis=1), 1, axis=2), 3, axis=3)
    check(UpSampling3D((2, 1, 3)), x3, ref)
    assert UpSampling1D().size == 2 and UpSampling2D().size == (2, 2)
    assert UpSampling3D().size == (2, 2, 2)


def test_upsampling_shapes():
    assert UpSampling2D(3)(Input((8, 8, 32))).shape == (None, 24, 24, 32)
    assert UpSampling2D(2, interpolation="bilinear")(Input((None, 5, 3))).shape == \
        (None, None, 10, 3)
    assert UpSampling1D(4)(Input((None, 2))).shape == (None, None, 2)
    assert UpSampling3D(2)(Input((2, None, 3, 1))).shape == (None, 4, None, 6, 1)


def np_resize_bilinear(x, out_h, out_w):
    """TensorFlow's resize_bilinear with half_pixel_centers=True (Keras 3 resize,
    antialias off): sample at (o + 0.5) * in/out - 0.5, neighbours clamped to the
    edge, lerp weight = position - floor(position)."""
    b, h, w, c = x.shape
    out = np.zeros((b, out_h, out_w, c), np.float64)

    def coord(o, n_in, n_out):
        pos = (o + 0.5) * n_in / n_out - 0.5
        lo = math.floor(pos)
        return max(lo, 0), min(math.ceil(pos), n_in - 1), pos - lo

    for i in range(out_h):
        y0, y1, fy = coord(i, h, out_h)
        for j in range(out_w):
            x0, x1, fx = coord(j, w, out_w)
            top = x[:, y0, x0] + (x[:, y0, x1] - x[:, y0, x0]) * fx
            bottom = x[:, y1, x0] + (x[:, y1, x1] - x[:, y1, x0]) * fx
            out[:, i, j] = top + (bottom - top) * fy
    return out.astype(np.float32)


@pytest.mark.parametrize("size, shape", [((2, 2), (1, 3, 4, 2)), ((3, 2), (2, 4, 3, 1)),
                                         ((1, 4), (1, 2, 3, 2)), ((5, 3), (1, 1, 2, 1))])
def test_upsampling_bilinear(size, shape):
    x = rand(*shape)
    layer = UpSampling2D(size, interpolation="Bilinear")
    assert layer.interpolation == "bilinear"
    check(layer, x, np_resize_bilinear(x, shape[1] * size[0], shape[2] * size[1]))
    grad = mx.grad(lambda v: mx.sum(layer(v)))(mx.array(x))
    # The weights of every output cell sum to 1, so the gradient of the sum has
    # total size_h * size_w per input cell on average.
    np.testing.assert_allclose(float(mx.sum(grad)), x.size * size[0] * size[1], rtol=1e-5)


def test_upsampling_errors():
    with pytest.raises(ValueError, match=r'"up_a".*ndim=4.*\(2, 3, 4\)'):
        UpSampling2D(name="up_a")(rand(2, 3, 4))
    with pytest.raises(ValueError, match="interpolation"):
        UpSampling2D(interpolation="bicubic")
    with pytest.raises(ValueError, match="channels_first"):
        UpSampling3D(data_format="channels_first")
    with pytest.raises(ValueError, match="size"):
        UpSampling2D((2, 0))


# ---------------------------------------------------------------- ZeroPadding, Cropping

@pytest.mark.parametrize("cls, arg, pads", [
    (ZeroPadding1D, 2, [(2, 2)]),
    (ZeroPadding1D, (0, 3), [(0, 3)]),
    (ZeroPadding2D, 1, [(1, 1), (1, 1)]),
    (ZeroPadding2D, (2, 1), [(2, 2), (1, 1)]),
    (ZeroPadding2D, ((1, 2), (0, 3)), [(1, 2), (0, 3)]),
    (ZeroPadding2D, ((1, 2), 3), [(1, 2), (3, 3)]),
    (ZeroPadding3D, 1, [(1, 1)] * 3),
    (ZeroPadding3D, (1, 0, 2), [(1, 1), (0, 0), (2, 2)]),
    (ZeroPadding3D, ((0, 1), (2, 0), (1, 1)), [(0, 1), (2, 0), (1, 1)]),
])
def test_zero_padding(cls, arg, pads):
    spatial = (3, 4, 2)[:len(pads)]
    x = rand(2, *spatial, 3)
    layer = cls(arg)
    check(layer, x, np.pad(x, [(0, 0), *pads, (0, 0)]))
    grown = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, pads))
    assert cls(arg)(Input(spatial + (3,))).shape == (None, *grown, 3)
    assert cls(arg)(Input((None,) * len(pads) + (3,))).shape == (None,) * (len(pads) + 1) + (3,)


def test_padding_defaults_and_errors():
    assert ZeroPadding1D().padding == (1, 1)
    assert ZeroPadding2D().padding == ((1, 1), (1, 1))
    assert ZeroPadding3D().padding == ((1, 1), (1, 1), (1, 1))
    assert "data_format" not in ZeroPadding1D().get_config()
    with pytest.raises(ValueError, match="padding"):
        ZeroPadding2D((1, 2, 3))
    with pytest.raises(ValueError, match="padding"):
        ZeroPadding1D(-1)
    with pytest.raises(ValueError, match=r'"zp_a".*ndim=4.*\(2, 3\)'):
        ZeroPadding2D(name="zp_a")(rand(2, 3))


@pytest.mark.parametrize("cls, arg, crops", [
    (Cropping1D, 1, [(1, 1)]),
    (Cropping1D, (2, 0), [(2, 0)]),
    (Cropping2D, 1, [(1, 1), (1, 1)]),
    (Cropping2D, (1, 2), [(1, 1), (2, 2)]),
    (Cropping2D, ((0, 2), (3, 0)), [(0, 2), (3, 0)]),
    (Cropping3D, 1, [(1, 1)] * 3),
    (Cropping3D, ((1, 0), 2, (0, 1)), [(1, 0), (2, 2), (0, 1)]),
])
def test_cropping(cls, arg, crops):
    spatial = (5, 6, 7)[:len(crops)]
    x = rand(2, *spatial, 3)
    ref = x[(slice(None), *[slice(lo, n - hi) for n, (lo, hi) in zip(spatial, crops)])]
    check(cls(arg), x, ref)
    assert cls(arg)(Input(spatial + (3,))).shape == (None, *ref.shape[1:])
    assert cls(arg)(Input((None,) * len(crops) + (3,))).shape == (None,) * (len(crops) + 1) + (3,)


def test_cropping_defaults_and_errors():
    assert Cropping1D().cropping == (1, 1)
    assert Cropping2D().cropping == ((0, 0), (0, 0))
    assert Cropping3D().cropping == ((1, 1), (1, 1), (1, 1))
    with pytest.raises(ValueError, match=r'"crop_a".*\(None, 4, 5, 3\).*\(\(2, 2\), \(0, 0\)\)'):
        Cropping2D(((2, 2), (0, 0)), name="crop_a")(Input((4, 5, 3)))
    layer = Cropping1D(2, name="crop_b")
    layer(Input((None, 3)))
    with pytest.raises(ValueError, match=r'"crop_b".*\(1, 4, 3\)'):
        layer(rand(1, 4, 3))
    with pytest.raises(ValueError, match=r'"crop_c".*ndim=5'):
        Cropping3D(name="crop_c")(rand(1, 4, 4, 3))
    with pytest.raises(ValueError, match="channels_first"):
        Cropping2D(data_format="channels_first")


def test_guide_shapes_in_a_model():
    inp = Input((16,))
    x = Reshape((4, 4, 1))(inp)
    x = UpSampling2D(3)(x)
    x = ZeroPadding2D(((1, 2), 0))(x)
    x = Cropping2D(((1, 2), 0))(x)
    x = Flatten()(x)
    model = Model(inp, x)
    assert model.output_shape == (None, 144)
    v = rand(2, 16)
    ref = np.repeat(np.repeat(v.reshape(2, 4, 4, 1), 3, axis=1), 3, axis=2).reshape(2, 144)
    np.testing.assert_allclose(np.array(model(v)), ref)
    assert math.prod(model.output_shape[1:]) == 144
