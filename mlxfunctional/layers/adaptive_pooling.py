"""Adaptive pooling layers: AdaptiveAverage/AdaptiveMaxPooling1D-3D.

They pool every spatial axis of size ``n`` to a fixed ``output_size`` cells,
whatever ``n`` is. Cell ``i`` covers ``[floor(i * n / out), ceil((i + 1) * n / out))``
(Keras 3.15's windows, also PyTorch's): when ``out`` does not divide ``n`` the
windows have two sizes, ``ceil(n / out)`` and one more, and neighbours overlap.
The same helper serves ``keras.ops.adaptive_average_pool``/``adaptive_max_pool``.
"""

import mlx.core as mx

from ..engine import argument_validation as check
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from .. import registry
from ..compute.pooling import adaptive_pool


class _AdaptivePooling(Layer):
    """Arguments and the channels-first transposes shared by the six layers."""

    rank = None
    mode = None

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.output_size = check.int_tuple(self, "output_size", output_size, self.rank)
        if data_format is None:
            data_format = "channels_last"  # Keras' image_data_format() default
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{type(self).__name__}: data_format must be 'channels_last' or "
                             f"'channels_first'. Received: data_format={data_format!r}")
        self.data_format = data_format
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        # MLX is channels-last: channels-first inputs are moved there and back.
        first = self.data_format == "channels_first"
        x = mx.moveaxis(inputs, 1, -1) if first else inputs
        if any(n == 0 for n in x.shape[1:-1]):
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}): every spatial '
                             f"size must be positive. Received input shape "
                             f"{tuple(inputs.shape)}.")
        y = adaptive_pool(x, self.output_size, self.mode)
        return mx.moveaxis(y, -1, 1) if first else y

    def get_config(self):
        config = super().get_config()
        config.update(output_size=self.output_size, data_format=self.data_format)
        return config


_DOC = """{kind} pooling of a {rank}D input to a fixed spatial size.

    Args:
        output_size: the output's spatial size, an int or a tuple of {rank} ints.
        data_format: ``"channels_last"`` (default; input ``(batch, {dims}, channels)``)
            or ``"channels_first"`` (``(batch, channels, {dims})``).

    Cell ``i`` of an axis of size ``n`` is the {what} of input cells
    ``floor(i * n / out)`` to ``ceil((i + 1) * n / out) - 1``.
    """


def _doc(kind, rank, what):
    dims = {1: "steps", 2: "height, width", 3: "dim1, dim2, dim3"}[rank]
    return _DOC.format(kind=kind, rank=rank, dims=dims, what=what)


@registry.builtin
class AdaptiveAveragePooling1D(_AdaptivePooling):
    __doc__ = _doc("Average", 1, "mean")
    rank, mode = 1, "average"


@registry.builtin
class AdaptiveAveragePooling2D(_AdaptivePooling):
    __doc__ = _doc("Average", 2, "mean")
    rank, mode = 2, "average"


@registry.builtin
class AdaptiveAveragePooling3D(_AdaptivePooling):
    __doc__ = _doc("Average", 3, "mean")
    rank, mode = 3, "average"


@registry.builtin
class AdaptiveMaxPooling1D(_AdaptivePooling):
    __doc__ = _doc("Max", 1, "maximum")
    rank, mode = 1, "max"


@registry.builtin
class AdaptiveMaxPooling2D(_AdaptivePooling):
    __doc__ = _doc("Max", 2, "maximum")
    rank, mode = 2, "max"


@registry.builtin
class AdaptiveMaxPooling3D(_AdaptivePooling):
    __doc__ = _doc("Max", 3, "maximum")
    rank, mode = 3, "max"
