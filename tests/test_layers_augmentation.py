"""Image augmentation layers (issue 14 item 5): exact identity at inference,
bit-for-bit repeats under a seed, shapes and value ranges in training, numpy
references for fixed parameters, configs and argument checks.

The references are written independently of the layers: per-pixel Python
loops for the warps, np.flip/np.rot90/colorsys for flips, rotations and hues.
"""

import colorsys
import json
import math

import mlx.core as mx
import numpy as np
import pytest

from mlxfunctional import layers as L

RNG = np.random.RandomState(0)
IMAGES = (RNG.rand(4, 6, 7, 3) * 255).astype("float32")

# (class, arguments that make it act) for every augmentation layer.
LAYERS = [
    (L.RandomFlip, {}),
    (L.RandomFlip, {"mode": "horizontal"}),
    (L.RandomRotation, {"factor": 0.2}),
    (L.RandomZoom, {"height_factor": 0.3, "width_factor": (-0.2, 0.4)}),
    (L.RandomTranslation, {"height_factor": 0.2, "width_factor": 0.3}),
    (L.RandomCrop, {"height": 4, "width": 5}),
    (L.RandomContrast, {"factor": 0.5}),
    (L.RandomBrightness, {"factor": 0.3}),
    (L.RandomGrayscale, {"factor": 0.5}),
    (L.RandomHue, {"factor": 0.5}),
    (L.RandomSaturation, {"factor": 0.5}),  # (above 0.5 Keras leaves the range)
    (L.RandomInvert, {"factor": 0.5}),
    (L.Solarization, {"addition_factor": 0.2, "threshold_factor": 0.8}),
    (L.RandomPosterization, {"factor": (2, 7)}),
    (L.RandomSharpness, {"factor": 0.8}),
    (L.RandomGaussianBlur, {"sigma": (0.3, 1.0)}),
    (L.RandomColorJitter, {"brightness_factor": 0.2, "contrast_factor": 0.3,
                           "saturation_factor": 0.4, "hue_factor": 0.2}),
    (L.RandomShear, {"x_factor": 0.3, "y_factor": 0.2}),
    (L.MixUp, {}),
    (L.CutMix, {}),
    (L.RandomErasing, {}),
    (L.RandomColorDegeneration, {"factor": 0.5}),
    (L.RandAugment, {}),
    (L.AugMix, {"num_chains": 2, "chain_depth": 2}),
    (L.RandomPerspective, {"scale": 0.5}),
    (L.RandomElasticTransform, {}),
]
IDS = [f"{c.__name__}-{i}" for i, (c, _) in enumerate(LAYERS)]


def _np(x):
    return np.array(x)


# -- inference, seeds, shapes --------------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=IDS)
def test_inference_is_the_exact_identity(cls, kwargs):
    layer = cls(**kwargs, seed=3)
    for images in (IMAGES, IMAGES[0]):
        out = _np(layer(images, training=False))
        assert out.dtype == np.float32 and np.array_equal(out, images)


@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=IDS)
def test_a_seed_repeats_bit_for_bit_and_each_call_draws_anew(cls, kwargs):
    a, b = cls(**kwargs, seed=7), cls(**kwargs, seed=7)
    first_a, first_b = _np(a(IMAGES, training=True)), _np(b(IMAGES, training=True))
    assert np.array_equal(first_a, first_b)
    second_a, second_b = _np(a(IMAGES, training=True)), _np(b(IMAGES, training=True))
    assert np.array_equal(second_a, second_b)
    # Fresh numbers at the next call, and from another seed.
    batch = np.concatenate([IMAGES] * 8)
    c, d = cls(**kwargs, seed=7), cls(**kwargs, seed=8)
    assert not np.array_equal(_np(c(batch, training=True)), _np(c(batch, training=True)))
    assert not np.array_equal(_np(cls(**kwargs, seed=7)(batch, training=True)),
                              _np(d(batch, training=True)))


@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=IDS)
def test_training_keeps_shapes_and_the_value_range(cls, kwargs):
    layer = cls(**kwargs, seed=1)
    out = _np(layer(IMAGES, training=True))
    expected = (4, 4, 5, 3) if cls is L.RandomCrop else IMAGES.shape
    assert out.shape == expected and out.dtype == np.float32
    # Reflect-filled bilinear warps, clipped colour ops: never outside [0, 255].
    assert out.min() >= -1e-3 and out.max() <= 255 + 1e-3
    single = _np(layer(IMAGES[0], training=True))
    assert single.shape == expected[1:]
    # No `training` argument: Keras' signature default, True (the layer acts).
    batch = np.concatenate([IMAGES] * 8)
    assert not np.array_equal(_np(cls(**kwargs, seed=1)(batch)), batch)


def test_a_rank_2_input_is_refused_with_the_layer_name():
    with pytest.raises(ValueError, match="rank 3 .* or 4"):
        L.RandomFlip(name="flip")(np.zeros((3, 4), "float32"))


# -- numpy references for fixed parameters ------------------------------------------------

