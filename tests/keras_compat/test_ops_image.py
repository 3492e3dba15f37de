"""keras.ops.image against scipy.ndimage, colorsys and numpy references of the
JAX conventions Keras' JAX backend follows (half-pixel resampling, per-corner
fill modes); plus data formats, dtypes, compiled steps and symbolic use."""

import colorsys
import math
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest
import scipy.ndimage as ndimage

import mlxfunctional as keras
from mlxfunctional import ops
from mlxfunctional.ops import image

API = Path(__file__).parent / "keras_api"
RNG = np.random.default_rng(0)
# Keras' fill modes as scipy.ndimage spells them (JAX folds each corner's index,
# which scipy calls "grid-constant" and "grid-wrap").
SCIPY_MODE = {"constant": "grid-constant", "nearest": "nearest", "wrap": "grid-wrap",
              "mirror": "mirror", "reflect": "reflect"}


def _close(actual, expected, tol=1e-5):
    actual = np.asarray(actual)
    assert actual.shape == np.shape(expected), (actual.shape, np.shape(expected))
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


def _per_channel(fn, images):
    """Applies a 2-D numpy function to every (H, W) plane of (N, H, W, C) images."""
    return np.stack([np.stack([fn(img[..., c]) for c in range(img.shape[-1])], -1)
                     for img in images])


def test_every_keras_image_name_exists():
    names = (API / "ops_image.txt").read_text().split()
    assert sorted(names) == sorted(image.__all__)
    for name in names:
        assert callable(getattr(ops.image, name)), name


# -- resize -----------------------------------------------------------------------

def _reference_resize_1d(x, out_size, kernel, antialias):
    """JAX's half-pixel resampling along axis 0, one output pixel at a time."""
    in_size = x.shape[0]
    scale = out_size / in_size
    stretch = max(1 / scale, 1.0) if antialias else 1.0
    out = np.zeros((out_size,) + x.shape[1:])
    for i in range(out_size):
        centre = (i + 0.5) / scale - 0.5
        weights = np.array([kernel(abs(centre - j) / stretch) for j in range(in_size)])
        if abs(weights.sum()) > 1000 * 2.0 ** -23:
            out[i] = np.tensordot(weights / weights.sum(), x, axes=1)
    return out


def _keys(x):
    if x < 1:
        return 1.5 * x ** 3 - 2.5 * x ** 2 + 1
    return -0.5 * x ** 3 + 2.5 * x ** 2 - 4 * x + 2 if x < 2 else 0.0


def _lanczos(radius):
    return lambda x: 1.0 if x < 1e-3 else (0.0 if x > radius else radius * math.sin(
        math.pi * x) * math.sin(math.pi * x / radius) / (math.pi * x) ** 2)


KERNELS = {"bilinear": lambda x: max(0.0, 1 - x), "bicubic": _keys,
           "lanczos3": _lanczos(3), "lanczos5": _lanczos(5)}


def _reference_resize(images, size, interpolation, antialias):
    out = _reference_resize_1d(np.moveaxis(images, 1, 0), size[0], KERNELS[interpolation],
                               antialias)
    out = _reference_resize_1d(np.moveaxis(np.moveaxis(out, 0, 1), 2, 0), size[1],
                               KERNELS[interpolation], antialias)
    return np.moveaxis(out, 0, 2)


@pytest.mark.parametrize("interpolation", sorted(KERNELS))
@pytest.mark.parametrize("size", [(9, 11), (3, 2), (9, 4)])
@pytest.mark.parametrize("antialias", [False, True])
def test_resize_matches_half_pixel_reference(interpolation, size, antialias):
    images = RNG.random((2, 6, 5, 3)).astype(np.float32)
    expected = _reference_resize(images.astype(float), size, interpolation, antialias)
    result = image.resize(images, size, interpolation=interpolation, antialias=antialias)
    assert result.dtype == mx.float32
    _close(result, expected, tol=1e-5)


