"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, UpSampling1D-3D,
ZeroPadding1D-3D and Cropping1D-3D (channels-last).

None of them carries a mask through (as in Keras 3): a mask of the input's steps
does not describe the reshaped output.
"""

import math

import mlx.core as mx

from ..engine import argument_validation as check
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from ..engine.trace import in_trace
from .. import registry
from ..compute.pooling import _along, standardize_data_format


@registry.builtin
class Flatten(Layer):
    """Flattens every axis but the batch: ``(batch, d1, ..., dn) -> (batch, d1*...*dn)``.

    Args:
        data_format: ``"channels_last"`` (or ``None``): the flattening order is that
            of the channels-last layout (a ``(batch,)`` input becomes ``(batch, 1)``).
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, type(self))
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        return mx.reshape(inputs, (inputs.shape[0], -1))

    def get_config(self):
        config = super().get_config()
        config.update(data_format=self.data_format)
        return config


def _target_shape(layer, target_shape):
    """Reshape's ``target_shape``: positive ints and at most one -1, as a tuple."""
    dims = check.as_tuple(target_shape)
    if (dims is None or not all(check.is_integer(d) and (d > 0 or d == -1) for d in dims)
            or dims.count(-1) > 1):
        raise ValueError(f"{type(layer).__name__}: target_shape must be a tuple of positive "
                         f"integers with at most one -1; received target_shape={target_shape!r}")
    return tuple(int(d) for d in dims)


@registry.builtin
class Reshape(Layer):
    """Reshapes every sample to ``target_shape``: output ``(batch, *target_shape)``.

    Args:
        target_shape: tuple of ints, batch excluded; at most one ``-1``, inferred from
            the input's size (unknown when the input has unknown dimensions).
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = _target_shape(self, target_shape)

    def _resolve(self, input_shape):
        """The output shape for an input shape (batch included); ValueError on mismatch."""
        sample = tuple(input_shape)[1:]
        target = list(self.target_shape)
        if any(d is None for d in sample):
            return (input_shape[0], *[None if d == -1 else d for d in target])
        size, known = math.prod(sample), math.prod(d for d in target if d != -1)
        if (-1 in target and size % known) or (-1 not in target and size != known):
            raise ValueError(
                f'Layer "{self.name}" (Reshape): the input\'s size per sample ({size}) does not '
                f"fit target_shape. Received: input_shape={tuple(input_shape)}, "
                f"target_shape={self.target_shape}")
        if -1 in target:
            target[target.index(-1)] = size // known
        return (input_shape[0], *target)

    def build(self, input_shape):
        self._resolve(input_shape)
        self._unknown_input = any(d is None for d in tuple(input_shape)[1:])
        self.built = True

    def call(self, inputs):
        try:
            shape = self._resolve(inputs.shape)
        except ValueError:
            # Shape inference fills unknown dimensions with stand-in sizes that
            # target_shape need not divide: answer with the right rank, the -1
            # tracking the stand-in size (so it comes out unknown).
            if not (in_trace() and getattr(self, "_unknown_input", False)):
                raise
            size = math.prod(inputs.shape[1:])
            return mx.zeros((inputs.shape[0], *[size if d == -1 else d
                                                for d in self.target_shape]), inputs.dtype)
        return mx.reshape(inputs, shape)

    def get_config(self):
        config = super().get_config()
        config.update(target_shape=self.target_shape)
        return config


@registry.builtin
class Permute(Layer):
    """Permutes the non-batch axes: output axis ``i`` is input axis ``dims[i-1]``.

    Args:
        dims: a permutation of ``1..rank-1`` (1-based, the batch axis excluded),
            e.g. ``(2, 1)`` swaps the two axes of a ``(batch, steps, features)`` input.
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        values = check.as_tuple(dims)
        if (values is None or not all(check.is_integer(d) for d in values)
                or sorted(values) != list(range(1, len(values) + 1))):
            raise ValueError(f"{type(self).__name__}: dims must be a permutation of 1..n (the "
                             f"batch axis is not included); received dims={dims!r}")
        self.dims = tuple(int(d) for d in values)
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs):
        return mx.transpose(inputs, (0, *self.dims))

    def get_config(self):
        config = super().get_config()
        config.update(dims=self.dims)
        return config


