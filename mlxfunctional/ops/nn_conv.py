"""``keras.ops.nn`` convolutions and poolings, with Keras' kernel layouts.

Kernels come in Keras' layouts -- ``(*kernel_size, in_channels // groups,
filters)`` for ``conv``, ``(*kernel_size, in_channels, depth_multiplier)`` for
``depthwise_conv``, ``(*kernel_size, filters, in_channels)`` for
``conv_transpose`` -- and are transposed to MLX's before the convolution
shared with the ``Conv*`` layers (``compute/conv_utils.py``); poolings share
``compute/pooling.py``'s. So "same" padding is TensorFlow's to the element.
MLX is channels-last: ``data_format="channels_first"`` inputs are transposed
in and out.
"""

import mlx.core as mx
import numpy as np

from .. import backend
from ..compute import conv_utils, pooling
from .dtypes import convert_to_tensor
from .operation import keras_op

__all__ = [
    "adaptive_average_pool", "adaptive_max_pool", "average_pool", "conv", "conv_transpose",
    "depth_to_space", "depthwise_conv", "fold", "max_pool", "separable_conv", "space_to_depth",
    "unfold",
]


def _data_format(data_format, op):
    if data_format is None:
        return "channels_last"  # keras.config.image_data_format()'s default
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{op}: data_format must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    return data_format


def _padding(padding, op):
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid' or 'same'. Received: "
                         f"padding={padding!r}")
    return mode


def _to_channels_last(x, data_format):
    if data_format == "channels_first":
        return mx.moveaxis(x, 1, -1)
    return x


def _from_channels_last(x, data_format):
    if data_format == "channels_first":
        return mx.moveaxis(x, -1, 1)
    return x


def _spatial_input(inputs, op, data_format):
    """``inputs`` as a channels-last array of rank 3 to 5 (1 to 3 spatial axes)."""
    x = convert_to_tensor(inputs)
    if not 3 <= x.ndim <= 5:
        raise ValueError(f"{op}: inputs must have rank 3, 4 or 5 (batch, 1-3 spatial axes, "
                         f"channels). Received: inputs.shape={tuple(x.shape)}")
    return _to_channels_last(x, data_format)


def _check_kernel(kernel, x, op, name="kernel"):
    if kernel.ndim != x.ndim:
        raise ValueError(f"{op}: `{name}` must have rank {x.ndim} (the inputs' rank) for "
                         f"{x.ndim - 2} spatial axes. Received: {name}.shape="
                         f"{tuple(kernel.shape)}, inputs.shape (channels last)={tuple(x.shape)}")


def _check_output_size(x, kernel_size, strides, padding, dilation, op):
    """Keras' error for an input too small for the kernel (MLX's would name no op)."""
    out = [conv_utils.conv_output_length(n, k, padding, s, d)
           for n, k, s, d in zip(x.shape[1:-1], kernel_size, strides, dilation)]
    if any(n <= 0 for n in out):
        raise ValueError(f"{op}: the output would be empty {tuple(out)}: the input "
                         f"{tuple(x.shape)} (channels last) is too small for kernel size "
                         f"{tuple(kernel_size)}, strides {strides}, dilation {dilation} and "
                         f"padding {padding!r}.")


def _same_dtype(x, kernel):
    # JAX's rule: the input is cast to the kernel's dtype.
    return x.astype(kernel.dtype) if x.dtype != kernel.dtype else x


def _float_kernel(kernel):
    """(kernel as floats, the result's dtype). MLX convolves floats only: an integer
    kernel convolves in float32 and the result is cast back to its dtype (Keras on
    JAX keeps integers), exact while the sums stay below 2**24."""
    kernel = convert_to_tensor(kernel)
    if backend.is_float_dtype(kernel.dtype):
        return kernel, kernel.dtype
    return kernel.astype(mx.float32), kernel.dtype


