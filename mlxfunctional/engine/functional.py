"""Functional: a model defined as a graph of layer calls.

The graph is walked once, at construction, into an execution plan (nodes in
dependency order). Running the model replays the plan on arrays, so inside
``mx.compile`` the Python graph walk happens only while tracing.
"""

from .. import registry
from .. import tree
from . import input_standardization
from .argument_masks import argument_masks, mask_arguments
from .functional_config import functional_config, functional_from_config
from .graph import map_graph
from .input_layer import InputLayer
from .input_standardization import StandardizedInputs
from .keras_tensor import KerasTensor
from .model import Model
from .plot import model_to_svg


@registry.builtin
class Functional(Model):
    """A model built from ``inputs`` and ``outputs`` tensors of a layer graph.

    Args:
        inputs: a symbolic tensor, a list of them, or a dict keyed by input name.
            Intermediate tensors are allowed (sub-model extraction).
        outputs: a symbolic tensor, a list or a dict of them.
        name: the model's name.
    """

    _convert_input_args = False  # its layers cast their own inputs (engine/autocast.py)

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs):
        for role, struct in (("inputs", inputs), ("outputs", outputs)):
            for t in tree.flatten(struct):
                if not isinstance(t, KerasTensor):
                    raise ValueError(
                        f"All `{role}` of a Functional model must be symbolic tensors "
                        f"(from Input() or layer calls). Received: {t!r}"
                    )
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._inputs = tree.flatten(inputs)
        self._outputs = tree.flatten(outputs)
        nodes, layers, depths = map_graph(self._inputs, self._outputs)
        self._nodes = nodes
        self._depths = depths
        self._graph_layers = layers
        input_ids = {id(t) for t in self._inputs}
        self._plan = [
            n for n in nodes
            if not n.is_input and not any(id(t) in input_ids for t in n.output_tensors)
        ]
        self._node_ids = {id(n) for n in nodes}
        self._uses_masks = any(
            t._mask_shape is not None for n in nodes for t in n.output_tensors
        )
        for layer in layers:
            if not isinstance(layer, InputLayer):
                self[layer.name] = layer
        self.built = True

    def _append_call(self, outputs):
        """Makes ``outputs`` the model's outputs, where they come from one call of
        one layer on exactly the current outputs (``Sequential.add``).

        Costs O(1) instead of a new walk of the graph: the new node is the only
        one of depth 0, so it goes last in every order and nothing else moves
        (the depths, all one deeper now, are recomputed if ever asked for).
        """
        flat = tree.flatten(outputs)
        node = flat[0].node if flat and isinstance(flat[0], KerasTensor) else None
        if node is None or [id(t) for t in node.input_tensors] != [id(t) for t in self._outputs]:
            raise ValueError(
                f'Model "{self.name}": _append_call() takes the outputs of one layer called '
                f"on the model's outputs; received {outputs!r}."
            )
        layer = node.layer
        known = layer.name in self or any(l.name == layer.name for l in self._input_layers())
        if known and dict.get(self, layer.name) is not layer:
            raise ValueError(
                f'The name "{layer.name}" is used 2 times in the model. All layer names '
                "should be unique. Pass name= to one of the layers."
            )
        if not known:
            self._graph_layers.append(layer)
            self[layer.name] = layer
        self._outputs_struct = outputs
        self._outputs = flat
        self._nodes.append(node)
        self._plan.append(node)
        self._node_ids.add(id(node))
        self._depths = None
        self._uses_masks = self._uses_masks or any(t._mask_shape is not None for t in flat)

    def _input_layers(self):
        return [t._keras_history[0] for t in self._inputs
                if isinstance(t._keras_history[0], InputLayer)]

    @property
    def _node_depths(self):
        """Each node's depth (longest distance to an output), keyed by ``id(node)``."""
        if self._depths is None:
            self._depths = map_graph(self._inputs, self._outputs)[2]
        return self._depths

    # -- structure ----------------------------------------------------------
    @property
    def layers(self):
        return list(self._graph_layers)

    def _sublayers(self):
        return [l for l in self._graph_layers if not isinstance(l, InputLayer)]

    @property
    def inputs(self):
        return list(self._inputs)

    @property
    def outputs(self):
        return list(self._outputs)

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_names(self):
        return [_tensor_name(t) for t in self._inputs]

    @property
    def output_names(self):
        if isinstance(self._outputs_struct, dict):
            return list(self._outputs_struct.keys())
        return [t._keras_history[0].name for t in self._outputs]

    @property
    def input_shape(self):
        return tree.map_structure(lambda t: t.shape, self._inputs_struct)

    @property
    def output_shape(self):
        return tree.map_structure(lambda t: t.shape, self._outputs_struct)

    def build(self, input_shape):
        self.built = True

    def _functional_graph(self):
        return self

    def _repr_svg_(self):
        """The model's graph as SVG for notebooks; None when Graphviz's `dot` is missing."""
        return model_to_svg(self)

    # -- running ------------------------------------------------------------
    def call(self, inputs, training=None, mask=None):
        if isinstance(inputs, StandardizedInputs):
            flat = inputs.arrays  # (from __call__: checked and converted there)
        else:
            flat = self._standardize_inputs(inputs)
        values = {id(t): v for t, v in zip(self._inputs, flat)}
        masks = {}
        if mask is not None:
            for t, m in zip(self._inputs, tree.flatten(mask)):
                masks[id(t)] = m
        for node in self._plan:
            args, kwargs = node.fill(values)
            in_mask = None
            if self._uses_masks or masks:
                first = node.first_input()
                in_mask = tree.map_structure(
                    lambda t: masks.get(id(t)) if isinstance(t, KerasTensor) else None, first)
                if all(m is None for m in tree.flatten(in_mask)):
                    in_mask = None
                if masks and mask_arguments(type(node.layer)):
                    kwargs = {**kwargs, **argument_masks(
                        node.layer, node.call_args, node.call_kwargs,
                        lambda t: masks.get(id(t)) if isinstance(t, KerasTensor) else None)}
            outputs, out_mask = node.layer._call_and_mask(
                args, kwargs, in_mask, compute_mask=self._uses_masks or in_mask is not None)
            flat_out = tree.flatten(outputs)
            flat_masks = _align(out_mask, len(flat_out))
            for t, v, m in zip(node.output_tensors, flat_out, flat_masks):
                values[id(t)] = v
                if m is not None:
                    masks[id(t)] = m
        return tree.pack_sequence_as(self._outputs_struct, [values[id(t)] for t in self._outputs])

    def compute_mask(self, inputs, mask=None):
        return None

    def __call__(self, *args, **kwargs):
        if args and not any(isinstance(t, KerasTensor) for t in tree.flatten(args[0])):
            # Arrays: match, convert and check them once, here. Our own `call`
            # takes them as they are; a subclass's `call` gets the model's structure.
            flat = self._standardize_inputs(args[0])
            inputs = StandardizedInputs(flat) if type(self).call is Functional.call \
                else tree.pack_sequence_as(self._inputs_struct, flat)
            args = (inputs,) + tuple(args[1:])
        return super().__call__(*args, **kwargs)

    def _standardize_inputs(self, inputs):
        """``inputs`` as flat ``mx.array``s in input order (``input_standardization``)."""
        return input_standardization.standardize_inputs(
            inputs, self._inputs, self.input_names, self.name, self._inputs_struct)

    # -- config -------------------------------------------------------------
    def get_config(self):
        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return functional_from_config(cls, config, custom_objects)


def _tensor_name(t):
    layer = t._keras_history[0] if t._keras_history else None
    if isinstance(layer, InputLayer):
        return layer.name
    return t.name


def _align(mask, n):
    if mask is None:
        return [None] * n
    flat = tree.flatten(mask)
    if len(flat) == n:
        return flat
    return (flat + [None] * n)[:n] if len(flat) < n else flat[:n]