@registry.builtin
class RepeatVector(Layer):
    """Repeats a ``(batch, features)`` input ``n`` times: ``(batch, n, features)``.

    Args:
        n: the number of repetitions.
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = check.positive_int(self, "n", n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        batch, features = inputs.shape
        return mx.broadcast_to(inputs[:, None, :], (batch, self.n, features))

    def get_config(self):
        config = super().get_config()
        config.update(n=self.n)
        return config


def _repeat(x, axis, size):
    """Each cell along ``axis`` repeated ``size`` times (nearest-neighbour upsampling)."""
    if size == 1:
        return x
    shape = x.shape
    copies = mx.broadcast_to(mx.expand_dims(x, axis + 1),
                             shape[:axis + 1] + (size,) + shape[axis + 1:])
    return copies.reshape(shape[:axis] + (shape[axis] * size,) + shape[axis + 1:])


def _bilinear(x, axis, size):
    """Linear upsampling by ``size`` along ``axis`` with half-pixel centers.

    Output ``i`` samples the input at ``c = (i + 0.5) / size - 0.5``, clamped to the
    edges (TensorFlow's ``resize(..., "bilinear")``, antialias off). With
    ``i = q * size + r``, ``c = q + d_r`` where ``|d_r| < 1/2``: a blend of cell
    ``q`` with its next (``d_r > 0``) or previous (``d_r < 0``) neighbour.
    """
    if size == 1:
        return x
    n = x.shape[axis]
    edge = mx.concatenate([x[_along(axis, slice(0, 1))], x, x[_along(axis, slice(n - 1, n))]],
                          axis=axis)
    prev, nxt = edge[_along(axis, slice(0, n))], edge[_along(axis, slice(2, n + 2))]
    phases = []
    for r in range(size):
        d = (r + 0.5) / size - 0.5
        phases.append(x + abs(d) * ((nxt if d > 0 else prev) - x))
    out = mx.stack(phases, axis=axis + 1)
    return out.reshape(x.shape[:axis] + (n * size,) + x.shape[axis + 1:])


class _UpSampling(Layer):
    def __init__(self, rank, size, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self._factors = check.int_tuple(self, "size", size, rank)
        self.size = self._factors[0] if rank == 1 else self._factors  # Keras' attribute
        self.data_format = standardize_data_format(data_format, type(self))
        self.interpolation = interpolation.lower()
        if self.interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"{type(self).__name__}: interpolation must be 'nearest' or "
                             f"'bilinear'. Received: interpolation={interpolation!r}")
        self.input_spec = InputSpec(ndim=rank + 2)

    def call(self, inputs):
        resize = _repeat if self.interpolation == "nearest" else _bilinear
        for axis, size in enumerate(self._factors, start=1):
            inputs = resize(inputs, axis, size)
        return inputs

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size)
        if len(self._factors) > 1:
            config.update(data_format=self.data_format)
        return config


@registry.builtin
class UpSampling1D(_UpSampling):
    """Repeats each step ``size`` times: ``(batch, steps, f) -> (batch, steps*size, f)``.

    Args:
        size: the upsampling factor (default 2).
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(1, size, **kwargs)


@registry.builtin
class UpSampling2D(_UpSampling):
    """Upsamples rows and columns by ``size``: ``(b, h, w, c) -> (b, h*s0, w*s1, c)``.

    Args:
        size: int or tuple of 2 ints (default ``(2, 2)``).
        data_format: ``"channels_last"`` (or ``None``).
        interpolation: ``"nearest"`` (repeat cells) or ``"bilinear"`` (half-pixel
            centers, edges clamped: Keras' ``image.resize`` with antialias off).
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(2, size, data_format, interpolation, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(interpolation=self.interpolation)
        return config


@registry.builtin
class UpSampling3D(_UpSampling):
    """Repeats cells along the 3 spatial axes: ``(b, d1, d2, d3, c) -> (b, d1*s0, ..., c)``.

    Args:
        size: int or tuple of 3 ints (default ``(2, 2, 2)``).
        data_format: ``"channels_last"`` (or ``None``).
    """

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(3, size, data_format, **kwargs)


def _pairs(layer, value, rank, name):
    """Keras' padding/cropping forms as ``rank`` ``(before, after)`` pairs of ints >= 0.

    An int (same everywhere), ``rank`` ints (symmetric per axis) or ``rank`` pairs;
    for rank 1 an int or one ``(before, after)`` pair.
    """
    try:
        if rank == 1:
            return (check.int_tuple(layer, name, value, 2, allow_zero=True),)
        if check.is_integer(value):
            return (check.int_tuple(layer, name, value, 2, allow_zero=True),) * rank
        if isinstance(value, (str, bytes)) or len(value) != rank:
            raise TypeError
        return tuple(check.int_tuple(layer, name, v, 2, allow_zero=True) for v in value)
    except (TypeError, ValueError):
        forms = ("a non-negative integer or a tuple of 2 (before, after)" if rank == 1 else
                 f"a non-negative integer, a tuple of {rank} of them or a tuple of {rank} "
                 "(before, after) pairs")
        raise ValueError(f"{type(layer).__name__}: {name} must be {forms}; received "
                         f"{name}={value!r}") from None


class _ZeroPadding(Layer):
    def __init__(self, rank, padding, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._pads = _pairs(self, padding, rank, "padding")
        self.padding = self._pads[0] if rank == 1 else self._pads  # Keras' attribute
        self.data_format = standardize_data_format(data_format, type(self))
        self.input_spec = InputSpec(ndim=rank + 2)

    def call(self, inputs):
        return mx.pad(inputs, [(0, 0), *self._pads, (0, 0)])

    def get_config(self):
        config = super().get_config()
        config.update(padding=self.padding)
        if len(self._pads) > 1:
            config.update(data_format=self.data_format)
        return config


@registry.builtin
class ZeroPadding1D(_ZeroPadding):
    """Adds zeros before and after the steps axis of ``(batch, steps, features)``.

    Args:
        padding: int (both sides) or ``(before, after)`` (default 1).
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(1, padding, **kwargs)


@registry.builtin
class ZeroPadding2D(_ZeroPadding):
    """Adds rows and columns of zeros around ``(batch, rows, cols, channels)``.

    Args:
        padding: int, ``(sym_rows, sym_cols)`` or ``((top, bottom), (left, right))``
            (default ``(1, 1)``).
        data_format: ``"channels_last"`` (or ``None``).
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(2, padding, data_format, **kwargs)


@registry.builtin
class ZeroPadding3D(_ZeroPadding):
    """Adds zeros around the 3 spatial axes of ``(batch, d1, d2, d3, channels)``.

    Args:
        padding: int, 3 ints (symmetric per axis) or 3 ``(before, after)`` pairs
            (default ``((1, 1), (1, 1), (1, 1))``).
        data_format: ``"channels_last"`` (or ``None``).
    """

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(3, padding, data_format, **kwargs)


class _Cropping(Layer):
    def __init__(self, rank, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._crops = _pairs(self, cropping, rank, "cropping")
        self.cropping = self._crops[0] if rank == 1 else self._crops  # Keras' attribute
        self.data_format = standardize_data_format(data_format, type(self))
        self.input_spec = InputSpec(ndim=rank + 2)

    def _check(self, shape):
        spatial = tuple(shape)[1:-1]
        if any(n is not None and lo + hi >= n for n, (lo, hi) in zip(spatial, self._crops)):
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}): cropping must leave at least '
                f"one cell on each axis. Received: input_shape={tuple(shape)}, "
                f"cropping={self.cropping}")

    def build(self, input_shape):
        self._check(input_shape)
        self.built = True

    def call(self, inputs):
        self._check(inputs.shape)
        spatial = inputs.shape[1:-1]
        index = tuple(slice(lo, n - hi) for n, (lo, hi) in zip(spatial, self._crops))
        return inputs[(slice(None), *index)]

    def get_config(self):
        config = super().get_config()
        config.update(cropping=self.cropping)
        if len(self._crops) > 1:
            config.update(data_format=self.data_format)
        return config


@registry.builtin
class Cropping1D(_Cropping):
    """Removes steps at the start and end of ``(batch, steps, features)``.

    Args:
        cropping: int (both ends) or ``(start, end)`` (default ``(1, 1)``).
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(1, cropping, **kwargs)


@registry.builtin
class Cropping2D(_Cropping):
    """Crops rows and columns of ``(batch, rows, cols, channels)``.

    Args:
        cropping: int, ``(sym_rows, sym_cols)`` or ``((top, bottom), (left, right))``
            (default ``((0, 0), (0, 0))``).
        data_format: ``"channels_last"`` (or ``None``).
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(2, cropping, data_format, **kwargs)


@registry.builtin
class Cropping3D(_Cropping):
    """Crops the 3 spatial axes of ``(batch, d1, d2, d3, channels)``.

    Args:
        cropping: int, 3 ints (symmetric per axis) or 3 ``(start, end)`` pairs
            (default ``((1, 1), (1, 1), (1, 1))``).
        data_format: ``"channels_last"`` (or ``None``).
    """

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(3, cropping, data_format, **kwargs)
