"""Image augmentation layers (issue 14 item 5): exact identity at inference,
bit-for-bit repeats under a seed, shapes and value ranges in training, numpy
references for fixed parameters, configs and argument checks.

The references are written independently of the layers: per-pixel Python
loops for the warps, np.flip/np.rot90/colorsys for flips, rotations and hues
(tests/_augmentation_reference.py). The tone, mixing and policy layers' own
references are in test_layers_augmentation_more.py.
"""

import colorsys
import json
import math

import mlx.core as mx
import numpy as np
import pytest

from _augmentation_reference import IMAGES, RNG, as_np, bilinear_warp
from mlxfunctional import layers as L

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




# -- inference, seeds, shapes --------------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=IDS)
def test_inference_is_the_exact_identity(cls, kwargs):
    layer = cls(**kwargs, seed=3)
    for images in (IMAGES, IMAGES[0]):
        out = as_np(layer(images, training=False))
        assert out.dtype == np.float32 and np.array_equal(out, images)


@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=IDS)
def test_a_seed_repeats_bit_for_bit_and_each_call_draws_anew(cls, kwargs):
    a, b = cls(**kwargs, seed=7), cls(**kwargs, seed=7)
    first_a, first_b = as_np(a(IMAGES, training=True)), as_np(b(IMAGES, training=True))
    assert np.array_equal(first_a, first_b)
    second_a, second_b = as_np(a(IMAGES, training=True)), as_np(b(IMAGES, training=True))
    assert np.array_equal(second_a, second_b)
    # Fresh numbers at the next call, and from another seed.
    batch = np.concatenate([IMAGES] * 8)
    c, d = cls(**kwargs, seed=7), cls(**kwargs, seed=8)
    assert not np.array_equal(as_np(c(batch, training=True)), as_np(c(batch, training=True)))
    assert not np.array_equal(as_np(cls(**kwargs, seed=7)(batch, training=True)),
                              as_np(d(batch, training=True)))


@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=IDS)
def test_training_keeps_shapes_and_the_value_range(cls, kwargs):
    layer = cls(**kwargs, seed=1)
    out = as_np(layer(IMAGES, training=True))
    expected = (4, 4, 5, 3) if cls is L.RandomCrop else IMAGES.shape
    assert out.shape == expected and out.dtype == np.float32
    # Reflect-filled bilinear warps, clipped colour ops: never outside [0, 255].
    assert out.min() >= -1e-3 and out.max() <= 255 + 1e-3
    single = as_np(layer(IMAGES[0], training=True))
    assert single.shape == expected[1:]
    # No `training` argument: Keras' signature default, True (the layer acts).
    batch = np.concatenate([IMAGES] * 8)
    assert not np.array_equal(as_np(cls(**kwargs, seed=1)(batch)), batch)


def test_a_rank_2_input_is_refused_with_the_layer_name():
    with pytest.raises(ValueError, match="rank 3 .* or 4"):
        L.RandomFlip(name="flip")(np.zeros((3, 4), "float32"))


# -- numpy references for fixed parameters ------------------------------------------------





def test_a_quarter_turn_is_np_rot90():
    image = (RNG.rand(1, 5, 5, 2) * 255).astype("float32")
    out = as_np(L.RandomRotation((0.25, 0.25), seed=0)(image, training=True))
    # +90 degrees turns the picture counter-clockwise as displayed (rows down).
    np.testing.assert_allclose(out[0], np.rot90(image[0], k=1), atol=1e-3)
    out = as_np(L.RandomRotation((-0.5, -0.5), seed=0)(image, training=True))
    np.testing.assert_allclose(out[0], np.rot90(image[0], k=2), atol=1e-3)


