"""Argument checks and Keras' exact size/padding arithmetic for convolutions.

The layers turn Keras' ``padding`` strings into the explicit ``(lo, hi)`` pads
that ``mx.conv_general`` takes (plain Python on ints, from static shapes), so
output sizes match Keras/TensorFlow to the element, asymmetric pads included.
"""

import math

import mlx.core as mx

from ..engine import argument_validation as check
from . import conv_depthwise, conv_shifted


def normalize_tuple(value, rank, name, allow_zero=False):
    """``value`` (int or sequence of ``rank`` ints) as a tuple of ``rank`` ints (for the ops;
    the layers call ``argument_validation.int_tuple`` with their class)."""
    return check.int_tuple(None, name, value, rank, allow_zero=allow_zero)


def normalize_padding(padding, allow_causal=False):
    """Lower-cased ``"valid"``/``"same"`` (``"causal"`` where allowed)."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in allowed:
        raise ValueError(f"The `padding` argument must be one of {list(allowed)}. "
                         f"Received: padding={padding}")
    return mode


def normalize_data_format(data_format):
    """Only channels-last exists in MLX; channels_first gets a clear error."""
    if data_format is None or data_format == "channels_last":
        return "channels_last"
    if data_format == "channels_first":
        raise ValueError("data_format='channels_first' is not supported: MLX layers and "
                         "images are channels-last. Transpose inputs to (batch, ..., channels) "
                         "and use data_format='channels_last'.")
    raise ValueError("The `data_format` argument must be one of 'channels_last', "
                     f"'channels_first'. Received: data_format={data_format}")


def check_strides_dilation(strides, dilation_rate):
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                         f"Received: strides={strides} and dilation_rate={dilation_rate}")


def conv_output_length(length, kernel_size, padding, stride=1, dilation=1):
    """Keras' output length of a convolution (None stays None)."""
    if length is None:
        return None
    if padding in ("same", "causal"):
        return math.ceil(length / stride)
    span = (kernel_size - 1) * dilation + 1
    return (length - span) // stride + 1


def conv_padding(length, kernel_size, padding, stride=1, dilation=1):
    """``(lo, hi)`` zero padding reproducing Keras' ``padding`` for one spatial dimension.

    "same" pads ``max((ceil(n/s)-1)*s + span - n, 0)`` in total with the odd
    element at the end (TensorFlow's rule: asymmetric at stride 2 on even sizes);
    "causal" pads only the start, so output ``t`` sees inputs ``<= t``.
    """
    span = (kernel_size - 1) * dilation + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return span - 1, 0
    total = max((math.ceil(length / stride) - 1) * stride + span - length, 0)
    return total // 2, total - total // 2


