"""AdaptiveAverage/AdaptiveMaxPooling1D-3D against a numpy reference that loops over
output cells (Keras 3.15's windows, also PyTorch's), shapes with unknown sizes,
channels_first, configs, fit and model files read back in a fresh process
(issue 14, item 6)."""

import itertools
import json
import math

import numpy as np
import pytest

from mlxfunctional import Input, Model, layers, ops
from tests._fresh_process import roundtrip_in_fresh_process

RNG = np.random.default_rng(6)

LAYERS = {
    ("average", 1): layers.AdaptiveAveragePooling1D,
    ("average", 2): layers.AdaptiveAveragePooling2D,
    ("average", 3): layers.AdaptiveAveragePooling3D,
    ("max", 1): layers.AdaptiveMaxPooling1D,
    ("max", 2): layers.AdaptiveMaxPooling2D,
    ("max", 3): layers.AdaptiveMaxPooling3D,
}


def window(i, n, out):
    """Cell i of an axis of size n pooled to out cells: [floor(i n / out), ceil((i+1) n / out))."""
    return slice(math.floor(i * n / out), math.ceil((i + 1) * n / out))


def reference(x, output_size, mode):
    """Channels-last numpy reference: one output cell at a time, float64."""
    x = x.astype(np.float64)
    spatial = x.shape[1:-1]
    out = np.empty((x.shape[0], *output_size, x.shape[-1]))
    for cell in itertools.product(*[range(o) for o in output_size]):
        region = (slice(None),) + tuple(window(i, n, o) for i, n, o in
                                        zip(cell, spatial, output_size))
        block = x[region].reshape(x.shape[0], -1, x.shape[-1])
        out[(slice(None),) + cell] = block.max(1) if mode == "max" else block.mean(1)
    return out


CASES = [
    (1, (10,), (5,)), (1, (7,), (3,)), (1, (5,), (8,)), (1, (9,), (1,)),
    (2, (7, 6), (3, 4)), (2, (8, 8), (4, 4)), (2, (3, 5), (5, 2)),
    (3, (5, 7, 4), (2, 3, 3)), (3, (4, 4, 4), (2, 2, 2)),
]


@pytest.mark.parametrize("mode", ["average", "max"])
@pytest.mark.parametrize("rank, spatial, output_size", CASES)
def test_matches_the_numpy_reference(mode, rank, spatial, output_size):
    x = RNG.standard_normal((2, *spatial, 3)).astype(np.float32)
    layer = LAYERS[mode, rank](output_size)
    y = np.array(layer(x))
    assert y.shape == (2, *output_size, 3)
    np.testing.assert_allclose(y, reference(x, output_size, mode), rtol=1e-5, atol=1e-6)


def test_non_divisible_windows_worked_by_hand():
    # n = 5 cells to 3: windows [0, 2), [1, 4), [3, 5) -- two sizes, overlapping.
    x = np.array([1.0, 4.0, 2.0, 8.0, 6.0], np.float32).reshape(1, 5, 1)
    avg = np.array(layers.AdaptiveAveragePooling1D(3)(x)).ravel()
    mx_ = np.array(layers.AdaptiveMaxPooling1D(3)(x)).ravel()
    np.testing.assert_allclose(avg, [(1 + 4) / 2, (4 + 2 + 8) / 3, (8 + 6) / 2])
    np.testing.assert_array_equal(mx_, [4, 8, 8])


@pytest.mark.parametrize("mode", ["average", "max"])
def test_channels_first(mode):
    x = RNG.standard_normal((2, 3, 7, 5)).astype(np.float32)  # (batch, channels, h, w)
    layer = LAYERS[mode, 2]((3, 2), data_format="channels_first")
    y = np.array(layer(x))
    expected = np.moveaxis(reference(np.moveaxis(x, 1, -1), (3, 2), mode), -1, 1)
    assert y.shape == (2, 3, 3, 2)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_the_ops_agree_with_the_layers():
    x = RNG.standard_normal((2, 9, 6, 4)).astype(np.float32)
    np.testing.assert_array_equal(np.array(ops.adaptive_max_pool(x, (4, 5))),
                                  np.array(layers.AdaptiveMaxPooling2D((4, 5))(x)))
    np.testing.assert_array_equal(np.array(ops.adaptive_average_pool(x, 3)),
                                  np.array(layers.AdaptiveAveragePooling2D(3)(x)))


