"""Changing an image's size: resize, scale_and_translate, crop_images, pad_images.

Resampling follows JAX's ``jax.image`` (which Keras' JAX backend calls):
half-pixel centres -- output pixel ``i`` samples the input at
``(i + 0.5) / scale - 0.5`` -- and, per spatial axis, a weight matrix of a
kernel (triangle, Keys cubic, Lanczos) whose columns are normalized to sum to
one, so edges renormalize instead of clamping. With ``antialias`` the kernel is
stretched by the downsampling factor (a low-pass filter).
"""

import math

import mlx.core as mx

from .dtypes import convert_to_tensor
from .image_layout import as_batch, cast_back, check_rank, compute_dtype
from .image_layout import standardize_data_format
from .operation import keras_op

__all__ = ["crop_images", "pad_images", "resize", "scale_and_translate"]


def _triangle(x):
    return mx.maximum(0.0, 1.0 - x)


def _keys_cubic(x):
    """Keys' cubic convolution kernel with a = -0.5."""
    near = ((1.5 * x - 2.5) * x) * x + 1.0
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return mx.where(x >= 2.0, 0.0, mx.where(x >= 1.0, far, near))


def _lanczos(radius):
    def kernel(x):
        y = radius * mx.sin(math.pi * x) * mx.sin(math.pi * x / radius)
        out = mx.where(x > 1e-3, y / mx.where(x != 0, math.pi ** 2 * x * x, 1.0), 1.0)
        return mx.where(x > radius, 0.0, out)
    return kernel


_KERNELS = {"linear": _triangle, "bilinear": _triangle, "trilinear": _triangle,
            "cubic": _keys_cubic, "bicubic": _keys_cubic, "tricubic": _keys_cubic,
            "lanczos3": _lanczos(3), "lanczos5": _lanczos(5)}
_RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")
_EPS32 = 2.0 ** -23


def _kernel_weights(in_size, out_size, scale, translation, kernel, antialias):
    """(in_size, out_size) matrix: column ``i`` holds output pixel ``i``'s weights."""
    inv_scale = 1.0 / scale
    stretch = mx.maximum(inv_scale, 1.0) if antialias else 1.0
    sample = (mx.arange(out_size, dtype=mx.float32) + 0.5) * inv_scale \
        - translation * inv_scale - 0.5
    distance = mx.abs(sample[None, :] - mx.arange(in_size, dtype=mx.float32)[:, None])
    weights = kernel(distance / stretch)
    total = mx.sum(weights, axis=0, keepdims=True)
    weights = mx.where(mx.abs(total) > 1000 * _EPS32,
                       weights / mx.where(total != 0, total, 1.0), 0.0)
    # A sample outside the input (beyond half a pixel past the edge) is zero.
    inside = (sample >= -0.5) & (sample <= in_size - 0.5)
    return mx.where(inside[None, :], weights, 0.0)


def _area_weights(in_size, out_size):
    """Box averaging: the share of output pixel ``i``'s footprint
    ``[i, i + 1) * in/out`` that input pixel ``j`` covers."""
    ratio = in_size / out_size
    start = mx.arange(out_size, dtype=mx.float32)[None, :] * ratio
    pixel = mx.arange(in_size, dtype=mx.float32)[:, None]
    overlap = mx.minimum(pixel + 1, start + ratio) - mx.maximum(pixel, start)
    return mx.maximum(overlap, 0.0) / ratio


def _contract(x, axis, weights):
    """``x`` with its ``axis`` (of length in_size) mapped through (in, out) weights."""
    return mx.moveaxis(mx.moveaxis(x, axis, -1) @ weights.astype(x.dtype), -1, axis)


def _nearest(x, axis, out_size):
    in_size = x.shape[axis]
    source = mx.floor((mx.arange(out_size, dtype=mx.float32) + 0.5) * in_size / out_size)
    return mx.take(x, mx.clip(source.astype(mx.int32), 0, in_size - 1), axis=axis)


def _check_size(size):
    if len(size) != 2 or size[0] <= 0 or size[1] <= 0:
        raise ValueError("resize: `size` must be (height, width) with positive integers. "
                         f"Received: size={size}")


@keras_op
def resize(images, size, interpolation="bilinear", antialias=False,
           crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, fill_mode="constant",
           fill_value=0.0, data_format=None):
    """Resizes images to ``size = (height, width)`` by half-pixel resampling
    (bilinear, nearest, bicubic, area, lanczos3, lanczos5), optionally cropping
    or padding to the target aspect ratio first. Integer images are rounded back."""
    _check_size(size)
    if interpolation not in _RESIZE_INTERPOLATIONS:
        raise ValueError(f"resize: `interpolation` must be one of {_RESIZE_INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation!r}")
    if fill_mode != "constant":
        raise ValueError(f"resize: only fill_mode='constant' is supported. "
                         f"Received: fill_mode={fill_mode!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("resize: only one of `crop_to_aspect_ratio` and "
                         "`pad_to_aspect_ratio` can be True.")
    data_format = standardize_data_format(data_format, "resize")
    x, restore = as_batch(images, data_format, "resize")
    target_h, target_w = int(size[0]), int(size[1])
    if crop_to_aspect_ratio:
        x = _crop_to_aspect(x, target_h, target_w)
    elif pad_to_aspect_ratio:
        x = _pad_to_aspect(x, target_h, target_w, fill_value)
    dtype = x.dtype
    for axis, out_size in ((1, target_h), (2, target_w)):
        in_size = x.shape[axis]
        if in_size == out_size:
            continue
        if interpolation == "nearest":
            x = _nearest(x, axis, out_size)
            continue
        if interpolation == "area":
            weights = _area_weights(in_size, out_size)
        else:
            weights = _kernel_weights(in_size, out_size, out_size / in_size, 0.0,
                                      _KERNELS[interpolation], antialias)
        x = _contract(x.astype(compute_dtype(dtype)), axis, weights)
    return restore(cast_back(x, dtype))