@pytest.mark.parametrize("size", [(8, 10), (7, 9), (2, 3)])
def test_resize_bilinear_equals_scipy_zoom(size):
    plane = RNG.random((4, 5))
    expected = ndimage.zoom(plane, (size[0] / 4, size[1] / 5), order=1, mode="nearest",
                            grid_mode=True)
    _close(image.resize(plane[:, :, None].astype(np.float32), size)[..., 0], expected)


def test_resize_nearest_and_area():
    images = RNG.random((1, 6, 4, 2)).astype(np.float32)
    rows = np.floor((np.arange(4) + 0.5) * 6 / 4).astype(int)
    cols = np.floor((np.arange(7) + 0.5) * 4 / 7).astype(int)
    _close(image.resize(images, (4, 7), "nearest"), images[:, rows][:, :, cols])
    # area at whole factors is the mean of each block
    blocks = images.reshape(1, 3, 2, 2, 2, 2).mean(axis=(2, 4))
    _close(image.resize(images, (3, 2), "area"), blocks)
    # and keeps the mean of the image at any factor
    _close(np.asarray(image.resize(images, (4, 3), "area")).mean(axis=(1, 2)),
           images.mean(axis=(1, 2)))


def test_resize_dtypes_layouts_and_aspect_ratio():
    images = (RNG.random((2, 4, 6, 3)) * 255).astype(np.uint8)
    result = image.resize(images, (6, 9))
    assert result.dtype == mx.uint8  # computed in float, rounded and saturated back
    exact = _reference_resize(images.astype(float), (6, 9), "bilinear", False)
    # a correct rounding of the exact value (ties may go either way in float32)
    assert np.abs(np.asarray(result) - exact).max() <= 0.5 + 1e-4
    channels_first = image.resize(np.moveaxis(images, -1, 1), (6, 9),
                                  data_format="channels_first")
    np.testing.assert_array_equal(np.moveaxis(np.asarray(channels_first), 1, -1), result)
    single = image.resize(images[0].astype(np.float32), (3, 3))
    assert single.shape == (3, 3, 3)
    # crop: the centred 4x4 window of the 4x6 image; pad: 1 row of fill each side
    x = images.astype(np.float32)
    _close(image.resize(x, (2, 2), crop_to_aspect_ratio=True),
           np.asarray(image.resize(x[:, :, 1:5], (2, 2))))
    padded = np.pad(x, [(0, 0), (1, 1), (0, 0), (0, 0)], constant_values=7.0)
    _close(image.resize(x, (3, 3), pad_to_aspect_ratio=True, fill_value=7.0),
           np.asarray(image.resize(padded, (3, 3))), tol=1e-4)


