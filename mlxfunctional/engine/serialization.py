"""Layers and models to plain data and back, through the registry only.

``serialize_layer`` gives ``{"class_name": ..., "config": ...}``;
``deserialize_layer`` resolves the class name in the registry (built-ins,
registered classes, ``custom_objects``) and calls its ``from_config``.
Nothing is imported by name and no config holds code.
"""

import inspect
import json

from .. import registry
from ..version import __version__


def serialize_layer(layer):
    """``{"class_name": <registered name>, "config": layer.get_config()}``.

    The config is plain data, as Keras makes it: an object a custom ``get_config()``
    returns as is (a sub-layer, a regularizer) becomes its own ``{"class_name",
    "config"}`` dict, which the class's ``from_config`` deserializes.
    """
    return {"class_name": registry.get_registered_name(type(layer)),
            "config": _plain(layer.get_config())}


def _plain(value):
    """Objects with a ``get_config()`` inside a config -> their config dicts."""
    from ..engine.layer import Layer

    if isinstance(value, Layer):
        return serialize_layer(value)
    if isinstance(value, dict):  # (a Layer is an nn.Module, a dict: tested first)
        return {key: _plain(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if hasattr(value, "get_config") and not isinstance(value, type):
        return {"class_name": registry.get_registered_name(type(value)),
                "config": _plain(value.get_config())}
    return value


def deserialize_layer(config, custom_objects=None):
    """Builds a layer from ``{"class_name", "config"}``; unknown classes are errors."""
    from ..engine.layer import Layer

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"A layer config must be a dict with 'class_name' and 'config'; got {config!r}")
    name = config["class_name"]
    cls = registry.get_registered_object(name, custom_objects)
    if cls is None:
        raise registry.unknown_object_error(name, "layer class")
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"{name!r} resolves to {cls!r}, which is not a Layer class.")
    inner = config.get("config", {})
    with registry.custom_object_scope(custom_objects or {}):
        if "custom_objects" in inspect.signature(cls.from_config).parameters:
            layer = cls.from_config(inner, custom_objects=custom_objects)
        else:
            layer = cls.from_config(inner)
    # A model's entries also record each layer's name: a custom get_config() may omit
    # it, and the graph (and a model file's weight keys) know the layer by it.
    if isinstance(config.get("name"), str) and layer.name != config["name"]:
        layer.name = config["name"]
    return layer


def model_to_json(model, **kwargs):
    """The model's architecture as a JSON string."""
    data = serialize_layer(model)
    data["mlxfunctional_version"] = __version__
    return json.dumps(data, **kwargs)


def model_from_json(json_string, custom_objects=None):
    """Rebuilds a model (new weights) from ``model.to_json()``."""
    try:
        data = json.loads(json_string)
    except json.JSONDecodeError as e:
        raise ValueError(f"model_from_json: the text is not valid JSON ({e}).") from e
    return deserialize_layer(data, custom_objects)
