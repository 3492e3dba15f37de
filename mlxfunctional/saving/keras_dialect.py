"""Keras 3's config dialect, to ours and back.

A ``.keras`` file's ``config.json`` and ours share Keras' class names and
arguments; they differ in a few spellings, handled here on plain data:

- a graph edge is ``{"class_name": "__keras_tensor__", "config": {"shape",
  "dtype", "keras_history": [layer, node, index]}}`` in Keras 3 and
  ``{"__tensor__": [layer, node, index]}`` here (Keras needs the shape and
  dtype, so writing takes them from the live model);
- Keras 3 writes a layer's dtype as a ``DTypePolicy`` object; we write its
  name (Keras reads both);
- Keras adds ``build_config`` and ``shared_object_id`` (not needed to rebuild
  a functional graph: calling the layers builds them) and arguments of
  features we don't have, which are accepted only at their "off" value
  (``quantization_config=None``, ``ragged=False``...) and refused otherwise,
  naming the layer, so nothing a file asks for is silently dropped.

Nothing here imports a module a config names: it rewrites dicts only.
"""

# Arguments Keras 3.15 writes that switch on something we don't have; each is
# dropped when it holds its "off" value.
_OFF_ARGUMENTS = {
    "quantization_config": None,
    "ragged": False,
    "optional": False,
    "sparse": False,
    "lora_rank": None,
    "lora_alpha": None,
    "synchronized": False,
    "renorm": False,          # BatchNormalization's batch renormalization
    "renorm_clipping": None,
    "input_axes": None,      # VarianceScaling's fan axes (None: Keras' default fans)
    "output_axes": None,
}
# Arguments that mean nothing while the argument they depend on is off.
_DEPENDENT_ARGUMENTS = {"renorm_momentum": "renorm"}
_KERAS_ONLY_KEYS = ("build_config", "shared_object_id")


class DialectError(ValueError):
    """A Keras config asks for something we cannot build (names the layer)."""


def _policy_name(value):
    if (isinstance(value, dict) and value.get("class_name") in ("DTypePolicy", "FloatDTypePolicy")
            and isinstance(value.get("config"), dict)):
        return value["config"].get("name")
    return value


def from_keras(value, owner="the model"):
    """Keras 3's config dialect -> ours (a new structure; ``value`` is untouched)."""
    if isinstance(value, list):
        return [from_keras(v, owner) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("class_name") == "__keras_tensor__":
        history = (value.get("config") or {}).get("keras_history")
        if not isinstance(history, list) or len(history) != 3:
            raise DialectError(f"{owner}: a __keras_tensor__ without a 3-item keras_history.")
        return {"__tensor__": list(history)}
    if str(value.get("module") or "").startswith("keras.src.ops.") and "inbound_nodes" in value:
        return from_keras(_keras_op_entry(value), owner)
    out = {}
    for key, item in value.items():
        if key in _KERAS_ONLY_KEYS:
            continue
        if key == "config" and isinstance(item, dict) and "class_name" in value:
            out[key] = _inner_config(item, value["class_name"], owner)
        else:
            out[key] = from_keras(item, owner)
    return out


def _keras_op_entry(entry):
    """A Keras 3 operation node (``keras.ops.not_equal`` in a functional graph, as
    Keras' ``Embedding(mask_zero=True)`` makes) -> our ``OpLayer`` of the same op.

    Keras gives the op's options (``axis``...) to its constructor and the tensors
    to its call; our op is one function, so the options join every call's kwargs.
    """
    class_name, config = entry["class_name"], dict(entry.get("config") or {})
    op = _snake_case(class_name)
    if not has_op(op):
        raise DialectError(f"layer {config.get('name')!r}: the Keras op {class_name} "
                           f"({entry['module']}) is not an mlxfunctional op.")
    options = {k: v for k, v in config.items() if k not in ("name", "trainable", "dtype")}
    nodes = [{"args": node.get("args", []), "kwargs": {**(node.get("kwargs") or {}), **options}}
             for node in entry.get("inbound_nodes", [])]
    return {"class_name": "OpLayer", "config": {"name": config.get("name"), "op": op},
            "name": entry.get("name"), "inbound_nodes": nodes}


def has_op(name):
    """Whether ``name`` is one of our ops (looked up through the registry: ``saving``
    does not import ``ops``, which imports the layers)."""
    from .. import registry

    op_layer = registry.builtin_objects().get("OpLayer")
    return op_layer is not None and op_layer.has_op(name)


def _snake_case(name):
    import re

    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _inner_config(config, class_name, owner):
    name = config.get("name", class_name)
    label = f"layer {name!r} ({class_name})" if "name" in config else class_name
    out = {}
    for key, item in config.items():
        if key in _DEPENDENT_ARGUMENTS and not config.get(_DEPENDENT_ARGUMENTS[key]):
            continue
        if key in _OFF_ARGUMENTS:
            if item != _OFF_ARGUMENTS[key]:
                raise DialectError(f"{label}: {key}={item!r} is a Keras feature mlxfunctional "
                                   "does not have.")
            continue
        if key == "dtype":
            item = _policy_name(item)
        out[key] = from_keras(item, label)
    return out


def to_keras(value, tensor_spec, key=None, graph=None):
    """Our dialect -> Keras 3's.

    Args:
        value: a config from ``serialize_keras_object`` / ``serialize_layer``.
        tensor_spec: ``(model name, layer name, node, index) -> (shape, dtype)``
            of the graphs' tensors, which Keras' ``__keras_tensor__`` records.
        key: the config key ``value`` is found under (``kernel_initializer``
            says which Keras namespace a bare class name is in).
    """
    if isinstance(value, list):
        return [to_keras(v, tensor_spec, key, graph) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"__tensor__"}:
        history = list(value["__tensor__"])
        shape, dtype = tensor_spec(graph, *history)
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(shape), "dtype": dtype, "keras_history": history}}
    if value.get("class_name") in ("BinaryOp", "OpLayer") and "inbound_nodes" in value:
        value = _op_entry_to_keras(value)
    inner = graph
    if value.get("class_name") in ("Functional", "Sequential"):  # its config is its graph;
        inner = (value.get("config") or {}).get("name", graph)   # its calls, the outer one
    out = {k: to_keras(item, tensor_spec, k, inner if k == "config" else graph)
           for k, item in value.items()}
    if out.get("class_name") == "Functional":  # how Keras names its own class
        out.update(module="keras.src.models.functional", registered_name="Functional")
    elif "class_name" in out and "config" in out and out.get("module") is None:
        out["module"] = _keras_module(out["class_name"], key)
        out.setdefault("registered_name", None)
    return out


