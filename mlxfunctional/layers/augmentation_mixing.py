"""Augmentation that mixes images or cuts boxes: MixUp, CutMix, RandomErasing.

MixUp and CutMix also mix the labels when called on Keras' dict form
``{"images": ..., "labels": ...}`` (one-hot or soft labels of shape (N, K)).
"""

import math

import mlx.core as mx

from .. import random as keras_random
from .. import registry
from ..engine import argument_validation as check
from .augmentation_base import BaseImageAugmentationLayer, factor_range
from .augmentation_base import value_range as check_value_range


def _box_masks(n, h, w, x0, x1, y0, y1):
    """(N, H, W, 1) masks: pixel centres ``x0 <= x < x1`` and ``y0 <= y < y1``."""
    ys = mx.arange(h, dtype=mx.float32)[None, :, None, None]
    xs = mx.arange(w, dtype=mx.float32)[None, None, :, None]

    def b(v):
        return v.reshape(n, 1, 1, 1)

    return (xs >= b(x0)) & (xs < b(x1)) & (ys >= b(y0)) & (ys < b(y1))


def _mix_labels(labels, weight, order):
    """``w * labels + (1 - w) * labels[order]`` per sample."""
    if labels is None:
        return None
    weight = weight.reshape(-1, *([1] * (labels.ndim - 1))).astype(mx.float32)
    labels = labels.astype(mx.float32)
    return weight * labels + (1.0 - weight) * mx.take(labels, order, axis=0)


@registry.builtin
class MixUp(BaseImageAugmentationLayer):
    """Blends each image with another of the batch (a random permutation):
    ``w x + (1 - w) x[perm]``, ``w ~ Beta(alpha, alpha)`` per image.

    Args:
        alpha: the Beta distribution's parameter (> 0), 0.2 by default.
        data_format: ``"channels_last"`` (or None).
        seed: int seed, or None.
    """

    _masks = None  # (mixing masks is not supported)

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if not (check._is_real(alpha) and math.isfinite(alpha) and alpha > 0):
            raise check._error(self, "alpha", "a positive number", alpha)
        self.alpha = float(alpha)

    def augment_with_labels(self, images, labels):
        n = images.shape[0]
        order = keras_random.shuffle(mx.arange(n), seed=self.generator)
        weight = keras_random.beta((n,), self.alpha, self.alpha, seed=self.generator)
        images = self.as_compute(images)
        w = weight.reshape(-1, 1, 1, 1).astype(images.dtype)
        mixed = w * images + (1.0 - w) * mx.take(images, order, axis=0)
        return mixed, _mix_labels(labels, weight, order)

    def augment(self, images):
        return self.augment_with_labels(images, None)[0]

    def get_config(self):
        config = super().get_config()
        config.update(alpha=self.alpha, seed=self.seed)
        return config


@registry.builtin
class CutMix(BaseImageAugmentationLayer):
    """Pastes into each image a box of another image of the batch. The box covers
    a share ``1 - w`` of the image, ``w ~ Beta(a, a)`` with ``a`` drawn per batch in
    the factor's range; labels mix by the box's actual area.

    Args:
        factor: ``f`` in [0, 1] for ``(0, f)``, or a pair: the range of ``a``.
        seed: int seed, or None.
        data_format: ``"channels_last"`` (or None).
    """

    _masks = None  # (mixing masks is not supported)

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, 0, 1)

    def _bounds(self, n, length, ratio):
        size = ratio * length
        start = self.uniform((n,)) * (length - size)
        return start, start + size

    def augment_with_labels(self, images, labels):
        n, h, w, _ = images.shape
        a = self.uniform((), *self.factor) + 1e-6
        weight = keras_random.beta((n,), a, a, seed=self.generator)
        ratio = mx.sqrt(1.0 - weight)
        x0, x1 = self._bounds(n, w, ratio)
        y0, y1 = self._bounds(n, h, ratio)
        masks = _box_masks(n, h, w, x0, x1, y0, y1)
        order = keras_random.shuffle(mx.arange(n), seed=self.generator)
        images = self.as_compute(images)
        mixed = mx.where(masks, mx.take(images, order, axis=0), images)
        area = 1.0 - (x1 - x0) * (y1 - y0) / (w * h)
        return mixed, _mix_labels(labels, area, order)

    def augment(self, images):
        return self.augment_with_labels(images, None)[0]

    def call(self, inputs, training=True):
        # Keras leaves a single (unbatched) image as it is: nothing to mix with.
        images = inputs["images"] if isinstance(inputs, dict) else inputs
        if getattr(images, "ndim", 4) == 3:
            training = False
        return super().call(inputs, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, seed=self.seed)
        return config


@registry.builtin
class RandomErasing(BaseImageAugmentationLayer):
    """Replaces a random box of each image (with a probability drawn per image in
    the factor's range) by ``fill_value``, or by noise when it is None. The box's
    sides are ``sqrt(s) * side`` with ``s`` drawn per image and side in ``scale``.

    Args:
        factor: ``f`` in [0, 1] for ``(0, f)``, or a pair: the erasing probability.
        scale: ``(lower, upper)`` in [0, 1]: the range of ``s`` (0.02, 0.33).
        fill_value: a number, three numbers (per channel), or None: Gaussian noise
            times ``value_range[1]``, clipped to the range.
        value_range: the images' value range, ``(0, 255)`` by default.
        seed: int seed, or None.
        data_format: ``"channels_last"`` (or None).
    """

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255),
                 seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, 0, 1)
        self.scale = factor_range(self, "scale", scale, 0, 1)
        fill = check.as_tuple(fill_value)
        if fill_value is not None and not (
                (fill is None and check._is_real(fill_value) and math.isfinite(fill_value))
                or (fill is not None and len(fill) == 3
                    and all(check._is_real(v) and math.isfinite(v) for v in fill))):
            raise check._error(self, "fill_value", "a number, three numbers or None",
                               fill_value)
        self.fill_value = fill_value if fill is None else list(fill)
        self.value_range = check_value_range(self, value_range)

    def augment(self, images):
        images = self.as_compute(images)
        n, h, w, _ = images.shape
        sides = mx.sqrt(self.uniform((n, 2), *self.scale))
        x0 = self.uniform((n,)) * (w - sides[:, 0] * w)
        y0 = self.uniform((n,)) * (h - sides[:, 1] * h)
        masks = _box_masks(n, h, w, x0, x0 + sides[:, 0] * w, y0, y0 + sides[:, 1] * h)
        probability = self.uniform((n,), *self.factor)
        apply = (self.uniform((n,)) < probability)[:, None, None, None]
        if self.fill_value is None:
            fill = mx.random.normal(images.shape, key=self.generator.next()) * self.value_range[1]
        else:
            fill = mx.broadcast_to(mx.array(self.fill_value, dtype=mx.float32), images.shape)
        fill = mx.clip(fill, *self.value_range).astype(images.dtype)
        return mx.where(apply & masks, fill, images)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, scale=self.scale, fill_value=self.fill_value,
                      value_range=self.value_range, seed=self.seed)
        return config