@pytest.mark.parametrize("kwargs, match", [
    (dict(size=(3,)), "size"), (dict(size=(0, 3)), "size"),
    (dict(size=(3, 3), interpolation="cubic"), "interpolation"),
    (dict(size=(3, 3), fill_mode="reflect"), "fill_mode"),
    (dict(size=(3, 3), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "only one"),
    (dict(size=(3, 3), data_format="NHWC"), "data_format"),
])
def test_resize_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        image.resize(np.ones((4, 4, 3), np.float32), **kwargs)
    with pytest.raises(ValueError, match="rank 3 or rank 4"):
        image.resize(np.ones((4, 4), np.float32), (2, 2))


def test_scale_and_translate():
    # Keras' documented example: 3x3 -> 5x5, linear, scale 2
    scale = np.array([2.0, 2.0], np.float32)
    result = image.scale_and_translate(np.arange(9, dtype=np.float32).reshape(3, 3), (5, 5),
                                       scale, -(scale / 2 - 0.5), (0, 1), "linear")
    _close(result, np.arange(5)[:, None] * 1.5 + np.arange(5)[None, :] * 0.5)
    # scale = out/in without translation is resize
    images = RNG.random((2, 5, 6, 1)).astype(np.float32)
    for method, interpolation in (("bilinear", "bilinear"), ("cubic", "bicubic")):
        _close(image.scale_and_translate(images, (2, 3, 4, 1), np.array([3 / 5, 4 / 6]),
                                         np.zeros(2), (1, 2), method, antialias=True),
               np.asarray(image.resize(images, (3, 4), interpolation, antialias=True)))
    # a translation past the image leaves zeros
    shifted = image.scale_and_translate(np.ones((4,), np.float32), (4,), np.array([1.0]),
                                        np.array([2.0]), (0,), "linear")
    _close(shifted, [0.0, 0.0, 1.0, 1.0])


# -- sampling and warps -----------------------------------------------------------

@pytest.mark.parametrize("fill_mode", sorted(SCIPY_MODE))
@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("shape", [(7,), (5, 7), (3, 4, 5)])
def test_map_coordinates_matches_scipy(fill_mode, order, shape):
    inputs = RNG.random(shape).astype(np.float32)
    coordinates = RNG.uniform(-2 * max(shape), 3 * max(shape), size=(len(shape), 6, 5))
    result = image.map_coordinates(inputs, coordinates.astype(np.float32), order, fill_mode,
                                   fill_value=0.25)
    expected = ndimage.map_coordinates(inputs.astype(float), coordinates, order=order,
                                       mode=SCIPY_MODE[fill_mode], cval=0.25)
    assert result.dtype == mx.float32
    _close(result, expected, tol=1e-5)


def test_map_coordinates_int_inputs_far_coordinates_and_errors():
    inputs = np.arange(12, dtype=np.int32).reshape(3, 4)
    coords = [np.array([0.5, 1.0, 1e9, -3e9], np.float32), np.array([1.5, 2.2, 0.0, 1.0],
                                                                    np.float32)]
    result = image.map_coordinates(inputs, coords, 1, fill_value=-1)
    assert result.dtype == mx.int32
    # 0.5 rows x 1.5 cols -> 3.5 rounds away from zero to 4; far points are filled
    np.testing.assert_array_equal(result, [4, 6, -1, -1])
    with pytest.raises(ValueError, match="order"):
        image.map_coordinates(inputs, coords, 3)
    with pytest.raises(ValueError, match="fill_mode"):
        image.map_coordinates(inputs, coords, 1, "grid-wrap")
    with pytest.raises(ValueError, match="coordinates"):
        image.map_coordinates(inputs, [coords[0]], 1)


@pytest.mark.parametrize("fill_mode", sorted(SCIPY_MODE))
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_affine_transform_matches_scipy(fill_mode, interpolation):
    images = RNG.random((2, 6, 7, 2)).astype(np.float32)
    transforms = np.array([[1.13, 0.21, -1.71, -0.17, 0.91, 2.33, 0, 0],
                           [0.71, -0.33, 3.1, 0.29, 1.37, -2.6, 0, 0]], np.float32)
    result = image.affine_transform(images, transforms, interpolation, fill_mode,
                                    fill_value=0.5)
    expected = []
    for img, (a0, a1, a2, b0, b1, b2, _, _) in zip(images.astype(float), transforms):
        # output (row y, col x) reads input (b0 x + b1 y + b2, a0 x + a1 y + a2)
        expected.append(_per_channel(lambda p: ndimage.affine_transform(
            p, [[b1, b0], [a1, a0]], offset=[b2, a2], order=_ORDER[interpolation],
            mode=SCIPY_MODE[fill_mode], cval=0.5), img[None])[0])
    _close(result, np.stack(expected), tol=1e-5)
    # one transform for the batch, channels_first, a single image
    first = image.affine_transform(np.moveaxis(images, -1, 1), transforms[0], interpolation,
                                   fill_mode, 0.5, data_format="channels_first")
    _close(np.moveaxis(np.asarray(first), 1, -1)[0], expected[0], tol=1e-5)
    _close(image.affine_transform(images[1], transforms[1], interpolation, fill_mode, 0.5),
           expected[1], tol=1e-5)


_ORDER = {"nearest": 0, "bilinear": 1}


def test_perspective_transform():
    images = RNG.random((2, 5, 6, 3)).astype(np.float32)
    corners = np.array([[0, 0], [5, 0], [5, 4], [0, 4]], np.float32)
    _close(image.perspective_transform(images, corners, corners), images, tol=1e-5)
    # end = start - (2, 1): every output pixel reads the input 2 columns right, 1 row down
    shifted = image.perspective_transform(images, corners, corners - [2, 1], fill_value=9)
    expected = image.affine_transform(images, [1, 0, 2, 0, 1, 1, 0, 0], fill_value=9)
    _close(shifted, np.asarray(expected), tol=1e-4)
    with pytest.raises(ValueError, match="start_points"):
        image.perspective_transform(images, corners[:3], corners)


def test_elastic_transform():
    images = RNG.random((2, 8, 9, 3)).astype(np.float32)
    _close(image.elastic_transform(images, alpha=0.0, seed=1), images)  # no displacement
    first = image.elastic_transform(images, alpha=5.0, sigma=1.0, seed=3)
    again = image.elastic_transform(images, alpha=5.0, sigma=1.0, seed=3)
    other = image.elastic_transform(images, alpha=5.0, sigma=1.0, seed=4)
    assert first.shape == images.shape and first.dtype == mx.float32
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    # bilinear samples with reflected edges stay inside the input's range
    assert images.min() - 1e-6 <= np.asarray(first).min() <= np.asarray(first).max() \
        <= images.max() + 1e-6
    unbatched = image.elastic_transform(images[0], seed=2, data_format="channels_last")
    assert unbatched.shape == images[0].shape


# -- filters and patches ----------------------------------------------------------

def _gaussian(size, sigma):
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-x ** 2 / (2 * sigma ** 2))
    return g / g.sum()