def _reflect(i, n):
    """Half-sample symmetric folding (d c b a | a b c d | d c b a), step by step."""
    while i < 0 or i >= n:
        i = -i - 1 if i < 0 else 2 * n - 1 - i
    return i


def _bilinear_warp(image, source, fill_mode="reflect", fill_value=0.0):
    """image (H, W, C); source(x, y) -> (sx, sy), the point output pixel (x, y) reads."""
    h, w, _ = image.shape
    out = np.zeros_like(image, dtype=np.float64)
    for y in range(h):
        for x in range(w):
            sx, sy = source(x, y)
            x0, y0 = math.floor(sx), math.floor(sy)
            for yy, wy in ((y0, 1 - (sy - y0)), (y0 + 1, sy - y0)):
                for xx, wx in ((x0, 1 - (sx - x0)), (x0 + 1, sx - x0)):
                    if fill_mode == "constant" and not (0 <= yy < h and 0 <= xx < w):
                        value = fill_value
                    else:
                        value = image[_reflect(yy, h), _reflect(xx, w)]
                    out[y, x] += wy * wx * value
    return out


def test_a_quarter_turn_is_np_rot90():
    image = (RNG.rand(1, 5, 5, 2) * 255).astype("float32")
    out = _np(L.RandomRotation((0.25, 0.25), seed=0)(image, training=True))
    # +90 degrees turns the picture counter-clockwise as displayed (rows down).
    np.testing.assert_allclose(out[0], np.rot90(image[0], k=1), atol=1e-3)
    out = _np(L.RandomRotation((-0.5, -0.5), seed=0)(image, training=True))
    np.testing.assert_allclose(out[0], np.rot90(image[0], k=2), atol=1e-3)


def test_a_fixed_rotation_matches_a_per_pixel_reference():
    image = IMAGES[:1]
    theta = 0.1 * 2 * math.pi  # factor 0.1 of a turn
    cx, cy = (7 - 1) / 2, (6 - 1) / 2
    c, s = math.cos(theta), math.sin(theta)

    def source(x, y):
        return c * (x - cx) - s * (y - cy) + cx, s * (x - cx) + c * (y - cy) + cy

    out = _np(L.RandomRotation((0.1, 0.1), seed=0)(image, training=True))
    np.testing.assert_allclose(out[0], _bilinear_warp(image[0], source), atol=2e-3)
    out = _np(L.RandomRotation((0.1, 0.1), fill_mode="constant", fill_value=-5.0,
                               seed=0)(image, training=True))
    np.testing.assert_allclose(out[0], _bilinear_warp(image[0], source, "constant", -5.0),
                               atol=2e-3)


def test_a_fixed_zoom_matches_a_per_pixel_reference():
    image = IMAGES[:1]
    cx, cy = (7 - 1) / 2, (6 - 1) / 2
    # height_factor -0.5: zoom 0.5 on both axes (zoom in x2); width given: own zoom.
    for hf, wf, zy, zx in ((-0.5, None, 0.5, 0.5), (0.25, -0.4, 1.25, 0.6)):
        layer = L.RandomZoom((hf, hf), None if wf is None else (wf, wf), seed=0)
        out = _np(layer(image, training=True))
        ref = _bilinear_warp(image[0], lambda x, y: (cx + zx * (x - cx), cy + zy * (y - cy)))
        np.testing.assert_allclose(out[0], ref, atol=2e-3)
    same = _np(L.RandomZoom((0.0, 0.0), seed=0)(image, training=True))
    assert np.array_equal(same, image)


def test_a_fixed_translation_shifts_rows_and_columns():
    image = (RNG.rand(2, 8, 10, 1) * 255).astype("float32")
    layer = L.RandomTranslation((0.25, 0.25), (-0.2, -0.2), fill_mode="constant", seed=0)
    out = _np(layer(image, training=True))
    expected = np.zeros_like(image)
    expected[:, 2:, :8] = image[:, :6, 2:]  # 2 rows down, 2 columns left
    np.testing.assert_allclose(out, expected, atol=1e-4)
    nearest = L.RandomTranslation((0.25, 0.25), 0.0, interpolation="nearest",
                                  fill_mode="nearest", seed=0)
    out = _np(nearest(image, training=True))
    expected = np.concatenate([np.repeat(image[:, :1], 2, axis=1), image[:, :6]], axis=1)
    assert np.array_equal(out, expected)


def test_flips_are_np_flip_with_one_draw_per_image():
    batch = (RNG.rand(64, 3, 4, 2) * 255).astype("float32")
    for mode, axes in (("horizontal", (1,)), ("vertical", (0,)),
                       ("horizontal_and_vertical", (0, 1))):
        out = _np(L.RandomFlip(mode, seed=5)(batch, training=True))
        flipped = [np.array_equal(o, np.flip(x, axis=axes)) for o, x in zip(out, batch)]
        kept = [np.array_equal(o, x) for o, x in zip(out, batch)]
        assert all(f or k for f, k in zip(flipped, kept)), mode
        assert 10 < sum(flipped) < 54, (mode, sum(flipped))