def test_unknown_spatial_sizes_give_a_fixed_output_shape():
    inputs = Input((None, None, 3))
    y = layers.AdaptiveAveragePooling2D((4, 2))(inputs)
    assert y.shape == (None, 4, 2, 3)
    model = Model(inputs, layers.AdaptiveMaxPooling2D(1)(y))
    for h, w in ((5, 9), (12, 3)):
        x = RNG.standard_normal((1, h, w, 3)).astype(np.float32)
        expected = reference(reference(x, (4, 2), "average"), (1, 1), "max")
        np.testing.assert_allclose(np.array(model(x)), expected, rtol=1e-5, atol=1e-6)
    assert model.count_params() == 0
    with pytest.raises(ValueError):
        layers.AdaptiveAveragePooling2D(2)(Input((4, 3)))  # rank 3, wants 4


def test_integer_inputs_average_in_float_and_max_keeps_the_dtype():
    x = np.arange(12, dtype=np.int32).reshape(1, 12, 1)
    avg = np.array(layers.AdaptiveAveragePooling1D(4)(x))
    assert avg.dtype == np.float32 and avg.ravel().tolist() == [1.0, 4.0, 7.0, 10.0]
    top = np.array(layers.AdaptiveMaxPooling1D(4)(x))
    assert top.dtype == np.int32 and top.ravel().tolist() == [2, 5, 8, 11]


@pytest.mark.parametrize("key", sorted(LAYERS))
def test_config_round_trip(key):
    cls = LAYERS[key]
    rank = key[1]
    layer = cls(3, data_format="channels_first", name="pool")
    config = json.loads(json.dumps(layer.get_config()))
    assert config["output_size"] == [3] * rank and config["data_format"] == "channels_first"
    again = cls.from_config(config)
    assert again.output_size == (3,) * rank and again.get_config() == layer.get_config()
    with pytest.raises(ValueError, match="data_format"):
        cls(2, data_format="channels_middle")


def test_trains_in_the_compiled_step_and_reads_back_in_a_fresh_process(tmp_path):
    inputs = Input((9, 7, 2))
    h = layers.Conv2D(4, 3, padding="same")(inputs)
    a = layers.AdaptiveAveragePooling2D((4, 3))(h)
    m = layers.AdaptiveMaxPooling2D((4, 3))(h)
    h = layers.Flatten()(layers.Concatenate()([a, m]))
    model = Model(inputs, layers.Dense(1)(h))
    model.compile(optimizer="adam", loss="mse")
    x, y = RNG.standard_normal((32, 9, 7, 2)).astype(np.float32), RNG.standard_normal((32, 1))
    losses = model.fit(x, y, batch_size=8, epochs=3, verbose=0).history["loss"]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]

    seq = Input((11, 3))
    vol = Input((5, 6, 7, 2))
    first = layers.AdaptiveMaxPooling1D(4)(seq)
    third = layers.AdaptiveAveragePooling3D((2, 3, 4), data_format="channels_first")(vol)
    others = Model([seq, vol], [layers.AdaptiveAveragePooling1D(2)(first),
                                layers.AdaptiveMaxPooling3D(2)(third)])
    data = [RNG.standard_normal((2, 11, 3)).astype(np.float32),
            RNG.standard_normal((2, 5, 6, 7, 2)).astype(np.float32)]
    roundtrip_in_fresh_process([(model, x[:4]), (others, data)], tmp_path)
