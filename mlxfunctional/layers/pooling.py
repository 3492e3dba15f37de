"""Pooling layers: Max/AveragePooling1D-3D and GlobalMax/GlobalAveragePooling1D-3D.

Keras/TensorFlow semantics on channels-last inputs: ``"same"`` pads
``max((ceil(n/s)-1)*s + k - n, 0)`` cells per dimension with the odd one at the
end; max pooling never picks a padded cell and average pooling divides by the
number of real cells in each window (``mlx.nn.AvgPool`` counts the padding).

How the windows are expressed decides the cost of the backward pass. Forward +
``mx.grad`` of 2D max pooling on (64, 30, 30, 64) float32, MLX 0.32.4 CPU build,
2 shared cores (ranges over noisy runs):

    form                                        pool 3 stride 3   pool 3 stride 2
    as_strided windows + max (mlx.nn's form)        173-207 ms        306-385 ms
    9 shifted strided slices + maximum              130-376 ms        154-218 ms
    per-axis strided slices (separable)              59-90 ms          90-131 ms
    the same with a hand-written vjp                    -              85-111 ms
    reshape into blocks + max                          9-15 ms             -

So disjoint windows (stride >= pool) are blocks of a reshape, and overlapping
ones are pooled one axis at a time from strided slices (max and sum are
separable); the hand-written vjp did not pay for itself. Average pooling is
cheaper still (about 4 and 17 ms). At exact ties the gradient is shared among the
tied cells (blocks) or goes to the later cell (slices); TensorFlow picks the first.
"""

import math

import mlx.core as mx
import numpy as np

from ..engine import argument_validation as check
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from .. import registry


def standardize_data_format(data_format, layer_cls):
    """``"channels_last"``; channels_first gets a clear error (MLX is channels-last)."""
    if data_format is None or data_format == "channels_last":
        return "channels_last"
    if data_format == "channels_first":
        raise ValueError(
            f"{layer_cls.__name__}: data_format='channels_first' is not supported (MLX is "
            "channels-last). Transpose inputs to (batch, ..., channels) and use "
            "data_format='channels_last'.")
    raise ValueError(f"{layer_cls.__name__}: data_format must be 'channels_last' or "
                     f"'channels_first'. Received: data_format={data_format!r}")


def standardize_tuple(value, n, name, allow_zero=False):
    """An int or a sequence of ``n`` ints as a tuple of ``n`` ints (for the ops; the
    layers call ``argument_validation.int_tuple`` with their class)."""
    return check.int_tuple(None, name, value, n, allow_zero=allow_zero)


def _pool_geometry(n, k, s, padding):
    """``(output size, pad before, pad after)`` of one spatial dimension."""
    if padding == "valid":
        return (n - k) // s + 1, 0, 0
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def _along(axis, index):
    """An index tuple applying ``index`` on ``axis`` only."""
    return (slice(None),) * axis + (index,)


def _pad_axis(x, axis, lo, hi, fill):
    widths = [(0, 0)] * x.ndim
    widths[axis] = (lo, hi)
    return mx.pad(x, widths, constant_values=fill)


def pool_axis(x, axis, k, s, out, mode):
    """Max or sum over windows ``[i*s, i*s + k)`` (``i < out``) along one axis."""
    if s >= k:
        # Disjoint windows: each is the head of a block of s cells, so crop or pad
        # to out*s cells, reshape into (out, s) and reduce the first k of each block.
        n = x.shape[axis]
        if n > out * s:
            x = x[_along(axis, slice(0, out * s))]
        elif n < out * s:
            x = _pad_axis(x, axis, 0, out * s - n, 0)  # beyond the first k: never read
        blocks = x.reshape(x.shape[:axis] + (out, s) + x.shape[axis + 1:])
        if k < s:
            blocks = blocks[_along(axis + 1, slice(0, k))]
        return mx.max(blocks, axis=axis + 1) if mode == "max" else mx.sum(blocks, axis=axis + 1)
    # Overlapping windows: combine k strided slices, the j-th cell of every window.
    result = None
    for j in range(k):
        cells = x[_along(axis, slice(j, j + (out - 1) * s + 1, s))]
        if result is None:
            result = cells
        else:
            result = mx.maximum(result, cells) if mode == "max" else result + cells
    return result


