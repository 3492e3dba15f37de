"""The config of a Functional model: its layers and the calls that wire them.

Each layer entry lists its calls *inside this model* (``inbound_nodes``), with
every symbolic argument written as ``{"__tensor__": [layer, node, index]}``.
Node indices count only this model's nodes, so a layer that was also used
elsewhere still rebuilds the same graph.
"""

import heapq

from .. import tree
from .input_layer import InputLayer
from .keras_tensor import KerasTensor
from .serialization import deserialize_layer, serialize_layer


def functional_config(model):
    """Plain-data description of ``model``'s graph (no code, no arrays)."""
    local = {}  # id(node) -> index among the model's nodes of its layer
    for layer in model.layers:
        mine = [n for n in layer._inbound_nodes if id(n) in model._node_ids]
        for i, node in enumerate(mine):
            local[id(node)] = i

    def ref(t):
        layer, node_index, tensor_index = t._keras_history
        node = layer._inbound_nodes[node_index]
        if id(node) not in local:
            raise ValueError(
                f'Cannot serialize model "{model.name}": tensor {t.name} comes from outside '
                "the model (its inputs must be Input() tensors to be saved)."
            )
        return [layer.name, local[id(node)], tensor_index]

    def encode(value, layer):
        if isinstance(value, KerasTensor):
            return {"__tensor__": ref(value)}
        if isinstance(value, (list, tuple)):
            return [encode(v, layer) for v in value]
        if isinstance(value, dict):
            return {k: encode(v, layer) for k, v in value.items()}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise ValueError(
            f'Cannot serialize the call of layer "{layer.name}": argument {value!r} '
            f"({type(value).__name__}) is not plain data."
        )

    layers = []
    for layer in model.layers:
        entry = serialize_layer(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {"args": encode(list(n.call_args), layer), "kwargs": encode(n.call_kwargs, layer)}
            for n in layer._inbound_nodes
            if id(n) in model._node_ids and not n.is_input
        ]
        layers.append(entry)
    for t in model._inputs:
        if not isinstance(t._keras_history[0], InputLayer):
            ref(t)  # raises for intermediate inputs
    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layers,
        "input_layers": tree.map_structure(ref, model._inputs_struct),
        "output_layers": tree.map_structure(ref, model._outputs_struct),
    }


def functional_from_config(cls, config, custom_objects=None):
    """Rebuilds the graph of ``functional_config`` with new layers.

    Linear (up to a heap's log factor) in the number of layers and calls,
    whatever order the config lists them in: each call waits on a count of the
    calls it needs (the producers of its tensors, and the previous call of the
    same layer, so a layer's calls keep their indices) and runs when the count
    reaches zero.
    """
    created = {}
    tensors = {}
    calls = []  # (layer name, node index, node config)
    for entry in config["layers"]:
        layer = deserialize_layer(entry, custom_objects)  # (named as entry["name"])
        created[entry["name"]] = layer
        if not entry.get("inbound_nodes"):
            if layer._inbound_nodes:  # an InputLayer
                tensors[(entry["name"], 0, 0)] = layer._inbound_nodes[0].output_tensors[0]
        for i, node in enumerate(entry.get("inbound_nodes", [])):
            calls.append((entry["name"], i, node))

    def decode(value):
        if isinstance(value, dict) and "__tensor__" in value:
            key = tuple(value["__tensor__"])
            if key not in tensors:
                raise ValueError(f"The model config names an unknown tensor {list(key)}.")
            return tensors[key]
        if isinstance(value, list):
            return [decode(v) for v in value]
        if isinstance(value, dict):
            return {k: decode(v) for k, v in value.items()}
        return value

    waiting = [0] * len(calls)  # how many calls each call still waits for
    dependents = {}  # (layer name, node index) -> calls waiting for it
    produced = {key[:2] for key in tensors}
    for c, (name, index, node) in enumerate(calls):
        needs = set(_producers((node["args"], node["kwargs"]))) - produced
        if index > 0:
            needs.add((name, index - 1))
        waiting[c] = len(needs)
        for key in needs:
            dependents.setdefault(key, []).append(c)
    # The ready call listed first runs first: a config in dependency order (what
    # functional_config writes) runs in its own order, so layers are built, and
    # their weights drawn from the random generator, in the same order as before.
    ready = [c for c in range(len(calls)) if waiting[c] == 0]
    heapq.heapify(ready)
    done = 0
    while ready:
        c = heapq.heappop(ready)
        name, index, node = calls[c]
        args, kwargs = decode(node["args"]), decode(node["kwargs"])
        outputs = created[name](*args, **kwargs)
        for j, t in enumerate(tree.flatten(outputs)):
            tensors[(name, index, j)] = t
        done += 1
        for d in dependents.pop((name, index), ()):
            waiting[d] -= 1
            if waiting[d] == 0:
                heapq.heappush(ready, d)
    if done < len(calls):
        stuck = ", ".join(f'"{n}" node {i}' for c, (n, i, _) in enumerate(calls) if waiting[c])
        raise ValueError(f"Cannot rebuild the model: these calls wait for tensors that "
                         f"no layer produces: {stuck}.")

    def lookup(ref):
        key = tuple(ref)
        if key not in tensors:
            raise ValueError(f"The model config names an unknown tensor {list(ref)}.")
        return tensors[key]

    inputs = _decode_struct(config["input_layers"], lookup)
    outputs = _decode_struct(config["output_layers"], lookup)
    return cls(inputs=inputs, outputs=outputs, name=config.get("name"),
               trainable=config.get("trainable", True))


def _producers(value):
    """The ``(layer name, node index)`` of every tensor a call's arguments name."""
    pending, found = [value], []
    while pending:
        value = pending.pop()
        if isinstance(value, dict) and "__tensor__" in value:
            ref = value["__tensor__"]
            found.append((ref[0], ref[1]))
        elif isinstance(value, (list, tuple)):
            pending.extend(value)
        elif isinstance(value, dict):
            pending.extend(value.values())
    return found


def _is_ref(value):
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and isinstance(value[1], int) and isinstance(value[2], int))


def _decode_struct(struct, lookup):
    if _is_ref(struct):
        return lookup(struct)
    if isinstance(struct, dict):
        return {k: _decode_struct(v, lookup) for k, v in struct.items()}
    return [_decode_struct(v, lookup) for v in struct]