@pytest.mark.parametrize("kernel_size, sigma", [((3, 3), (1.0, 1.0)), ((5, 3), (2.0, 0.7)),
                                                ((4, 4), (1.5, 1.5))])
def test_gaussian_blur(kernel_size, sigma):
    images = RNG.random((2, 7, 8, 3)).astype(np.float32)
    # Keras' kernel: rows from (kernel_size[1], sigma[1]), columns from the first pair
    kernel = np.outer(_gaussian(kernel_size[1], sigma[1]), _gaussian(kernel_size[0], sigma[0]))
    kh, kw = kernel.shape
    padded = np.pad(images.astype(float), [(0, 0), ((kh - 1) // 2, kh // 2),
                                           ((kw - 1) // 2, kw // 2), (0, 0)])
    expected = sum(kernel[i, j] * padded[:, i:i + 7, j:j + 8]
                   for i in range(kh) for j in range(kw))
    _close(image.gaussian_blur(images, kernel_size, sigma), expected)
    cf = image.gaussian_blur(np.moveaxis(images, -1, 1), kernel_size, sigma, "channels_first")
    _close(np.moveaxis(np.asarray(cf), 1, -1), expected)


def test_sobel_edges():
    images = RNG.random((2, 6, 7, 2)).astype(np.float32)
    sobel_y = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], float)
    dy = _per_channel(lambda p: ndimage.correlate(p, sobel_y, mode="constant"), images)
    dx = _per_channel(lambda p: ndimage.correlate(p, sobel_y.T, mode="constant"), images)
    _close(image.sobel_edges(images), np.stack([dy, dx], -1), tol=1e-5)
    cf = image.sobel_edges(np.moveaxis(images, -1, 1), data_format="channels_first")
    _close(cf, np.moveaxis(np.stack([dy, dx], -1), 3, 1), tol=1e-5)


def _reference_ssim(x, y, max_val=1.0, size=11, sigma=1.5, k1=0.01, k2=0.03):
    window = np.outer(_gaussian(size, sigma), _gaussian(size, sigma))
    half = size // 2

    def local_mean(p):  # 'valid' positions only
        return ndimage.correlate(p, window, mode="constant")[half:-half or None,
                                                             half:-half or None]

    scores = []
    for c in range(x.shape[-1]):
        a, b = x[..., c], y[..., c]
        mu_a, mu_b = local_mean(a), local_mean(b)
        var_a = local_mean(a * a) - mu_a ** 2
        var_b = local_mean(b * b) - mu_b ** 2
        cov = local_mean(a * b) - mu_a * mu_b
        c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
        scores.append(np.mean((2 * mu_a * mu_b + c1) * (2 * cov + c2)
                              / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))))
    return np.mean(scores)


