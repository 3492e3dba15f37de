"""Pooling layers against plain-loop numpy references of Keras/TensorFlow semantics."""

import json
import math

import mlx.core as mx
import numpy as np
import pytest

from mlxfunctional import Input, Layer, Model
from mlxfunctional.layers.pooling import (AveragePooling1D, AveragePooling2D, AveragePooling3D,
                                          GlobalAveragePooling1D, GlobalAveragePooling2D,
                                          GlobalAveragePooling3D, GlobalMaxPooling1D,
                                          GlobalMaxPooling2D, GlobalMaxPooling3D,
                                          MaxPooling1D, MaxPooling2D, MaxPooling3D)

RNG = np.random.default_rng(0)
POOLS = {("max", 1): MaxPooling1D, ("max", 2): MaxPooling2D, ("max", 3): MaxPooling3D,
         ("avg", 1): AveragePooling1D, ("avg", 2): AveragePooling2D,
         ("avg", 3): AveragePooling3D}


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def roundtrip(layer, x, **kwargs):
    """from_config(get_config()) through JSON (tuples become lists) reproduces outputs."""
    config = json.loads(json.dumps(layer.get_config()))
    clone = type(layer).from_config(config)
    np.testing.assert_allclose(np.array(clone(x, **kwargs)), np.array(layer(x, **kwargs)),
                               rtol=1e-6, atol=1e-6)
    assert clone.get_config() == layer.get_config()
    return clone


def windows(shape, pool, strides, padding):
    """Per output position, the index ranges of the real cells of its window.

    TensorFlow's rule: "same" pads max((ceil(n/s)-1)*s + k - n, 0) cells in total,
    the smaller half before; padded cells are simply not part of the window.
    """
    ranges = []
    for n, k, s in zip(shape, pool, strides):
        if padding == "valid":
            out, before = (n - k) // s + 1, 0
        else:
            out = math.ceil(n / s)
            before = max((out - 1) * s + k - n, 0) // 2
        ranges.append([(max(i * s - before, 0), min(i * s - before + k, n)) for i in range(out)])
    return ranges


def np_pool(x, pool, strides, padding, mode):
    ranges = windows(x.shape[1:-1], pool, strides, padding)
    out = np.zeros((x.shape[0], *[len(r) for r in ranges], x.shape[-1]), np.float32)
    for pos in np.ndindex(*out.shape[1:-1]):
        cells = x[(slice(None), *[slice(*ranges[d][i]) for d, i in enumerate(pos)])]
        cells = cells.reshape(x.shape[0], -1, x.shape[-1])
        out[(slice(None), *pos)] = cells.max(1) if mode == "max" else cells.mean(1)
    return out


def np_pool_grad(x, pool, strides, padding, mode, cot):
    """d sum(pool(x) * cot) / dx: to the (first) max cell, or spread over the real cells."""
    ranges = windows(x.shape[1:-1], pool, strides, padding)
    grad = np.zeros_like(x)
    for pos in np.ndindex(*cot.shape[1:-1]):
        for b in range(x.shape[0]):
            for c in range(x.shape[-1]):
                sl = tuple(slice(*ranges[d][i]) for d, i in enumerate(pos))
                window = x[(b, *sl, c)]
                g = cot[(b, *pos, c)]
                if mode == "max":
                    arg = np.unravel_index(np.argmax(window), window.shape)
                    grad[(b, *[s.start + a for s, a in zip(sl, arg)], c)] += g
                else:
                    grad[(b, *sl, c)] += g / window.size
    return grad


