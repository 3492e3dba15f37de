"""Tone augmentation: Solarization, RandomPosterization, AutoContrast,
RandomSharpness, Equalization, RandomGaussianBlur, RandomColorJitter.

Keras' arithmetic is kept where it is unusual: Solarization draws its addition
in ``[lower, upper * 255]``; Equalization builds one histogram per channel over
the whole batch; AutoContrast is not random and acts at inference too.
"""

import mlx.core as mx

from .. import registry
from ..engine import argument_validation as check
from ..ops import image as image_ops
from .augmentation_base import BaseImageAugmentationLayer, factor_range, from_unit_range
from .augmentation_base import correlate2d, sub_seed, to_unit_range
from .augmentation_base import value_range as check_value_range
from .augmentation_color import RandomBrightness, RandomContrast, RandomHue, RandomSaturation


def _to_255(images, value_range):
    return from_unit_range(to_unit_range(images, value_range), (0, 255))


def _from_255(images, value_range):
    return from_unit_range(to_unit_range(images, (0, 255)), value_range)


@registry.builtin
class Solarization(BaseImageAugmentationLayer):
    """Adds ``a`` to each image (in the 0-255 scale), clips, and inverts the
    pixels at or above a threshold ``t``: ``x if x < t else 255 - x``.

    Args:
        addition_factor: ``f`` in [0, 1]; ``a`` is drawn per image in
            ``[lower, upper * 255]`` (Keras' bounds), 0 by default.
        threshold_factor: the same for ``t``, 0 by default (every pixel inverted).
        value_range: the images' value range, ``(0, 255)`` by default.
        seed: int seed, or None.
    """

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255),
                 seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.addition_factor = factor_range(self, "addition_factor", addition_factor, 0, 1)
        self.threshold_factor = factor_range(self, "threshold_factor", threshold_factor, 0,
                                             1)
        self.value_range = check_value_range(self, value_range, sort=True)

    def augment(self, images):
        shape = (images.shape[0], 1, 1, 1)
        add = self.uniform(shape, self.addition_factor[0], self.addition_factor[1] * 255)
        threshold = self.uniform(shape, self.threshold_factor[0],
                                 self.threshold_factor[1] * 255)
        x = mx.clip(_to_255(self.as_compute(images), self.value_range) + add, 0, 255)
        x = mx.where(x < threshold, x, 255 - x)
        return _from_255(x, self.value_range).astype(self.compute_dtype_mx)

    def get_config(self):
        config = super().get_config()
        config.update(value_range=self.value_range, addition_factor=self.addition_factor,
                      threshold_factor=self.threshold_factor, seed=self.seed)
        return config


@registry.builtin
class RandomPosterization(BaseImageAugmentationLayer):
    """Keeps the ``b`` high bits of each 8-bit value, ``b`` drawn per image from the
    integers in ``[lower, upper)`` (``lower`` itself when the two are equal).

    Args:
        factor: ``f`` in [1, 8] for ``(1, f)``, or a pair ``(lower, upper)``.
        value_range: the images' value range, ``(0, 255)`` by default.
        data_format: ``"channels_last"`` (or None).
        seed: int seed, or None.
    """

    _cast_at_inference = False

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, 1, 8)
        self.value_range = check_value_range(self, value_range, sort=True)

    def augment(self, images):
        n = images.shape[0]
        low, high = int(self.factor[0]), int(self.factor[1])
        if low != high:
            bits = mx.random.randint(low, high, (n,), key=self.generator.next())
        else:
            bits = mx.full((n,), low, dtype=mx.int32)
        shift = (8 - bits).astype(mx.uint8).reshape(n, 1, 1, 1)
        x = _to_255(self.as_compute(images), self.value_range).astype(mx.uint8)
        x = mx.left_shift(mx.right_shift(x, shift), shift).astype(self.compute_dtype_mx)
        return _from_255(x, self.value_range)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, value_range=self.value_range, seed=self.seed)
        return config


