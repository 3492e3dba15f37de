"""Tone, mixing, policy and non-affine augmentation layers against numpy references
(bincount equalization, 3x3 smoothing, separable Gaussian, bit shifts, projective
fits, per-pixel CLAHE); the shared checks of every layer (inference identity,
seeds, configs) are in test_layers_augmentation.py.
"""

import json

import numpy as np
import pytest

from _augmentation_reference import (IMAGES, RNG, as_np, bilinear_warp,
                                     candidates_at_strength_zero, clahe_reference,
                                     replaced_box, smooth_3x3, which)
from mlxfunctional import layers as L


# -- tone layers ----------------------------------------------------------------------------

def test_solarization_inverts_at_and_above_one_threshold_per_image():
    out = as_np(L.Solarization(0.0, 0.0, seed=0)(IMAGES, training=True))  # t = 0: all
    np.testing.assert_allclose(out, 255 - IMAGES, rtol=1e-6)
    batch = np.concatenate([IMAGES] * 4)
    out = as_np(L.Solarization(threshold_factor=1.0, seed=3)(batch, training=True))
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
    out = as_np(L.RandomPosterization((4, 4), seed=0)(IMAGES, training=True))
    ref = ((IMAGES.astype(np.uint8) >> 4) << 4).astype(np.float32)
    assert np.array_equal(out, ref)
    unit = as_np(L.RandomPosterization((2, 2), value_range=(0, 1), seed=0)(IMAGES / 255,
                                                                        training=True))
    ref = ((IMAGES.astype(np.uint8) >> 6) << 6).astype(np.float32) / 255
    np.testing.assert_allclose(unit, ref, atol=1e-4)


def test_auto_contrast_stretches_each_channel_also_at_inference():
    x = IMAGES * 0.5 + 40
    low, high = x.min(axis=(1, 2), keepdims=True), x.max(axis=(1, 2), keepdims=True)
    ref = (x - low) * 255 / (high - low)
    layer = L.AutoContrast()
    for training in (True, False):
        np.testing.assert_allclose(as_np(layer(x, training=training)), ref, rtol=1e-4, atol=1e-3)
    flat = np.full((1, 3, 3, 3), 7.0, dtype="float32")
    assert np.array_equal(as_np(layer(flat)), flat)  # max == min: kept




def test_sharpness_blends_with_a_3x3_smoothing():
    assert np.array_equal(as_np(L.RandomSharpness((0.5, 0.5), seed=0)(IMAGES, training=True)),
                          IMAGES)
    out = as_np(L.RandomSharpness((0.0, 0.0), seed=0)(IMAGES, training=True))
    np.testing.assert_allclose(out, smooth_3x3(IMAGES), rtol=1e-5, atol=1e-3)
    out = as_np(L.RandomSharpness((1.0, 1.0), seed=0)(IMAGES, training=True))
    np.testing.assert_allclose(out, np.clip(2 * IMAGES - smooth_3x3(IMAGES), 0, 255),
                               rtol=1e-5, atol=1e-3)


def test_equalization_against_a_numpy_histogram_per_channel_of_the_batch():
    x = np.floor(RNG.beta(2, 5, size=(3, 9, 8, 3)) * 255).astype("float32")
    out = as_np(L.Equalization()(x, training=True))
    ref = np.empty_like(x)
    for ch in range(3):
        values = x[..., ch].astype(int)
        hist = np.bincount(values.ravel(), minlength=256)
        cdf = np.cumsum(hist)
        cdf_min = cdf[np.nonzero(cdf)[0][0]]
        table = np.clip(np.round((cdf - cdf_min) * 255 / (cdf[-1] - cdf_min)), 0, 255)
        ref[..., ch] = table[values]
    assert np.array_equal(out, ref)
    assert np.array_equal(as_np(L.Equalization()(x, training=False)), x)


def test_gaussian_blur_with_fixed_sigma_matches_a_separable_numpy_blur():
    layer = L.RandomGaussianBlur(factor=(1.0, 1.0), kernel_size=3, sigma=(0.8, 0.8), seed=0)
    out = as_np(layer(IMAGES, training=True))
    g = np.exp(-0.5 * (np.arange(-1, 2) / (0.8 + 1e-6)) ** 2)
    g /= g.sum()
    padded = np.pad(IMAGES.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    ref = sum(g[dy] * g[dx] * padded[:, dy:dy + 6, dx:dx + 7]
              for dy in range(3) for dx in range(3))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-3)
    never = L.RandomGaussianBlur(factor=(0.0, 0.0), seed=0)
    assert np.array_equal(as_np(never(IMAGES, training=True)), IMAGES)


def test_color_jitter_runs_its_steps_and_their_keys_are_state():
    layer = L.RandomColorJitter(brightness_factor=(0.1, 0.1), seed=0)
    np.testing.assert_allclose(as_np(layer(IMAGES, training=True)),
                               np.clip(IMAGES + 25.5, 0, 255), rtol=1e-6)
    assert "random_brightness" in layer.state and layer.random_contrast is None


