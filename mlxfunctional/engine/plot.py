"""``plot_model`` / ``model_to_dot``: a model's graph drawn by Graphviz.

The graph is read through the models' structure only (a Sequential's is the
Functional it holds): ``layers``, each layer's ``_inbound_nodes`` that belong
to the graph (``_node_ids``), the nodes' input/output tensors and their
``_keras_history``. Each layer is one
Graphviz node named after the layer (``encoder/conv2d`` inside an expanded
nested model ``encoder``), so a shared layer is drawn once with one edge per
producer and per consumer. The Python ``graphviz`` package writes the DOT
source; Graphviz's ``dot`` program is needed only to render it (``.dot``
output works without it).
"""

import os

from .. import activations
from .input_layer import InputLayer

_INSTALL_HINT = (
    "Graphviz's `dot` program is needed to render a model plot (to png/svg/pdf...). "
    "Install Graphviz: `brew install graphviz` (macOS, Homebrew), "
    "`sudo apt-get install graphviz` (Debian/Ubuntu), or see https://graphviz.org/download/. "
    "Writing the graph's source (`to_file='model.dot'`) works without it."
)


class GraphvizNotFoundError(ImportError):
    """Graphviz (the ``dot`` program or the ``graphviz`` Python package) is missing."""


def _graphviz():
    # Imported on use: the package is only needed for plotting.
    try:
        import graphviz
    except ImportError as e:  # pragma: no cover - the package is a dependency
        raise GraphvizNotFoundError(
            "plot_model needs the `graphviz` Python package (`pip install graphviz`) "
            "and Graphviz itself. " + _INSTALL_HINT
        ) from e
    return graphviz


def _graph(layer):
    """The Functional graph a model runs (a Sequential's inner one), None for a
    subclassed model or any other layer."""
    return layer._functional_graph()


def _drawn_layers(model):
    """The layers drawn for the graph ``model``: its ``layers``, with the layers of
    its inputs first if absent, so every edge's producer is on the page."""
    layers = list(model.layers)
    known = {id(l) for l in layers}
    inputs = []
    for t in model.inputs:
        layer = t._keras_history[0]
        if id(layer) not in known:
            inputs.append(layer)
            known.add(id(layer))
    return inputs + layers


def _model_nodes(layer, model):
    return [n for n in layer._inbound_nodes if id(n) in model._node_ids]