def test_a_fixed_rotation_matches_a_per_pixel_reference():
    image = IMAGES[:1]
    theta = 0.1 * 2 * math.pi  # factor 0.1 of a turn
    cx, cy = (7 - 1) / 2, (6 - 1) / 2
    c, s = math.cos(theta), math.sin(theta)

    def source(x, y):
        return c * (x - cx) - s * (y - cy) + cx, s * (x - cx) + c * (y - cy) + cy

    out = as_np(L.RandomRotation((0.1, 0.1), seed=0)(image, training=True))
    np.testing.assert_allclose(out[0], bilinear_warp(image[0], source), atol=2e-3)
    out = as_np(L.RandomRotation((0.1, 0.1), fill_mode="constant", fill_value=-5.0,
                               seed=0)(image, training=True))
    np.testing.assert_allclose(out[0], bilinear_warp(image[0], source, "constant", -5.0),
                               atol=2e-3)


def test_a_fixed_zoom_matches_a_per_pixel_reference():
    image = IMAGES[:1]
    cx, cy = (7 - 1) / 2, (6 - 1) / 2
    # height_factor -0.5: zoom 0.5 on both axes (zoom in x2); width given: own zoom.
    for hf, wf, zy, zx in ((-0.5, None, 0.5, 0.5), (0.25, -0.4, 1.25, 0.6)):
        layer = L.RandomZoom((hf, hf), None if wf is None else (wf, wf), seed=0)
        out = as_np(layer(image, training=True))
        ref = bilinear_warp(image[0], lambda x, y: (cx + zx * (x - cx), cy + zy * (y - cy)))
        np.testing.assert_allclose(out[0], ref, atol=2e-3)
    same = as_np(L.RandomZoom((0.0, 0.0), seed=0)(image, training=True))
    assert np.array_equal(same, image)


def test_a_fixed_translation_shifts_rows_and_columns():
    image = (RNG.rand(2, 8, 10, 1) * 255).astype("float32")
    layer = L.RandomTranslation((0.25, 0.25), (-0.2, -0.2), fill_mode="constant", seed=0)
    out = as_np(layer(image, training=True))
    expected = np.zeros_like(image)
    expected[:, 2:, :8] = image[:, :6, 2:]  # 2 rows down, 2 columns left
    np.testing.assert_allclose(out, expected, atol=1e-4)
    nearest = L.RandomTranslation((0.25, 0.25), 0.0, interpolation="nearest",
                                  fill_mode="nearest", seed=0)
    out = as_np(nearest(image, training=True))
    expected = np.concatenate([np.repeat(image[:, :1], 2, axis=1), image[:, :6]], axis=1)
    assert np.array_equal(out, expected)


def test_flips_are_np_flip_with_one_draw_per_image():
    batch = (RNG.rand(64, 3, 4, 2) * 255).astype("float32")
    for mode, axes in (("horizontal", (1,)), ("vertical", (0,)),
                       ("horizontal_and_vertical", (0, 1))):
        out = as_np(L.RandomFlip(mode, seed=5)(batch, training=True))
        flipped = [np.array_equal(o, np.flip(x, axis=axes)) for o, x in zip(out, batch)]
        kept = [np.array_equal(o, x) for o, x in zip(out, batch)]
        assert all(f or k for f, k in zip(flipped, kept)), mode
        assert 10 < sum(flipped) < 54, (mode, sum(flipped))


def test_random_crop_takes_one_window_per_batch_and_keeps_inference_uncropped():
    batch = (RNG.rand(3, 9, 11, 2) * 255).astype("float32")
    layer = L.RandomCrop(4, 6, seed=2)
    offsets = set()
    for _ in range(12):
        out = as_np(layer(batch, training=True))
        assert out.shape == (3, 4, 6, 2)
        found = [(t, l) for t in range(9 - 4 + 1) for l in range(11 - 6 + 1)
                 if np.array_equal(out, batch[:, t:t + 4, l:l + 6])]
        assert len(found) == 1
        offsets.add(found[0])
    assert len(offsets) > 3  # the window moves
    # Keras 3.15 returns the images uncropped at inference.
    assert np.array_equal(as_np(layer(batch, training=False)), batch)
    assert layer.compute_output_shape((None, 9, 11, 2)) == (None, 4, 6, 2)
    # An image of exactly the window's size is kept as it is.
    assert np.array_equal(as_np(L.RandomCrop(9, 11, seed=0)(batch, training=True)), batch)


