"""Neighbourhood ops on images: Gaussian blur, Sobel edges, SSIM, patch extraction."""

import math

import mlx.core as mx

from .dtypes import convert_to_tensor
from .image_layout import as_batch, cast_back, compute_dtype, correlate2d
from .image_layout import standardize_data_format
from .operation import keras_op

__all__ = ["extract_patches", "extract_patches_3d", "gaussian_blur", "sobel_edges", "ssim"]


def gaussian_kernel_1d(size, sigma, dtype=mx.float32):
    """``exp(-x^2 / (2 sigma^2))`` at the ``size`` offsets from the centre, summing to 1."""
    x = mx.arange(size, dtype=dtype) - (size - 1) / 2.0
    weights = mx.exp(-0.5 * (x / sigma) ** 2)
    return weights / mx.sum(weights)


@keras_op
def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Correlates each channel with a normalized Gaussian (zero padding, same size).

    As Keras' backends build it, the kernel is ``outer(g(kernel_size[1], sigma[1]),
    g(kernel_size[0], sigma[0]))``: rows use the second entries, columns the first.
    """
    data_format = standardize_data_format(data_format, "gaussian_blur")
    x, restore = as_batch(images, data_format, "gaussian_blur")
    dtype = x.dtype
    x = x.astype(compute_dtype(dtype))
    rows = gaussian_kernel_1d(int(kernel_size[1]), sigma[1], x.dtype)
    cols = gaussian_kernel_1d(int(kernel_size[0]), sigma[0], x.dtype)
    return restore(cast_back(correlate2d(x, mx.outer(rows, cols), "same"), dtype))


_SOBEL_Y = [[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]


@keras_op
def sobel_edges(images, data_format=None):
    """Sobel gradients of a batch of images: ``(..., 2)`` holding ``[dy, dx]`` per
    pixel and channel (3x3 kernels, zero padding, same size)."""
    data_format = standardize_data_format(data_format, "sobel_edges")
    x, restore = as_batch(images, data_format, "sobel_edges", ranks=(4,))
    dtype = x.dtype
    x = x.astype(compute_dtype(dtype))
    sobel_y = mx.array(_SOBEL_Y, dtype=x.dtype)
    dy = correlate2d(x, sobel_y, "same")
    dx = correlate2d(x, sobel_y.T, "same")
    return mx.stack([restore(cast_back(dy, dtype)), restore(cast_back(dx, dtype))], axis=-1)


@keras_op
def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    """Structural similarity (Wang et al. 2004) with a Gaussian window, averaged over
    the valid window positions and the channels: one value per image."""
    data_format = standardize_data_format(data_format, "ssim")
    x, _ = as_batch(image1, data_format, "ssim")
    y, _ = as_batch(image2, data_format, "ssim")
    if x.shape != y.shape:
        raise ValueError(f"ssim: image1 and image2 must have the same shape. Received: "
                         f"{image1.shape} and {image2.shape}")
    dtype = x.dtype
    unbatched = convert_to_tensor(image1).ndim == 3
    x, y = x.astype(compute_dtype(dtype)), y.astype(compute_dtype(dtype))
    g = gaussian_kernel_1d(filter_size, filter_sigma, x.dtype)
    window = mx.outer(g, g)

    def local_mean(z):
        return correlate2d(z, window, "valid")

    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x = local_mean(x * x) - mu_x * mu_x
    var_y = local_mean(y * y) - mu_y * mu_y
    cov = local_mean(x * y) - mu_x * mu_y
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)
             / ((mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)))
    result = mx.mean(index, axis=(1, 2, 3))
    # Keras casts the score back to the images' dtype (integers truncate).
    return (result[0] if unbatched else result).astype(dtype)


def _tuple(value, n, name):
    value = (value,) * n if isinstance(value, int) else tuple(value)
    if len(value) != n:
        raise ValueError(f"extract_patches: `{name}` must be an int or a tuple of {n}. "
                         f"Received: {name}={value}")
    return value


def _patches(images, size, strides, dilation_rate, padding, data_format, op):
    n_dims = len(size)
    strides = _tuple(size if strides is None else strides, n_dims, "strides")
    dilation = _tuple(dilation_rate, n_dims, "dilation_rate")
    if padding not in ("valid", "same"):
        raise ValueError(f"{op}: `padding` must be 'valid' or 'same'. "
                         f"Received: padding={padding!r}")
    data_format = standardize_data_format(data_format, op)
    x, restore = as_batch(images, data_format, op, ranks=(n_dims + 1, n_dims + 2))
    spatial = x.shape[1:-1]
    if padding == "same":  # as a "same" convolution: out = ceil(in / stride)
        pads = [(0, 0)]
        for n, k, s, d in zip(spatial, size, strides, dilation):
            total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        x = mx.pad(x, pads + [(0, 0)])
        spatial = x.shape[1:-1]
    out = [(n - (k - 1) * d - 1) // s + 1 for n, k, s, d in zip(spatial, size, strides, dilation)]
    if min(out) <= 0:
        raise ValueError(f"{op}: patches of size {size} (dilation {dilation}) do not fit "
                         f"images of spatial shape {tuple(spatial)}.")
    # One strided slice per position inside the patch, in (row, column, channel)
    # order: the feature order of Keras' identity-kernel convolution.
    pieces = []
    for offsets in _positions(size):
        index = [slice(None)]
        for o, d, s, m in zip(offsets, dilation, strides, out):
            index.append(slice(o * d, o * d + (m - 1) * s + 1, s))
        pieces.append(x[tuple(index)])
    patches = mx.stack(pieces, axis=-2)
    features = patches.shape[-2] * patches.shape[-1]
    return restore(patches.reshape(patches.shape[:-2] + (features,)))


def _positions(size):
    if not size:
        return [()]
    return [(i,) + rest for i in range(size[0]) for rest in _positions(size[1:])]


@keras_op
def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid",
                    data_format=None):
    """Patches of ``size`` (2 entries: images; 3: volumes) flattened into the channel
    axis, ``(..., rows, cols, size_h * size_w * C)``; strides default to ``size``."""
    if isinstance(size, int):
        size = (size, size)
    if not isinstance(size, (tuple, list)) or len(size) not in (2, 3):
        raise ValueError("extract_patches: `size` must be an int or a tuple of 2 or 3. "
                         f"Received: size={size}")
    return _patches(images, tuple(size), strides, dilation_rate, padding, data_format,
                    "extract_patches")


@keras_op
def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid",
                       data_format=None):
    """Patches of ``size = (depth, height, width)`` from volumes, flattened into the
    channel axis; strides default to ``size``."""
    size = _tuple(size, 3, "size")
    return _patches(volumes, size, strides, dilation_rate, padding, data_format,
                    "extract_patches_3d")
