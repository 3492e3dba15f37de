"""A node: one call of a layer on symbolic tensors.

A layer called N times has N nodes (that is what a shared layer is). The
node keeps the call's arguments in their nested structure, with the symbolic
tensors inside, and the output tensors it made.
"""

from .. import tree
from .keras_tensor import KerasTensor


class Node:
    """Records ``layer(*call_args, **call_kwargs) -> outputs`` on symbolic tensors."""

    def __init__(self, layer, call_args=(), call_kwargs=None, outputs=None):
        self.layer = layer
        self.call_args = tuple(call_args)
        self.call_kwargs = dict(call_kwargs or {})
        self.outputs = outputs
        self.input_tensors = [
            t for t in tree.flatten((self.call_args, self.call_kwargs)) if isinstance(t, KerasTensor)
        ]
        self.output_tensors = tree.flatten(outputs)
        self.index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for i, t in enumerate(self.output_tensors):
            t._keras_history = (layer, self.index, i)

    @property
    def is_input(self):
        return not self.input_tensors

    @property
    def parent_nodes(self):
        return [t.node for t in self.input_tensors if t._keras_history is not None]

    def first_input(self):
        """The first positional argument (what ``build`` sees and masks follow)."""
        if self.call_args:
            return self.call_args[0]
        return next(iter(self.call_kwargs.values()), None)

    def fill(self, values):
        """Arguments with each symbolic tensor replaced by ``values[id(tensor)]``."""

        def sub(x):
            return values[id(x)] if isinstance(x, KerasTensor) else x

        return tree.map_structure(sub, self.call_args), tree.map_structure(sub, self.call_kwargs)

    def __repr__(self):
        return f"<Node {self.layer.name}[{self.index}]>"