# Our ops that Keras 3 writes as a keras.src.ops.numpy operation taking every
# argument in its call (no constructor options).
_KERAS_NUMPY_OPS = {
    "add": "Add", "subtract": "Subtract", "multiply": "Multiply", "divide": "Divide",
    "true_divide": "TrueDivide", "floor_divide": "FloorDivide", "mod": "Mod",
    "power": "Power", "matmul": "Matmul", "maximum": "Maximum", "minimum": "Minimum",
    "less": "Less", "less_equal": "LessEqual", "greater": "Greater",
    "greater_equal": "GreaterEqual", "equal": "Equal", "not_equal": "NotEqual",
    "logical_and": "LogicalAnd", "logical_or": "LogicalOr", "negative": "Negative",
    "abs": "Absolute", "logical_not": "LogicalNot", "exp": "Exp", "log": "Log",
    "sqrt": "Sqrt", "square": "Square", "sin": "Sin", "cos": "Cos", "tanh": "Tanh",
    "floor": "Floor", "ceil": "Ceil", "sign": "Sign", "reciprocal": "Reciprocal",
}


def _op_entry_to_keras(entry):
    """Our op layer entry -> the Keras operation node Keras itself would record."""
    config = entry["config"]
    op = config["op"]
    if op not in _KERAS_NUMPY_OPS:
        raise DialectError(f"layer {config['name']!r} (op {op!r}) cannot be written to a "
                           ".keras file yet; save the model as .mlxf.")
    nodes = []
    for node in entry["inbound_nodes"]:
        args = list(node["args"])
        if entry["class_name"] == "BinaryOp":
            if config.get("constant") is not None:
                pair = [config["constant"], args[0]]
                args = pair if config.get("constant_first") else pair[::-1]
            elif len(args) == 1 and isinstance(args[0], list):
                args = list(args[0])  # BinaryOp takes [a, b]; Keras' op takes a, b
        nodes.append({"args": args, "kwargs": node.get("kwargs", {})})
    return {"module": "keras.src.ops.numpy", "class_name": _KERAS_NUMPY_OPS[op],
            "config": {"name": config["name"]}, "registered_name": None,
            "name": entry["name"], "inbound_nodes": nodes}


# The namespace of an object found under a config key ending so.
_KEY_NAMESPACES = (("initializer", "keras.initializers"), ("regularizer", "keras.regularizers"),
                   ("constraint", "keras.constraints"), ("optimizer", "keras.optimizers"),
                   ("loss", "keras.losses"), ("metrics", "keras.metrics"),
                   ("learning_rate", "keras.optimizers.schedules"))


def _keras_module(class_name, key):
    """The Keras namespace of a built-in object written without one (our configs name
    it only at the top level); None for a class of the user's (registered_name)."""
    from .serialization_lib import _namespaces

    tables = _namespaces()
    for suffix, module in _KEY_NAMESPACES:
        if key and key.endswith(suffix) and class_name in tables[module]:
            return module
    for module in ("keras.layers", "keras"):
        if class_name in tables[module]:
            return module
    return None
