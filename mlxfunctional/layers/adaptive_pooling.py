"""Adaptive pooling layers: AdaptiveAverage/AdaptiveMaxPooling1D-3D.

They pool every spatial axis of size ``n`` to a fixed ``output_size`` cells,
whatever ``n`` is. Cell ``i`` covers ``[floor(i * n / out), ceil((i + 1) * n / out))``
(Keras 3.15's windows, also PyTorch's): when ``out`` does not divide ``n`` the
windows have two sizes, ``ceil(n / out)`` and one more, and neighbours overlap.
The same helper serves ``keras.ops.adaptive_average_pool``/``adaptive_max_pool``.
"""

import mlx.core as mx
import numpy as np

from ..engine import argument_validation as check
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from .. import registry
from .pooling import pool_axis


def adaptive_windows(n, out):
    """``(starts, ends)`` of the ``out`` windows of an axis of size ``n`` (numpy ints)."""
    starts = (np.arange(out) * n) // out
    ends = -((-np.arange(1, out + 1) * n) // out)  # ceil without floats
    return starts, ends


def adaptive_pool_axis(x, axis, out, mode):
    """Max (``mode="max"``) or mean over the adaptive windows of one axis of ``x``."""
    n = x.shape[axis]
    starts, ends = adaptive_windows(n, out)
    sizes = ends - starts
    # Every window of one size is one row of a stride-1 pooling of that size, so
    # pool once per size (at most two), concatenate, and pick each cell's row with
    # an index known from the shapes alone (no host sync inside a compiled step).
    pooled, offset, picks = [], 0, np.zeros(out, np.int32)
    for size in sorted(set(sizes.tolist())):
        rows = n - size + 1
        p = pool_axis(x, axis, size, 1, rows, mode)
        pooled.append(p if mode == "max" else p / size)
        chosen = sizes == size
        picks[chosen] = starts[chosen] + offset
        offset += rows
    both = pooled[0] if len(pooled) == 1 else mx.concatenate(pooled, axis=axis)
    return mx.take(both, mx.array(picks), axis=axis)


def adaptive_pool(x, output_size, mode):
    """Adaptive pooling of every spatial axis (``1..rank``) of a channels-last array."""
    if mode != "max" and not mx.issubdtype(x.dtype, mx.floating):
        x = x.astype(mx.float32)  # a mean of integers is fractional
    for i, out in enumerate(output_size):
        x = adaptive_pool_axis(x, i + 1, out, mode)
    return x


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
