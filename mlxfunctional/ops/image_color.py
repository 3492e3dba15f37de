"""Colour-space conversions: RGB to grayscale, RGB to HSV and back."""

import mlx.core as mx

from .. import backend
from .dtypes import convert_to_tensor
from .image_layout import check_rank, compute_dtype, standardize_data_format
from .operation import keras_op

__all__ = ["hsv_to_rgb", "rgb_to_grayscale", "rgb_to_hsv"]

# ITU-R BT.601 luma weights (the ones tf.image and Keras use).
_LUMA = (0.2989, 0.5870, 0.1140)


def _channels(images, data_format, op):
    images = convert_to_tensor(images)
    check_rank(images, op)
    axis = -1 if standardize_data_format(data_format, op) == "channels_last" else -3
    return images, axis


@keras_op
def rgb_to_grayscale(images, data_format=None):
    """``0.2989 R + 0.5870 G + 0.1140 B`` as one channel, in the input's dtype
    (integers truncate); a one-channel input is returned as is."""
    images, axis = _channels(images, data_format, "rgb_to_grayscale")
    if images.shape[axis] not in (1, 3):
        raise ValueError("rgb_to_grayscale: expected 3 (RGB) or 1 (grayscale) channels. "
                         f"Received: images.shape={images.shape}")
    if images.shape[axis] == 1:
        return images
    weights = mx.array(_LUMA, dtype=compute_dtype(images.dtype))
    gray = mx.sum(mx.moveaxis(images.astype(weights.dtype), axis, -1) * weights, axis=-1)
    return mx.expand_dims(gray, axis).astype(images.dtype)


def _float_images(images, data_format, op):
    images, axis = _channels(images, data_format, op)
    if not backend.is_float_dtype(images.dtype):
        raise ValueError(f"{op}: expected float images. Received: images.dtype="
                         f"{backend.standardize_dtype(images.dtype)}")
    if images.shape[axis] != 3:
        raise ValueError(f"{op}: expected 3 channels. Received: images.shape={images.shape}")
    return images, axis


@keras_op
def rgb_to_hsv(images, data_format=None):
    """RGB in [0, 1] to hue, saturation, value in [0, 1] (``colorsys``' formulas)."""
    images, axis = _float_images(images, data_format, "rgb_to_hsv")
    eps = mx.finfo(images.dtype).eps
    images = mx.where(mx.abs(images) < eps, 0.0, images).astype(images.dtype)
    red, green, blue = (mx.take(images, i, axis=axis) for i in range(3))
    value = mx.maximum(mx.maximum(red, green), blue)
    spread = value - mx.minimum(mx.minimum(red, green), blue)
    saturation = mx.where(value > 0, spread / mx.where(value > 0, value, 1.0), 0.0)
    # Hue: which channel is the largest picks the sextant; 1/6 per sextant.
    scale = 1.0 / (6.0 * mx.where(spread > 0, spread, 1.0))
    hue = mx.where(value == green, scale * (blue - red) + 2.0 / 6.0,
                   scale * (red - green) + 4.0 / 6.0)
    hue = mx.where(value == red, scale * (green - blue), hue)
    hue = mx.where(spread > 0, hue, 0.0) + (hue < 0).astype(hue.dtype)
    return mx.stack([hue, saturation, value], axis=axis).astype(images.dtype)


@keras_op
def hsv_to_rgb(images, data_format=None):
    """Hue, saturation, value in [0, 1] to RGB (the inverse of :func:`rgb_to_hsv`)."""
    images, axis = _float_images(images, data_format, "hsv_to_rgb")
    hue, saturation, value = (mx.take(images, i, axis=axis) for i in range(3))
    sextant = mx.remainder(hue, 1.0) * 6.0
    # Each channel's share is a clipped triangle wave of the hue.
    red = mx.clip(mx.abs(sextant - 3.0) - 1.0, 0.0, 1.0)
    green = mx.clip(2.0 - mx.abs(sextant - 2.0), 0.0, 1.0)
    blue = mx.clip(2.0 - mx.abs(sextant - 4.0), 0.0, 1.0)
    planes = [value * (1.0 - saturation + saturation * share) for share in (red, green, blue)]
    return mx.stack(planes, axis=axis).astype(images.dtype)
