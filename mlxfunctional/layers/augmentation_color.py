"""Colour augmentation: RandomContrast, RandomBrightness, RandomGrayscale,
RandomHue, RandomSaturation, RandomInvert.

``value_range`` is the range the images' values live in (``(0, 255)`` by
default, as in Keras); results are clipped back into it where Keras clips.
"""

import mlx.core as mx

from .. import registry
from ..engine import argument_validation as check
from ..ops import image as image_ops
from .augmentation_base import BaseImageAugmentationLayer, factor_range, from_unit_range
from .augmentation_base import to_unit_range
from .augmentation_base import value_range as check_value_range


@registry.builtin
class RandomContrast(BaseImageAugmentationLayer):
    """Scales each image's deviation from its per-channel mean:
    ``(x - mean) * c + mean``, clipped to ``value_range``, ``c`` drawn per image
    in ``[1 - lower, 1 + upper]``.

    Args:
        factor: ``f`` in [0, 1] for ``(lower, upper) = (0, f)`` (Keras clamps the
            lower bound at 0), or a pair ``(lower, upper)``.
        value_range: the images' value range, ``(0, 255)`` by default.
        seed: int seed, or None.
    """

    _cast_at_inference = False

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = factor_range(self, "factor", factor, 0, 1)
        self.value_range = check_value_range(self, value_range)

    def augment(self, images):
        c = self.uniform((images.shape[0], 1, 1, 1), 1.0 - self.factor[0], 1.0 + self.factor[1])
        c = c.astype(self.compute_dtype_mx)
        mean = mx.mean(mx.mean(images, axis=1, keepdims=True), axis=2, keepdims=True)
        return mx.clip((images - mean) * c + mean, *self.value_range)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, value_range=self.value_range, seed=self.seed)
        return config


@registry.builtin
class RandomBrightness(BaseImageAugmentationLayer):
    """Adds ``delta * (high - low)`` to each image, ``delta`` drawn per image in the
    factor's range, and clips to ``value_range = (low, high)``.

    Args:
        factor: ``f`` in [-1, 1] for ``[-|f|, |f|]``, or a pair ``(lower, upper)``.
        value_range: the images' value range, ``(0, 255)`` by default.
        seed: int seed, or None.
    """

    _cast_at_inference = False

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = factor_range(self, "factor", factor, -1, 1)
        self.value_range = check_value_range(self, value_range, sort=True)

    def augment(self, images):
        low, high = self.value_range
        delta = self.uniform((images.shape[0], 1, 1, 1), *self.factor) * (high - low)
        if not mx.issubdtype(images.dtype, mx.floating):
            images = self.as_compute(images)  # (an integer delta would wrap around)
        return mx.clip(images + delta.astype(images.dtype), low, high)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, value_range=self.value_range, seed=self.seed)
        return config


@registry.builtin
class RandomGrayscale(BaseImageAugmentationLayer):
    """Turns each image to grayscale with probability ``factor``: the luma plane
    ``0.2989 R + 0.5870 G + 0.1140 B`` in all three channels (the shape is kept).

    Args:
        factor: the probability, in [0, 1] (default 0.5).
        data_format: ``"channels_last"`` (or None).
        seed: int seed, or None.
    """

    _cast_at_inference = False

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = check.rate(self, "factor", factor, include_one=True)

    def augment(self, images):
        apply = self.uniform((images.shape[0],)) < self.factor
        gray = image_ops.rgb_to_grayscale(images)
        return mx.where(apply[:, None, None, None], gray, images)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, seed=self.seed)
        return config


@registry.builtin
class RandomHue(BaseImageAugmentationLayer):
    """Rotates each image's hue by ``+-factor / 2`` of a turn (sign and size drawn
    per image) in HSV space.

    Args:
        factor: ``f`` in [0, 1] for ``(0, f)``, or a pair ``(lower, upper)``.
        value_range: the images' value range, ``(0, 255)`` by default.
        data_format: ``"channels_last"`` (or None).
        seed: int seed, or None.
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, 0, 1)
        self.value_range = check_value_range(self, value_range)

    def augment(self, images):
        n = images.shape[0]
        sign = mx.where(self.uniform((n,)) > 0.5, -1.0, 1.0)
        shift = (sign * self.uniform((n,), *self.factor) * 0.5)[:, None, None]
        hsv = image_ops.rgb_to_hsv(to_unit_range(self.as_compute(images), self.value_range))
        hue = hsv[..., 0] + shift
        hue = mx.where(hue > 1.0, hue - 1.0, hue)
        hue = mx.where(hue < 0.0, hue + 1.0, hue)
        rgb = image_ops.hsv_to_rgb(mx.stack([hue, hsv[..., 1], hsv[..., 2]], axis=-1))
        return from_unit_range(mx.clip(rgb, 0.0, 1.0), self.value_range).astype(
            self.compute_dtype_mx)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, value_range=self.value_range, seed=self.seed)
        return config


@registry.builtin
class RandomSaturation(BaseImageAugmentationLayer):
    """Scales each image's HSV saturation by ``s / (1 - s)``, ``s`` drawn per image in
    the factor's range (0.5 leaves it, 0 makes gray, 1 saturates fully).

    As in Keras, the HSV conversion reads the values as they are and the scaled
    saturation is clipped to ``value_range``, not to [0, 1]: with a factor above
    0.5 a saturation can exceed 1 and the RGB values leave the range (Keras 3.15
    does the same).

    Args:
        factor: ``f`` in [0, 1] for ``(0, f)``, or a pair ``(lower, upper)``.
        value_range: the images' value range, ``(0, 255)`` by default.
        data_format: ``"channels_last"`` (or None).
        seed: int seed, or None.
    """

    _cast_at_inference = False

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, 0, 1)
        self.value_range = check_value_range(self, value_range, sort=True)

    def augment(self, images):
        s = self.uniform((images.shape[0],), *self.factor)
        scale = (s / (1.0 - s + 1e-7)).astype(self.compute_dtype_mx)[:, None, None]
        hsv = image_ops.rgb_to_hsv(self.as_compute(images))
        saturation = mx.clip(hsv[..., 1] * scale, *self.value_range)
        return image_ops.hsv_to_rgb(mx.stack([hsv[..., 0], saturation, hsv[..., 2]], axis=-1))

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, value_range=self.value_range, seed=self.seed)
        return config


@registry.builtin
class RandomInvert(BaseImageAugmentationLayer):
    """Replaces an image by ``high - x`` with a probability drawn per image in the
    factor's range (``factor=1``: every image).

    Args:
        factor: ``f`` in [0, 1] for ``(0, f)``, or a pair ``(lower, upper)``.
        value_range: the images' value range, ``(0, 255)`` by default.
        seed: int seed, or None.
        data_format: ``"channels_last"`` (or None).
    """

    _cast_at_inference = False

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, 0, 1)
        self.value_range = check_value_range(self, value_range)

    def augment(self, images):
        n = images.shape[0]
        probability = self.uniform((n,), *self.factor)
        apply = self.uniform((n,)) < probability
        images = self.as_compute(images)
        return mx.where(apply[:, None, None, None], self.value_range[1] - images, images)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, value_range=self.value_range, seed=self.seed)
        return config