def test_ssim():
    x = RNG.random((2, 16, 15, 3)).astype(np.float32)
    y = np.clip(x + RNG.normal(scale=0.1, size=x.shape), 0, 1).astype(np.float32)
    _close(image.ssim(x, x), [1.0, 1.0])
    expected = [_reference_ssim(a.astype(float), b.astype(float)) for a, b in zip(x, y)]
    _close(image.ssim(x, y), expected, tol=1e-4)
    _close(image.ssim(x[0] * 255, y[0] * 255, max_val=255.0, filter_size=5, filter_sigma=1.0),
           _reference_ssim(x[0] * 255.0, y[0] * 255.0, 255.0, 5, 1.0), tol=1e-4)
    cf = image.ssim(np.moveaxis(x, -1, 1), np.moveaxis(y, -1, 1), data_format="channels_first")
    _close(cf, expected, tol=1e-4)


def _reference_patches(x, size, strides, dilation):
    """(N, *spatial, C) -> patches by explicit loops, features in (offsets..., C) order."""
    spatial = x.shape[1:-1]
    out = [(n - (k - 1) * d - 1) // s + 1 for n, k, s, d in zip(spatial, size, strides,
                                                                  dilation)]
    result = np.zeros((x.shape[0],) + tuple(out) + (int(np.prod(size)) * x.shape[-1],),
                      x.dtype)
    for position in np.ndindex(*out):
        features = [x[(slice(None),) + tuple(p * s + o * d for p, s, o, d in
                                            zip(position, strides, offset, dilation))]
                    for offset in np.ndindex(*size)]
        result[(slice(None),) + position] = np.concatenate(features, axis=-1)
    return result


@pytest.mark.parametrize("size, strides, dilation", [
    ((2, 3), None, 1), ((3, 3), (1, 2), 1), ((2, 2), 1, 2), (3, (2, 1), 1)])
def test_extract_patches(size, strides, dilation):
    images = RNG.integers(0, 100, size=(2, 7, 8, 3)).astype(np.int32)
    k = (size, size) if isinstance(size, int) else size
    s = k if strides is None else ((strides,) * 2 if isinstance(strides, int) else strides)
    d = (dilation,) * 2
    result = image.extract_patches(images, size, strides, dilation)
    assert result.dtype == mx.int32
    np.testing.assert_array_equal(result, _reference_patches(images, k, s, d))
    cf = image.extract_patches(np.moveaxis(images, -1, 1), size, strides, dilation,
                               data_format="channels_first")
    np.testing.assert_array_equal(np.moveaxis(np.asarray(cf), 1, -1), result)
    np.testing.assert_array_equal(image.extract_patches(images[0], size, strides, dilation),
                                  np.asarray(result)[0])