def test_random_crop_takes_one_window_per_batch_and_keeps_inference_uncropped():
    batch = (RNG.rand(3, 9, 11, 2) * 255).astype("float32")
    layer = L.RandomCrop(4, 6, seed=2)
    offsets = set()
    for _ in range(12):
        out = _np(layer(batch, training=True))
        assert out.shape == (3, 4, 6, 2)
        found = [(t, l) for t in range(9 - 4 + 1) for l in range(11 - 6 + 1)
                 if np.array_equal(out, batch[:, t:t + 4, l:l + 6])]
        assert len(found) == 1
        offsets.add(found[0])
    assert len(offsets) > 3  # the window moves
    # Keras 3.15 returns the images uncropped at inference.
    assert np.array_equal(_np(layer(batch, training=False)), batch)
    assert layer.compute_output_shape((None, 9, 11, 2)) == (None, 4, 6, 2)
    # An image of exactly the window's size is kept as it is.
    assert np.array_equal(_np(L.RandomCrop(9, 11, seed=0)(batch, training=True)), batch)


def test_random_crop_of_a_small_image_resizes_keras_centred_slice():
    image = np.arange(6 * 4, dtype="float32").reshape(1, 6, 4, 1)
    out = _np(L.RandomCrop(3, 8, seed=0)(image, training=True))
    # Keras: crop_width = int(6 * 8 / 3) -> 4, crop_height = int(4 * 3 / 8) = 1, so
    # top = (6 - 1) // 2 = 2 and the slice [2:5, 0:8] -> 3 x 4, resized to 3 x 8.
    window = image[:, 2:5, 0:4]
    # Bilinear half-pixel upsampling of the columns by 2 (rows unchanged).
    cols = np.clip((np.arange(8) + 0.5) / 2 - 0.5, 0, 3)
    lo = np.floor(cols).astype(int)
    hi = np.minimum(lo + 1, 3)
    wt = cols - lo
    ref = window[..., lo, :] * (1 - wt)[:, None] + window[..., hi, :] * wt[:, None]
    np.testing.assert_allclose(out, ref, atol=1e-4)


def test_contrast_is_a_per_image_scale_about_the_channel_means():
    layer = L.RandomContrast((0.4, 0.6), value_range=(-1e6, 1e6), seed=4)
    batch = np.concatenate([IMAGES] * 4)
    out = _np(layer(batch, training=True)).astype(np.float64)
    mean = batch.astype(np.float64).mean(axis=(1, 2), keepdims=True)
    factors = []
    for o, x, m in zip(out, batch, mean):
        c = np.sum((o - m) * (x - m)) / np.sum((x - m) ** 2)  # least squares
        np.testing.assert_allclose(o, (x - m) * c + m, rtol=1e-5, atol=1e-3)
        factors.append(c)
    assert min(factors) >= 0.6 - 1e-6 and max(factors) <= 1.6 + 1e-6
    assert max(factors) - min(factors) > 0.3
    clipped = _np(L.RandomContrast(1.0, seed=4)(batch, training=True))
    assert clipped.min() >= 0 and clipped.max() <= 255


def test_a_fixed_brightness_adds_its_share_of_the_range_and_clips():
    out = _np(L.RandomBrightness((0.1, 0.1), seed=0)(IMAGES, training=True))
    np.testing.assert_allclose(out, np.clip(IMAGES + 25.5, 0, 255), rtol=1e-6)
    out = _np(L.RandomBrightness((-0.5, -0.5), value_range=(1, -1), seed=0)(
        IMAGES / 255, training=True))
    np.testing.assert_allclose(out, np.clip(IMAGES / 255 - 1.0, -1, 1), rtol=1e-6, atol=1e-7)


def test_grayscale_invert_hue_and_saturation_against_numpy_and_colorsys():
    x = IMAGES
    luma = x @ np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)
    gray = _np(L.RandomGrayscale(1.0, seed=0)(x, training=True))
    np.testing.assert_allclose(gray, np.repeat(luma[..., None], 3, axis=-1), rtol=1e-5)
    assert np.array_equal(_np(L.RandomGrayscale(0.0, seed=0)(x, training=True)), x)
    assert np.array_equal(_np(L.RandomInvert((1.0, 1.0), seed=0)(x, training=True)), 255 - x)
    assert np.array_equal(_np(L.RandomInvert((0.0, 0.0), seed=0)(x, training=True)), x)
    # Hue turned by half a turn, either way (the same point of the circle).
    out = _np(L.RandomHue((1.0, 1.0), seed=0)(x, training=True))
    ref = np.empty_like(x)
    for idx in np.ndindex(x.shape[:3]):
        h, s, v = colorsys.rgb_to_hsv(*(x[idx] / 255))
        ref[idx] = np.array(colorsys.hsv_to_rgb((h + 0.5) % 1.0, s, v)) * 255
    np.testing.assert_allclose(out, ref, atol=1e-2)
    still = _np(L.RandomHue((0.0, 0.0), seed=0)(x, training=True))
    np.testing.assert_allclose(still, x, atol=1e-2)
    # Saturation factor 0: gray at the HSV value (the largest channel).
    flat = _np(L.RandomSaturation((0.0, 0.0), seed=0)(x, training=True))
    np.testing.assert_allclose(flat, np.repeat(x.max(axis=-1, keepdims=True), 3, -1),
                               rtol=1e-5)


