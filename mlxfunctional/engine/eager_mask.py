"""Masks carried by eager outputs: ``output._keras_mask``, as Keras attaches them.

A layer called on arrays (not in a functional graph) whose ``compute_mask``
gives a mask -- ``Embedding(mask_zero=True)``, ``Masking``, and every layer
that passes a mask through -- returns its output with the mask attached, and
the next layer called on that output receives it as its ``mask`` argument.
MLX arrays take no attributes, so the output is a :class:`MaskedArray`, an
``mx.array`` subclass sharing the output's data; any MLX op on it returns a
plain array (the mask does not follow arithmetic, as in Keras).

Functional models do not rely on this: their graphs carry masks node to node.
"""

import mlx.core as mx


class MaskedArray(mx.array):
    """An ``mx.array`` with the mask its layer computed, in ``_keras_mask``."""

    def __init__(self, value, mask):
        super().__init__(value)
        self._keras_mask = mask


def mask_of(x):
    """The mask attached to an eager output, or None."""
    return getattr(x, "_keras_mask", None)


def with_mask(outputs, mask):
    """``outputs`` with ``mask`` attached: an array and its mask, or a list/tuple of
    outputs and one mask (or None) for each. Any other pairing is returned as it is."""
    if isinstance(outputs, mx.array):
        return MaskedArray(outputs, mask) if isinstance(mask, mx.array) else outputs
    if isinstance(outputs, (list, tuple)) and isinstance(mask, (list, tuple)) \
            and len(mask) == len(outputs):
        return type(outputs)(with_mask(o, m) for o, m in zip(outputs, mask))
    return outputs
