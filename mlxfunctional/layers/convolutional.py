"""Convolution layers: Conv1D, Conv2D, Conv3D.

Kernels have Keras' layout ``(*kernel_size, in_channels // groups, filters)``
for ``get_weights``/``set_weights`` and are stored as MLX's
``(filters, *kernel_size, in_channels // groups)``. Keras' ``"same"`` and
``"causal"`` paddings become explicit (possibly asymmetric) pads for
``mx.conv_general``; see ``conv_utils``.
"""

from .. import activations, constraints, initializers, regularizers
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from ..saving import registry
from . import conv_utils


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
        self.filters = int(filters)
        self.kernel_size = conv_utils.normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = conv_utils.normalize_tuple(strides, rank, "strides")
        self.padding = conv_utils.normalize_padding(padding, allow_causal=rank == 1)
        self.data_format = conv_utils.normalize_data_format(data_format)
        self.dilation_rate = conv_utils.normalize_tuple(dilation_rate, rank, "dilation_rate")
        self.groups = int(groups)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        if self.filters <= 0:
            raise ValueError("Invalid value for argument `filters`. Expected a strictly "
                             f"positive value. Received filters={filters}.")
        if self.groups <= 0:
            raise ValueError("The number of groups must be a positive integer. "
                             f"Received: groups={groups}.")
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
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels // self.groups, self.filters), name="kernel",
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            storage_perm=conv_utils.kernel_storage_perm(self.rank))
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), name="bias",
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: channels})
        self.built = True

    def call(self, inputs):
        pad_lo, pad_hi = conv_utils.conv_pads(self, inputs.shape)
        x = conv_utils.grouped_conv(inputs, self.kernel, self.strides, (pad_lo, pad_hi),
                                    self.dilation_rate, self.groups)
        if self.use_bias:
            x = x + self.bias
        x = self.activation(x)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(x))
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
            groups=self.groups,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            kernel_constraint=constraints.serialize(self.kernel_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
        )
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