# -- configs and argument checks ----------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=IDS)
def test_config_round_trip_through_json(cls, kwargs):
    layer = cls(**kwargs, seed=11, name="aug")
    config = json.loads(json.dumps(layer.get_config()))
    clone = cls.from_config(config)
    assert json.loads(json.dumps(clone.get_config())) == config
    assert config["seed"] == 11 and config["data_format"] == "channels_last"
    assert np.array_equal(_np(layer(IMAGES, training=True)), _np(clone(IMAGES, training=True)))


def test_keras_config_values():
    assert L.RandomRotation(0.2).get_config()["factor"] == (-0.2, 0.2)
    assert L.RandomContrast(0.3).get_config()["factor"] == (0.0, 0.3)  # lower clamped at 0
    assert L.RandomBrightness(0.2, value_range=(255, 0)).get_config()["value_range"] == [0, 255]
    config = L.RandomZoom(0.1).get_config()
    assert (config["height_factor"], config["width_factor"]) == (0.1, None)
    assert (config["fill_mode"], config["interpolation"], config["fill_value"]) == \
        ("reflect", "bilinear", 0.0)
    assert L.RandomFlip().get_config()["mode"] == "horizontal_and_vertical"
    assert L.RandomGrayscale().get_config()["factor"] == 0.5


def test_bad_arguments_are_refused_when_made():
    with pytest.raises(ValueError, match=r"RandomRotation: factor must be a number or a pair"):
        L.RandomRotation(1.5)
    with pytest.raises(ValueError, match=r"RandomZoom: height_factor .* \(-1, 1\]"):
        L.RandomZoom(-1.0)
    with pytest.raises(ValueError, match="RandomContrast: factor"):
        L.RandomContrast((0.1, 0.2, 0.3))
    with pytest.raises(NotImplementedError, match="fill_mode"):
        L.RandomRotation(0.1, fill_mode="mirrored")
    with pytest.raises(NotImplementedError, match="interpolation"):
        L.RandomTranslation(0.1, 0.1, interpolation="bicubic")
    with pytest.raises(ValueError, match="mode"):
        L.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="channels_first"):
        L.RandomFlip(data_format="channels_first")
    with pytest.raises(ValueError, match="value_range"):
        L.RandomBrightness(0.1, value_range=(0, 1, 2))


def test_a_seeded_layer_draws_from_its_own_key_not_the_global_state():
    layer = L.RandomRotation(0.3, seed=9)
    mx.random.seed(1)
    a = _np(layer(IMAGES, training=True))
    mx.random.seed(2)
    b = _np(L.RandomRotation(0.3, seed=9)(IMAGES, training=True))
    assert np.array_equal(a, b)


# -- tone layers ----------------------------------------------------------------------------

def test_solarization_inverts_at_and_above_one_threshold_per_image():
    out = _np(L.Solarization(0.0, 0.0, seed=0)(IMAGES, training=True))  # t = 0: all
    np.testing.assert_allclose(out, 255 - IMAGES, rtol=1e-6)
    batch = np.concatenate([IMAGES] * 4)
    out = _np(L.Solarization(threshold_factor=1.0, seed=3)(batch, training=True))
    thresholds = []
    for o, x in zip(out, batch):
        kept, inverted = np.isclose(o, x), np.isclose(o, 255 - x) & ~np.isclose(x, 127.5)
        assert np.all(kept | inverted)
        # Some t separates them: every kept value below every inverted one.
        if kept.any() and inverted.any():
            assert x[kept & ~inverted].max() < x[inverted & ~kept].min()
        thresholds.append(x[inverted].min() if inverted.any() else 255)
    assert len(set(np.round(thresholds, 3))) > 3  # drawn per image


def test_posterization_keeps_the_high_bits():
    out = _np(L.RandomPosterization((4, 4), seed=0)(IMAGES, training=True))
    ref = ((IMAGES.astype(np.uint8) >> 4) << 4).astype(np.float32)
    assert np.array_equal(out, ref)
    unit = _np(L.RandomPosterization((2, 2), value_range=(0, 1), seed=0)(IMAGES / 255,
                                                                        training=True))
    ref = ((IMAGES.astype(np.uint8) >> 6) << 6).astype(np.float32) / 255
    np.testing.assert_allclose(unit, ref, atol=1e-4)


def test_auto_contrast_stretches_each_channel_also_at_inference():
    x = IMAGES * 0.5 + 40
    low, high = x.min(axis=(1, 2), keepdims=True), x.max(axis=(1, 2), keepdims=True)
    ref = (x - low) * 255 / (high - low)
    layer = L.AutoContrast()
    for training in (True, False):
        np.testing.assert_allclose(_np(layer(x, training=training)), ref, rtol=1e-4, atol=1e-3)
    flat = np.full((1, 3, 3, 3), 7.0, dtype="float32")
    assert np.array_equal(_np(layer(flat)), flat)  # max == min: kept