# -- shear and mixing ----------------------------------------------------------------------

def test_a_fixed_shear_matches_a_per_pixel_reference_with_one_sign_per_image():
    batch = np.concatenate([IMAGES] * 4)
    out = as_np(L.RandomShear(x_factor=(0.5, 0.5), seed=0)(batch, training=True))
    signs = []
    for o, x in zip(out, batch):
        plus = bilinear_warp(x, lambda u, v: (u + 0.5 * v, v))
        minus = bilinear_warp(x, lambda u, v: (u - 0.5 * v, v))
        if np.allclose(o, plus, atol=2e-3):
            signs.append(1)
        else:
            np.testing.assert_allclose(o, minus, atol=2e-3)
            signs.append(-1)
    # The sign is drawn per image: over 16 images (seeded, so the same every run) both
    # occur; a layer that always sheared one way fails here.
    assert signs.count(1) > 0 and signs.count(-1) > 0, signs
    out = as_np(L.RandomShear(y_factor=(0.25, 0.25), seed=0)(IMAGES[:1], training=True))
    candidates = [bilinear_warp(IMAGES[0], lambda u, v, s=s: (u, v + s * 0.25 * u))
                  for s in (1, -1)]
    assert any(np.allclose(out[0], c, atol=2e-3) for c in candidates)


def test_mixup_blends_images_and_labels_with_the_same_weight_and_partner():
    batch = np.concatenate([IMAGES] * 4)
    labels = np.eye(16, dtype="float32")
    out = L.MixUp(alpha=0.4, seed=3)({"images": batch, "labels": labels}, training=True)
    images, mixed = as_np(out["images"]), as_np(out["labels"])
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
    assert np.array_equal(as_np(inference["images"]), batch)
    assert np.array_equal(as_np(inference["labels"]), labels)




def test_cutmix_pastes_one_box_of_the_partner_and_mixes_labels_by_area():
    batch = (RNG.rand(16, 12, 10, 3) * 255).astype("float32")
    labels = np.eye(16, dtype="float32")
    out = L.CutMix(seed=5)({"images": batch, "labels": labels}, training=True)
    images, mixed = as_np(out["images"]), as_np(out["labels"])
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
        area = replaced_box(from_partner & ~np.all(batch[i] == batch[j], axis=-1))
        # Pixel centres inside a box of real-valued sides: within one row and column.
        share = 1 - mixed[i, i]
        assert abs(area / 120 - share) <= (12 + 10 + 1) / 120
        pasted += area > 0
    assert pasted >= 4
    assert np.array_equal(as_np(L.CutMix(seed=5)(batch[0], training=True)), batch[0])


def test_random_erasing_fills_one_box_per_image_within_the_scale():
    batch = np.concatenate([IMAGES] * 4)
    out = as_np(L.RandomErasing(factor=(1.0, 1.0), scale=(0.1, 0.3), fill_value=7.0,
                              seed=2)(batch, training=True))
    for o, x in zip(out, batch):
        erased = np.all(o == 7.0, axis=-1)
        assert np.array_equal(o[~erased], x[~erased])
        area = replaced_box(erased)
        assert area / 42 <= 0.3 + (6 + 7 + 1) / 42
    per_channel = as_np(L.RandomErasing((1.0, 1.0), fill_value=(1, 2, 300), seed=2)(
        batch, training=True))
    changed = np.any(per_channel != batch, axis=-1)
    assert np.all(per_channel[changed] == [1, 2, 255])  # clipped to the value range
    never = L.RandomErasing(factor=(0.0, 0.0), seed=2)
    assert np.array_equal(as_np(never(batch, training=True)), batch)


# -- policies -------------------------------------------------------------------------------





def test_rand_augment_applies_one_drawn_operation_to_the_whole_batch():
    x = np.floor(IMAGES)
    candidates = candidates_at_strength_zero(x)
    layer = L.RandAugment(num_ops=1, factor=0.0, seed=4)
    seen = set()
    for _ in range(25):
        names = which(as_np(layer(x, training=True)), candidates)
        assert names, "the output is none of the eleven operations"
        seen.update(names)
    assert len(seen) >= 4, seen  # the choice changes from call to call
    assert np.array_equal(as_np(L.RandAugment(num_ops=0, seed=4)(x, training=True)), x)


def test_augmix_blends_the_image_with_its_chain_by_one_weight():
    x = np.floor(IMAGES)
    candidates = candidates_at_strength_zero(x)
    candidates.pop("sharpness 0 (smooth)")  # not among AugMix's ops without all_ops
    layer = L.AugMix(num_chains=1, chain_depth=1, factor=0.0, all_ops=False, seed=6)
    for _ in range(10):
        out = as_np(layer(x, training=True)).astype(np.float64)
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
    out = as_np(L.RandomColorDegeneration((1.0, 1.0), seed=0)(IMAGES, training=True))
    np.testing.assert_allclose(out, np.repeat(luma[..., None], 3, -1), rtol=1e-5)
    still = as_np(L.RandomColorDegeneration((0.0, 0.0), seed=0)(IMAGES, training=True))
    assert np.array_equal(still, IMAGES)