def pool(x, pool_size, strides, padding, mode):
    """Max (``mode="max"``) or average pooling over axes ``1..d`` of a channels-last array."""
    spatial = x.shape[1:-1]
    geometry = [_pool_geometry(n, k, s, padding) for n, k, s in zip(spatial, pool_size, strides)]
    if any(lo or hi for _, lo, hi in geometry):
        if mode == "max":
            fill = -math.inf if mx.issubdtype(x.dtype, mx.floating) else mx.iinfo(x.dtype).min
        else:
            fill = 0
        x = mx.pad(x, [(0, 0)] + [(lo, hi) for _, lo, hi in geometry] + [(0, 0)],
                   constant_values=fill)
    for i, (k, s, (out, _, _)) in enumerate(zip(pool_size, strides, geometry)):
        x = pool_axis(x, i + 1, k, s, out, mode)
    if mode == "max":
        return x
    # Real (unpadded) cells per window, a constant of the static shapes.
    counts = np.ones((1,) * x.ndim, dtype=np.float32)
    for i, (n, k, s, (out, lo, _)) in enumerate(zip(spatial, pool_size, strides, geometry)):
        start = np.arange(out) * s - lo
        per_axis = np.minimum(start + k, n) - np.maximum(start, 0)
        counts = counts * per_axis.reshape((1,) * (i + 1) + (out,) + (1,) * (x.ndim - i - 2))
    dtype = x.dtype if mx.issubdtype(x.dtype, mx.floating) else mx.float32
    return x.astype(dtype) / mx.array(counts, dtype=dtype)


class _Pooling(Layer):
    """Shared argument handling and size checks of the windowed pooling layers."""

    def __init__(self, rank, mode, pool_size, strides, padding, data_format, **kwargs):
        super().__init__(**kwargs)
        self._rank = rank
        self._mode = mode
        self.pool_size = check.int_tuple(self, "pool_size", pool_size, rank)
        self.strides = check.int_tuple(self, "strides",
                                       pool_size if strides is None else strides, rank)
        mode_ = padding.lower() if isinstance(padding, str) else padding
        if mode_ not in ("valid", "same"):
            raise ValueError(f"{type(self).__name__}: `padding` must be 'valid' or 'same'. "
                             f"Received: padding={padding!r}")
        self.padding = mode_
        self.data_format = standardize_data_format(data_format, type(self))
        self.input_spec = InputSpec(ndim=rank + 2)

    def _check_size(self, shape):
        if self.padding != "valid":
            return
        spatial = tuple(shape)[1:-1]
        if any(n is not None and n < k for n, k in zip(spatial, self.pool_size)):
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}): with padding="valid" every '
                f"spatial dimension must be at least pool_size={self.pool_size}. Received "
                f"input shape {tuple(shape)}.")

    def build(self, input_shape):
        self._check_size(input_shape)
        self.built = True

    def call(self, inputs):
        self._check_size(inputs.shape)
        return pool(inputs, self.pool_size, self.strides, self.padding, self._mode)

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=self.pool_size, padding=self.padding, strides=self.strides,
                      data_format=self.data_format)
        return config


_POOL_DOC = """{kind} pooling over {rank}D windows of a channels-last input.

    Args:
        pool_size: window size, an int or a tuple of {rank} ints (default {default}).
        strides: step between windows, int or tuple; ``None`` means ``pool_size``.
        padding: ``"valid"`` (no padding, output ``floor((n - k) / s) + 1``) or
            ``"same"`` (TensorFlow's padding, output ``ceil(n / s)``); {pad_note}.
        data_format: ``"channels_last"`` (or ``None``); input
            ``(batch, {dims}, channels)``.
    """


@registry.builtin
class MaxPooling1D(_Pooling):
    __doc__ = _POOL_DOC.format(kind="Max", rank=1, default=2, dims="steps",
                               pad_note="padded cells are never the maximum")

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(1, "max", pool_size, strides, padding, data_format, **kwargs)


@registry.builtin
class MaxPooling2D(_Pooling):
    __doc__ = _POOL_DOC.format(kind="Max", rank=2, default=(2, 2), dims="rows, cols",
                               pad_note="padded cells are never the maximum")

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(2, "max", pool_size, strides, padding, data_format, **kwargs)