def _smooth_3x3(x):
    kernel = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], dtype=np.float64) / 13
    padded = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros(x.shape)
    for dy in range(3):
        for dx in range(3):
            out += kernel[dy, dx] * padded[:, dy:dy + x.shape[1], dx:dx + x.shape[2]]
    return out


def test_sharpness_blends_with_a_3x3_smoothing():
    assert np.array_equal(_np(L.RandomSharpness((0.5, 0.5), seed=0)(IMAGES, training=True)),
                          IMAGES)
    out = _np(L.RandomSharpness((0.0, 0.0), seed=0)(IMAGES, training=True))
    np.testing.assert_allclose(out, _smooth_3x3(IMAGES), rtol=1e-5, atol=1e-3)
    out = _np(L.RandomSharpness((1.0, 1.0), seed=0)(IMAGES, training=True))
    np.testing.assert_allclose(out, np.clip(2 * IMAGES - _smooth_3x3(IMAGES), 0, 255),
                               rtol=1e-5, atol=1e-3)


def test_equalization_against_a_numpy_histogram_per_channel_of_the_batch():
    x = np.floor(RNG.beta(2, 5, size=(3, 9, 8, 3)) * 255).astype("float32")
    out = _np(L.Equalization()(x, training=True))
    ref = np.empty_like(x)
    for ch in range(3):
        values = x[..., ch].astype(int)
        hist = np.bincount(values.ravel(), minlength=256)
        cdf = np.cumsum(hist)
        cdf_min = cdf[np.nonzero(cdf)[0][0]]
        table = np.clip(np.round((cdf - cdf_min) * 255 / (cdf[-1] - cdf_min)), 0, 255)
        ref[..., ch] = table[values]
    assert np.array_equal(out, ref)
    assert np.array_equal(_np(L.Equalization()(x, training=False)), x)


def test_gaussian_blur_with_fixed_sigma_matches_a_separable_numpy_blur():
    layer = L.RandomGaussianBlur(factor=(1.0, 1.0), kernel_size=3, sigma=(0.8, 0.8), seed=0)
    out = _np(layer(IMAGES, training=True))
    g = np.exp(-0.5 * (np.arange(-1, 2) / (0.8 + 1e-6)) ** 2)
    g /= g.sum()
    padded = np.pad(IMAGES.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    ref = sum(g[dy] * g[dx] * padded[:, dy:dy + 6, dx:dx + 7]
              for dy in range(3) for dx in range(3))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-3)
    never = L.RandomGaussianBlur(factor=(0.0, 0.0), seed=0)
    assert np.array_equal(_np(never(IMAGES, training=True)), IMAGES)


def test_color_jitter_runs_its_steps_and_their_keys_are_state():
    layer = L.RandomColorJitter(brightness_factor=(0.1, 0.1), seed=0)
    np.testing.assert_allclose(_np(layer(IMAGES, training=True)),
                               np.clip(IMAGES + 25.5, 0, 255), rtol=1e-6)
    assert "random_brightness" in layer.state and layer.random_contrast is None


# -- shear and mixing ----------------------------------------------------------------------

def test_a_fixed_shear_matches_a_per_pixel_reference_with_one_sign_per_image():
    batch = np.concatenate([IMAGES] * 4)
    out = _np(L.RandomShear(x_factor=(0.5, 0.5), seed=0)(batch, training=True))
    signs = []
    for o, x in zip(out, batch):
        plus = _bilinear_warp(x, lambda u, v: (u + 0.5 * v, v))
        minus = _bilinear_warp(x, lambda u, v: (u - 0.5 * v, v))
        if np.allclose(o, plus, atol=2e-3):
            signs.append(1)
        else:
            np.testing.assert_allclose(o, minus, atol=2e-3)
            signs.append(-1)
    assert 1 in signs and -1 in signs
    out = _np(L.RandomShear(y_factor=(0.25, 0.25), seed=0)(IMAGES[:1], training=True))
    candidates = [_bilinear_warp(IMAGES[0], lambda u, v, s=s: (u, v + s * 0.25 * u))
                  for s in (1, -1)]
    assert any(np.allclose(out[0], c, atol=2e-3) for c in candidates)


def test_mixup_blends_images_and_labels_with_the_same_weight_and_partner():
    batch = np.concatenate([IMAGES] * 4)
    labels = np.eye(16, dtype="float32")
    out = L.MixUp(alpha=0.4, seed=3)({"images": batch, "labels": labels}, training=True)
    images, mixed = _np(out["images"]), _np(out["labels"])
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, rtol=1e-6)
    partners = []
    for i in range(16):
        w = mixed[i, i] if mixed[i].max() < 1 else 1.0
        others = [j for j in np.nonzero(mixed[i] > 1e-6)[0] if j != i]
        j = others[0] if others else i
        w = mixed[i, i] if j != i else 1.0
        partners.append(j)
        np.testing.assert_allclose(images[i], w * batch[i] + (1 - w) * batch[j], rtol=1e-4,
                                   atol=1e-2)
    assert sorted(partners) == list(range(16))  # a permutation
    inference = L.MixUp(seed=3)({"images": batch, "labels": labels}, training=False)
    assert np.array_equal(_np(inference["images"]), batch)
    assert np.array_equal(_np(inference["labels"]), labels)


