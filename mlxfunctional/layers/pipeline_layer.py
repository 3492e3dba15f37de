"""PipelineLayer: the base of layers whose work runs on the host with numpy
(strings, hashing, vocabularies), before the data reaches the model.

Keras runs these layers through TensorFlow on every backend and refuses to
compile them (``supports_jit=False``): on JAX or PyTorch they belong in the
data pipeline. MLX arrays hold no strings, so here too they take numpy arrays
(or lists) and return arrays of numbers (``mx.array``), or numpy arrays of
strings for an inverted lookup. Put them before the model::

    ids = text_vectorization(raw_strings)          # numpy strings -> int ids
    model.fit(ids, labels)

Calling one on a symbolic tensor (inside a functional model) raises a
TypeError that says so. ``IntegerLookup``, ``Hashing`` and ``HashedCrossing``
are ordinary layers instead: on numpy data they take the same host path, and
on numbers (MLX arrays, symbolic tensors) they also run inside the model.
"""

import mlx.core as mx
import numpy as np

from .. import tree
from ..engine.keras_tensor import KerasTensor
from ..engine.layer import Layer


def as_numpy(values):
    """``values`` (numpy, MLX, lists, scalars) as a numpy array; bytes stay bytes."""
    if isinstance(values, mx.array):
        return np.array(values)
    return np.asarray(values)


class PipelineLayer(Layer):
    """A layer that runs eagerly on host data (see the module docstring)."""

    def __call__(self, *args, **kwargs):
        if any(isinstance(t, KerasTensor) for t in tree.flatten((args, kwargs))):
            raise TypeError(
                f'Layer "{self.name}" ({type(self).__name__}) works on numpy data on the host '
                "and cannot be part of a model graph (MLX arrays hold no strings, and the work "
                "is a table lookup outside the compiled step). Apply it to the data before "
                "the model: x = layer(raw_data), then model.fit(x, ...).")
        kwargs.pop("training", None)
        self.built = True
        return self.call(*args, **kwargs)
