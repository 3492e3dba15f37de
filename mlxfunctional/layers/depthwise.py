"""Depthwise and separable convolutions: DepthwiseConv1D/2D, SeparableConv1D/2D.

A depthwise kernel has Keras' layout ``(*kernel_size, in_channels,
depth_multiplier)``: channel ``c`` is convolved with ``depth_multiplier`` kernels
giving output channels ``c*depth_multiplier + m``. That is MLX's grouped
convolution with ``groups=in_channels`` and weight ``(in*dm, *kernel_size, 1)``;
the kernel is stored ``(in, dm, *kernel_size)`` so the weight is a free reshape.
"""

import mlx.core as mx

from .. import activations, constraints, initializers, regularizers
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from ..saving import registry
from . import conv_utils


def _depthwise_storage_perm(rank):
    """Keras ``(*k, in, dm)`` -> stored ``(in, dm, *k)``."""
    return (rank, rank + 1) + tuple(range(rank))


class _DepthwiseBase(Layer):
    """Shared argument handling and the depthwise step; ``rank`` set by subclasses."""

    rank = None

    def _init_common(self, kernel_size, strides, padding, depth_multiplier, data_format,
                     dilation_rate, activation, use_bias, bias_initializer, bias_regularizer,
                     activity_regularizer, bias_constraint):
        rank = self.rank
        self.kernel_size = conv_utils.normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = conv_utils.normalize_tuple(strides, rank, "strides")
        self.padding = conv_utils.normalize_padding(padding)
        self.depth_multiplier = int(depth_multiplier)
        self.data_format = conv_utils.normalize_data_format(data_format)
        self.dilation_rate = conv_utils.normalize_tuple(dilation_rate, rank, "dilation_rate")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        if self.depth_multiplier <= 0:
            raise ValueError("Invalid value for argument `depth_multiplier`. Expected a "
                             f"strictly positive value. Received "
                             f"depth_multiplier={depth_multiplier}.")
        conv_utils.check_strides_dilation(self.strides, self.dilation_rate)
        self.input_spec = InputSpec(ndim=rank + 2)

    def _check_input(self, input_shape):
        conv_utils.check_rank(self, input_shape, self.rank)
        channels = conv_utils.input_channels(self, input_shape)
        conv_utils.check_output_size(self, input_shape)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: channels})
        return channels

    def _add_depthwise_kernel(self, name, channels, initializer, regularizer, constraint):
        return self.add_weight(shape=self.kernel_size + (channels, self.depth_multiplier),
                               name=name, initializer=initializer, regularizer=regularizer,
                               constraint=constraint,
                               storage_perm=_depthwise_storage_perm(self.rank))

    def _add_bias(self, size):
        self.bias = self.add_weight(shape=(size,), name="bias",
                                    initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint)

    def _depthwise(self, inputs, kernel):
        channels = inputs.shape[-1]
        weight = mx.reshape(kernel, (channels * self.depth_multiplier,) + self.kernel_size + (1,))
        pad_lo, pad_hi = conv_utils.conv_pads(self, inputs.shape)
        return mx.conv_general(inputs, weight, stride=self.strides, padding=(pad_lo, pad_hi),
                               kernel_dilation=self.dilation_rate, groups=channels)

    def _finish(self, x):
        if self.use_bias:
            x = x + self.bias
        x = self.activation(x)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(x))
        return x

    def _common_config(self):
        return dict(
            depth_multiplier=self.depth_multiplier,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            bias_initializer=initializers.serialize(self.bias_initializer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            bias_constraint=constraints.serialize(self.bias_constraint),
        )


class BaseDepthwiseConv(_DepthwiseBase):
    """Depthwise convolution: each input channel convolved with its own kernels."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self._init_common(kernel_size, strides, padding, depth_multiplier, data_format,
                          dilation_rate, activation, use_bias, bias_initializer,
                          bias_regularizer, activity_regularizer, bias_constraint)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def build(self, input_shape):
        channels = self._check_input(input_shape)
        # Keras 3 names this weight "kernel" (Keras 2 said "depthwise_kernel").
        self.kernel = self._add_depthwise_kernel("kernel", channels, self.depthwise_initializer,
                                                 self.depthwise_regularizer,
                                                 self.depthwise_constraint)
        if self.use_bias:
            self._add_bias(channels * self.depth_multiplier)
        self.built = True

    def call(self, inputs):
        return self._finish(self._depthwise(inputs, self.kernel))

    def get_config(self):
        config = super().get_config()
        config.update(self._common_config())
        config.update(
            depthwise_initializer=initializers.serialize(self.depthwise_initializer),
            depthwise_regularizer=regularizers.serialize(self.depthwise_regularizer),
            depthwise_constraint=constraints.serialize(self.depthwise_constraint),
        )
        return config


class BaseSeparableConv(_DepthwiseBase):
    """Depthwise convolution followed by a 1x1 (pointwise) convolution to ``filters``."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        self._init_common(kernel_size, strides, padding, depth_multiplier, data_format,
                          dilation_rate, activation, use_bias, bias_initializer,
                          bias_regularizer, activity_regularizer, bias_constraint)
        self.filters = int(filters)
        if self.filters <= 0:
            raise ValueError("Invalid value for argument `filters`. Expected a strictly "
                             f"positive value. Received filters={filters}.")
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        channels = self._check_input(input_shape)
        self.depthwise_kernel = self._add_depthwise_kernel(
            "depthwise_kernel", channels, self.depthwise_initializer,
            self.depthwise_regularizer, self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            name="pointwise_kernel", initializer=self.pointwise_initializer,
            regularizer=self.pointwise_regularizer, constraint=self.pointwise_constraint,
            storage_perm=conv_utils.kernel_storage_perm(self.rank))
        if self.use_bias:
            self._add_bias(self.filters)
        self.built = True

    def call(self, inputs):
        x = self._depthwise(inputs, self.depthwise_kernel)
        x = mx.conv_general(x, self.pointwise_kernel)
        return self._finish(x)

    def get_config(self):
        config = super().get_config()
        config.update(self._common_config())
        config.update(
            filters=self.filters,
            depthwise_initializer=initializers.serialize(self.depthwise_initializer),
            pointwise_initializer=initializers.serialize(self.pointwise_initializer),
            depthwise_regularizer=regularizers.serialize(self.depthwise_regularizer),
            pointwise_regularizer=regularizers.serialize(self.pointwise_regularizer),
            depthwise_constraint=constraints.serialize(self.depthwise_constraint),
            pointwise_constraint=constraints.serialize(self.pointwise_constraint),
        )
        return config