def test_extract_patches_same_padding_and_3d():
    images = RNG.random((1, 5, 5, 2)).astype(np.float32)
    same = image.extract_patches(images, (3, 3), (2, 2), padding="same")
    # "same" as a convolution: out = ceil(5 / 2) = 3, total padding 2 -> 1 each side
    padded = np.pad(images, [(0, 0), (1, 1), (1, 1), (0, 0)])
    np.testing.assert_array_equal(same, _reference_patches(padded, (3, 3), (2, 2), (1, 1)))
    volumes = RNG.random((2, 4, 5, 6, 2)).astype(np.float32)
    expected = _reference_patches(volumes, (2, 2, 3), (2, 2, 3), (1, 1, 1))
    np.testing.assert_array_equal(image.extract_patches_3d(volumes, (2, 2, 3)), expected)
    np.testing.assert_array_equal(image.extract_patches(volumes, (2, 2, 3)), expected)
    np.testing.assert_array_equal(image.extract_patches_3d(volumes[1], (2, 2, 3)), expected[1])
    with pytest.raises(ValueError, match="padding"):
        image.extract_patches(images, 2, padding="full")


@pytest.mark.parametrize("op, args, shape", [
    ("extract_patches", (2,), (0, 2, 2, 12)), ("resize", ((2, 3),), (0, 2, 3, 3)),
    ("gaussian_blur", (), (0, 4, 4, 3)), ("affine_transform", ([1, 0, 0, 0, 1, 0, 0, 0],),
                                          (0, 4, 4, 3)),
    ("rgb_to_grayscale", (), (0, 4, 4, 1)), ("sobel_edges", (), (0, 4, 4, 3, 2)),
])
def test_empty_batches(op, args, shape):
    assert getattr(image, op)(np.zeros((0, 4, 4, 3), np.float32), *args).shape == shape


# -- crop, pad, colour ------------------------------------------------------------

def test_crop_and_pad_images():
    images = RNG.random((2, 6, 7, 3)).astype(np.float32)
    np.testing.assert_array_equal(
        image.crop_images(images, 1, 2, target_height=3, target_width=4), images[:, 1:4, 2:6])
    np.testing.assert_array_equal(
        image.crop_images(images, bottom_cropping=2, right_cropping=1, target_height=3,
                          target_width=5), images[:, 1:4, 1:6])
    np.testing.assert_array_equal(
        image.crop_images(images[0], 0, 0, 2, 2), images[0, :4, :5])  # (top, left, bottom, right)
    cf = image.crop_images(np.moveaxis(images, -1, 1), 1, 2, target_height=3, target_width=4,
                           data_format="channels_first")
    np.testing.assert_array_equal(cf, np.moveaxis(images[:, 1:4, 2:6], -1, 1))
    np.testing.assert_array_equal(
        image.pad_images(images, 2, 3, target_height=10, target_width=12),
        np.pad(images, [(0, 0), (2, 2), (3, 2), (0, 0)]))
    np.testing.assert_array_equal(
        image.pad_images(images[0], bottom_padding=1, right_padding=0, target_height=8,
                         target_width=7), np.pad(images[0], [(1, 1), (0, 0), (0, 0)]))
    with pytest.raises(ValueError, match="exactly two"):
        image.pad_images(images, 1, 1, 1, 1, target_height=9, target_width=9)
    with pytest.raises(ValueError, match="smaller"):
        image.pad_images(images, 2, 3, target_height=4, target_width=12)
    with pytest.raises(ValueError, match=">= 0"):
        image.crop_images(images, -1, 0, target_height=2, target_width=2)
    with pytest.raises(ValueError, match="does not fit"):
        image.crop_images(images, 5, 0, target_height=3, target_width=2)


