"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax."""

import mlx.core as mx

from .. import constraints, initializers, regularizers
from ..engine.input_spec import InputSpec
from ..engine import argument_validation as check
from ..engine.layer import Layer
from .. import registry


@registry.builtin
class ReLU(Layer):
    """Rectified linear unit with optional slope, threshold and cap.

    ``f(x) = max_value`` for ``x >= max_value``, ``x`` for
    ``threshold < x < max_value``, ``negative_slope * (x - threshold)`` otherwise.

    Args:
        max_value: upper saturation value (>= 0), or None for none.
        negative_slope: slope below the threshold (>= 0).
        threshold: value below which the unit is inactive.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        # Checked, but kept as given: the config holds the user's numbers.
        if max_value is not None:
            check.non_negative_float(self, "max_value", max_value)
        check.non_negative_float(self, "negative_slope", negative_slope)
        check.real(self, "threshold", threshold)
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold
        self.supports_masking = True

    def call(self, inputs):
        x = mx.where(inputs > self.threshold, inputs, self.negative_slope * (inputs - self.threshold))
        if self.max_value is not None:
            x = mx.minimum(x, self.max_value)
        return x

    def get_config(self):
        config = super().get_config()
        config.update(max_value=self.max_value, negative_slope=self.negative_slope,
                      threshold=self.threshold)
        return config


@registry.builtin
class LeakyReLU(Layer):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise.

    Args:
        negative_slope: slope for negative inputs (>= 0); ``alpha`` is the
            Keras 2 spelling.
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        check.non_negative_float(self, "negative_slope", negative_slope)
        self.negative_slope = negative_slope
        self.supports_masking = True

    def call(self, inputs):
        return mx.where(inputs >= 0, inputs, self.negative_slope * inputs)

    def get_config(self):
        config = super().get_config()
        config.update(negative_slope=self.negative_slope)
        return config


@registry.builtin
class PReLU(Layer):
    """Leaky ReLU with a learned slope: ``max(x, 0) - alpha * max(-x, 0)``.

    Args:
        alpha_initializer: initializer of the slopes (``"zeros"``).
        alpha_regularizer / alpha_constraint: for the slopes.
        shared_axes: axes (1-based, batch excluded from the weight) along which
            one slope is shared, e.g. ``[1, 2]`` for one slope per channel of
            an image.

    The weight ``alpha`` has shape ``input_shape[1:]`` with shared axes set to 1.
    """

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = check.int_list(self, "shared_axes", shared_axes)
            self.shared_axes = axes if isinstance(axes, list) else [axes]
        self.supports_masking = True

    def build(self, input_shape):
        shared = set(self.shared_axes or [])
        bad = [a for a in shared if not 1 <= a < len(input_shape)]
        if bad:
            raise ValueError(f'Layer "{self.name}": shared_axes {self.shared_axes} must be in '
                             f"1..{len(input_shape) - 1} for input shape {tuple(input_shape)}.")
        param_shape = [1 if i in shared else d for i, d in enumerate(input_shape) if i > 0]
        if None in param_shape:
            raise ValueError(
                f'Layer "{self.name}" (PReLU) needs known sizes for the axes that are not '
                f"shared; received input shape {tuple(input_shape)} with "
                f"shared_axes={self.shared_axes}."
            )
        self.alpha = self.add_weight(shape=param_shape, name="alpha",
                                     initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        axes = {i: input_shape[i] for i in range(1, len(input_shape)) if i not in shared}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)
        self.built = True

    def call(self, inputs):
        return mx.maximum(inputs, 0) - self["alpha"] * mx.maximum(-inputs, 0)

    def get_config(self):
        config = super().get_config()
        config.update(
            alpha_initializer=initializers.serialize(self.alpha_initializer),
            alpha_regularizer=regularizers.serialize(self.alpha_regularizer),
            alpha_constraint=constraints.serialize(self.alpha_constraint),
            shared_axes=self.shared_axes,
        )
        return config


@registry.builtin
class ELU(Layer):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        alpha: scale of the negative part.
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = check.real(self, "alpha", alpha)
        self.supports_masking = True

    def call(self, inputs):
        # expm1 of the clipped value: no overflow in the branch that is discarded.
        return mx.where(inputs > 0, inputs, self.alpha * mx.expm1(mx.minimum(inputs, 0)))

    def get_config(self):
        config = super().get_config()
        config.update(alpha=self.alpha)
        return config


def _large_negative(dtype):
    # float16 cannot hold -1e9; Keras uses -3e4 there.
    return -3e4 if dtype == mx.float16 else -1e9


@registry.builtin
class Softmax(Layer):
    """Softmax over ``axis``: ``exp(x) / sum(exp(x), axis)``.

    Args:
        axis: an int or a list of ints (normalized over all of them).

    With a mask (True = keep), masked positions get a large negative number
    before the softmax and are zeroed after it, so a fully masked row gives 0.
    A mask of lower rank than the inputs (a sequence mask) is broadcast over
    the trailing axes.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = check.int_list(self, "axis", axis)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        x = inputs
        if mask is not None:
            # A sequence mask (one dimension less, from Embedding) covers whole steps.
            mask = mask.reshape(mask.shape + (1,) * (x.ndim - mask.ndim))
            x = x + (1.0 - mask.astype(x.dtype)) * _large_negative(x.dtype)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        outputs = mx.softmax(x, axis=axes)
        if mask is not None:
            outputs = outputs * mask.astype(outputs.dtype)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(axis=self.axis)
        return config
