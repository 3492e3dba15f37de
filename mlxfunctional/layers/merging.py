"""Merging layers: Concatenate, Add, Subtract, Multiply, Average, Maximum,
Minimum, Dot, and their functional forms (``add([a, b])`` ...).

Each takes a list of tensors. Shapes are checked when the layer is built, and
a mismatch raises a ValueError naming the layer and every received shape.
"""

import mlx.core as mx

from ..engine import argument_validation as check
from ..engine.layer import Layer
from .. import registry


def _describe(shapes):
    return "[" + ", ".join(str(tuple(s)) for s in shapes) + "]"


class _Merge(Layer):
    """Elementwise merge of a list of tensors (Keras' ``Merge``).

    Shapes broadcast like Keras: the batch sizes must agree (``None`` matches
    anything), the other dimensions align from the right and a size 1 or
    ``None`` matches any size. Inputs of lower rank are expanded at axis 1.
    The output mask is the AND of the inputs' masks (inputs without a mask
    count as all-True).
    """

    min_inputs = 1
    max_inputs = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _incompatible(self, shapes, why):
        return ValueError(
            f'Layer "{self.name}" ({type(self).__name__}) {why}. '
            f"Received input shapes: {_describe(shapes)}"
        )

    def _check_list(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not all(isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}) should be called on a list of '
                f"inputs. Received: input_shape={input_shape}"
            )
        n = len(input_shape)
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            want = (f"exactly {self.min_inputs}" if self.min_inputs == self.max_inputs
                    else f"at least {self.min_inputs}")
            raise self._incompatible(input_shape, f"should be called on {want} inputs, "
                                                  f"not {n}")

    def build(self, input_shape):
        self._check_list(input_shape)
        batch = {s[0] for s in input_shape if len(s)} - {None}
        if len(batch) > 1:
            raise self._incompatible(input_shape, "cannot merge tensors with different batch sizes")
        out = []
        for shape in input_shape:
            out = self._broadcast(out, list(shape[1:]), input_shape)
        self.built = True

    def _broadcast(self, a, b, shapes):
        if len(a) < len(b):
            a, b = b, a
        out = list(a[:len(a) - len(b)])
        for i, j in zip(a[len(a) - len(b):], b):
            if i is None or j is None:
                out.append(None)
            elif i == j or j == 1:
                out.append(i)
            elif i == 1:
                out.append(j)
            else:
                raise self._incompatible(shapes, "received inputs with incompatible shapes")
        return out

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}) should be called on a '
                             f"list of inputs. Received a single input of shape {inputs.shape}")
        ndim = max(x.ndim for x in inputs)
        # Keras aligns lower-rank inputs by inserting axes after the batch axis.
        inputs = [x.reshape(x.shape[:1] + (1,) * (ndim - x.ndim) + x.shape[1:]) for x in inputs]
        return self._merge_function(inputs)

    def _merge_function(self, inputs):
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        masks = [m for m in mask if m is not None]
        if not masks:
            return None
        out = masks[0]
        for m in masks[1:]:
            out = mx.logical_and(out, m)
        return out


@registry.builtin
class Add(_Merge):
    """Elementwise sum of the inputs: ``inputs[0] + inputs[1] + ...``."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


@registry.builtin
class Subtract(_Merge):
    """Elementwise difference of exactly two inputs: ``inputs[0] - inputs[1]``."""

    min_inputs = max_inputs = 2

    def _merge_function(self, inputs):
        return inputs[0] - inputs[1]


@registry.builtin
class Multiply(_Merge):
    """Elementwise product of the inputs."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


@registry.builtin
class Average(_Merge):
    """Elementwise mean of the inputs: ``sum(inputs) / len(inputs)``."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / len(inputs)


@registry.builtin
class Maximum(_Merge):
    """Elementwise maximum of the inputs."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = mx.maximum(out, x)
        return out