@keras_op
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (1-3 spatial axes); kernel ``(*kernel_size, in // groups, filters)``,
    groups = in_channels / kernel's in_channels."""
    data_format = _data_format(data_format, "conv")
    x = _spatial_input(inputs, "conv", data_format)
    kernel, dtype = _float_kernel(kernel)
    _check_kernel(kernel, x, "conv")
    rank = x.ndim - 2
    channels, kernel_in = x.shape[-1], kernel.shape[-2]
    if kernel_in == 0 or channels % kernel_in:
        raise ValueError("conv: the number of input channels must be evenly divisible by the "
                         f"kernel's in_channels. Received input channels {channels} and kernel "
                         f"in_channels {kernel_in}.")
    strides = conv_utils.normalize_tuple(strides, rank, "strides")
    dilation_rate = conv_utils.normalize_tuple(dilation_rate, rank, "dilation_rate")
    padding = _padding(padding, "conv")
    _check_output_size(x, kernel.shape[:-2], strides, padding, dilation_rate, "conv")
    weight = mx.transpose(kernel, conv_utils.kernel_storage_perm(rank))
    y = conv_utils.convolve(_same_dtype(x, kernel), weight, strides, padding, dilation_rate,
                            channels // kernel_in)
    return _from_channels_last(y.astype(dtype), data_format)


def _depthwise(x, kernel, strides, padding, dilation_rate, op):
    rank = x.ndim - 2
    _check_kernel(kernel, x, op)
    if kernel.shape[-2] != x.shape[-1]:
        raise ValueError(f"{op}: the kernel's in_channels (axis -2, {kernel.shape[-2]}) must "
                         f"equal the input channels ({x.shape[-1]}).")
    strides = conv_utils.normalize_tuple(strides, rank, "strides")
    dilation_rate = conv_utils.normalize_tuple(dilation_rate, rank, "dilation_rate")
    padding = _padding(padding, op)
    _check_output_size(x, kernel.shape[:-2], strides, padding, dilation_rate, op)
    # Keras (*k, in, multiplier) -> (in, multiplier, *k), the form conv_utils takes.
    stored = mx.transpose(kernel, (rank, rank + 1) + tuple(range(rank)))
    return conv_utils.depthwise_convolve(_same_dtype(x, kernel), stored, strides, padding,
                                         dilation_rate)


@keras_op
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Each channel c convolved with ``kernel[..., c, m]``: output channel c * multiplier + m;
    kernel ``(*kernel_size, in_channels, depth_multiplier)``."""
    data_format = _data_format(data_format, "depthwise_conv")
    x = _spatial_input(inputs, "depthwise_conv", data_format)
    kernel, dtype = _float_kernel(kernel)
    y = _depthwise(x, kernel, strides, padding, dilation_rate, "depthwise_conv")
    return _from_channels_last(y.astype(dtype), data_format)


@keras_op
def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """depthwise_conv, then a 1x1 conv with ``pointwise_kernel``
    ``(1, ..., in_channels * depth_multiplier, filters)``."""
    data_format = _data_format(data_format, "separable_conv")
    x = _spatial_input(inputs, "separable_conv", data_format)
    y = _depthwise(x, _float_kernel(depthwise_kernel)[0], strides, padding, dilation_rate,
                   "separable_conv")
    pointwise, dtype = _float_kernel(pointwise_kernel)
    _check_kernel(pointwise, x, "separable_conv", "pointwise_kernel")
    if pointwise.shape[-2] != y.shape[-1]:
        raise ValueError("separable_conv: the pointwise kernel's in_channels (axis -2, "
                         f"{pointwise.shape[-2]}) must equal in_channels * depth_multiplier "
                         f"({y.shape[-1]}).")
    weight = mx.transpose(pointwise, conv_utils.kernel_storage_perm(x.ndim - 2))
    y = conv_utils.convolve(_same_dtype(y, pointwise), weight, (1,) * (x.ndim - 2), "valid",
                            (1,) * (x.ndim - 2))
    return _from_channels_last(y.astype(dtype), data_format)


@keras_op
def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Transposed convolution (the gradient of ``conv`` with respect to its input);
    kernel ``(*kernel_size, filters, in_channels)``."""
    data_format = _data_format(data_format, "conv_transpose")
    x = _spatial_input(inputs, "conv_transpose", data_format)
    kernel, dtype = _float_kernel(kernel)
    _check_kernel(kernel, x, "conv_transpose")
    rank = x.ndim - 2
    if kernel.shape[-1] != x.shape[-1]:
        raise ValueError(f"conv_transpose: the kernel's last axis ({kernel.shape[-1]}) must "
                         f"equal the input channels ({x.shape[-1]}).")
    if output_padding is not None:
        output_padding = conv_utils.normalize_tuple(output_padding, rank, "output_padding",
                                                    allow_zero=True)
    # Keras (*k, filters, in) -> MLX (filters, *k, in).
    weight = mx.transpose(kernel, (rank,) + tuple(range(rank)) + (rank + 1,))
    y = conv_utils.transpose_convolve(
        _same_dtype(x, kernel), weight, conv_utils.normalize_tuple(strides, rank, "strides"),
        _padding(padding, "conv_transpose"), output_padding,
        conv_utils.normalize_tuple(dilation_rate, rank, "dilation_rate"))
    return _from_channels_last(y.astype(dtype), data_format)


def _pool(inputs, pool_size, strides, padding, data_format, mode, op):
    data_format = _data_format(data_format, op)
    x = _spatial_input(inputs, op, data_format)
    rank = x.ndim - 2
    pool_size = pooling.standardize_tuple(pool_size, rank, "pool_size")
    strides = pooling.standardize_tuple(pool_size if strides is None else strides, rank,
                                        "strides")
    padding = _padding(padding, op)
    if padding == "valid" and any(n < k for n, k in zip(x.shape[1:-1], pool_size)):
        raise ValueError(f"{op}: with padding='valid' every spatial size must be at least "
                         f"pool_size={pool_size}. Received: inputs.shape (channels last)="
                         f"{tuple(x.shape)}")
    return _from_channels_last(pooling.pool(x, pool_size, strides, padding, mode), data_format)


@keras_op
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Maximum over windows of ``pool_size`` every ``strides`` (default: pool_size)."""
    return _pool(inputs, pool_size, strides, padding, data_format, "max", "max_pool")


@keras_op
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Mean over windows; with "same" padding only the real cells of a window count."""
    return _pool(inputs, pool_size, strides, padding, data_format, "average", "average_pool")


def _adaptive_pool(inputs, output_size, data_format, mode, op):
    data_format = _data_format(data_format, op)
    x = _spatial_input(inputs, op, data_format)
    rank = x.ndim - 2
    output_size = pooling.standardize_tuple(output_size, rank, "output_size")
    if any(n == 0 for n in x.shape[1:-1]):
        raise ValueError(f"{op}: every spatial size must be positive. Received: "
                         f"inputs.shape (channels last)={tuple(x.shape)}")
    if mode != "max" and not backend.is_float_dtype(x.dtype):
        x = x.astype(backend.mlx_dtype(backend.floatx()))
    for i, out in enumerate(output_size):
        x = pooling.adaptive_pool_axis(x, i + 1, out, mode)
    return _from_channels_last(x, data_format)


@keras_op
def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed ``output_size``: cell i of an axis of size n covers
    [floor(i n / out), ceil((i + 1) n / out))."""
    return _adaptive_pool(inputs, output_size, data_format, "max", "adaptive_max_pool")


@keras_op
def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed ``output_size`` (windows as adaptive_max_pool)."""
    return _adaptive_pool(inputs, output_size, data_format, "average",
                          "adaptive_average_pool")


def _pair(value, name, op, allow_zero=False):
    try:
        return conv_utils.normalize_tuple(value, 2, name, allow_zero=allow_zero)
    except ValueError as e:
        raise ValueError(f"{op}: {e}") from None


@keras_op
def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding patches of a channels-first ``(N, C, H, W)`` input as ``(N, C * kh * kw, L)``
    (PyTorch's ``unfold``): entry ``c * kh * kw + i * kw + j`` of column l is
    ``x[c, oh * sh + i * dh - ph, ow * sw + j * dw - pw]``."""
    x = convert_to_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"unfold: input must be a 4D tensor. Received: input.shape="
                         f"{tuple(x.shape)}")
    (kh, kw), (dh, dw) = _pair(kernel_size, "kernel_size", "unfold"), _pair(dilation, "dilation",
                                                                           "unfold")
    (ph, pw), (sh, sw) = (_pair(padding, "padding", "unfold", allow_zero=True),
                          _pair(stride, "stride", "unfold"))
    n, c = x.shape[:2]
    x = mx.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)])
    oh = (x.shape[2] - (kh - 1) * dh - 1) // sh + 1
    ow = (x.shape[3] - (kw - 1) * dw - 1) // sw + 1
    if oh <= 0 or ow <= 0:
        raise ValueError(f"unfold: the padded input {tuple(x.shape)} is smaller than the "
                         "dilated kernel.")
    taps = [x[:, :, i * dh: i * dh + (oh - 1) * sh + 1: sh, j * dw: j * dw + (ow - 1) * sw + 1: sw]
            for i in range(kh) for j in range(kw)]
    return mx.stack(taps, axis=2).reshape(n, c * kh * kw, oh * ow)


@keras_op
def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of ``unfold``: sums the patches of ``(N, C * kh * kw, L)`` back into
    ``(N, C, *output_size)``, overlapping cells added (PyTorch's ``fold``)."""
    x = convert_to_tensor(x)
    if x.ndim != 3:
        raise ValueError(f"fold: input must be a 3D tensor. Received: input.shape="
                         f"{tuple(x.shape)}")
    (oh, ow), (kh, kw) = _pair(output_size, "output_size", "fold"), _pair(kernel_size,
                                                                        "kernel_size", "fold")
    (dh, dw), (ph, pw) = (_pair(dilation, "dilation", "fold"),
                          _pair(padding, "padding", "fold", allow_zero=True))
    sh, sw = _pair(stride, "stride", "fold")
    n, ckk, length = x.shape
    nh = (oh + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    nw = (ow + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if ckk % (kh * kw) or nh * nw != length:
        raise ValueError(f"fold: input shape {tuple(x.shape)} does not match kernel_size="
                         f"{(kh, kw)} and output_size={(oh, ow)}: expected (N, C * {kh * kw}, "
                         f"{nh * nw}).")
    c = ckk // (kh * kw)
    patches = x.reshape(n, c, kh, kw, nh, nw)
    out = mx.zeros((n, c, oh + 2 * ph, ow + 2 * pw), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            out = out.at[:, :, i * dh: i * dh + (nh - 1) * sh + 1: sh,
                         j * dw: j * dw + (nw - 1) * sw + 1: sw].add(patches[:, :, i, j])
    return out[:, :, ph: ph + oh, pw: pw + ow]


def _block_input(x, block_size, data_format, op):
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) \
            or block_size < 2:
        raise ValueError(f"{op}: `block_size` must be an int of at least 2. Received: "
                         f"block_size={block_size!r}")
    x = convert_to_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4D. Received: x.shape={tuple(x.shape)}")
    return x, int(block_size), _data_format(data_format, op)


@keras_op
def depth_to_space(x, block_size, data_format="channels_last"):
    """Moves channel blocks into b x b spatial blocks: (n, h, w, b*b*c) -> (n, h*b, w*b, c).

    The channel read for row offset i, column offset j, channel k is
    ``(i * b + j) * c + k`` channels-last and ``(k * b + i) * b + j`` channels-first.
    """
    x, b, data_format = _block_input(x, block_size, data_format, "depth_to_space")
    y = _to_channels_last(x, data_format)
    n, h, w, channels = y.shape
    if channels % (b * b):
        raise ValueError(f"depth_to_space: the channels ({channels}) must be divisible by "
                         f"block_size**2 ({b * b}).")
    c = channels // (b * b)
    if data_format == "channels_last":
        y = y.reshape(n, h, w, b, b, c).transpose(0, 1, 3, 2, 4, 5)
    else:
        y = y.reshape(n, h, w, c, b, b).transpose(0, 1, 4, 2, 5, 3)
    return _from_channels_last(y.reshape(n, h * b, w * b, c), data_format)


@keras_op
def space_to_depth(x, block_size, data_format="channels_last"):
    """The inverse of ``depth_to_space``: (n, h, w, c) -> (n, h/b, w/b, b*b*c)."""
    x, b, data_format = _block_input(x, block_size, data_format, "space_to_depth")
    y = _to_channels_last(x, data_format)
    n, h, w, c = y.shape
    if h % b or w % b:
        raise ValueError(f"space_to_depth: the height and width ({h}, {w}) must be divisible "
                         f"by block_size ({b}).")
    y = y.reshape(n, h // b, b, w // b, b, c)
    if data_format == "channels_last":
        y = y.transpose(0, 1, 3, 2, 4, 5)  # (n, h', w', i, j, c)
    else:
        y = y.transpose(0, 1, 3, 5, 2, 4)  # (n, h', w', c, i, j)
    return _from_channels_last(y.reshape(n, h // b, w // b, b * b * c), data_format)
