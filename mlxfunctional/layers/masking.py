"""Masking: marks the timesteps whose features all equal a padding value."""

import mlx.core as mx

from .. import registry
from ..engine import argument_validation as check
from ..engine.layer import Layer


@registry.builtin
class Masking(Layer):
    """Skips padded timesteps in the layers downstream that support masks.

    A timestep (an entry of every axis but the last) is masked out when all its
    features equal ``mask_value``. The output is the input with masked-out
    timesteps set to 0, and carries the mask ``any(inputs != mask_value, axis=-1)``.

    Args:
        mask_value: the padding value (a number, +-inf allowed), 0.0 by default.
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        # NaN equals nothing: it would mask no timestep, so it is refused.
        self.mask_value = check.real(self, "mask_value", mask_value, allow_inf=True)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return mx.any(inputs != self.mask_value, axis=-1)

    def call(self, inputs):
        keep = mx.any(inputs != self.mask_value, axis=-1, keepdims=True)
        return inputs * keep.astype(inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
