"""``clone_model``: the same architecture with new, freshly initialized weights."""

from ..engine.functional import Functional
from ..engine.input_layer import Input
from ..engine.sequential import Sequential
from ..engine.serialization import deserialize_layer, serialize_layer
from .. import tree


def _from_config(layer):
    return deserialize_layer(serialize_layer(layer))


def clone_model(model, input_tensors=None, clone_function=None):
    """Returns a new model with the same graph and new weights (as Keras).

    Args:
        model: a Functional or Sequential model.
        input_tensors: optional symbolic tensors to build the clone on.
        clone_function: ``f(layer) -> new layer``; defaults to rebuilding each
            layer from its config (new weights, same names).
    """
    if not isinstance(model, (Functional, Sequential)):
        raise ValueError(
            "clone_model() takes a Functional or Sequential model; a subclassed model "
            f"({type(model).__name__}) is Python code and cannot be cloned from its graph."
        )
    clone_function = clone_function or _from_config
    if isinstance(model, Sequential):
        clone = Sequential(name=model.name)
        if model._input_layer is not None and input_tensors is None:
            clone.add(_from_config(model._input_layer))
        for layer in model.layers:
            clone.add(clone_function(layer))
        if input_tensors is not None:
            clone(input_tensors)
        return clone
    if input_tensors is None:
        new_inputs = [Input(batch_shape=t.shape, dtype=t.dtype, name=t._keras_history[0].name)
                      for t in model._inputs]
    else:
        new_inputs = tree.flatten(input_tensors)
    values = {id(old): new for old, new in zip(model._inputs, new_inputs)}
    clones = {}
    for node in model._plan:  # (in dependency order: a loop, whatever the depth)
        if id(node.layer) not in clones:
            clones[id(node.layer)] = clone_function(node.layer)
        args, kwargs = node.fill(values)
        outputs = clones[id(node.layer)](*args, **kwargs)
        for t, v in zip(node.output_tensors, tree.flatten(outputs)):
            values[id(t)] = v
    inputs = tree.pack_sequence_as(model._inputs_struct, new_inputs)
    outputs = tree.map_structure(lambda t: values[id(t)], model._outputs_struct)
    return Functional(inputs, outputs, name=model.name)