def test_rgb_to_grayscale():
    images = RNG.random((2, 3, 4, 3)).astype(np.float32)
    expected = (images @ np.array([0.2989, 0.5870, 0.1140]))[..., None]
    _close(image.rgb_to_grayscale(images), expected)
    cf = image.rgb_to_grayscale(np.moveaxis(images, -1, 1), data_format="channels_first")
    _close(np.moveaxis(np.asarray(cf), 1, -1), expected)
    ints = (images * 255).astype(np.uint8)
    result = image.rgb_to_grayscale(ints)
    assert result.dtype == mx.uint8  # truncated back to the input dtype
    np.testing.assert_array_equal(result, (ints @ np.array([0.2989, 0.5870, 0.1140]))[..., None]
                                  .astype(np.uint8))
    np.testing.assert_array_equal(image.rgb_to_grayscale(ints[..., :1]), ints[..., :1])
    with pytest.raises(ValueError, match="channels"):
        image.rgb_to_grayscale(images[..., :2])


def test_rgb_hsv_round_trip_matches_colorsys():
    images = RNG.random((2, 4, 5, 3)).astype(np.float32)
    images[0, 0, 0] = [0.5, 0.5, 0.5]  # grey: hue 0, saturation 0
    images[0, 0, 1] = [0.0, 0.0, 0.0]
    hsv = np.asarray(image.rgb_to_hsv(images))
    expected = np.apply_along_axis(lambda p: colorsys.rgb_to_hsv(*p), -1,
                                   images.astype(float))
    _close(hsv, expected, tol=1e-5)
    back = np.apply_along_axis(lambda p: colorsys.hsv_to_rgb(*p), -1, expected)
    _close(image.hsv_to_rgb(hsv), back, tol=1e-5)
    _close(image.hsv_to_rgb(image.rgb_to_hsv(images)), images, tol=1e-5)
    cf = image.rgb_to_hsv(np.moveaxis(images, -1, 1), data_format="channels_first")
    _close(np.moveaxis(np.asarray(cf), 1, -1), expected, tol=1e-5)
    with pytest.raises(ValueError, match="float"):
        image.rgb_to_hsv(images.astype(np.int32))


# -- in training steps and graphs -------------------------------------------------

def test_image_ops_compile_and_differentiate():
    images = RNG.random((2, 6, 6, 3)).astype(np.float32)
    transform = np.array([1.1, 0.2, -0.5, -0.1, 0.9, 0.7, 0, 0], np.float32)

    def loss(x):
        resized = image.resize(x, (4, 5), "bicubic", antialias=True)
        warped = image.affine_transform(x, transform, fill_mode="reflect")
        return mx.sum(resized ** 2) + mx.sum(warped * image.gaussian_blur(x))

    eager = loss(mx.array(images))
    _close(mx.compile(loss)(mx.array(images)), np.asarray(eager), tol=1e-4)
    grad = np.asarray(mx.grad(loss)(mx.array(images)))
    step = np.zeros_like(images)
    step[0, 2, 3, 1] = 1e-2
    numeric = (loss(mx.array(images + step)) - loss(mx.array(images - step))).item() / 2e-2
    np.testing.assert_allclose(grad[0, 2, 3, 1], numeric, rtol=1e-2)


def test_symbolic_image_ops_in_a_functional_model_round_trip():
    inputs = keras.Input((8, 8, 3))
    resized = ops.image.resize(inputs, (4, 6), interpolation="bicubic")
    gray = ops.image.rgb_to_grayscale(resized)
    warped = ops.image.affine_transform(gray, [1.0, 0.1, 0.5, 0.0, 1.0, -0.5, 0.0, 0.0],
                                        fill_mode="nearest")
    model = keras.Model(inputs, warped)
    x = RNG.random((2, 8, 8, 3)).astype(np.float32)
    expected = image.affine_transform(
        image.rgb_to_grayscale(image.resize(x, (4, 6), interpolation="bicubic")),
        [1.0, 0.1, 0.5, 0.0, 1.0, -0.5, 0.0, 0.0], fill_mode="nearest")
    out = model.predict(x, verbose=0)
    assert out.shape == (2, 4, 6, 1)
    _close(out, np.asarray(expected))
    clone = keras.Model.from_config(model.get_config())
    np.testing.assert_allclose(clone.predict(x, verbose=0), out, rtol=1e-6)
