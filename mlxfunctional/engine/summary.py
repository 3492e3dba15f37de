"""``model.summary()`` in the plain-text format tf.keras 2 prints.

A chain of single-input layers prints three columns (65 characters wide);
any other graph adds a ``Connected to`` column (98 wide). Parameter counts
and the ``Total params: 55,050`` footer are exactly Keras'. Lines carry no
trailing spaces. A Sequential whose input is not known yet lists its layers
with shape ``?`` and ``0 (unbuilt)`` parameters for unbuilt layers, as Keras 3.
"""

import numpy as np

from .input_layer import InputLayer

# Models are read through their own methods (``_functional_graph()``, ``_is_sequential``):
# Model.summary() calls this module, which so cannot import Model's subclasses.


def _is_sequential_like(model):
    graph = model._functional_graph()
    if model._is_sequential or graph is None:
        return True
    depths = {}
    for node in graph._nodes:
        depths.setdefault(graph._node_depths[id(node)], []).append(node)
    for nodes in depths.values():
        if len(nodes) > 1 or (len(nodes) == 1 and len(nodes[0].input_tensors) > 1):
            return False
    node_ids = graph._node_ids
    for layer in graph.layers:
        if sum(1 for n in layer._inbound_nodes if id(n) in node_ids) > 1:
            return False
    return True


def _row(fields, positions):
    line = ""
    last = len(fields) - 1
    for i, field in enumerate(fields):
        if i > 0:
            line = line[:-1] + " "
        line += str(field)
        if i < last:  # the last cell runs on ("0 (unbuilt)" is wider than "Param #")
            line = line[: positions[i]]
            line += " " * (positions[i] - len(line))
    return line.rstrip()


def _output_shape(layer, model):
    if isinstance(layer, InputLayer):
        return [layer.batch_shape]
    graph = model._functional_graph()
    if graph is None and model._is_sequential:
        return "?"  # an unbuilt Sequential: no shapes yet (Keras prints "?")
    nested = layer._functional_graph()
    if nested is not None:
        return nested.output_shape
    nodes = layer._inbound_nodes
    if graph is not None:
        nodes = [n for n in nodes if id(n) in graph._node_ids] or nodes
    if len(nodes) != 1:
        return "multiple"
    out = nodes[0].output_tensors
    return out[0].shape if len(out) == 1 else [t.shape for t in out]


def _params(layer):
    return layer.count_params() if layer.built else "0 (unbuilt)"


def _connections(layer, model):
    graph = model._functional_graph()
    out = []
    for node in layer._inbound_nodes:
        if graph is not None and id(node) not in graph._node_ids:
            continue
        for t in node.input_tensors:
            src, node_index, tensor_index = t._keras_history
            out.append(f"{src.name}[{node_index}][{tensor_index}]")
    return out


def _count(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights))


def summary_lines(model, line_length=None, positions=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    """The summary as a list of lines (what ``print_summary`` prints)."""
    sequential_like = _is_sequential_like(model)
    if sequential_like:
        line_length = line_length or 65
        positions = positions or [0.45, 0.85, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
    else:
        line_length = line_length or 98
        positions = positions or [0.33, 0.55, 0.67, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    if show_trainable:
        line_length += 11
        positions = list(positions) + [line_length]
        header = header + ["Trainable"]

    lines = [f'Model: "{model.name}"', "_" * line_length, _row(header, positions),
             "=" * line_length]
    layers = _select(model.layers, layer_range)

    def rows_for(layer, owner, prefix=""):
        shape = _output_shape(layer, owner)
        fields = [f"{prefix}{layer.name} ({type(layer).__name__})", shape, _params(layer)]
        conns = _connections(layer, owner) if not sequential_like else []
        if not sequential_like:
            fields.append(conns[0] if conns else "")
        if show_trainable:  # Keras 3: "-" for a layer with no weights to train or freeze
            fields.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        rows = [_row(fields, positions)]
        for extra in conns[1:]:
            rows.append(_row(["", "", ""] + [extra], positions))
        if expand_nested and hasattr(layer, "layers") and layer is not owner:
            for inner in layer.layers:
                rows.extend(rows_for(inner, layer, prefix + "| "))
        return rows

    for i, layer in enumerate(layers):
        lines.extend(rows_for(layer, model))
        lines.append("=" * line_length if i == len(layers) - 1 else "_" * line_length)
    if not layers:
        lines.append("=" * line_length)
    trainable = _count(model.trainable_weights)
    non_trainable = _count(model.non_trainable_weights)
    lines += [
        f"Total params: {trainable + non_trainable:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {non_trainable:,}",
        "_" * line_length,
    ]
    return lines


def _select(layers, layer_range):
    if layer_range is None:
        return layers
    names = [l.name for l in layers]
    start, end = layer_range
    if start not in names or end not in names:
        raise ValueError(f"layer_range={layer_range} must name layers of the model: {names}")
    return layers[names.index(start): names.index(end) + 1]


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    """Prints ``model``'s summary with ``print_fn`` (``print`` by default)."""
    if not model.built and not model._is_sequential:
        # (an unbuilt Sequential still lists its layers, as Keras prints it)
        raise ValueError(
            f'Model "{model.name}" has not yet been built. Build it first by calling it on '
            "data, by calling build(input_shape), or by giving its first layer an Input."
        )
    print_fn = print_fn or print
    for line in summary_lines(model, line_length, positions, expand_nested, show_trainable,
                              layer_range):
        print_fn(line)