# -- labels -------------------------------------------------------------------
def _escape(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fmt_shape(shape):
    return "(" + ", ".join(str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def _describe(tensors, what):
    values = [_fmt_shape(t.shape) if what == "shape" else str(t.dtype) for t in tensors]
    if not values:
        return "?"
    return values[0] if len(values) == 1 else "[" + ", ".join(values) + "]"


def _io(layer, owner, what):
    """(input, output) text of a layer's shape or dtype in ``owner``; "multiple" if calls differ."""
    if isinstance(layer, InputLayer):
        text = _fmt_shape(layer.batch_shape) if what == "shape" else str(layer.dtype)
        return text, text
    nodes = _model_nodes(layer, owner) if owner is not None else []
    if not nodes:
        return "?", "?"
    ins = {_describe(n.input_tensors, what) for n in nodes}
    outs = {_describe(n.output_tensors, what) for n in nodes}
    pick = lambda s: s.pop() if len(s) == 1 else "multiple"  # noqa: E731
    return pick(ins), pick(outs)


def _activation_name(layer):
    fn = getattr(layer, "activation", None)
    if fn is None:
        return None
    if isinstance(fn, str):
        return fn
    try:
        name = activations.serialize(fn)
    except Exception:  # an unregistered custom callable: its Python name is enough here
        name = getattr(fn, "__name__", type(fn).__name__)
    return name if isinstance(name, str) else getattr(fn, "__name__", str(name))


def _label(layer, owner, opts):
    """An HTML-like table in Keras 3's style: ``name (Class)`` then the rows asked for."""
    cls = type(layer).__name__
    title = f"<b>{_escape(layer.name)}</b> ({_escape(cls)})" if opts["show_layer_names"] \
        else _escape(cls)
    color = "#cfe2f3" if isinstance(layer, InputLayer) else "#e8eef7"
    rows = [f'<tr><td colspan="2" bgcolor="{color}">{title}</td></tr>']
    if opts["show_shapes"]:
        i, o = _io(layer, owner, "shape")
        rows.append(f"<tr><td>Input shape: {_escape(i)}</td>"
                    f"<td>Output shape: {_escape(o)}</td></tr>")
    if opts["show_dtype"]:
        i, o = _io(layer, owner, "dtype")
        rows.append(f"<tr><td>Input dtype: {_escape(i)}</td>"
                    f"<td>Output dtype: {_escape(o)}</td></tr>")
    if opts["show_layer_activations"]:
        act = _activation_name(layer)
        if act is not None:
            rows.append(f'<tr><td colspan="2">Activation: {_escape(act)}</td></tr>')
    if opts["show_trainable"]:
        rows.append(f'<tr><td colspan="2">Trainable: {bool(layer.trainable)}</td></tr>')
    return ('<<table border="0" cellborder="1" cellspacing="0" cellpadding="4">'
            + "".join(rows) + "</table>>")


# -- graph walk ---------------------------------------------------------------
def _producer(tensor, prefix, expand):
    """The drawn node id that produces ``tensor`` (inside an expanded nested model if any)."""
    layer, _, tensor_index = tensor._keras_history
    while expand and _graph(layer) is not None:  # down through nested models
        prefix = f"{prefix}{layer.name}/"
        layer, _, tensor_index = _graph(layer).outputs[tensor_index]._keras_history
    return prefix + layer.name


def _nested_inputs(model, node):
    """Pairs (outer tensor, nested model's input tensor) for one call of a nested model."""
    first = node.first_input()
    if isinstance(first, dict):  # dict inputs are matched by input name, as the model does
        names = model.input_names
        return [(t, model.inputs[names.index(k)]) for k, t in first.items() if k in names]
    return list(zip(node.input_tensors, model.inputs))


def _add_nodes(dot, model, prefix, opts):
    for layer in _drawn_layers(model):
        inner = _graph(layer)
        if opts["expand_nested"] and inner is not None:
            # graphviz draws a subgraph named "cluster..." as a box around its nodes.
            with dot.subgraph(name=f"cluster_{prefix}{layer.name}") as sub:
                sub.attr(label=f"{layer.name} ({type(layer).__name__})", labeljust="l",
                         style="dashed", color="#7a8ba3", fontname="Helvetica")
                _add_nodes(sub, inner, f"{prefix}{layer.name}/", opts)
        else:
            dot.node(prefix + layer.name, label=_label(layer, model, opts))


def _edges(model, prefix, expand, out):
    """Appends (src, dst) for every input tensor of every call of every layer in ``model``."""
    for layer in _drawn_layers(model):
        inner_prefix = f"{prefix}{layer.name}/"
        inner = _graph(layer) if expand else None
        for node in _model_nodes(layer, model):
            if inner is not None:
                for outer_t, inner_t in _nested_inputs(inner, node):
                    dst = inner_prefix + inner_t._keras_history[0].name
                    out.append((_producer(outer_t, prefix, expand), dst))
            else:
                for t in node.input_tensors:
                    out.append((_producer(t, prefix, expand), prefix + layer.name))
        if inner is not None:
            _edges(inner, inner_prefix, expand, out)
    return out


def _same_rank(dot, names, rank):
    with dot.subgraph() as s:
        s.attr(rank=rank)
        for name in names:
            s.node(name)


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True,
                 rankdir="TB", expand_nested=False, dpi=200, subgraph=False,
                 show_layer_activations=False, show_trainable=False):
    """The model's graph as a ``graphviz.Digraph`` (Keras' ``model_to_dot``).

    Args:
        model: a Functional/Sequential model (a subclassed model is one node).
        show_shapes: add each layer's input and output shapes (``None`` = any size).
        show_dtype: add each layer's input and output dtypes.
        show_layer_names: ``name (Class)`` in each node; only the class if False.
        rankdir: Graphviz direction: ``"TB"`` (top to bottom) or ``"LR"`` (left to right).
        expand_nested: draw nested models as boxes (clusters) of their own layers,
            with edges into their inputs and out of their output layers.
        dpi: resolution of raster output (png).
        subgraph: return a ``cluster`` subgraph instead of a top-level graph.
        show_layer_activations: add the activation of layers that have one.
        show_trainable: add whether each layer is trainable.

    Returns:
        a ``graphviz.Digraph``; ``.source`` is its DOT text, ``.pipe(format="svg")`` renders it.
    """
    graphviz = _graphviz()
    if not model.built:
        raise ValueError(
            f'Model "{model.name}" has not yet been built, so it has no graph to plot. '
            "Build it first by calling it on data or by giving its first layer an Input."
        )
    opts = dict(show_shapes=show_shapes, show_dtype=show_dtype,
                show_layer_names=show_layer_names, expand_nested=expand_nested,
                show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    name = f"cluster_{model.name}" if subgraph else model.name
    dot = graphviz.Digraph(name=name)
    if subgraph:
        dot.attr(label=model.name, style="dashed")
    else:
        dot.attr(rankdir=rankdir, dpi=str(dpi))
    dot.attr("node", shape="plaintext", fontname="Helvetica", fontsize="11")
    dot.attr("edge", color="#4a5a70", arrowsize="0.7")
    graph = _graph(model)
    if graph is None:  # subclassed: its graph is Python code, draw the model alone
        dot.node(model.name, label=_label(model, None, opts))
        return dot

    _add_nodes(dot, graph, "", opts)
    seen = set()
    for src, dst in _edges(graph, "", expand_nested, []):
        if (src, dst) not in seen:  # one edge per connection, as Keras draws it
            seen.add((src, dst))
            dot.edge(src, dst)

    # Multi-input/-output graphs: inputs on the first rank, outputs on the last, so the
    # drawing reads top to bottom. Outputs only when none of them feeds another layer
    # (a feature-extraction model's outputs are inner layers and must keep their rank).
    top = {l.name for l in _drawn_layers(graph)}
    ins = [t._keras_history[0].name for t in graph.inputs]
    if len(ins) > 1:
        _same_rank(dot, ins, "min")
    outs = list(dict.fromkeys(_producer(t, "", expand_nested) for t in graph.outputs))
    consumed = {src for src, _ in seen}
    if len(outs) > 1 and all(o in top and o not in consumed for o in outs):
        _same_rank(dot, outs, "max")
    return dot


def _format(to_file):
    ext = os.path.splitext(str(to_file))[1].lower().lstrip(".")
    return ext or "png"


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False):
    """Draws the model's graph into ``to_file`` (Keras' ``plot_model``).

    Args:
        model: the model to draw.
        to_file: the output path; its suffix picks the format (``.png``, ``.svg``, ``.pdf``,
            ``.dot``/``.gv`` for the DOT source, which needs no Graphviz install; any other
            format of Graphviz's ``dot``). No suffix: png.
        show_shapes, show_dtype, show_layer_names, rankdir, expand_nested, dpi,
        show_layer_activations, show_trainable: as in :func:`model_to_dot`.

    Returns:
        an ``IPython.display.Image`` of a raster file when IPython is installed, else None.

    Raises:
        GraphvizNotFoundError (an ImportError): Graphviz's ``dot`` is not installed (the
            message says how to install it).
        ValueError: ``to_file``'s suffix is not a format Graphviz knows.
    """
    graphviz = _graphviz()
    fmt = _format(to_file)
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable)
    if fmt in ("dot", "gv"):
        with open(to_file, "w", encoding="utf-8") as f:
            f.write(dot.source)
        return None
    if fmt not in graphviz.FORMATS:
        raise ValueError(
            f"Cannot plot to {str(to_file)!r}: unknown format {fmt!r}. Use a suffix such as "
            ".png, .svg, .pdf or .dot."
        )
    data = _render(dot, fmt)
    # Written only once rendering succeeded: a failure leaves no empty file behind.
    with open(to_file, "wb") as f:
        f.write(data)
    if fmt in ("png", "jpg", "jpeg", "gif"):
        try:
            from IPython import display

            return display.Image(filename=str(to_file))
        except ImportError:
            pass
    return None


def _render(dot, fmt):
    graphviz = _graphviz()
    try:
        return dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound as e:
        raise GraphvizNotFoundError(_INSTALL_HINT) from e


def model_to_svg(model, **kwargs):
    """The model's drawing as SVG text, or None when Graphviz is missing (notebook display)."""
    try:
        if not model.built:
            return None
        return _render(model_to_dot(model, **kwargs), "svg").decode("utf-8")
    except GraphvizNotFoundError:
        return None