@registry.builtin
class MaxPooling3D(_Pooling):
    __doc__ = _POOL_DOC.format(kind="Max", rank=3, default=(2, 2, 2),
                               dims="dim1, dim2, dim3",
                               pad_note="padded cells are never the maximum")

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(3, "max", pool_size, strides, padding, data_format, **kwargs)


_AVG_NOTE = "averages count only the real (unpadded) cells of each window"


@registry.builtin
class AveragePooling1D(_Pooling):
    __doc__ = _POOL_DOC.format(kind="Average", rank=1, default=2, dims="steps",
                               pad_note=_AVG_NOTE)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(1, "average", pool_size, strides, padding, data_format, **kwargs)


@registry.builtin
class AveragePooling2D(_Pooling):
    __doc__ = _POOL_DOC.format(kind="Average", rank=2, default=(2, 2), dims="rows, cols",
                               pad_note=_AVG_NOTE)

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(2, "average", pool_size, strides, padding, data_format, **kwargs)


@registry.builtin
class AveragePooling3D(_Pooling):
    __doc__ = _POOL_DOC.format(kind="Average", rank=3, default=(2, 2, 2),
                               dims="dim1, dim2, dim3", pad_note=_AVG_NOTE)

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(3, "average", pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    """Shared arguments and reduction of the global pooling layers (max or mean over
    every spatial axis)."""

    def __init__(self, rank, mode, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self._mode = mode
        self.data_format = standardize_data_format(data_format, type(self))
        self.keepdims = bool(keepdims)
        self._axes = tuple(range(1, rank + 1))
        self.input_spec = InputSpec(ndim=rank + 2)

    def call(self, inputs):
        reduce = mx.max if self._mode == "max" else mx.mean
        return reduce(inputs, axis=self._axes, keepdims=self.keepdims)

    def get_config(self):
        config = super().get_config()
        config.update(data_format=self.data_format, keepdims=self.keepdims)
        return config


_GLOBAL_DOC = """{kind} over all spatial positions of a channels-last {rank}D input.

    Args:
        data_format: ``"channels_last"`` (or ``None``); input ``(batch, {dims}, channels)``.
        keepdims: keep the spatial axes with size 1 (``(batch, {ones}, channels)``)
            instead of returning ``(batch, channels)``.
    """


def _global_doc(kind, rank, dims):
    return _GLOBAL_DOC.format(kind=kind, rank=rank, dims=dims, ones=", ".join(["1"] * rank))


@registry.builtin
class GlobalMaxPooling1D(_GlobalPooling):
    __doc__ = _global_doc("Maximum", 1, "steps")

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(1, "max", data_format, keepdims, **kwargs)


@registry.builtin
class GlobalMaxPooling2D(_GlobalPooling):
    __doc__ = _global_doc("Maximum", 2, "rows, cols")

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(2, "max", data_format, keepdims, **kwargs)


@registry.builtin
class GlobalMaxPooling3D(_GlobalPooling):
    __doc__ = _global_doc("Maximum", 3, "dim1, dim2, dim3")

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(3, "max", data_format, keepdims, **kwargs)


@registry.builtin
class GlobalAveragePooling1D(_GlobalPooling):
    __doc__ = _global_doc("Average", 1, "steps") + """
    Call arguments:
        mask: optional boolean ``(batch, steps)``; masked steps are left out of the
            average (as Keras). The output carries no mask.
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(1, "average", data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return mx.mean(inputs, axis=1, keepdims=self.keepdims)
        keep = mx.expand_dims(mask.astype(mx.bool_), 2)
        total = mx.sum(mx.where(keep, inputs, 0), axis=1, keepdims=self.keepdims)
        return total / mx.sum(keep.astype(inputs.dtype), axis=1, keepdims=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None  # the steps axis is gone


@registry.builtin
class GlobalAveragePooling2D(_GlobalPooling):
    __doc__ = _global_doc("Average", 2, "rows, cols")

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(2, "average", data_format, keepdims, **kwargs)


@registry.builtin
class GlobalAveragePooling3D(_GlobalPooling):
    __doc__ = _global_doc("Average", 3, "dim1, dim2, dim3")

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(3, "average", data_format, keepdims, **kwargs)


# Keras' short aliases.
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D)
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D)