def _replaced_box(changed):
    """The changed pixels form one axis-aligned box (or none): returns its area."""
    if not changed.any():
        return 0
    rows, cols = np.nonzero(changed.any(axis=1))[0], np.nonzero(changed.any(axis=0))[0]
    box = np.zeros_like(changed)
    box[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
    assert np.array_equal(box, changed)
    return changed.sum()


def test_cutmix_pastes_one_box_of_the_partner_and_mixes_labels_by_area():
    batch = (RNG.rand(16, 12, 10, 3) * 255).astype("float32")
    labels = np.eye(16, dtype="float32")
    out = L.CutMix(seed=5)({"images": batch, "labels": labels}, training=True)
    images, mixed = _np(out["images"]), _np(out["labels"])
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, rtol=1e-5)
    pasted = 0
    for i in range(16):
        others = [j for j in np.nonzero(mixed[i] > 1e-6)[0] if j != i]
        if not others:
            assert np.array_equal(images[i], batch[i])
            continue
        j = others[0]
        from_partner = np.all(images[i] == batch[j], axis=-1)
        assert np.all(from_partner | np.all(images[i] == batch[i], axis=-1))
        area = _replaced_box(from_partner & ~np.all(batch[i] == batch[j], axis=-1))
        # Pixel centres inside a box of real-valued sides: within one row and column.
        share = 1 - mixed[i, i]
        assert abs(area / 120 - share) <= (12 + 10 + 1) / 120
        pasted += area > 0
    assert pasted >= 4
    assert np.array_equal(_np(L.CutMix(seed=5)(batch[0], training=True)), batch[0])


def test_random_erasing_fills_one_box_per_image_within_the_scale():
    batch = np.concatenate([IMAGES] * 4)
    out = _np(L.RandomErasing(factor=(1.0, 1.0), scale=(0.1, 0.3), fill_value=7.0,
                              seed=2)(batch, training=True))
    for o, x in zip(out, batch):
        erased = np.all(o == 7.0, axis=-1)
        assert np.array_equal(o[~erased], x[~erased])
        area = _replaced_box(erased)
        assert area / 42 <= 0.3 + (6 + 7 + 1) / 42
    per_channel = _np(L.RandomErasing((1.0, 1.0), fill_value=(1, 2, 300), seed=2)(
        batch, training=True))
    changed = np.any(per_channel != batch, axis=-1)
    assert np.all(per_channel[changed] == [1, 2, 255])  # clipped to the value range
    never = L.RandomErasing(factor=(0.0, 0.0), seed=2)
    assert np.array_equal(_np(never(batch, training=True)), batch)


# -- policies -------------------------------------------------------------------------------

def _candidates_at_strength_zero(x):
    """What each RandAugment/AugMix operation does with factor 0 (numpy)."""
    low, high = x.min(axis=(1, 2), keepdims=True), x.max(axis=(1, 2), keepdims=True)
    equalized = np.empty_like(x)
    for ch in range(x.shape[-1]):
        values = x[..., ch].astype(int)
        cdf = np.cumsum(np.bincount(values.ravel(), minlength=256))
        cdf_min = cdf[np.nonzero(cdf)[0][0]]
        table = np.clip(np.round((cdf - cdf_min) * 255 / (cdf[-1] - cdf_min)), 0, 255)
        equalized[..., ch] = table[values]
    return {"identity": x, "sharpness 0 (smooth)": np.clip(_smooth_3x3(x), 0, 255),
            "posterization 1 bit": ((x.astype(np.uint8) >> 7) << 7).astype(np.float32),
            "solarization t=0": 255 - x, "auto contrast": (x - low) * 255 / (high - low),
            "equalization": equalized}


def _which(out, candidates):
    return [name for name, ref in candidates.items() if np.allclose(out, ref, atol=1e-2)]


def test_rand_augment_applies_one_drawn_operation_to_the_whole_batch():
    x = np.floor(IMAGES)
    candidates = _candidates_at_strength_zero(x)
    layer = L.RandAugment(num_ops=1, factor=0.0, seed=4)
    seen = set()
    for _ in range(25):
        names = _which(_np(layer(x, training=True)), candidates)
        assert names, "the output is none of the eleven operations"
        seen.update(names)
    assert len(seen) >= 4, seen  # the choice changes from call to call
    assert np.array_equal(_np(L.RandAugment(num_ops=0, seed=4)(x, training=True)), x)


def test_augmix_blends_the_image_with_its_chain_by_one_weight():
    x = np.floor(IMAGES)
    candidates = _candidates_at_strength_zero(x)
    candidates.pop("sharpness 0 (smooth)")  # not among AugMix's ops without all_ops
    layer = L.AugMix(num_chains=1, chain_depth=1, factor=0.0, all_ops=False, seed=6)
    for _ in range(10):
        out = _np(layer(x, training=True)).astype(np.float64)
        fits = []
        for ref in candidates.values():
            d = (ref - x).ravel()
            if not d.any():
                fits.append(np.allclose(out, x, atol=1e-2))
                continue
            share = np.dot(out.ravel() - x.ravel(), d) / np.dot(d, d)  # 1 - keep weight
            fits.append(-1e-6 <= share <= 1 + 1e-6
                        and np.allclose(out, x + share * (ref - x), atol=5e-2))
        assert any(fits)