CASES = [  # rank, pool, strides, padding, input spatial shape
    (1, 3, 2, "same", (7,)), (1, 3, 2, "same", (8,)), (1, 2, None, "valid", (7,)),
    (1, 4, 1, "same", (6,)), (1, 2, 3, "valid", (8,)), (1, 3, 3, "same", (7,)),
    (2, 3, 2, "same", (7, 8)), (2, 3, 2, "valid", (7, 8)), (2, 3, None, "valid", (10, 11)),
    (2, (2, 3), (3, 2), "valid", (9, 10)), (2, 2, 3, "same", (7, 8)), (2, (3, 2), 1, "same", (5, 6)),
    (2, (2, 2), None, "same", (5, 4)), (2, (1, 3), (1, 2), "same", (3, 6)),
    (3, 2, None, "same", (5, 4, 3)), (3, (3, 2, 2), (2, 1, 2), "valid", (6, 5, 4)),
    (3, 3, 2, "same", (4, 5, 3)),
]


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("rank, pool, strides, padding, spatial", CASES)
def test_pooling_matches_loops(mode, rank, pool, strides, padding, spatial):
    layer = POOLS[mode, rank](pool_size=pool, strides=strides, padding=padding)
    pool_t = (pool,) * rank if isinstance(pool, int) else pool
    stride_t = pool_t if strides is None else (strides,) * rank if isinstance(strides, int) \
        else strides
    x = rand(2, *spatial, 3)
    ref = np_pool(x, pool_t, stride_t, padding, mode)
    np.testing.assert_allclose(np.array(layer(x)), ref, rtol=1e-5, atol=1e-6)
    assert layer(Input(spatial + (3,))).shape == (None,) + ref.shape[1:]
    assert layer.count_params() == 0
    cot = rand(*ref.shape)
    grad = mx.grad(lambda v: mx.sum(layer(v) * mx.array(cot)))(mx.array(x))
    np.testing.assert_allclose(np.array(grad), np_pool_grad(x, pool_t, stride_t, padding, mode, cot),
                               rtol=1e-5, atol=1e-5)
    roundtrip(layer, x)


def test_same_average_excludes_padding_and_max_ignores_it():
    x = np.ones((1, 3, 3, 1), np.float32)
    np.testing.assert_allclose(np.array(AveragePooling2D(2, 1, padding="same")(x)), 1.0)
    neg = -np.ones((1, 3, 1), np.float32)
    np.testing.assert_allclose(np.array(MaxPooling1D(2, 2, padding="same")(neg)), -1.0)


def test_pooling_symbolic_shapes():
    assert MaxPooling2D(3)(Input((24, 24, 32))).shape == (None, 8, 8, 32)
    assert MaxPooling2D()(Input((28, 28, 1))).shape == (None, 14, 14, 1)
    assert AveragePooling2D(3, 2, "same")(Input((None, 7, 5))).shape == (None, None, 4, 5)
    assert MaxPooling1D(padding="same")(Input((None, 4))).shape == (None, None, 4)
    assert MaxPooling3D()(Input((None, None, None, 2))).shape == (None,) * 4 + (2,)
    assert AveragePooling1D(2, 3)(Input((8, 4), batch_size=5)).shape == (5, 3, 4)


def test_pooling_defaults_and_config():
    layer = MaxPooling2D()
    assert (layer.pool_size, layer.strides, layer.padding) == ((2, 2), (2, 2), "valid")
    assert MaxPooling1D().pool_size == (2,) and AveragePooling3D().pool_size == (2, 2, 2)
    config = AveragePooling2D((3, 2), strides=1, padding="SAME", name="p").get_config()
    assert {k: config[k] for k in ("name", "pool_size", "strides", "padding", "data_format")} \
        == {"name": "p", "pool_size": (3, 2), "strides": (1, 1), "padding": "same",
            "data_format": "channels_last"}


def test_pooling_errors_name_layer_and_shapes():
    layer = MaxPooling2D(name="pool_a")
    with pytest.raises(ValueError, match=r'"pool_a".*ndim=4.*\(2, 5, 3\)'):
        layer(rand(2, 5, 3))
    with pytest.raises(ValueError, match=r'"pool_b".*pool_size=\(3, 3\).*\(None, 2, 5, 1\)'):
        MaxPooling2D(3, name="pool_b")(Input((2, 5, 1)))
    with pytest.raises(ValueError, match=r'"pool_c".*\(1, 1, 4\)'):
        AveragePooling1D(2, name="pool_c")(rand(1, 1, 4))
    with pytest.raises(ValueError, match="channels_first"):
        MaxPooling2D(data_format="channels_first")
    with pytest.raises(ValueError, match="padding"):
        AveragePooling2D(padding="full")
    with pytest.raises(ValueError, match="pool_size"):
        MaxPooling2D(pool_size=(2, 2, 2))


