"""Walking a layer graph back from its outputs: order, depth and graph errors.

The ordering follows tf.keras 2 (``_map_graph_network``): each node's depth is
its longest distance to an output; layers are listed by decreasing depth and,
within a depth, in the order a depth-first walk from the outputs met them.
That is the order ``model.layers`` and ``summary()`` show.
"""

from .keras_tensor import KerasTensor


def get_source_inputs(tensor):
    """The ``Input`` tensors that ``tensor`` is computed from, in the order a
    depth-first walk meets them (``keras.utils.get_source_inputs``)."""
    if not isinstance(tensor, KerasTensor) or tensor._keras_history is None:
        raise ValueError("Expected a symbolic tensor from Input() or a layer; received "
                         f"{tensor!r}.")
    sources, seen = [], set()
    pending = [tensor]
    while pending:
        t = pending.pop()
        node = t.node
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.is_input:
            sources.append(t)
        else:  # reversed: the first input is walked first
            pending.extend(reversed(node.input_tensors))
    return sources


def map_graph(inputs, outputs):
    """Returns ``(nodes, layers, depths)``: nodes in execution order, layers in
    Keras order, and each node's depth keyed by ``id(node)``.

    Raises ValueError for a graph that is disconnected from ``inputs``, for a
    cycle, and for two different layers with the same name.
    """
    input_ids = {id(t) for t in inputs}
    finished, in_progress = set(), set()
    nodes_in_decreasing_depth, layer_indices = [], {}
    # A depth-first walk with an explicit stack (a chain of 10,000 layers would
    # overflow Python's recursion limit). Each entry is a node being visited and
    # the iterator over the input tensors still to visit, so nodes are met and
    # finished in exactly the order of the recursive walk Keras does.
    stack = []

    def enter(tensor, consumer):
        if not isinstance(tensor, KerasTensor) or tensor._keras_history is None:
            raise ValueError(
                f"Output tensors of a Functional model must be the output of a layer "
                f"(or an Input). Received: {tensor!r}"
            )
        layer, node_index, _ = tensor._keras_history
        node = layer._inbound_nodes[node_index]
        if id(node) in finished:
            return
        if id(node) in in_progress:
            raise ValueError(
                f'The tensor {tensor.name} at layer "{layer.name}" is part of a cycle.')
        if id(layer) not in layer_indices:
            layer_indices[id(layer)] = (len(layer_indices), layer)
        in_progress.add(id(node))
        parents = ()
        if id(tensor) not in input_ids:
            if node.is_input:
                known = ", ".join(repr(t.name) for t in inputs)
                raise ValueError(
                    f'Graph disconnected: cannot obtain value for tensor {tensor.name} '
                    f'(from input layer "{layer.name}") needed by layer "{consumer}". '
                    f"It is not one of the model's inputs: {known}. Add it to `inputs`."
                )
            parents = node.input_tensors
        stack.append((node, iter(parents)))

    for output in outputs:
        enter(output, "(model output)")
        while stack:
            node, parents = stack[-1]
            tensor = next(parents, None)
            if tensor is not None:
                enter(tensor, node.layer.name)
                continue
            stack.pop()
            in_progress.discard(id(node))
            finished.add(id(node))
            nodes_in_decreasing_depth.append(node)

    node_depth, layer_depth = {}, {}
    for node in reversed(nodes_in_decreasing_depth):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        if _is_graph_input(node, input_ids):
            continue
        for parent in node.parent_nodes:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))

    # Inputs the outputs do not use still belong to the model.
    for t in inputs:
        layer = t._keras_history[0] if t._keras_history else None
        if layer is not None and id(layer) not in layer_indices:
            layer_indices[id(layer)] = (-1, layer)
            layer_depth[id(layer)] = 0
            node = t.node
            node_depth[id(node)] = 0
            nodes_in_decreasing_depth.append(node)

    nodes = sorted(
        {id(n): n for n in nodes_in_decreasing_depth}.values(),
        key=lambda n: -node_depth[id(n)],
    )
    layers = sorted(
        (entry for entry in layer_indices.values()),
        key=lambda e: (-layer_depth[id(e[1])], e[0]),
    )
    layers = [layer for _, layer in layers]
    _check_unique_names(layers)
    return nodes, layers, node_depth


def _is_graph_input(node, input_ids):
    return any(id(t) in input_ids for t in node.output_tensors)


def _check_unique_names(layers):
    seen = {}
    for layer in layers:
        if layer.name in seen and seen[layer.name] is not layer:
            raise ValueError(
                f'The name "{layer.name}" is used 2 times in the model. All layer names '
                "should be unique. Pass name= to one of the layers."
            )
        seen[layer.name] = layer