def test_color_degeneration_blends_towards_gray():
    luma = IMAGES @ np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)
    out = _np(L.RandomColorDegeneration((1.0, 1.0), seed=0)(IMAGES, training=True))
    np.testing.assert_allclose(out, np.repeat(luma[..., None], 3, -1), rtol=1e-5)
    still = _np(L.RandomColorDegeneration((0.0, 0.0), seed=0)(IMAGES, training=True))
    assert np.array_equal(still, IMAGES)


def test_pipeline_runs_its_layers_in_order_and_round_trips():
    pipeline = L.Pipeline([L.RandomFlip(seed=1), L.RandomContrast(0.4, seed=2)], name="p")
    expected = L.RandomContrast(0.4, seed=2)(L.RandomFlip(seed=1)(IMAGES, training=True),
                                             training=True)
    assert np.array_equal(_np(pipeline(IMAGES, training=True)), _np(expected))
    assert np.array_equal(_np(pipeline(IMAGES, training=False)), IMAGES)
    config = json.loads(json.dumps(pipeline.get_config()))
    assert [c["class_name"] for c in config["layers"]] == ["RandomFlip", "RandomContrast"]
    clone = L.Pipeline.from_config(config)
    assert json.loads(json.dumps(clone.get_config())) == config
    assert [type(l) for l in clone.layers] == [L.RandomFlip, L.RandomContrast]
    with pytest.raises(ValueError, match="Pipeline: layers must be a list of layers"):
        L.Pipeline([L.RandomFlip(), "flip"])


# -- non-affine warps -----------------------------------------------------------------------

def test_perspective_is_a_projective_map_that_keeps_the_top_left_corner():
    h, w = 12, 15
    ys, xs = np.mgrid[0:h, 0:w].astype("float32")
    ramp = np.stack([xs, ys, np.ones_like(xs)], axis=-1)[None].repeat(4, axis=0)
    out = _np(L.RandomPerspective(factor=(1.0, 1.0), scale=0.6, seed=3)(ramp, training=True))
    for o in out.astype(np.float64):
        inside = o[..., 2] > 1 - 1e-4  # every corner of the bilinear stencil inside
        assert inside.sum() > 0.4 * h * w
        sx, sy = o[..., 0][inside], o[..., 1][inside]
        x, y = xs[inside].astype(np.float64), ys[inside].astype(np.float64)
        # s = (a0 x + a1 y + a2) / (c0 x + c1 y + 1)  <=>  a0 x + a1 y + a2 - c0 x s - c1 y s = s
        for s in (sx, sy):
            a = np.stack([x, y, np.ones_like(x), -x * s, -y * s], axis=1)
            coef, *_ = np.linalg.lstsq(a, s, rcond=None)
            assert np.abs(a @ coef - s).max() < 1e-2
        assert np.allclose(o[0, 0], [0, 0, 1], atol=1e-3)
        assert not np.allclose(o[..., :2], ramp[0, ..., :2], atol=0.5)  # it did move
    still = L.RandomPerspective(factor=(1.0, 1.0), scale=0.0, seed=3)
    np.testing.assert_allclose(_np(still(IMAGES, training=True)), IMAGES, atol=1e-2)
    never = L.RandomPerspective(factor=(0.0, 0.0), seed=3)
    assert np.array_equal(_np(never(IMAGES, training=True)), IMAGES)


def test_elastic_transform_moves_pixels_by_a_smooth_field():
    h, w = 40, 40
    ys, xs = np.mgrid[0:h, 0:w].astype("float32")
    ramp = np.stack([xs, ys, xs], axis=-1)[None]
    layer = L.RandomElasticTransform(factor=(1.0, 1.0), scale=(1.0, 1.0), fill_mode="nearest",
                                     value_range=(-1e3, 1e3), seed=2)
    out = _np(layer(ramp, training=True))[0]
    dx = out[..., 0] - xs
    interior = (slice(8, -8), slice(8, -8))
    assert dx[interior].std() > 0.05  # it moves...
    # ...smoothly: neighbouring displacements differ far less than they vary.
    assert np.abs(np.diff(dx[interior], axis=1)).mean() < 0.5 * dx[interior].std()
    assert np.array_equal(_np(L.RandomElasticTransform(scale=0.0, seed=2)(IMAGES,
                                                                          training=True)),
                          IMAGES)
    assert np.array_equal(_np(L.RandomElasticTransform(factor=0.0, seed=2)(IMAGES,
                                                                           training=True)),
                          IMAGES)


# -- CLAHE and box counts -------------------------------------------------------------------