def conv_transpose_padding(kernel_size, padding, output_padding=None, stride=1, dilation=1):
    """``(lo, hi)`` pads of the stride-dilated input that make a transposed convolution.

    A transposed convolution is a stride-1 convolution with the flipped kernel over
    the input dilated by ``stride`` (``stride - 1`` zeros between elements) and
    padded by these amounts. Keras' rule (``backend_utils``; TensorFlow agrees). The output
    length is then Keras' ``n*s + max(span - s, 0)`` ("valid") or ``n*s`` ("same"), or with
    ``output_padding`` ``(n - 1)*s + span - 2*(span//2 if "same" else 0) + output_padding``.
    """
    span = (kernel_size - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return span - 1, span - 1 + extra
    if output_padding is None:
        total = stride + span - 2
    else:
        total = span + span % 2 - 2 + output_padding
    lo = min(total // 2 + total % 2, span - 1)
    return lo, total - lo


def check_output_size(layer, input_shape):
    """ValueError naming the layer when an input is too small for the kernel."""
    out = [conv_output_length(n, k, layer.padding, s, d) for n, k, s, d in
           zip(input_shape[1:-1], layer.kernel_size, layer.strides, layer.dilation_rate)]
    if any(n is not None and n <= 0 for n in out):
        raise ValueError(
            f'Layer "{layer.name}" ({type(layer).__name__}): computed output size would be '
            f"non-positive {tuple(out)} for input shape {tuple(input_shape)} with "
            f"kernel_size={layer.kernel_size}, strides={layer.strides}, "
            f"dilation_rate={layer.dilation_rate}, padding={layer.padding!r}."
        )


def input_channels(layer, input_shape):
    """The (known) channel count of a channels-last input shape."""
    channels = input_shape[-1]
    if channels is None:
        raise ValueError(
            f'Layer "{layer.name}" needs a known channel dimension (the last axis); received '
            f"input shape {tuple(input_shape)}."
        )
    return int(channels)


def kernel_storage_perm(rank):
    """Keras ``(*k, in, out)`` -> MLX ``(out, *k, in)``."""
    return (rank + 1,) + tuple(range(rank + 1))


def check_rank(layer, input_shape, rank):
    """Keras-style rank error, raised before any weight is made from a wrong shape."""
    if len(input_shape) != rank + 2:
        raise ValueError(
            f'Input 0 of layer "{layer.name}" is incompatible with the layer: expected '
            f"ndim={rank + 2} (batch, {rank} spatial dims, channels), found "
            f"ndim={len(input_shape)}. Full shape received: {tuple(input_shape)}"
        )


def explicit_pads(spatial_shape, kernel_size, padding, strides, dilation):
    """``([lo...], [hi...])`` for ``mx.conv_general`` from Keras' ``padding`` mode."""
    pads = [conv_padding(n, k, padding, s, d) for n, k, s, d in
            zip(spatial_shape, kernel_size, strides, dilation)]
    return [p[0] for p in pads], [p[1] for p in pads]


def conv_pads(layer, input_shape):
    """``([lo...], [hi...])`` for ``mx.conv_general``, after checking the output size."""
    check_output_size(layer, input_shape)
    return explicit_pads(input_shape[1:-1], layer.kernel_size, layer.padding, layer.strides,
                         layer.dilation_rate)


def convolve(inputs, weight, strides, padding, dilation, groups=1):
    """Keras' N-D convolution of a channels-last input (``padding`` a Keras mode).

    ``weight`` has MLX's layout ``(filters, *kernel_size, in_channels // groups)``;
    the ``Conv*`` layers and ``keras.ops.conv`` both come here.
    """
    pads = explicit_pads(inputs.shape[1:-1], weight.shape[1:-1], padding, strides, dilation)
    return grouped_conv(inputs, weight, strides, pads, dilation, groups)


def depthwise_convolve(inputs, kernel, strides, padding, dilation):
    """Each input channel ``c`` convolved with its own ``kernel[c]`` of shape
    ``(depth_multiplier, *kernel_size)``: output channel ``c * depth_multiplier + m``.

    That is MLX's grouped convolution with one group per channel, whose weight
    ``(channels * depth_multiplier, *kernel_size, 1)`` is a reshape of ``kernel``; on
    the CPU the shifted multiply-add of ``conv_depthwise`` (``conv_depthwise.choose``).
    """
    channels, multiplier = kernel.shape[:2]
    pads = explicit_pads(inputs.shape[1:-1], kernel.shape[2:], padding, strides, dilation)
    if conv_depthwise.choose(inputs.shape, multiplier):
        return conv_depthwise.depthwise_conv(inputs, kernel, list(strides), pads,
                                             list(dilation))
    weight = mx.reshape(kernel, (channels * multiplier,) + tuple(kernel.shape[2:]) + (1,))
    return mx.conv_general(inputs, weight, stride=list(strides), padding=pads,
                           kernel_dilation=list(dilation), groups=channels)


def transpose_convolve(inputs, weight, strides, padding, output_padding, dilation):
    """Keras' transposed convolution of a channels-last input; ``weight`` is
    ``(filters, *kernel_size, in_channels)`` and ``output_padding`` a tuple (or None).

    The transpose of a strided convolution is a stride-1 convolution of the flipped
    kernel over the input with ``stride - 1`` zeros between elements, padded by
    :func:`conv_transpose_padding`.
    """
    output_padding = output_padding or (None,) * len(strides)
    pads = [conv_transpose_padding(k, padding, op, s, d) for k, op, s, d in
            zip(weight.shape[1:-1], output_padding, strides, dilation)]
    if conv_shifted.choose_transpose(inputs.shape, strides, dilation):
        return conv_shifted.transpose_conv(inputs, weight, strides, pads, dilation)
    return mx.conv_general(inputs, weight, stride=1,
                           padding=([p[0] for p in pads], [p[1] for p in pads]),
                           kernel_dilation=list(dilation), input_dilation=list(strides),
                           flip=True)


def grouped_conv(inputs, weight, stride, padding, dilation, groups):
    """``mx.conv_general``, with groups in 3D too (MLX groups only 1D/2D convolutions), or
    the same convolution (or its gradient) as shifted GEMMs where ``conv_shifted.choose``
    says it is faster."""
    stride, dilation = list(stride), list(dilation)
    channels = inputs.shape[-1]
    if groups == channels > 1 and conv_depthwise.choose(inputs.shape, weight.shape[0] // groups):
        # one group per channel: a depthwise convolution, weight (c * m, *k, 1)
        kernel = mx.reshape(weight, (channels, weight.shape[0] // channels) + weight.shape[1:-1])
        return conv_depthwise.depthwise_conv(inputs, kernel, stride, padding, dilation)
    how = conv_shifted.choose(inputs.shape, weight.shape, stride, dilation, groups)
    if how == "shifted":
        return conv_shifted.conv(inputs, weight, stride, padding, dilation, groups)
    if how == "hybrid":
        return conv_shifted.hybrid(inputs, weight, stride, padding, dilation, groups)
    if groups == 1 or inputs.ndim < 5:
        return mx.conv_general(inputs, weight, stride=stride, padding=padding,
                               kernel_dilation=dilation, groups=groups)
    return mx.concatenate([
        mx.conv_general(x, w, stride=stride, padding=padding, kernel_dilation=dilation)
        for x, w in zip(mx.split(inputs, groups, axis=-1), mx.split(weight, groups, axis=0))
    ], axis=-1)
