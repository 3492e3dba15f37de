"""AlphaDropout: dropout that keeps the mean and variance of SELU activations."""

import mlx.core as mx

from .. import registry
from .regularization import Dropout

# SELU's constants: selu(x) = scale * (x if x > 0 else alpha * (exp(x) - 1)).
_ALPHA = 1.6732632423543772848170429916717
_SCALE = 1.0507009873554804934193349852946


@registry.builtin
class AlphaDropout(Dropout):
    """In training, sets a fraction ``rate`` of the inputs to SELU's negative
    saturation value ``-alpha * scale`` and applies ``a * x + b`` so that inputs
    of zero mean and unit variance keep them; the identity otherwise.

    Args:
        rate: fraction of the inputs to drop, in [0, 1) (1 would divide by zero).
        noise_shape: shape of the keep mask, broadcast over the inputs; ``None``
            entries take the input's size.
        seed: int for a reproducible stream of masks, or None.

    With ``p = rate`` and ``q = -alpha * scale``:
    ``a = ((1 - p) * (1 + p * q^2)) ** -0.5`` and ``b = -a * q * p``.
    """

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        p, q = self.rate, -_ALPHA * _SCALE
        a = ((1 - p) * (1 + p * q ** 2)) ** -0.5
        b = -a * q * p
        keep = mx.random.bernoulli(1.0 - p, self._mask_shape(inputs), key=self._next_key())
        return a * mx.where(keep, inputs, q) + b