def _clahe_reference(image, clip_limit, grid):
    """Per-pixel loops: each tile's clipped-histogram table, blended between the four
    nearest tile centres (clamped at the borders)."""
    h, w, c = image.shape
    gh, gw = grid
    th, tw = -(-h // gh), -(-w // gw)
    padded = np.pad(image, ((0, th * gh - h), (0, tw * gw - w), (0, 0)), mode="symmetric")
    pixels = np.clip(padded, 0, 255).astype(int)
    tables = np.zeros((gh, gw, c, 256))
    for ty in range(gh):
        for tx in range(gw):
            for ch in range(c):
                tile = pixels[ty * th:(ty + 1) * th, tx * tw:(tx + 1) * tw, ch]
                hist = np.bincount(tile.ravel(), minlength=256).astype(np.float64)
                if clip_limit > 0:
                    limit = clip_limit * th * tw / 256
                    excess = np.maximum(hist - limit, 0).sum()
                    hist = np.minimum(hist, limit) + excess / 256
                cdf = np.cumsum(hist)
                den = th * tw - cdf.min()
                tables[ty, tx, ch] = np.clip((cdf - cdf.min()) * 255 / (den or 1), 0, 255)
    out = np.zeros((h, w, c))
    for y in range(h):
        fy = (y - th / 2) / th
        y0 = math.floor(fy)
        for x in range(w):
            fx = (x - tw / 2) / tw
            x0 = math.floor(fx)
            for ch in range(c):
                v = pixels[y, x, ch]
                acc = 0.0
                for ty, wy in ((y0, 1 - (fy - y0)), (y0 + 1, fy - y0)):
                    for tx, wx in ((x0, 1 - (fx - x0)), (x0 + 1, fx - x0)):
                        t = tables[min(max(ty, 0), gh - 1), min(max(tx, 0), gw - 1), ch]
                        acc += wy * wx * t[v]
                out[y, x, ch] = acc
    return out


def test_clahe_against_a_per_pixel_reference_also_at_inference():
    image = np.floor(RNG.beta(2, 5, size=(2, 13, 11, 2)) * 255).astype("float32")
    for clip, grid in ((4.0, (3, 2)), (0.0, (2, 4)), (1.5, (1, 1))):
        layer = L.ContrastLimitedAdaptiveHistogramEqualization(clip_limit=clip,
                                                               tile_grid_size=grid)
        for training in (True, False):
            out = _np(layer(image, training=training))
            for o, x in zip(out, image):
                np.testing.assert_allclose(o, _clahe_reference(x, clip, grid), atol=1e-3)
    unit = L.ContrastLimitedAdaptiveHistogramEqualization(value_range=(0, 1),
                                                          tile_grid_size=(2, 2))
    np.testing.assert_allclose(_np(unit(image / 255))[0],
                               _clahe_reference(image[0], 4.0, (2, 2)) / 255, atol=1e-5)


def test_max_num_bounding_boxes_pads_and_truncates():
    boxes = RNG.rand(2, 3, 4).astype("float32")
    labels = np.array([[1, 2, 3], [4, 5, 6]], dtype="int32")
    data = {"images": IMAGES[:2], "bounding_boxes": {"boxes": boxes, "labels": labels}}
    out = L.MaxNumBoundingBoxes(5)(data)
    assert np.array_equal(_np(out["images"]), IMAGES[:2])
    padded = _np(out["bounding_boxes"]["boxes"])
    assert padded.shape == (2, 5, 4) and np.array_equal(padded[:, :3], boxes)
    assert np.all(padded[:, 3:] == -1)
    assert np.array_equal(_np(out["bounding_boxes"]["labels"]),
                          [[1, 2, 3, -1, -1], [4, 5, 6, -1, -1]])
    cut = L.MaxNumBoundingBoxes(2, fill_value=0)(data)["bounding_boxes"]
    assert np.array_equal(_np(cut["labels"]), labels[:, :2])
    with pytest.raises(KeyError, match="unsupported keys"):
        L.MaxNumBoundingBoxes(2)({"images": IMAGES, "bounding_boxes": {"boxes": boxes,
                                                                       "scores": labels}})
    config = L.MaxNumBoundingBoxes(4, name="m").get_config()
    assert L.MaxNumBoundingBoxes.from_config(config).get_config() == config


@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=IDS)
def test_a_float16_policy_computes_and_returns_float16(cls, kwargs):
    layer = cls(**kwargs, seed=1, dtype="mixed_float16")
    for training in (True, False):
        out = layer(IMAGES, training=training)
        assert out.dtype == mx.float16, (training, out.dtype)
        assert np.isfinite(_np(out.astype(mx.float32))).all()


def test_integer_images_come_out_as_floats_where_keras_casts():
    images = IMAGES.astype("uint8")
    for layer in (L.RandomRotation(0.1, seed=0), L.RandomFlip(seed=0),
                  L.RandomBrightness(0.2, seed=0), L.RandomSaturation(0.5, seed=0)):
        out = layer(images, training=True)
        assert out.dtype == mx.float32, type(layer).__name__
    # Keras' inference cast: the geometric layers return the compute dtype.
    assert L.RandomFlip(seed=0)(images, training=False).dtype == mx.float32