@registry.builtin
class Minimum(_Merge):
    """Elementwise minimum of the inputs."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = mx.minimum(out, x)
        return out


@registry.builtin
class Concatenate(_Merge):
    """Concatenates the inputs along ``axis``; all other dimensions must match.

    Args:
        axis: the concatenation axis (``-1``).

    Masks: inputs without a mask count as all-True; each mask is expanded to its
    input's shape, the masks are concatenated along ``axis`` and reduced with
    ``any`` over the last axis (Keras 3).
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = check.integer(self, "axis", axis)

    def build(self, input_shape):
        self._check_list(input_shape)
        ranks = {len(s) for s in input_shape}
        if len(ranks) != 1:
            raise self._incompatible(input_shape, "requires inputs of the same rank")
        (rank,) = ranks
        if not -rank <= self.axis < rank:
            raise self._incompatible(input_shape, f"cannot concatenate along axis {self.axis}")
        axis = self.axis % rank
        for i in range(rank):
            sizes = {s[i] for s in input_shape} - {None}
            if i != axis and len(sizes) > 1:
                raise self._incompatible(
                    input_shape, "requires inputs with matching shapes except for the "
                                 f"concatenation axis {self.axis} (axis {i} differs)")
        self.built = True

    def call(self, inputs):
        return mx.concatenate(list(inputs), axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        if mask is None or all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            if m is None:
                m = mx.ones(x.shape, dtype=mx.bool_)
            elif m.ndim < x.ndim:
                m = mx.broadcast_to(mx.expand_dims(m, -1), x.shape)
            full.append(m)
        return mx.any(mx.concatenate(full, axis=self.axis), axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(axis=self.axis)
        return config


def _l2_normalize(x, axis, epsilon=1e-7):
    # Keras caps 1/||x|| at 1/epsilon, so a zero vector stays zero.
    inv = mx.minimum(mx.rsqrt(mx.sum(mx.square(x), axis=axis, keepdims=True)), 1.0 / epsilon)
    return x * inv


@registry.builtin
class Dot(_Merge):
    """Dot product of two batched tensors along one axis of each.

    Args:
        axes: int (the same axis of both) or a pair ``(axis_of_x, axis_of_y)``;
            axis 0 (the batch) is not allowed.
        normalize: L2-normalize both inputs along the dot axes first (the output
            is then the cosine similarity).

    The output is ``x``'s shape without its dot axis followed by ``y``'s shape
    without the batch and dot axes (``(batch, 1)`` when nothing is left).
    No output mask.
    """

    min_inputs = max_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if check.is_integer(axes):
            axes = int(axes)
        elif not isinstance(axes, (list, tuple)):
            raise TypeError(f"{type(self).__name__}: axes must be an integer or a list of two "
                            f"integers; received axes={axes!r}")
        elif len(axes) != 2 or not all(check.is_integer(a) for a in axes):
            raise ValueError(f"{type(self).__name__}: axes must be an integer or a list of two "
                             f"integers; received axes={axes!r}")
        else:
            axes = [int(a) for a in axes]
        self.axes = axes
        self.normalize = bool(normalize)

    def _axes_for(self, ndims):
        pair = [self.axes] * 2 if isinstance(self.axes, int) else self.axes
        return [a % n for a, n in zip(pair, ndims)]

    def build(self, input_shape):
        self._check_list(input_shape)
        s1, s2 = input_shape
        if len(s1) < 2 or len(s2) < 2:
            raise self._incompatible(input_shape, "needs inputs of rank 2 or more")
        a1, a2 = self._axes_for([len(s1), len(s2)])
        if 0 in (a1, a2):
            raise self._incompatible(input_shape, f"cannot take a dot product over the batch "
                                                  f"axis (axes={self.axes})")
        if s1[a1] is not None and s2[a2] is not None and s1[a1] != s2[a2]:
            raise self._incompatible(
                input_shape, f"received incompatible sizes on the dot axes: {s1[a1]} (axis "
                             f"{a1} of input 0) != {s2[a2]} (axis {a2} of input 1)")
        if s1[0] is not None and s2[0] is not None and s1[0] != s2[0]:
            raise self._incompatible(input_shape, "cannot merge tensors with different batch sizes")
        self.built = True

    def call(self, inputs):
        x, y = inputs
        a1, a2 = self._axes_for([x.ndim, y.ndim])
        if self.normalize:
            x, y = _l2_normalize(x, a1), _l2_normalize(y, a2)
        # x -> (batch, rest_x, n) and y -> (batch, n, rest_y): one batched matmul.
        x = mx.moveaxis(x, a1, -1)
        y = mx.moveaxis(y, a2, 1)
        rest_x, rest_y = x.shape[1:-1], y.shape[2:]
        n = x.shape[-1]
        out = x.reshape(x.shape[0], -1, n) @ y.reshape(y.shape[0], n, -1)
        shape = (out.shape[0],) + tuple(rest_x) + tuple(rest_y)
        return out.reshape(shape if len(shape) > 1 else (out.shape[0], 1))

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update(axes=self.axes, normalize=self.normalize)
        return config


def add(inputs, **kwargs):
    """Functional form of :class:`Add`: ``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of :class:`Subtract`: ``Subtract(**kwargs)(inputs)``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of :class:`Multiply`: ``Multiply(**kwargs)(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of :class:`Average`: ``Average(**kwargs)(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of :class:`Maximum`: ``Maximum(**kwargs)(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of :class:`Minimum`: ``Minimum(**kwargs)(inputs)``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of :class:`Concatenate`: ``Concatenate(axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """Functional form of :class:`Dot`: ``Dot(axes, **kwargs)(inputs)``."""
    return Dot(axes=axes, **kwargs)(inputs)
