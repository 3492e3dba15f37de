"""Pooling layers: Max/AveragePooling1D-3D and GlobalMax/GlobalAveragePooling1D-3D,
on the pooling math of ``compute/pooling.py`` (where the choice of window forms is
measured and explained)."""

import mlx.core as mx

from ..compute.pooling import pool, standardize_data_format
from ..engine import argument_validation as check
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from .. import registry


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