@registry.builtin
class AutoContrast(BaseImageAugmentationLayer):
    """Stretches each channel of each image to fill ``value_range``:
    ``(x - min) * 255 / (max - min)`` in the 0-255 scale; a flat channel is kept.

    Not random, and applied at inference as well (as Keras does).

    Args:
        value_range: the images' value range, ``(0, 255)`` by default.
    """

    _random = False

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self.value_range = check_value_range(self, value_range, sort=True)

    def augment(self, images):
        x = _to_255(self.as_compute(images), self.value_range)
        low = mx.min(x, axis=(1, 2), keepdims=True)
        high = mx.max(x, axis=(1, 2), keepdims=True)
        scale = 255.0 / (high - low)
        out = _from_255(mx.clip(x * scale - low * scale, 0.0, 255.0), self.value_range)
        return mx.where(mx.isnan(out), self.as_compute(images), out)

    def inference(self, images):
        return self.augment(images if images.ndim == 4 else images[None]).reshape(images.shape)

    def get_config(self):
        config = super().get_config()
        config.update(value_range=self.value_range)
        return config


@registry.builtin
class RandomSharpness(BaseImageAugmentationLayer):
    """Blends each image with a 3x3 smoothed copy: ``x + (1 - 2 s)(smooth - x)``,
    ``s`` drawn per image (0.5 keeps the image, 0 smooths, 1 sharpens), clipped.

    Args:
        factor: ``f`` in [0, 1] for ``(0, f)``, or a pair ``(lower, upper)``.
        value_range: the images' value range, ``(0, 255)`` by default.
        data_format: ``"channels_last"`` (or None).
        seed: int seed, or None.
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, 0, 1)
        self.value_range = check_value_range(self, value_range, sort=True)

    def augment(self, images):
        images = self.as_compute(images)
        s = self.uniform((images.shape[0],), *self.factor).reshape(-1, 1, 1, 1) * 2
        s = s.astype(images.dtype)
        a, b = 1.0 / 13.0, 5.0 / 13.0
        kernel = mx.array([[a, a, a], [a, b, a], [a, a, a]], dtype=images.dtype)
        smooth = correlate2d(images, kernel, "same")  # zero padding, as Keras' conv
        return mx.clip(images + (1.0 - s) * (smooth - images), *self.value_range)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, value_range=self.value_range, seed=self.seed)
        return config


@registry.builtin
class Equalization(BaseImageAugmentationLayer):
    """Histogram equalization of each channel (the histogram of the whole batch's
    channel, ``bins`` bins over 0-255), mapped back to ``value_range``.

    Args:
        value_range: the images' value range, ``(0, 255)`` by default.
        bins: number of histogram bins (256).
        data_format: ``"channels_last"`` (or None).
    """

    _random = False

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.bins = check.positive_int(self, "bins", bins)
        self.value_range = check_value_range(self, value_range, sort=True)

    def augment(self, images):
        x = _to_255(self.as_compute(images), self.value_range)
        n, h, w, c = x.shape
        planes = mx.moveaxis(x, -1, 0).reshape(c, -1)  # (C, N*H*W)
        index = mx.clip((planes * (self.bins - 1) / 255.0).astype(mx.int32), 0, self.bins - 1)
        # Per-channel histograms by one scatter-add (no loop over bins or images).
        offsets = (mx.arange(c, dtype=mx.int32) * self.bins)[:, None]
        hist = mx.zeros((c * self.bins,), dtype=mx.int32).at[(index + offsets).reshape(-1)].add(
            mx.ones((index.size,), dtype=mx.int32)).reshape(c, self.bins)
        cdf = mx.cumsum(hist, axis=1)
        cdf_min = mx.take_along_axis(cdf, mx.argmax(cdf > 0, axis=1)[:, None], axis=1)
        denominator = cdf[:, -1:] - cdf_min
        denominator = mx.where(denominator == 0, 1, denominator)
        table = mx.clip(mx.round((cdf - cdf_min) * 255 / denominator), 0, 255)
        lookup = mx.clip(planes / 255.0 * (self.bins - 1), 0, self.bins - 1).astype(mx.int32)
        equalized = mx.take_along_axis(table.astype(x.dtype), lookup, axis=1)
        # A channel with a single occupied bin is left as it is.
        flat = mx.sum(hist > 0, axis=1, keepdims=True) <= 1
        out = mx.where(flat, planes, equalized)
        out = mx.moveaxis(out.reshape(c, n, h, w), 0, -1)
        return _from_255(out, self.value_range).astype(self.compute_dtype_mx)

    def get_config(self):
        config = super().get_config()
        config.update(bins=self.bins, value_range=self.value_range)
        return config


@registry.builtin
class RandomGaussianBlur(BaseImageAugmentationLayer):
    """Blurs each image with probability drawn in the factor's range, with one
    Gaussian (sigmas drawn per batch) of ``kernel_size``; clipped to ``value_range``.

    Args:
        factor: ``f`` in [0, 1] for ``(0, f)``, or a pair: the blur probability's range.
        kernel_size: an odd int, or a pair of odd ints.
        sigma: ``s`` in [0, 1] for ``(0, s)``, or a pair: the sigmas' range.
        value_range: the images' value range, ``(0, 255)`` by default.
        data_format: ``"channels_last"`` (or None).
        seed: int seed, or None.
    """

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255),
                 data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, 0, 1)
        sizes = check.int_tuple(self, "kernel_size", kernel_size, 2)
        if any(k % 2 == 0 for k in sizes):
            raise check._error(self, "kernel_size", "an odd integer or a pair of them",
                               kernel_size)
        self.kernel_size = sizes
        self.sigma = factor_range(self, "sigma", sigma, 0, 1)
        self.value_range = check_value_range(self, value_range)

    def augment(self, images):
        images = self.as_compute(images)
        n = images.shape[0]
        probability = self.uniform((n,), *self.factor)
        apply = self.uniform((n,)) < probability
        sigma = self.uniform((2,), *self.sigma) + 1e-6
        blurred = image_ops.gaussian_blur(images, self.kernel_size, sigma)
        out = mx.where(apply[:, None, None, None], blurred, images)
        return mx.clip(out, *self.value_range).astype(self.compute_dtype_mx)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, kernel_size=self.kernel_size, sigma=self.sigma,
                      value_range=self.value_range, seed=self.seed)
        return config


@registry.builtin
class RandomColorJitter(BaseImageAugmentationLayer):
    """RandomBrightness, RandomContrast, RandomSaturation and RandomHue in that
    order, each one that has a factor.

    Args:
        value_range: the images' value range, ``(0, 255)`` by default.
        brightness_factor, contrast_factor, saturation_factor, hue_factor: the
            factor of each step (None skips it), as in the single layers.
        seed: int seed, or None.
        data_format: ``"channels_last"`` (or None).
    """

    _random = False  # its steps draw, each from its own key

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None,
                 saturation_factor=None, hue_factor=None, seed=None, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = check_value_range(self, value_range)
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        # One attribute per step (Keras' names), so their seed generators are
        # part of this layer's state and advance inside the compiled step.
        for index, (attribute, cls, factor) in enumerate((
                ("random_brightness", RandomBrightness, brightness_factor),
                ("random_contrast", RandomContrast, contrast_factor),
                ("random_saturation", RandomSaturation, saturation_factor),
                ("random_hue", RandomHue, hue_factor))):
            step = None if factor is None else cls(factor, value_range=value_range,
                                                   seed=sub_seed(self.seed, index))
            setattr(self, attribute, step)

    def augment(self, images):
        images = self.as_compute(images)
        for attribute in ("random_brightness", "random_contrast", "random_saturation",
                          "random_hue"):
            step = getattr(self, attribute)
            if step is not None:
                images = step.augment(images)
        return images.astype(self.compute_dtype_mx)

    def get_config(self):
        config = super().get_config()
        config.update(value_range=self.value_range, brightness_factor=self.brightness_factor,
                      contrast_factor=self.contrast_factor,
                      saturation_factor=self.saturation_factor, hue_factor=self.hue_factor,
                      seed=self.seed)
        return config