# ---------------------------------------------------------------- global pooling

GLOBALS = [(GlobalMaxPooling1D, np.max, 1), (GlobalMaxPooling2D, np.max, 2),
           (GlobalMaxPooling3D, np.max, 3), (GlobalAveragePooling1D, np.mean, 1),
           (GlobalAveragePooling2D, np.mean, 2), (GlobalAveragePooling3D, np.mean, 3)]


@pytest.mark.parametrize("cls, reduce, rank", GLOBALS)
def test_global_pooling(cls, reduce, rank):
    x = rand(2, *range(3, 3 + rank), 4)
    axes = tuple(range(1, rank + 1))
    layer = cls()
    np.testing.assert_allclose(np.array(layer(x)), reduce(x, axis=axes), rtol=1e-5, atol=1e-6)
    assert layer(Input((None,) * rank + (4,))).shape == (None, 4)
    assert layer.count_params() == 0
    kept = cls(keepdims=True)
    np.testing.assert_allclose(np.array(kept(x)), reduce(x, axis=axes, keepdims=True),
                               rtol=1e-5, atol=1e-6)
    assert kept(Input((5,) * rank + (4,))).shape == (None,) + (1,) * rank + (4,)
    clone = roundtrip(kept, x)
    assert clone.keepdims is True
    with pytest.raises(ValueError, match=rf'"{layer.name}".*ndim={rank + 2}.*\(2, 4\)'):
        layer(rand(2, 4))
    with pytest.raises(ValueError, match="channels_first"):
        cls(data_format="channels_first")


def test_global_pooling_guide_shapes():
    assert GlobalMaxPooling1D()(Input((None, 8))).shape == (None, 8)
    assert GlobalMaxPooling2D()(Input((4, 4, 16))).shape == (None, 16)
    assert GlobalAveragePooling2D()(Input((None, None, 3), batch_size=2)).shape == (2, 3)


class NonZeroMask(Layer):
    """Test helper: passes inputs through and masks the all-zero steps."""

    def compute_mask(self, inputs, mask=None):
        return mx.any(inputs != 0, axis=-1)


class MaskProbe(Layer):
    """Test helper: records the mask it receives."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = "not called"

    def call(self, inputs, mask=None):
        self.seen = mask
        return inputs


def test_global_average_1d_masked_mean_and_no_output_mask():
    x = rand(3, 5, 4)
    mask = np.array([[1, 1, 0, 1, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
    keep = mask[..., None]
    ref = (x * keep).sum(1) / keep.sum(1)
    layer = GlobalAveragePooling1D()
    assert layer.supports_masking
    np.testing.assert_allclose(np.array(layer(x, mask=mx.array(mask))), ref, rtol=1e-5, atol=1e-6)
    kept = GlobalAveragePooling1D(keepdims=True)(x, mask=mx.array(mask))
    np.testing.assert_allclose(np.array(kept), ref[:, None], rtol=1e-5, atol=1e-6)
    # In a model: the mask made upstream is honoured and the pooled output has none.
    inp = Input((5, 4))
    pooled = GlobalAveragePooling1D()(NonZeroMask()(inp))
    assert pooled._mask_shape is None
    probe = MaskProbe()
    model = Model(inp, probe(pooled))
    xz = x * keep
    np.testing.assert_allclose(np.array(model(xz)), ref, rtol=1e-5, atol=1e-6)
    assert probe.seen is None
    # Keras' GlobalMaxPooling1D and the windowed pools ignore the mask and drop it.
    for layer in (GlobalMaxPooling1D(), MaxPooling1D(), AveragePooling1D()):
        assert layer(NonZeroMask()(inp))._mask_shape is None
    model = Model(inp, GlobalMaxPooling1D()(NonZeroMask()(inp)))
    np.testing.assert_allclose(np.array(model(xz)), xz.max(1), rtol=1e-6)
