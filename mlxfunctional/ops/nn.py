"""``keras.ops.nn``: the neural-network ops, gathered from the files that define them.

- ``nn_activations.py``: activations and the softmax family;
- ``nn_conv.py``: convolutions, poolings, patches (``unfold``/``fold``), block moves;
- ``nn_normalization.py``: ``moments`` and the normalizations;
- ``nn_attention.py``: ``dot_product_attention``;
- ``nn_losses.py``: crossentropies, ``one_hot``/``multi_hot``, ``psnr``;
- ``nn_ctc.py``: ``ctc_loss``, ``ctc_decode``;
- ``polar`` here (Keras files this complex-number constructor under ``nn``).
"""

import mlx.core as mx

from .nn_activations import *  # noqa: F401,F403
from .nn_attention import *  # noqa: F401,F403
from .nn_conv import *  # noqa: F401,F403
from .nn_ctc import *  # noqa: F401,F403
from .nn_losses import *  # noqa: F401,F403
from .nn_normalization import *  # noqa: F401,F403
from . import nn_activations, nn_attention, nn_conv, nn_ctc, nn_losses, nn_normalization
from .. import backend
from .dtypes import convert_to_tensor
from .operation import keras_op


@keras_op
def polar(abs_, angle):
    """The complex number abs_ * (cos(angle) + i sin(angle)) (complex64)."""
    abs_, angle = convert_to_tensor(abs_), convert_to_tensor(angle)
    if not backend.is_float_dtype(abs_.dtype):
        abs_ = abs_.astype(mx.float32)
    if not backend.is_float_dtype(angle.dtype):
        angle = angle.astype(mx.float32)
    real, imag = abs_ * mx.cos(angle), abs_ * mx.sin(angle)
    return real.astype(mx.complex64) + 1j * imag.astype(mx.complex64)


__all__ = (nn_activations.__all__ + nn_attention.__all__ + nn_conv.__all__ + nn_ctc.__all__
           + nn_losses.__all__ + nn_normalization.__all__ + ["polar"])
