"""Transposed convolution layers: Conv1DTranspose, Conv2DTranspose, Conv3DTranspose.

Keras' kernel layout is ``(*kernel_size, filters, in_channels)`` (the kernel of
the convolution being transposed); it is stored as ``(filters, *kernel_size,
in_channels)`` for ``mx.conv_general``.
"""

from ..engine import argument_validation as check
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from .. import registry
from ..compute import conv_utils
from . import common


class BaseConvTranspose(Layer):
    """N-D transposed convolution; ``rank`` set by subclasses."""

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        rank = self.rank
        self.filters = check.positive_int(self, "filters", filters)
        self.kernel_size = check.int_tuple(self, "kernel_size", kernel_size, rank)
        self.strides = check.int_tuple(self, "strides", strides, rank)
        self.padding = conv_utils.normalize_padding(padding)
        self.output_padding = None if output_padding is None else check.int_tuple(
            self, "output_padding", output_padding, rank, allow_zero=True)
        self.data_format = conv_utils.normalize_data_format(data_format)
        self.dilation_rate = check.int_tuple(self, "dilation_rate", dilation_rate, rank)
        self.use_bias = use_bias
        common.set_objects(
            self, activation=activation, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        if self.output_padding is not None and any(
                p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError("`output_padding` must be < `strides`. "
                             f"output_padding={self.output_padding}, strides={self.strides}")
        conv_utils.check_strides_dilation(self.strides, self.dilation_rate)
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape):
        conv_utils.check_rank(self, input_shape, self.rank)
        channels = conv_utils.input_channels(self, input_shape)
        self.kernel = common.add_weight(
            self, "kernel", self.kernel_size + (self.filters, channels),
            storage_perm=(self.rank,) + tuple(range(self.rank)) + (self.rank + 1,))
        if self.use_bias:
            self.bias = common.add_weight(self, "bias", (self.filters,))
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: channels})
        self.built = True

    def call(self, inputs):
        # self["kernel"]: the stored MLX layout; self.kernel is Keras' layout.
        x = conv_utils.transpose_convolve(inputs, self["kernel"], self.strides, self.padding,
                                          self.output_padding, self.dilation_rate)
        return common.bias_activation(self, x)

    def get_config(self):
        config = super().get_config()
        # Keras 3 leaves output_padding out of the config (the output shape then
        # changes on reload); it is kept here.
        config.update(common.config_values(
            self, "filters", "kernel_size", "strides", "padding", "output_padding",
            "data_format", "dilation_rate", *common.KERNEL_BIAS_ARGS))
        return config


@registry.builtin
class Conv1DTranspose(BaseConvTranspose):
    """1D transposed convolution (sometimes called deconvolution).

    Args:
        filters: number of output channels.
        kernel_size: int or tuple of 1 int.
        strides: int or tuple of 1 int (``strides > 1`` excludes ``dilation_rate > 1``).
        padding: ``"valid"`` (output ``n*s + max(k - s, 0)``) or ``"same"`` (output ``n*s``).
        output_padding: None, or int/tuple of 1 int (< strides): the output is then
            ``(n - 1)*s + k - 2*(k//2 if same else 0) + output_padding``.
        data_format: ``"channels_last"`` or None.
        dilation_rate: int or tuple of 1 int.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as Conv1D.

    Input ``(batch, steps, channels)``; kernel ``(k, filters, channels)``.
    """

    rank = 1


@registry.builtin
class Conv2DTranspose(BaseConvTranspose):
    """2D transposed convolution (sometimes called deconvolution).

    Args:
        filters: number of output channels.
        kernel_size: int or tuple of 2 ints.
        strides: int or tuple of 2 ints (``strides > 1`` excludes ``dilation_rate > 1``).
        padding: ``"valid"`` (output ``n*s + max(k - s, 0)``) or ``"same"`` (output ``n*s``).
        output_padding: None, or int/tuple of 2 ints (< strides), as in Conv1DTranspose.
        data_format: ``"channels_last"`` or None.
        dilation_rate: int or tuple of 2 ints.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as Conv2D.

    Input ``(batch, rows, cols, channels)``; kernel ``(kh, kw, filters, channels)``.
    """

    rank = 2


@registry.builtin
class Conv3DTranspose(BaseConvTranspose):
    """3D transposed convolution (sometimes called deconvolution).

    Args:
        filters: number of output channels.
        kernel_size: int or tuple of 3 ints.
        strides: int or tuple of 3 ints (``strides > 1`` excludes ``dilation_rate > 1``).
        padding: ``"valid"`` (output ``n*s + max(k - s, 0)``) or ``"same"`` (output ``n*s``).
        output_padding: None, or int/tuple of 3 ints (< strides), as in Conv1DTranspose.
        data_format: ``"channels_last"`` or None.
        dilation_rate: int or tuple of 3 ints.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as Conv3D.

    Input ``(batch, d1, d2, d3, channels)``; kernel ``(k1, k2, k3, filters, channels)``.
    """

    rank = 3
