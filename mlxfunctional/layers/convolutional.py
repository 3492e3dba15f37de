"""Convolution layers: Conv1D, Conv2D, Conv3D.

Kernels have Keras' layout ``(*kernel_size, in_channels // groups, filters)``
for ``get_weights``/``set_weights`` and are stored as MLX's
``(filters, *kernel_size, in_channels // groups)``. Keras' ``"same"`` and
``"causal"`` paddings become explicit (possibly asymmetric) pads for
``mx.conv_general``; see ``conv_utils``.
"""

from ..engine import argument_validation as check
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from .. import registry
from ..compute import conv_utils
from . import common


class BaseConv(Layer):
    """N-D convolution ``activation(conv(inputs, kernel) + bias)``; ``rank`` set by subclasses."""

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        rank = self.rank
        self.filters = check.positive_int(self, "filters", filters)
        self.kernel_size = check.int_tuple(self, "kernel_size", kernel_size, rank)
        self.strides = check.int_tuple(self, "strides", strides, rank)
        self.padding = conv_utils.normalize_padding(padding, allow_causal=rank == 1)
        self.data_format = conv_utils.normalize_data_format(data_format)
        self.dilation_rate = check.int_tuple(self, "dilation_rate", dilation_rate, rank)
        self.groups = check.positive_int(self, "groups", groups)
        self.use_bias = use_bias
        common.set_objects(
            self, activation=activation, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        if self.filters % self.groups:
            raise ValueError("The number of filters must be evenly divisible by the number "
                             f"of groups. Received: groups={groups}, filters={filters}.")
        conv_utils.check_strides_dilation(self.strides, self.dilation_rate)
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape):
        conv_utils.check_rank(self, input_shape, self.rank)
        channels = conv_utils.input_channels(self, input_shape)
        if channels % self.groups:
            raise ValueError(
                "The number of input channels must be evenly divisible by the number of "
                f"groups. Received groups={self.groups}, but the input has {channels} "
                f"channels (full input shape is {tuple(input_shape)})."
            )
        conv_utils.check_output_size(self, input_shape)
        self.kernel = common.add_weight(
            self, "kernel", self.kernel_size + (channels // self.groups, self.filters),
            storage_perm=conv_utils.kernel_storage_perm(self.rank))
        if self.use_bias:
            self.bias = common.add_weight(self, "bias", (self.filters,))
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: channels})
        self.built = True

    def call(self, inputs):
        conv_utils.check_output_size(self, inputs.shape)
        # self["kernel"]: the stored (out, *k, in) array; self.kernel is Keras' layout.
        x = conv_utils.convolve(inputs, self["kernel"], self.strides, self.padding,
                                self.dilation_rate, self.groups)
        return common.bias_activation(self, x)

    def get_config(self):
        config = super().get_config()
        config.update(common.config_values(
            self, "filters", "kernel_size", "strides", "padding", "data_format",
            "dilation_rate", "groups", *common.KERNEL_BIAS_ARGS))
        return config


@registry.builtin
class Conv1D(BaseConv):
    """1D convolution (temporal convolution).

    Args:
        filters: number of output channels.
        kernel_size: int or tuple of 1 int, the window length.
        strides: int or tuple of 1 int (``strides > 1`` excludes ``dilation_rate > 1``).
        padding: ``"valid"``, ``"same"`` (TensorFlow's rule: total pad
            ``max((ceil(n/s)-1)*s + (k-1)*d + 1 - n, 0)``, the odd element at the end) or
            ``"causal"`` (``(k-1)*d`` zeros in front: output t sees inputs <= t).
        data_format: ``"channels_last"`` or None (channels_first is not supported).
        dilation_rate: int or tuple of 1 int.
        groups: input channels and filters are split into this many groups.
        activation: activation name or function (none by default).
        use_bias: whether to add a bias vector.
        kernel_initializer / bias_initializer: ``"glorot_uniform"`` / ``"zeros"``.
        kernel_regularizer / bias_regularizer / activity_regularizer: regularizers.
        kernel_constraint / bias_constraint: constraints applied after updates.

    Input ``(batch, steps, channels)``; kernel ``(k, channels // groups, filters)``.
    """

    rank = 1


@registry.builtin
class Conv2D(BaseConv):
    """2D convolution (spatial convolution over images).

    Args:
        filters: number of output channels.
        kernel_size: int or tuple of 2 ints.
        strides: int or tuple of 2 ints (``strides > 1`` excludes ``dilation_rate > 1``).
        padding: ``"valid"`` or ``"same"`` (TensorFlow's rule, as in Conv1D).
        data_format: ``"channels_last"`` or None.
        dilation_rate: int or tuple of 2 ints.
        groups: input channels and filters are split into this many groups.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as Conv1D.

    Input ``(batch, rows, cols, channels)``; kernel ``(kh, kw, channels // groups, filters)``.
    """

    rank = 2


@registry.builtin
class Conv3D(BaseConv):
    """3D convolution (spatial convolution over volumes).

    Args:
        filters: number of output channels.
        kernel_size: int or tuple of 3 ints.
        strides: int or tuple of 3 ints (``strides > 1`` excludes ``dilation_rate > 1``).
        padding: ``"valid"`` or ``"same"`` (TensorFlow's rule, as in Conv1D).
        data_format: ``"channels_last"`` or None.
        dilation_rate: int or tuple of 3 ints.
        groups: input channels and filters are split into this many groups.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as Conv1D.

    Input ``(batch, d1, d2, d3, channels)``; kernel ``(k1, k2, k3, channels // groups, filters)``.
    """

    rank = 3
