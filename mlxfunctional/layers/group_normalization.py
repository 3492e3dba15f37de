"""GroupNormalization and RMSNormalization."""

import mlx.core as mx

from ..engine import argument_validation as check
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from .. import registry
from . import common

_LOW_PRECISION = (mx.float16, mx.bfloat16)


def _in_float32(x):
    # Statistics of float16/bfloat16 inputs overflow easily: compute them in float32.
    return x.astype(mx.float32) if x.dtype in _LOW_PRECISION else x


def _axis_in_range(layer, axis, ndim, input_shape):
    if not -ndim <= axis < ndim:
        raise ValueError(f'Layer "{layer.name}": axis {axis} is out of bounds for input shape '
                         f"{tuple(input_shape)}.")
    return axis % ndim


@registry.builtin
class GroupNormalization(Layer):
    """Splits the channels of ``axis`` into ``groups`` groups and normalizes each
    group of each sample by its own mean and biased variance:
    ``gamma * (x - mean) / sqrt(var + epsilon) + beta`` (per-channel gamma, beta).

    Args:
        groups: number of groups (32); it must divide the number of channels.
            ``-1`` makes one group per channel (instance normalization); the layer
            then reports ``groups`` = channels once built, as Keras does.
        axis: the channels axis (``-1``).
        epsilon: added to the variance (``1e-3``).
        center / scale: whether to use ``beta`` / ``gamma``.
        beta_initializer / gamma_initializer: ``zeros`` / ``ones``.
        beta_regularizer / gamma_regularizer, beta_constraint / gamma_constraint.

    The statistics of a group run over every axis but the batch axis, within the
    group's channels. Weights: ``gamma``, ``beta``, each ``(channels,)``. A mask
    passes through unchanged (it does not enter the statistics, as in Keras).
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not (check.is_integer(groups) and (groups > 0 or groups == -1)):
            raise ValueError("GroupNormalization: groups must be a positive integer or -1 "
                             f"(one group per channel); received groups={groups!r}")
        self.groups = int(groups)
        self.axis = check.integer(self, "axis", axis)
        self.epsilon = check.non_negative_float(self, "epsilon", epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        common.set_objects(
            self, beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
            beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
            beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        ndim = len(input_shape)
        axis = _axis_in_range(self, self.axis, ndim, input_shape)
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(f'Layer "{self.name}": axis {self.axis} of the input must have a '
                             f"known size; received input shape {tuple(input_shape)}.")
        if self.groups == -1:
            self.groups = channels
        if channels < self.groups or channels % self.groups:
            raise ValueError(f'Layer "{self.name}": {self.groups} groups must divide the '
                             f"{channels} channels of axis {self.axis} (and be at most as "
                             f"many); received input shape {tuple(input_shape)}.")
        self.input_spec = InputSpec(ndim=ndim, axes={axis: channels})
        if self.scale:
            self.gamma = common.add_weight(self, "gamma", (channels,))
        if self.center:
            self.beta = common.add_weight(self, "beta", (channels,))
        self._axis = axis
        self.built = True

    def call(self, inputs):
        x = _in_float32(inputs)
        a, shape = self._axis, list(x.shape)
        channels = shape[a]
        # (..., channels, ...) -> (..., groups, channels // groups, ...)
        grouped = shape[:a] + [self.groups, channels // self.groups] + shape[a + 1:]
        x = x.reshape(grouped)
        reduce = [i for i in range(1, x.ndim) if i != a]
        mean = mx.mean(x, axis=reduce, keepdims=True)
        variance = mx.var(x, axis=reduce, keepdims=True)
        inv = mx.rsqrt(variance + self.epsilon)
        param_shape = [1] * x.ndim
        param_shape[a], param_shape[a + 1] = self.groups, channels // self.groups
        if self.scale:
            inv = inv * self["gamma"].reshape(param_shape)
        offset = -mean * inv
        if self.center:
            offset = offset + self["beta"].reshape(param_shape)
        outputs = (x * inv + offset).reshape(shape)
        return outputs.astype(inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(common.config_values(
            self, "groups", "axis", "epsilon", "center", "scale", "beta_initializer",
            "gamma_initializer", "beta_regularizer", "gamma_regularizer", "beta_constraint",
            "gamma_constraint"))
        return config


@registry.builtin
class RMSNormalization(Layer):
    """Divides each sample by the root mean square over ``axis`` and scales it:
    ``x / sqrt(mean(x^2) + epsilon) * scale``.

    Args:
        axis: int or list of ints, the axes of the mean (``-1``). Once built the
            layer holds them as a sorted list, as Keras does.
        epsilon: added to the mean square (``1e-6``).

    Weight: ``scale`` (ones), with the input's sizes on ``axis``.
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = check.int_list(self, "axis", axis)
        self.epsilon = check.non_negative_float(self, "epsilon", epsilon)

    def build(self, input_shape):
        ndim = len(input_shape)
        axes = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        positions = [_axis_in_range(self, a, ndim, input_shape) for a in axes]
        shape = tuple(input_shape[p] for p in positions)
        if None in shape:
            raise ValueError(f'Layer "{self.name}" needs known sizes on axis {self.axis} to '
                             f"create its scale; received input shape {tuple(input_shape)}.")
        self.axis = axes
        self.scale = self.add_weight(shape=shape, name="scale", initializer="ones")
        # `scale` broadcast at the normalized axes (also when they are not the last ones).
        self._scale_shape = [input_shape[i] if i in positions else 1 for i in range(ndim)]
        self.built = True

    def call(self, inputs):
        x = _in_float32(inputs)
        inv_rms = mx.rsqrt(mx.mean(mx.square(x), axis=self.axis, keepdims=True) + self.epsilon)
        outputs = x * inv_rms * self.scale.reshape(self._scale_shape).astype(x.dtype)
        return outputs.astype(inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(axis=self.axis, epsilon=self.epsilon)
        return config