def _crop_to_aspect(x, target_h, target_w):
    """The centred largest window of the target's aspect ratio."""
    height, width = x.shape[1:3]
    crop_h = max(min(height, int(width * target_h / target_w)), 1)
    crop_w = max(min(width, int(height * target_w / target_h)), 1)
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return x[:, top:top + crop_h, left:left + crop_w]


def _pad_to_aspect(x, target_h, target_w, fill_value):
    """Pads the short side evenly with ``fill_value`` up to the target's aspect ratio."""
    height, width = x.shape[1:3]
    pad_h = max(height, int(width * target_h / target_w))
    pad_w = max(width, int(height * target_w / target_h))
    top, left = (pad_h - height) // 2, (pad_w - width) // 2
    if top > 0:
        return mx.pad(x, [(0, 0), (top, top), (0, 0), (0, 0)], constant_values=fill_value)
    if left > 0:
        return mx.pad(x, [(0, 0), (0, 0), (left, left), (0, 0)], constant_values=fill_value)
    return x


@keras_op
def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method,
                        antialias=True):
    """Resamples ``images`` to ``output_shape``: input location ``x`` maps to output
    ``x * scale + translation`` along each of ``spatial_dims`` (half-pixel
    centres; samples outside the input are zero), as ``jax.image.scale_and_translate``."""
    if method not in _KERNELS:
        raise ValueError(f"scale_and_translate: `method` must be one of {sorted(_KERNELS)}. "
                         f"Received: method={method!r}")
    x = convert_to_tensor(images)
    scale = convert_to_tensor(scale).astype(mx.float32)
    translation = convert_to_tensor(translation).astype(mx.float32)
    output_shape = tuple(int(n) for n in output_shape)
    if len(output_shape) != x.ndim:
        raise ValueError("scale_and_translate: `output_shape` must have one entry per "
                         f"dimension of images. Received: output_shape={output_shape}, "
                         f"images.shape={x.shape}")
    spatial_dims = tuple(d % x.ndim for d in spatial_dims)
    if scale.shape != (len(spatial_dims),) or translation.shape != scale.shape:
        raise ValueError("scale_and_translate: `scale` and `translation` need one entry per "
                         f"spatial dim {spatial_dims}. Received shapes {scale.shape}, "
                         f"{translation.shape}")
    x = x.astype(compute_dtype(x.dtype))
    for i, axis in enumerate(spatial_dims):
        weights = _kernel_weights(x.shape[axis], output_shape[axis], scale[i],
                                  translation[i], _KERNELS[method], antialias)
        x = _contract(x, axis, weights)
    return x


def _resolve(before, after, target, names, op):
    """(before, target) from exactly two of (before, after, target) and the size."""
    given = [before, after, target]
    if given.count(None) != 1:
        raise ValueError(f"{op}: give exactly two of {', '.join(names)}. Received: "
                         + ", ".join(f"{n}={v}" for n, v in zip(names, given)))
    for name, value in zip(names, given):
        if value is not None and value < 0:
            raise ValueError(f"{op}: {name} must be >= 0. Received: {name}={value}")
    return given


def _spatial_axes(images, data_format, op):
    images = convert_to_tensor(images)
    check_rank(images, op)
    first = standardize_data_format(data_format, op) == "channels_first"
    return images, ((images.ndim - 2, images.ndim - 1) if first
                    else (images.ndim - 3, images.ndim - 2))


@keras_op
def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    """Pads with zeros: two of (top, bottom, target_height) and two of
    (left, right, target_width) fix the padding."""
    images, axes = _spatial_axes(images, data_format, "pad_images")
    pads = [(0, 0)] * images.ndim
    for axis, names, given in (
            (axes[0], ("top_padding", "bottom_padding", "target_height"),
             (top_padding, bottom_padding, target_height)),
            (axes[1], ("left_padding", "right_padding", "target_width"),
             (left_padding, right_padding, target_width))):
        before, after, target = _resolve(*given, names, "pad_images")
        size = images.shape[axis]
        before = target - after - size if before is None else before
        after = target - before - size if after is None else after
        if before < 0 or after < 0:
            raise ValueError(f"pad_images: the target {names[2]}={target} is smaller than "
                             f"the image ({size}) plus the given padding.")
        pads[axis] = (int(before), int(after))
    return mx.pad(images, pads)


@keras_op
def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None,
                data_format=None):
    """Crops: two of (top, bottom, target_height) and two of (left, right,
    target_width) fix the window."""
    images, axes = _spatial_axes(images, data_format, "crop_images")
    index = [slice(None)] * images.ndim
    for axis, names, given in (
            (axes[0], ("top_cropping", "bottom_cropping", "target_height"),
             (top_cropping, bottom_cropping, target_height)),
            (axes[1], ("left_cropping", "right_cropping", "target_width"),
             (left_cropping, right_cropping, target_width))):
        before, after, target = _resolve(*given, names, "crop_images")
        size = images.shape[axis]
        before = size - target - after if before is None else before
        target = size - before - after if target is None else target
        if before < 0 or target < 0 or before + target > size:
            raise ValueError(f"crop_images: cropping {names} = {given} does not fit an "
                             f"image of size {size} along axis {axis}.")
        index[axis] = slice(int(before), int(before + target))
    return images[tuple(index)]
