"""InputLayer and ``Input()``: where a layer graph starts."""

from .. import backend
from .. import registry
from . import argument_validation
from .keras_tensor import KerasTensor
from .layer import Layer
from .node import Node


@registry.builtin
class InputLayer(Layer):
    """The layer behind ``Input()``: holds the graph's entry tensor.

    Args:
        shape: shape without the batch dimension: non-negative ints, ``None`` for
            unknown sizes.
        batch_size: a fixed batch size (a non-negative int), if any.
        dtype: the input's dtype (``"float32"``; ``"int32"`` for token ids).
        batch_shape: full shape, batch included (instead of shape/batch_size).
        name: by default ``input_layer``, ``input_layer_1``...
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None,
                 name=None, sparse=None, input_tensor=None, **kwargs):
        if "batch_input_shape" in kwargs:  # Keras 2 configs
            batch_shape = kwargs.pop("batch_input_shape")
        kwargs.pop("trainable", None)
        super().__init__(name=name or backend.unique_name("input_layer"), dtype=dtype, **kwargs)
        if sparse:
            raise ValueError("Sparse inputs are not supported by mlxfunctional.")
        if batch_shape is None:
            if shape is None:
                raise ValueError("Input needs `shape` or `batch_shape`, e.g. Input(shape=(784,)).")
            shape = argument_validation.shape("Input", "shape", shape, allow_scalar=True)
            if batch_size is not None:
                batch_size = argument_validation.non_negative_int("Input", "batch_size",
                                                                  batch_size)
            batch_shape = (batch_size,) + shape
        elif shape is not None:
            raise ValueError("Pass either `shape` or `batch_shape` to Input, not both.")
        self.batch_shape = argument_validation.shape("Input", "batch_shape", batch_shape)
        self.built = True
        tensor = KerasTensor(self.batch_shape, self.dtype, name=self.name)
        Node(self, (), {}, tensor)

    def get_config(self):
        return {"name": self.name, "batch_shape": list(self.batch_shape), "dtype": self.dtype}


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None,
          sparse=None, tensor=None):
    """A symbolic tensor to start a graph: ``inputs = Input(shape=(784,))``.

    Args:
        shape: shape of one sample (no batch dimension); ``None`` for variable sizes.
        batch_size: optional fixed batch size.
        name: the input's name (used for dict inputs and in ``summary()``).
        dtype: ``"float32"`` by default.
        batch_shape: the full shape, batch dimension included.
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype,
                       batch_shape=batch_shape, name=name, sparse=sparse)
    return layer.output
