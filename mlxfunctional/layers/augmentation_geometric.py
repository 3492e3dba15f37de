"""Geometric augmentation: RandomFlip, RandomRotation, RandomZoom,
RandomTranslation, RandomShear, RandomCrop.

The warps build one affine matrix per image (Keras' 8-entry layout) and
resample the whole batch with ``ops.image.affine_transform`` in one call.
"""

import mlx.core as mx

from .. import registry
from ..engine import argument_validation as check
from ..ops import image as image_ops
from .augmentation_base import (FILL_MODES, INTERPOLATIONS, BaseImageAugmentationLayer,
                                affine_matrix, choice, factor_range)

HORIZONTAL, VERTICAL = "horizontal", "vertical"
HORIZONTAL_AND_VERTICAL = "horizontal_and_vertical"


@registry.builtin
class RandomFlip(BaseImageAugmentationLayer):
    """Flips each image with probability 1/2 (one draw per image; in
    ``"horizontal_and_vertical"`` mode that one draw flips both axes, as in Keras).

    Args:
        mode: ``"horizontal"`` (left-right), ``"vertical"`` (up-down) or
            ``"horizontal_and_vertical"``.
        seed: int seed, or None.
        data_format: ``"channels_last"`` (or None).
    """

    _masks = "follow"

    def __init__(self, mode=HORIZONTAL_AND_VERTICAL, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = choice(self, "mode", mode, (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL),
                           error=ValueError)

    def augment(self, images):
        images = self.as_compute(images)
        flips = self.uniform((images.shape[0], 1, 1, 1)) <= 0.5
        if self.mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            images = mx.where(flips, images[:, :, ::-1], images)
        if self.mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            images = mx.where(flips, images[:, ::-1], images)
        return images

    def get_config(self):
        config = super().get_config()
        config.update(seed=self.seed, mode=self.mode)
        return config


class _Warp(BaseImageAugmentationLayer):
    """A random affine warp of each image: subclasses give ``matrix(n, h, w)``."""

    _masks = "follow"

    def _init_warp(self, fill_mode, interpolation, fill_value):
        self.fill_mode = choice(self, "fill_mode", fill_mode, FILL_MODES)
        self.interpolation = choice(self, "interpolation", interpolation, INTERPOLATIONS)
        self.fill_value = check.real(self, "fill_value", fill_value)

    def augment(self, images):
        images = self.as_compute(images)
        n, h, w, _ = images.shape
        return image_ops.affine_transform(
            images, self.matrix(n, h, w), interpolation=self.interpolation,
            fill_mode=self.fill_mode, fill_value=self.fill_value)

    def get_config(self):
        config = super().get_config()
        config.update(fill_mode=self.fill_mode, fill_value=self.fill_value,
                      interpolation=self.interpolation, seed=self.seed)
        return config


@registry.builtin
class RandomRotation(_Warp):
    """Rotates each image about its centre by ``factor * 360`` degrees, the factor
    drawn uniformly per image (positive angles turn counter-clockwise on screen).

    Args:
        factor: ``f`` in [-1, 1] for the range ``[-|f|, |f|]``, or a pair ``(lower, upper)``
            (fractions of a full turn).
        fill_mode: how points outside the image are filled: ``"reflect"`` (default),
            ``"wrap"``, ``"constant"`` or ``"nearest"``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        seed: int seed, or None.
        fill_value: the value of outside points with ``fill_mode="constant"``.
        data_format: ``"channels_last"`` (or None).
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range(self, "factor", factor, -1, 1)
        self._init_warp(fill_mode, interpolation, fill_value)

    def matrix(self, n, h, w):
        angle = self.uniform((n,), self.factor[0] * 360.0, self.factor[1] * 360.0)
        zeros, ones = mx.zeros((n,)), mx.ones((n,))
        return affine_matrix(angle, zeros, zeros, ones, zeros, zeros, h, w)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor)
        return config


@registry.builtin
class RandomZoom(_Warp):
    """Zooms each image about its centre: an output pixel ``(x, y)`` reads the input
    at ``c + z (p - c)``, with ``z = 1 + factor`` drawn per image (a positive factor
    zooms out, a negative one zooms in).

    Args:
        height_factor: ``f`` in (-1, 1] for ``[-|f|, |f|]``, or a pair ``(lower, upper)``.
        width_factor: the same for the width; None keeps the aspect ratio (the
            height's zoom is used for both axes).
        fill_mode, interpolation, seed, fill_value, data_format: as in RandomRotation.
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = factor_range(
            self, "height_factor", height_factor, -1, 1, low_open=True)
        self.width_factor = width_factor
        if width_factor is not None:
            self.width_lower, self.width_upper = factor_range(
                self, "width_factor", width_factor, -1, 1, low_open=True)
        self._init_warp(fill_mode, interpolation, fill_value)

    def matrix(self, n, h, w):
        zoom_y = self.uniform((n,), 1.0 + self.height_lower, 1.0 + self.height_upper)
        zoom_x = zoom_y if self.width_factor is None else \
            self.uniform((n,), 1.0 + self.width_lower, 1.0 + self.width_upper)
        zeros = mx.zeros((n,))
        return mx.stack([zoom_x, zeros, 0.5 * (w - 1) * (1.0 - zoom_x),
                         zeros, zoom_y, 0.5 * (h - 1) * (1.0 - zoom_y), zeros, zeros], axis=1)

    def get_config(self):
        config = super().get_config()
        config.update(height_factor=self.height_factor, width_factor=self.width_factor)
        return config


@registry.builtin
class RandomTranslation(_Warp):
    """Shifts each image by ``height_factor * height`` rows and ``width_factor * width``
    columns, both drawn per image (positive: down and right).

    Args:
        height_factor: ``f`` in [-1, 1] for ``[-|f|, |f|]``, or a pair ``(lower, upper)``.
        width_factor: the same for the columns.
        fill_mode, interpolation, seed, fill_value, data_format: as in RandomRotation.
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = factor_range(
            self, "height_factor", height_factor, -1, 1)
        self.width_factor = width_factor
        self.width_lower, self.width_upper = factor_range(
            self, "width_factor", width_factor, -1, 1)
        self._init_warp(fill_mode, interpolation, fill_value)

    def matrix(self, n, h, w):
        shift_y = self.uniform((n,), self.height_lower, self.height_upper) * h
        shift_x = self.uniform((n,), self.width_lower, self.width_upper) * w
        zeros, ones = mx.zeros((n,)), mx.ones((n,))
        return mx.stack([ones, zeros, -shift_x, zeros, ones, -shift_y, zeros, zeros], axis=1)

    def get_config(self):
        config = super().get_config()
        config.update(height_factor=self.height_factor, width_factor=self.width_factor)
        return config


def _shear_range(owner, name, factor):
    """A number in [0, 1] means ``[-f, f]``; a pair may hold negative numbers (Keras
    refuses them, but its own config stores ``(-f, f)``: ours must load back)."""
    if check.as_tuple(factor) is None:
        return factor_range(owner, name, factor, 0, 1, symmetric=True)
    return factor_range(owner, name, factor, -1, 1)


@registry.builtin
class RandomShear(_Warp):
    """Shears each image: output pixel ``(x, y)`` reads the input at
    ``(x + s_x y, y + s_y x)`` (about the top-left corner, as in Keras), with
    ``s_x``, ``s_y`` drawn per image and one random sign per image for both.

    Args:
        x_factor: ``f`` in [0, 1] for ``[-f, f]``, or a pair ``(lower, upper)`` in [-1, 1].
        y_factor: the same for ``s_y``.
        interpolation, fill_mode, fill_value, data_format, seed: as in RandomRotation.
    """

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear",
                 fill_mode="reflect", fill_value=0.0, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.x_factor = _shear_range(self, "x_factor", x_factor)
        self.y_factor = _shear_range(self, "y_factor", y_factor)
        self._init_warp(fill_mode, interpolation, fill_value)

    def matrix(self, n, h, w):
        sign = mx.where(self.uniform((n,)) > 0.5, -1.0, 1.0)
        shear_y = self.uniform((n,), *self.y_factor) * sign
        shear_x = self.uniform((n,), *self.x_factor) * sign
        zeros, ones = mx.zeros((n,)), mx.ones((n,))
        return mx.stack([ones, shear_x, zeros, shear_y, ones, zeros, zeros, zeros], axis=1)

    def get_config(self):
        config = super().get_config()
        config.update(x_factor=self.x_factor, y_factor=self.y_factor)
        return config


@registry.builtin
class RandomCrop(BaseImageAugmentationLayer):
    """Crops a random ``height x width`` window, at one offset drawn for the batch.

    An image not larger than the window on both axes is cut at a centred offset
    and resized (bilinear) to ``(height, width)``, as Keras does. At inference
    the images come back unchanged, uncropped: that is Keras 3.15's behaviour
    (its ``compute_output_shape`` still announces ``(height, width)``, so place
    the layer where the next layers accept either size).

    Args:
        height, width: the size of the crop (positive ints).
        seed: int seed, or None.
        data_format: ``"channels_last"`` (or None).
    """

    _masks = "follow"

    _cast_at_inference = False

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height = check.positive_int(self, "height", height)
        self.width = check.positive_int(self, "width", width)

    def augment(self, images):
        images = self.as_compute(images)
        in_h, in_w = images.shape[1:3]
        if in_h > self.height and in_w > self.width:
            # Keras draws a float in [0, in - size + 1) and truncates it.
            top = self.uniform((), 0.0, float(in_h - self.height + 1)).astype(mx.int32)
            left = self.uniform((), 0.0, float(in_w - self.width + 1)).astype(mx.int32)
            rows = top + mx.arange(self.height, dtype=mx.int32)
            cols = left + mx.arange(self.width, dtype=mx.int32)
            return mx.take(mx.take(images, rows, axis=1), cols, axis=2)
        # Keras' centred offsets for the aspect ratio; the slice itself keeps
        # the layer's height and width (clamped to the image), then resizes.
        crop_h = max(min(in_h, int(float(in_w * self.height) / self.width)), 1)
        crop_w = max(min(in_w, int(float(in_h * self.width) / self.height)), 1)
        top, left = int(float(in_h - crop_h) / 2), int(float(in_w - crop_w) / 2)
        images = images[:, top:top + self.height, left:left + self.width]
        if images.shape[1:3] != (self.height, self.width):
            images = image_ops.resize(images, (self.height, self.width))
            images = images.astype(self.compute_dtype_mx)
        return images

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[-3], shape[-2] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update(height=self.height, width=self.width, seed=self.seed)
        return config