def test_pipeline_runs_its_layers_in_order_and_round_trips():
    pipeline = L.Pipeline([L.RandomFlip(seed=1), L.RandomContrast(0.4, seed=2)], name="p")
    expected = L.RandomContrast(0.4, seed=2)(L.RandomFlip(seed=1)(IMAGES, training=True),
                                             training=True)
    assert np.array_equal(as_np(pipeline(IMAGES, training=True)), as_np(expected))
    assert np.array_equal(as_np(pipeline(IMAGES, training=False)), IMAGES)
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
    out = as_np(L.RandomPerspective(factor=(1.0, 1.0), scale=0.6, seed=3)(ramp, training=True))
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
    np.testing.assert_allclose(as_np(still(IMAGES, training=True)), IMAGES, atol=1e-2)
    never = L.RandomPerspective(factor=(0.0, 0.0), seed=3)
    assert np.array_equal(as_np(never(IMAGES, training=True)), IMAGES)


def test_elastic_transform_moves_pixels_by_a_smooth_field():
    h, w = 40, 40
    ys, xs = np.mgrid[0:h, 0:w].astype("float32")
    ramp = np.stack([xs, ys, xs], axis=-1)[None]
    layer = L.RandomElasticTransform(factor=(1.0, 1.0), scale=(1.0, 1.0), fill_mode="nearest",
                                     value_range=(-1e3, 1e3), seed=2)
    out = as_np(layer(ramp, training=True))[0]
    dx = out[..., 0] - xs
    interior = (slice(8, -8), slice(8, -8))
    assert dx[interior].std() > 0.05  # it moves...
    # ...smoothly: neighbouring displacements differ far less than they vary.
    assert np.abs(np.diff(dx[interior], axis=1)).mean() < 0.5 * dx[interior].std()
    assert np.array_equal(as_np(L.RandomElasticTransform(scale=0.0, seed=2)(IMAGES,
                                                                          training=True)),
                          IMAGES)
    assert np.array_equal(as_np(L.RandomElasticTransform(factor=0.0, seed=2)(IMAGES,
                                                                           training=True)),
                          IMAGES)


# -- CLAHE and box counts -------------------------------------------------------------------



def test_clahe_against_a_per_pixel_reference_also_at_inference():
    image = np.floor(RNG.beta(2, 5, size=(2, 13, 11, 2)) * 255).astype("float32")
    for clip, grid in ((4.0, (3, 2)), (0.0, (2, 4)), (1.5, (1, 1))):
        layer = L.ContrastLimitedAdaptiveHistogramEqualization(clip_limit=clip,
                                                               tile_grid_size=grid)
        for training in (True, False):
            out = as_np(layer(image, training=training))
            for o, x in zip(out, image):
                np.testing.assert_allclose(o, clahe_reference(x, clip, grid), atol=1e-3)
    unit = L.ContrastLimitedAdaptiveHistogramEqualization(value_range=(0, 1),
                                                          tile_grid_size=(2, 2))
    np.testing.assert_allclose(as_np(unit(image / 255))[0],
                               clahe_reference(image[0], 4.0, (2, 2)) / 255, atol=1e-5)


def test_max_num_bounding_boxes_pads_and_truncates():
    boxes = RNG.rand(2, 3, 4).astype("float32")
    labels = np.array([[1, 2, 3], [4, 5, 6]], dtype="int32")
    data = {"images": IMAGES[:2], "bounding_boxes": {"boxes": boxes, "labels": labels}}
    out = L.MaxNumBoundingBoxes(5)(data)
    assert np.array_equal(as_np(out["images"]), IMAGES[:2])
    padded = as_np(out["bounding_boxes"]["boxes"])
    assert padded.shape == (2, 5, 4) and np.array_equal(padded[:, :3], boxes)
    assert np.all(padded[:, 3:] == -1)
    assert np.array_equal(as_np(out["bounding_boxes"]["labels"]),
                          [[1, 2, 3, -1, -1], [4, 5, 6, -1, -1]])
    cut = L.MaxNumBoundingBoxes(2, fill_value=0)(data)["bounding_boxes"]
    assert np.array_equal(as_np(cut["labels"]), labels[:, :2])
    with pytest.raises(KeyError, match="unsupported keys"):
        L.MaxNumBoundingBoxes(2)({"images": IMAGES, "bounding_boxes": {"boxes": boxes,
                                                                       "scores": labels}})
    config = L.MaxNumBoundingBoxes(4, name="m").get_config()
    assert L.MaxNumBoundingBoxes.from_config(config).get_config() == config