@registry.builtin
class DepthwiseConv1D(BaseDepthwiseConv):
    """1D depthwise convolution: each channel gets ``depth_multiplier`` own kernels.

    Args:
        kernel_size: int or tuple of 1 int.
        strides: int or tuple of 1 int (``strides > 1`` excludes ``dilation_rate > 1``).
        padding: ``"valid"`` or ``"same"`` (TensorFlow's rule, as in Conv1D).
        depth_multiplier: output channels per input channel.
        data_format: ``"channels_last"`` or None.
        dilation_rate: int or tuple of 1 int.
        activation: activation name or function (none by default).
        use_bias: whether to add a bias of size ``channels * depth_multiplier``.
        depthwise_initializer / bias_initializer: ``"glorot_uniform"`` / ``"zeros"``.
        depthwise_regularizer / bias_regularizer / activity_regularizer: regularizers.
        depthwise_constraint / bias_constraint: constraints applied after updates.

    Input ``(batch, steps, channels)``; weight ``kernel`` ``(k, channels, depth_multiplier)``;
    output channel ``c*depth_multiplier + m``.
    """

    rank = 1


@registry.builtin
class DepthwiseConv2D(BaseDepthwiseConv):
    """2D depthwise convolution: each channel gets ``depth_multiplier`` own kernels.

    Args: as DepthwiseConv1D, with ints or tuples of 2 ints for kernel_size, strides and
    dilation_rate.

    Input ``(batch, rows, cols, channels)``; weight ``kernel``
    ``(kh, kw, channels, depth_multiplier)``; output channel ``c*depth_multiplier + m``.
    """

    rank = 2


@registry.builtin
class SeparableConv1D(BaseSeparableConv):
    """1D separable convolution: a depthwise convolution, then a pointwise one.

    Args:
        filters: number of output channels.
        kernel_size: int or tuple of 1 int (the depthwise window).
        strides: int or tuple of 1 int (``strides > 1`` excludes ``dilation_rate > 1``).
        padding: ``"valid"`` or ``"same"`` (TensorFlow's rule, as in Conv1D).
        data_format: ``"channels_last"`` or None.
        dilation_rate: int or tuple of 1 int.
        depth_multiplier: depthwise output channels per input channel.
        activation: activation name or function (none by default).
        use_bias: whether to add a bias of size ``filters``.
        depthwise_initializer / pointwise_initializer / bias_initializer: initializers
            (``"glorot_uniform"``, ``"glorot_uniform"``, ``"zeros"``).
        depthwise_regularizer / pointwise_regularizer / bias_regularizer /
        activity_regularizer: regularizers.
        depthwise_constraint / pointwise_constraint / bias_constraint: constraints.

    Weights ``depthwise_kernel`` ``(k, channels, depth_multiplier)``, ``pointwise_kernel``
    ``(1, channels*depth_multiplier, filters)``, ``bias`` ``(filters,)``.
    """

    rank = 1


@registry.builtin
class SeparableConv2D(BaseSeparableConv):
    """2D separable convolution: a depthwise convolution, then a pointwise one.

    Args: as SeparableConv1D, with ints or tuples of 2 ints for kernel_size, strides and
    dilation_rate.

    Weights ``depthwise_kernel`` ``(kh, kw, channels, depth_multiplier)``,
    ``pointwise_kernel`` ``(1, 1, channels*depth_multiplier, filters)``, ``bias``
    ``(filters,)``.
    """

    rank = 2