def test_random_crop_of_a_small_image_resizes_keras_centred_slice():
    image = np.arange(6 * 4, dtype="float32").reshape(1, 6, 4, 1)
    out = as_np(L.RandomCrop(3, 8, seed=0)(image, training=True))
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
    out = as_np(layer(batch, training=True)).astype(np.float64)
    mean = batch.astype(np.float64).mean(axis=(1, 2), keepdims=True)
    factors = []
    for o, x, m in zip(out, batch, mean):
        c = np.sum((o - m) * (x - m)) / np.sum((x - m) ** 2)  # least squares
        np.testing.assert_allclose(o, (x - m) * c + m, rtol=1e-5, atol=1e-3)
        factors.append(c)
    assert min(factors) >= 0.6 - 1e-6 and max(factors) <= 1.6 + 1e-6
    assert max(factors) - min(factors) > 0.3
    clipped = as_np(L.RandomContrast(1.0, seed=4)(batch, training=True))
    assert clipped.min() >= 0 and clipped.max() <= 255


def test_a_fixed_brightness_adds_its_share_of_the_range_and_clips():
    out = as_np(L.RandomBrightness((0.1, 0.1), seed=0)(IMAGES, training=True))
    np.testing.assert_allclose(out, np.clip(IMAGES + 25.5, 0, 255), rtol=1e-6)
    out = as_np(L.RandomBrightness((-0.5, -0.5), value_range=(1, -1), seed=0)(
        IMAGES / 255, training=True))
    np.testing.assert_allclose(out, np.clip(IMAGES / 255 - 1.0, -1, 1), rtol=1e-6, atol=1e-7)


def test_grayscale_invert_hue_and_saturation_against_numpy_and_colorsys():
    x = IMAGES
    luma = x @ np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)
    gray = as_np(L.RandomGrayscale(1.0, seed=0)(x, training=True))
    np.testing.assert_allclose(gray, np.repeat(luma[..., None], 3, axis=-1), rtol=1e-5)
    assert np.array_equal(as_np(L.RandomGrayscale(0.0, seed=0)(x, training=True)), x)
    assert np.array_equal(as_np(L.RandomInvert((1.0, 1.0), seed=0)(x, training=True)), 255 - x)
    assert np.array_equal(as_np(L.RandomInvert((0.0, 0.0), seed=0)(x, training=True)), x)
    # Hue turned by half a turn, either way (the same point of the circle).
    out = as_np(L.RandomHue((1.0, 1.0), seed=0)(x, training=True))
    ref = np.empty_like(x)
    for idx in np.ndindex(x.shape[:3]):
        h, s, v = colorsys.rgb_to_hsv(*(x[idx] / 255))
        ref[idx] = np.array(colorsys.hsv_to_rgb((h + 0.5) % 1.0, s, v)) * 255
    np.testing.assert_allclose(out, ref, atol=1e-2)
    still = as_np(L.RandomHue((0.0, 0.0), seed=0)(x, training=True))
    np.testing.assert_allclose(still, x, atol=1e-2)
    # Saturation factor 0: gray at the HSV value (the largest channel).
    flat = as_np(L.RandomSaturation((0.0, 0.0), seed=0)(x, training=True))
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
    assert np.array_equal(as_np(layer(IMAGES, training=True)), as_np(clone(IMAGES, training=True)))


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
    a = as_np(layer(IMAGES, training=True))
    mx.random.seed(2)
    b = as_np(L.RandomRotation(0.3, seed=9)(IMAGES, training=True))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=IDS)
def test_a_float16_policy_computes_and_returns_float16(cls, kwargs):
    layer = cls(**kwargs, seed=1, dtype="mixed_float16")
    for training in (True, False):
        out = layer(IMAGES, training=training)
        assert out.dtype == mx.float16, (training, out.dtype)
        assert np.isfinite(as_np(out.astype(mx.float32))).all()


