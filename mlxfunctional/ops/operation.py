"""How a ``keras.ops`` function works on arrays and on symbolic tensors.

Every op is a plain function on MLX arrays, decorated with :func:`keras_op`.
Called on arrays (MLX or numpy), it runs at once -- also inside a compiled
training step, where it is traced like any MLX code. Called with a symbolic
tensor (``KerasTensor``) anywhere in its arguments, it adds a node of an
``OpLayer`` to the layer graph instead, so ``ops.matmul(x, w)`` in a
functional model becomes part of the model.

An ``OpLayer`` is saved as the op's *name* (plus the call's plain-data
arguments, which the graph config records like any layer call): loading
looks the name up in :data:`OPS`, this package's table, so a model file can
only ever name one of our ops, never a function to import.
"""

import functools

import mlx.core as mx
import numpy as np

from .. import backend, registry, tree
from ..engine.keras_tensor import KerasTensor
from ..engine.layer import Layer

OPS = {}  # op name -> the function (the undecorated one, on arrays)


def keras_op(fn=None, *, name=None):
    """Registers ``fn`` as the op ``name`` (default: its ``__name__``) and makes it
    record a graph node when called on symbolic tensors."""
    if fn is None:
        return functools.partial(keras_op, name=name)
    op_name = name or fn.__name__.rstrip("_")
    OPS[op_name] = fn

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if any_symbolic((args, kwargs)):
            return OpLayer(op_name)(*_plain(args), **_plain(kwargs))
        return fn(*args, **kwargs)

    op.op_name = op_name
    return op


def any_symbolic(structure):
    return any(isinstance(t, KerasTensor) for t in tree.flatten(structure))


def _plain(structure):
    """Array constants beside symbolic tensors become nested lists: a graph config
    holds plain data only."""

    def convert(x):
        if isinstance(x, (np.ndarray, mx.array, np.generic)):
            return np.asarray(x).tolist()
        return x

    return tree.map_structure(convert, structure)


@registry.builtin
class OpLayer(Layer):
    """One call of a ``keras.ops`` function inside a layer graph.

    Args:
        op: the op's name in :data:`OPS` (e.g. ``"matmul"``).
    """

    def __init__(self, op, **kwargs):
        if op not in OPS:
            raise ValueError(f"Unknown op {op!r}: not one of mlxfunctional.ops' "
                             f"{len(OPS)} ops.")
        kwargs.setdefault("name", backend.unique_name(op))
        super().__init__(**kwargs)
        self.op = op

    @staticmethod
    def has_op(name):
        """Whether ``name`` is one of our ops (``saving`` asks through the registry)."""
        return name in OPS

    def call(self, *args, **kwargs):
        return OPS[self.op](*args, **kwargs)

    def get_config(self):
        return {**super().get_config(), "op": self.op}
