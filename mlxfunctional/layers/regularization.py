"""Regularization layers: Dropout, SpatialDropout1D/2D/3D, GaussianNoise,
GaussianDropout, ActivityRegularization.

The random layers act only when called with ``training`` truthy and are the
identity otherwise. With ``seed=None`` they draw from MLX's global random
state (``mx.random.seed`` makes runs repeatable); with an int ``seed`` each
layer follows its own reproducible stream of keys.
"""

import math

import mlx.core as mx

from .. import regularizers
from ..engine import argument_validation as check
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from .. import registry
from .common import add_activity_loss


class _RandomLayer(Layer):
    """Holds the key stream of a seeded random layer."""

    def _init_seed(self, seed):
        self.seed = check.seed(self, seed)
        if seed is not None:
            # A leading underscore keeps the key out of parameters() (never
            # trained nor saved as a weight) but inside the module state, so a
            # compiled step that captures `model.state` advances it.
            self._seed_state = mx.random.key(self.seed)

    def _next_key(self):
        if self.seed is None:
            return None
        self._seed_state, key = mx.random.split(self._seed_state)
        return key


@registry.builtin
class Dropout(_RandomLayer):
    """Sets a fraction ``rate`` of the inputs to 0 in training and scales the rest
    by ``1 / (1 - rate)`` so that the expected sum is unchanged.

    Args:
        rate: fraction of the inputs to drop, in [0, 1).
        noise_shape: shape of the keep mask, broadcast over the inputs; ``None``
            entries take the input's size (``(None, 1, None)`` drops whole time steps).
        seed: int for a reproducible stream of masks, or None.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check.rate(self, "rate", rate)
        self.noise_shape = None if noise_shape is None else _noise_shape(self, noise_shape)
        self._init_seed(seed)
        self.supports_masking = True

    def _mask_shape(self, inputs):
        if self.noise_shape is None:
            return inputs.shape
        if len(self.noise_shape) != inputs.ndim:
            raise ValueError(f'Layer "{self.name}": noise_shape {self.noise_shape} must have one '
                             f"entry per input dimension; received inputs of shape {inputs.shape}.")
        return [d if n is None else n for n, d in zip(self.noise_shape, inputs.shape)]

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        keep = mx.random.bernoulli(1.0 - self.rate, self._mask_shape(inputs), key=self._next_key())
        return mx.where(keep, inputs / (1.0 - self.rate), 0)

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, noise_shape=None if self.noise_shape is None
                      else list(self.noise_shape), seed=self.seed)
        return config


def _noise_shape(layer, noise_shape):
    """Dropout's ``noise_shape``: positive ints, or None for the input's size."""
    dims = check.as_tuple(noise_shape)
    if dims is None or not all(d is None or (check.is_integer(d) and d > 0) for d in dims):
        raise ValueError(f"{type(layer).__name__}: noise_shape must be a tuple of positive "
                         f"integers or None; received noise_shape={noise_shape!r}")
    return tuple(None if d is None else int(d) for d in dims)


def _channels_last(data_format):
    if data_format is None or data_format == "channels_last":
        return "channels_last"
    if data_format == "channels_first":
        raise ValueError("data_format='channels_first' is not supported: MLX is channels-last. "
                         "Transpose inputs to (batch, ..., channels).")
    raise ValueError("The `data_format` argument must be one of 'channels_last', "
                     f"'channels_first'. Received: data_format={data_format}")


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: one keep decision per (sample, channel)."""

    rank = None

    def __init__(self, rate, seed=None, data_format=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = _channels_last(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _mask_shape(self, inputs):
        return (inputs.shape[0],) + (1,) * self.rank + (inputs.shape[-1],)

    def get_config(self):
        config = super().get_config()
        del config["noise_shape"]
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


@registry.builtin
class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of ``(batch, steps, channels)`` inputs.

    Args:
        rate: fraction of the channels to drop, in [0, 1).
        seed: int for a reproducible stream of masks, or None.
    """

    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)


@registry.builtin
class SpatialDropout2D(_SpatialDropout):
    """Drops whole channels of ``(batch, rows, cols, channels)`` inputs.

    Args:
        rate: fraction of the channels to drop, in [0, 1).
        data_format: ``"channels_last"`` (or None); channels_first is refused.
        seed: int for a reproducible stream of masks, or None.
    """

    rank = 2


@registry.builtin
class SpatialDropout3D(_SpatialDropout):
    """Drops whole channels of ``(batch, dim1, dim2, dim3, channels)`` inputs.

    Args:
        rate: fraction of the channels to drop, in [0, 1).
        data_format: ``"channels_last"`` (or None); channels_first is refused.
        seed: int for a reproducible stream of masks, or None.
    """

    rank = 3


@registry.builtin
class GaussianNoise(_RandomLayer):
    """Adds ``N(0, stddev^2)`` noise in training: ``inputs + stddev * N(0, 1)``.

    Args:
        stddev: standard deviation of the noise, in [0, 1] (as Keras).
        seed: int for a reproducible stream of noise, or None.
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = check.rate(self, "stddev", stddev, include_one=True)
        self._init_seed(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not training or self.stddev == 0:
            return inputs
        noise = mx.random.normal(inputs.shape, dtype=inputs.dtype, key=self._next_key())
        return inputs + self.stddev * noise

    def get_config(self):
        config = super().get_config()
        config.update(stddev=self.stddev, seed=self.seed)
        return config


@registry.builtin
class GaussianDropout(_RandomLayer):
    """Multiplies the inputs by ``N(1, rate / (1 - rate))`` noise in training.

    Args:
        rate: drop probability of the equivalent Dropout, in [0, 1).
        seed: int for a reproducible stream of noise, or None.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check.rate(self, "rate", rate)
        self._init_seed(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = mx.random.normal(inputs.shape, dtype=inputs.dtype, key=self._next_key())
        return inputs * (1.0 + stddev * noise)

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed)
        return config


@registry.builtin
class ActivityRegularization(Layer):
    """Returns its inputs and adds ``l1 * sum(|x|) + l2 * sum(x^2)`` to ``losses``.

    Args:
        l1: L1 factor (>= 0; None counts as 0).
        l2: L2 factor (>= 0; None counts as 0).
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        # None counts as 0, as in Keras' L1L2.
        self.l1 = check.non_negative_float(self, "l1", 0.0 if l1 is None else l1)
        self.l2 = check.non_negative_float(self, "l2", 0.0 if l2 is None else l2)
        self.activity_regularizer = regularizers.L1L2(l1=self.l1, l2=self.l2)
        self.supports_masking = True

    def call(self, inputs):
        return add_activity_loss(self, inputs)

    def get_config(self):
        config = super().get_config()
        config.update(l1=self.l1, l2=self.l2)
        return config