def test_integer_images_come_out_as_floats_where_keras_casts():
    images = IMAGES.astype("uint8")
    for layer in (L.RandomRotation(0.1, seed=0), L.RandomFlip(seed=0),
                  L.RandomBrightness(0.2, seed=0), L.RandomSaturation(0.5, seed=0)):
        out = layer(images, training=True)
        assert out.dtype == mx.float32, type(layer).__name__
    # Keras' inference cast: the geometric layers return the compute dtype.
    assert L.RandomFlip(seed=0)(images, training=False).dtype == mx.float32


# -- Keras' dict form: segmentation masks ---------------------------------------------------

def test_segmentation_masks_follow_the_geometry_with_nearest_sampling():
    square = (RNG.rand(4, 5, 5, 3) * 255).astype("float32")
    masks = masks_for(square)
    out = L.RandomRotation((0.25, 0.25), seed=0)(
        {"images": square, "segmentation_masks": masks}, training=True)
    assert as_np(out["segmentation_masks"]).dtype == np.int32
    assert np.array_equal(as_np(out["segmentation_masks"]), np.rot90(masks, k=1, axes=(1, 2)))
    np.testing.assert_allclose(as_np(out["images"]), np.rot90(square, k=1, axes=(1, 2)),
                               atol=1e-3)
    # Random draws: the masks get the very transform of their images (replayed draws).
    for make in (lambda i: L.RandomRotation(0.3, interpolation=i, seed=3),
                 lambda i: L.RandomZoom(0.3, 0.2, interpolation=i, seed=3),
                 lambda i: L.RandomTranslation(0.3, 0.3, interpolation=i, seed=3),
                 lambda i: L.RandomShear(0.3, 0.3, interpolation=i, seed=3),
                 lambda i: L.RandomPerspective(scale=0.4, interpolation=i, seed=3),
                 lambda i: L.RandomElasticTransform(interpolation=i, seed=3)):
        out = make("bilinear")({"images": IMAGES, "segmentation_masks": masks_for(IMAGES)},
                               training=True)
        expected_images = make("bilinear")(IMAGES, training=True)
        expected_masks = make("nearest")(masks_for(IMAGES).astype("float32"), training=True)
        assert np.array_equal(as_np(out["images"]), as_np(expected_images))
        assert np.array_equal(as_np(out["segmentation_masks"]),
                              as_np(expected_masks).astype(np.int32))


def masks_for(images):
    """A fixed mask per image (its own values, so a wrong transform shows)."""
    n, h, w, _ = images.shape
    return (np.arange(n * h * w).reshape(n, h, w, 1) % 7).astype("int32")


def test_segmentation_masks_flip_and_crop_with_their_images_and_stay_for_colour():
    batch = np.concatenate([IMAGES] * 8)
    masks = masks_for(batch)
    out = L.RandomFlip("horizontal", seed=4)({"images": batch, "segmentation_masks": masks},
                                             training=True)
    flipped = [np.array_equal(o, x[:, ::-1]) for o, x in zip(as_np(out["images"]), batch)]
    mask_flipped = [np.array_equal(o, m[:, ::-1])
                    for o, m in zip(as_np(out["segmentation_masks"]), masks)]
    assert flipped == mask_flipped and 0 < sum(flipped) < len(batch)
    out = L.RandomCrop(3, 4, seed=1)({"images": batch, "segmentation_masks": masks},
                                     training=True)
    top, left = [(t, l) for t in range(4) for l in range(4)
                 if np.array_equal(as_np(out["images"]), batch[:, t:t + 3, l:l + 4])][0]
    assert np.array_equal(as_np(out["segmentation_masks"]), masks[:, top:top + 3, left:left + 4])
    out = L.RandomContrast(0.5, seed=1)({"images": batch, "segmentation_masks": masks},
                                        training=True)
    assert np.array_equal(as_np(out["segmentation_masks"]), masks)
    with pytest.raises(NotImplementedError, match="segmentation_masks"):
        L.MixUp(seed=1)({"images": batch, "segmentation_masks": masks})
