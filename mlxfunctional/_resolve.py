"""Name <-> object resolution shared by activations, initializers, regularizers
and constraints: each module's ``get`` / ``serialize`` / ``deserialize``.
"""

from mlxfunctional.backend import to_snake_case
from mlxfunctional import registry


def builtin_objects(classes):
    """Registers ``classes`` as built-ins; returns ``{name: class}`` under each class's
    name and its snake_case name."""
    for cls in classes:
        registry.register_builtin(cls)
    objects = {cls.__name__: cls for cls in classes}
    objects.update({to_snake_case(cls.__name__): cls for cls in classes})
    return objects


def resolve(name, module_objects, custom_objects, kind):
    """Name -> object: this module's built-ins first, then the registry.

    Only dictionary lookups; nothing is imported by name. A package object from
    another module (say a layer class asked for as an initializer) is refused.
    """
    if name in module_objects:
        return module_objects[name]
    obj = registry.get_registered_object(name, custom_objects)
    foreign = (obj is not None
               and getattr(obj, "__module__", "").startswith("mlxfunctional.")
               and obj not in (custom_objects or {}).values())
    if obj is None or foreign:
        known = ", ".join(sorted(module_objects))
        raise ValueError(f"{registry.unknown_object_error(name, kind)} Known {kind}s: {known}.")
    return obj


def deserialize_object(config, module_objects, custom_objects, kind):
    """A name string or ``{"class_name", "config"}`` dict -> the object.

    Classes are instantiated (``from_config`` for a dict, no arguments for a
    bare name); functions are returned as they are.
    """
    if config is None:
        return None
    if isinstance(config, str):
        obj = resolve(config, module_objects, custom_objects, kind)
        return obj() if isinstance(obj, type) else obj
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not deserialize {kind} from {config!r}: expected a name "
                         "string or a dict with 'class_name' and 'config'.")
    inner = config.get("config") or {}
    name = config.get("registered_name") or config["class_name"]
    if config["class_name"] == "function":  # Keras 3 form of a serialized function
        name = config.get("registered_name") or inner
    obj = resolve(name, module_objects, custom_objects, kind)
    if not isinstance(obj, type):
        return obj
    if not isinstance(inner, dict):
        raise ValueError(f"The config of {kind} {name!r} must be a dict. Received: {inner!r}")
    return obj.from_config(inner) if hasattr(obj, "from_config") else obj(**inner)


def serialize_object(obj, kind):
    """Function or class -> its registered name; instance -> {"class_name", "config"}."""
    if obj is None:
        return None
    if isinstance(obj, type) or not hasattr(obj, "get_config"):
        name = registry.get_registered_name(obj)
        if name == "<lambda>":
            raise ValueError(f"Cannot serialize a lambda {kind}. Define a named function "
                             "and register it with @register_serializable().")
        return name
    return {"class_name": registry.get_registered_name(type(obj)), "config": obj.get_config()}


def get_object(identifier, module_objects, kind):
    """Name, config dict, class or callable -> a callable ``kind``; None -> None."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        obj = deserialize_object(identifier, module_objects, None, kind)
    else:
        obj = identifier
    if isinstance(obj, type):
        obj = obj()
    if not callable(obj):
        raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}")
    return obj
