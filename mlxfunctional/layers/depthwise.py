"""Depthwise and separable convolutions: DepthwiseConv1D/2D, SeparableConv1D/2D.

A depthwise kernel has Keras' layout ``(*kernel_size, in_channels,
depth_multiplier)``: channel ``c`` is convolved with ``depth_multiplier`` kernels
giving output channels ``c*depth_multiplier + m``. That is MLX's grouped
convolution with ``groups=in_channels`` and weight ``(in*dm, *kernel_size, 1)``;
the kernel is stored ``(in, dm, *kernel_size)`` so the weight is a free reshape.
"""


from ..engine import argument_validation as check
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from .. import registry
from ..compute import conv_utils
from . import common


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
        self.kernel_size = check.int_tuple(self, "kernel_size", kernel_size, rank)
        self.strides = check.int_tuple(self, "strides", strides, rank)
        self.padding = conv_utils.normalize_padding(padding)
        self.depth_multiplier = check.positive_int(self, "depth_multiplier", depth_multiplier)
        self.data_format = conv_utils.normalize_data_format(data_format)
        self.dilation_rate = check.int_tuple(self, "dilation_rate", dilation_rate, rank)
        self.use_bias = use_bias
        common.set_objects(self, activation=activation, bias_initializer=bias_initializer,
                           bias_regularizer=bias_regularizer,
                           activity_regularizer=activity_regularizer,
                           bias_constraint=bias_constraint)
        conv_utils.check_strides_dilation(self.strides, self.dilation_rate)
        self.input_spec = InputSpec(ndim=rank + 2)

    def _check_input(self, input_shape):
        conv_utils.check_rank(self, input_shape, self.rank)
        channels = conv_utils.input_channels(self, input_shape)
        conv_utils.check_output_size(self, input_shape)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: channels})
        return channels

    def _add_depthwise_kernel(self, name, channels):
        """The depthwise kernel (``depthwise_*`` arguments), named ``name``."""
        return common.add_weight(self, name, self.kernel_size + (channels, self.depth_multiplier),
                                 arg="depthwise", storage_perm=_depthwise_storage_perm(self.rank))

    def _depthwise(self, inputs, kernel):
        conv_utils.check_output_size(self, inputs.shape)
        return conv_utils.depthwise_convolve(inputs, kernel, self.strides, self.padding,
                                             self.dilation_rate)

    def _config(self, *names):
        """The config entries the depthwise layers share, followed by ``names``."""
        return common.config_values(
            self, "depth_multiplier", "kernel_size", "strides", "padding", "data_format",
            "dilation_rate", "activation", "use_bias", "bias_initializer", "bias_regularizer",
            "activity_regularizer", "bias_constraint", *names)


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
        common.set_objects(self, depthwise_initializer=depthwise_initializer,
                           depthwise_regularizer=depthwise_regularizer,
                           depthwise_constraint=depthwise_constraint)

    def build(self, input_shape):
        channels = self._check_input(input_shape)
        # Keras 3 names this weight "kernel" (Keras 2 said "depthwise_kernel").
        self.kernel = self._add_depthwise_kernel("kernel", channels)
        if self.use_bias:
            self.bias = common.add_weight(self, "bias", (channels * self.depth_multiplier,))
        self.built = True

    def call(self, inputs):
        return common.bias_activation(self, self._depthwise(inputs, self["kernel"]))

    def get_config(self):
        config = super().get_config()
        config.update(self._config("depthwise_initializer", "depthwise_regularizer",
                                   "depthwise_constraint"))
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
        self.filters = check.positive_int(self, "filters", filters)
        common.set_objects(
            self, depthwise_initializer=depthwise_initializer,
            pointwise_initializer=pointwise_initializer,
            depthwise_regularizer=depthwise_regularizer,
            pointwise_regularizer=pointwise_regularizer,
            depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint)

    def build(self, input_shape):
        channels = self._check_input(input_shape)
        self.depthwise_kernel = self._add_depthwise_kernel("depthwise_kernel", channels)
        self.pointwise_kernel = common.add_weight(
            self, "pointwise_kernel",
            (1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            arg="pointwise", storage_perm=conv_utils.kernel_storage_perm(self.rank))
        if self.use_bias:
            self.bias = common.add_weight(self, "bias", (self.filters,))
        self.built = True

    def call(self, inputs):
        # The stored (MLX layout) kernels; the attributes give Keras' layout.
        x = self._depthwise(inputs, self["depthwise_kernel"])
        ones = (1,) * (x.ndim - 2)
        x = conv_utils.grouped_conv(x, self["pointwise_kernel"], ones,
                                    ([0] * len(ones), [0] * len(ones)), ones, 1)
        return common.bias_activation(self, x)

    def get_config(self):
        config = super().get_config()
        config.update(self._config(
            "filters", "depthwise_initializer", "pointwise_initializer",
            "depthwise_regularizer", "pointwise_regularizer", "depthwise_constraint",
            "pointwise_constraint"))
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
