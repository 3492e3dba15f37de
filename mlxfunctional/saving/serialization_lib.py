"""Keras 3's object configs: ``serialize_keras_object`` / ``deserialize_keras_object``.

An object becomes ``{"module", "class_name", "config", "registered_name"}``, the
dict Keras 3 writes: a built-in names its public namespace (``"keras.layers"``,
``"keras.optimizers"``) and has no registered name; a registered custom object
names its Python module and its ``"package>Name"``; a function is
``{"class_name": "function", "config": <name>}``. Containers, numpy and MLX
arrays, bytes, slices and Ellipsis get Keras' special forms.

Reading never imports anything. Keras imports the ``module`` a config names when
it does not know the class, which is how a crafted file ran code
(CVE-2025-1550). Here ``module`` only chooses which of this package's fixed
tables to look the name up in; everything else resolves through the registry
(``custom_objects``, ``custom_object_scope``, registrations), and a name nothing
knows is an error. A serialized lambda (Keras stores its bytecode) is refused
always: ``safe_mode`` is accepted for Keras' signature but there is no unsafe mode.
"""

import types

import mlx.core as mx
import numpy as np

from .. import registry

_PLAIN_TYPES = (str, int, float, bool)


def _namespaces():
    """Keras' public namespace -> the names this package resolves in it.

    Imported here, on first use, because the tables live in modules that import
    the engine (and ``saving`` must not be imported by them at import time).
    The order is the order a serialized object's namespace is chosen in.
    """
    from .. import activations, constraints, initializers, losses, metrics, optimizers
    from .. import regularizers, schedules
    from ..engine.functional import Functional
    from ..engine.layer import Layer
    from ..engine.model import Model
    from ..engine.sequential import Sequential

    # Layers register themselves as built-ins (and the layers package imports this
    # module's user, layers.serialization, so it is not imported here).
    layer_table = {name: obj for name, obj in registry.builtin_objects().items()
                   if isinstance(obj, type) and issubclass(obj, Layer)
                   and not issubclass(obj, Model)}
    metric_table = dict(metrics.ALL_OBJECTS)
    metric_table.update({name: fn for name, fn in metrics.FUNCTIONS.items()})
    return {
        "keras": {"Model": Model, "Sequential": Sequential, "Functional": Functional},
        "keras.layers": layer_table,
        "keras.losses": dict(losses.ALL_OBJECTS),
        "keras.metrics": metric_table,
        "keras.optimizers": dict(optimizers.ALL_OBJECTS),
        "keras.optimizers.schedules": dict(schedules.ALL_OBJECTS),
        "keras.initializers": dict(initializers.ALL_OBJECTS),
        "keras.regularizers": dict(regularizers.ALL_OBJECTS),
        "keras.constraints": dict(constraints.ALL_OBJECTS),
        "keras.activations": dict(activations.ALL_OBJECTS),
    }


# Keras writes the built-in Functional class under its private module.
_MODULE_ALIASES = {"keras.models": "keras", "keras.src.models.functional": "keras",
                   "keras.src.models.sequential": "keras", "keras.src.models.model": "keras"}


def _public_name(obj):
    """``("keras.layers", "Dense")`` for a built-in class or function, else None."""
    name = getattr(obj, "__name__", None)
    for module, table in _namespaces().items():
        if name is not None and table.get(name) is obj:
            return module, name
    return None


# -- serialize ---------------------------------------------------------------------------

def serialize_keras_object(obj):
    """An object -> plain data that :func:`deserialize_keras_object` turns back into it.

    Args:
        obj: a layer, model, loss, metric, optimizer, initializer, regularizer,
            constraint, schedule, activation function, a registered custom
            class instance or function, or plain data holding them (lists,
            tuples, dicts, numbers, strings, numpy/MLX arrays).

    Returns:
        Plain data; objects become Keras 3's
        ``{"module", "class_name", "config", "registered_name"}`` dict.

    Raises:
        ValueError: for a lambda (its code would have to be stored) or an object
            with no ``get_config()`` and no name.
    """
    if obj is None or isinstance(obj, _PLAIN_TYPES):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [serialize_keras_object(x) for x in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    # A layer is an mlx.nn.Module, which is a dict: objects with a config come first.
    if isinstance(obj, dict) and not hasattr(obj, "get_config"):
        return serialize_dict(obj)
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {
            "start": serialize_keras_object(obj.start), "stop": serialize_keras_object(obj.stop),
            "step": serialize_keras_object(obj.step)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, mx.array):
        from ..backend import standardize_dtype
        return {"class_name": "__tensor__", "config": {
            "value": obj.tolist(), "dtype": standardize_dtype(obj.dtype)}}
    if isinstance(obj, (np.ndarray, np.generic)):
        if isinstance(obj, np.ndarray) and obj.ndim > 0:
            return {"class_name": "__numpy__", "config": {
                "value": obj.tolist(), "dtype": obj.dtype.name}}
        return obj.item()  # numpy scalars are plain numbers, as in Keras
    if isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
        raise ValueError(
            "Cannot serialize a lambda: restoring it would mean running stored bytecode, "
            "which mlxfunctional never does. Define a named function and decorate it with "
            "@keras.saving.register_keras_serializable().")
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)):
        return _function_config(obj)  # a function, or a class itself: by name
    return _instance_config(obj)


def serialize_dict(config):
    """Serializes each value of a dict (keys stay as they are)."""
    return {key: serialize_keras_object(value) for key, value in config.items()}


def _function_config(fn):
    registered = registry.get_registered_name(fn)
    public = None if registered != fn.__name__ else _public_name(fn)
    module = public[0] if public else getattr(fn, "__module__", None)
    return {"module": module, "class_name": "function", "config": registered,
            "registered_name": registered}


def _instance_config(obj):
    cls = type(obj)
    if not hasattr(obj, "get_config"):
        raise ValueError(
            f"Cannot serialize {obj!r} of type {cls.__name__}: to be serializable, a class "
            "must implement get_config().")
    inner = obj.get_config()
    if not isinstance(inner, dict):
        raise TypeError(f"{cls.__name__}.get_config() must return a dict. Received: {inner!r}")
    registered = registry.get_registered_name(cls)
    public = None if registered != cls.__name__ else _public_name(cls)
    if public:
        config = {"module": public[0], "class_name": public[1],
                  "config": serialize_dict(inner), "registered_name": None}
    else:
        module = cls.__module__
        config = {"module": None if module == "__main__" else module,
                  "class_name": cls.__name__, "config": serialize_dict(inner),
                  "registered_name": registered}
    build = obj.get_build_config() if hasattr(obj, "get_build_config") else None
    if build is not None:
        config["build_config"] = serialize_dict(build)
    return config


# -- deserialize -------------------------------------------------------------------------

def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """Plain data from :func:`serialize_keras_object` (or Keras 3) -> the object.

    Names resolve, in order, through ``custom_objects``, active
    ``custom_object_scope``\\ s, registrations and this package's built-ins. The
    ``module`` a dict names is never imported: it only selects which of Keras'
    public namespaces a built-in name is looked up in.

    Args:
        config: what :func:`serialize_keras_object` returned, or a Keras 3 config.
        custom_objects: ``{name: class or function}`` for unregistered custom objects.
        safe_mode: accepted for Keras' signature; lambdas are refused either way.
        module_objects: optional ``{name: object}`` that bare strings resolve in
            (how ``keras.losses.deserialize`` and friends use this function).

    Raises:
        ValueError: for a class or function nothing knows, a lambda, or a
            malformed config.
    """
    module_objects = kwargs.pop("module_objects", None)
    if kwargs:
        raise TypeError(f"deserialize_keras_object() got unexpected arguments: {sorted(kwargs)}")
    custom_objects = dict(custom_objects or {})
    if config is None:
        return None
    if isinstance(config, str):
        if config in custom_objects:
            return custom_objects[config]
        if module_objects is not None and config in module_objects:
            return _from_table(module_objects[config])
        return config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(x, custom_objects, module_objects=module_objects)
                for x in config]
    if isinstance(config, _PLAIN_TYPES):
        return config
    if not isinstance(config, dict):
        raise TypeError(f"Could not deserialize {config!r}: expected plain data or a config dict.")
    if "class_name" not in config or "config" not in config:
        return {key: deserialize_keras_object(value, custom_objects)
                for key, value in config.items()}
    special = _special_object(config, custom_objects)
    if special is not _NOT_SPECIAL:
        return special
    obj = _resolve(config, custom_objects, module_objects)
    if config["class_name"] == "function" or not isinstance(obj, type):
        return obj
    inner = config["config"] if config["config"] is not None else {}
    if not isinstance(inner, dict):
        raise ValueError(f"The config of {config['class_name']!r} must be a dict. "
                         f"Received: {inner!r}")
    if not hasattr(obj, "from_config"):
        raise ValueError(f"Cannot rebuild {config['class_name']!r}: the class has no "
                         "from_config() method.")
    with registry.custom_object_scope(custom_objects):
        instance = obj.from_config(inner)
        build = config.get("build_config")
        unbuilt = not getattr(instance, "built", True)
        if build and unbuilt and hasattr(instance, "build_from_config"):
            instance.build_from_config(build)
    return instance


_NOT_SPECIAL = object()


def _special_object(config, custom_objects):
    """Keras' ``__numpy__``, ``__tensor__``, ``__bytes__``... forms; _NOT_SPECIAL otherwise."""
    name, inner = config["class_name"], config["config"]
    if name == "__numpy__":
        return np.array(inner["value"], dtype=inner["dtype"])
    if name == "__tensor__":
        from ..backend import mlx_dtype
        # Through MLX's own dtype: numpy has no bfloat16.
        return mx.array(inner["value"]).astype(mlx_dtype(inner["dtype"]))
    if name == "__bytes__":
        return inner["value"].encode("utf-8")
    if name == "__ellipsis__":
        return Ellipsis
    if name == "__slice__":
        return slice(*(deserialize_keras_object(inner[k], custom_objects)
                       for k in ("start", "stop", "step")))
    if name == "__lambda__":
        raise ValueError(
            "This config holds a serialized Python lambda (bytecode). mlxfunctional never "
            "runs code from a config, in any mode: rewrite the lambda as a named function, "
            "register it with @keras.saving.register_keras_serializable(), and save again.")
    if isinstance(name, str) and name.startswith("__") and name.endswith("__"):
        raise ValueError(f"Cannot deserialize the special form {name!r}: it is not one "
                         "mlxfunctional reads.")
    return _NOT_SPECIAL


def _from_table(obj):
    """A bare name found in a ``module_objects`` table: classes are instantiated."""
    if isinstance(obj, type):
        return obj.from_config({}) if hasattr(obj, "from_config") else obj()
    return obj


def _resolve(config, custom_objects, module_objects):
    """The class or function a config dict names, or a ValueError. Only table lookups."""
    class_name, module = config["class_name"], config.get("module")
    registered = config.get("registered_name")
    if class_name == "function":
        name = config["config"]
        if not isinstance(name, str):
            raise ValueError(f"A function config must name the function as a string. "
                             f"Received: config={name!r}")
        registered = registered or name
    else:
        name = class_name
    if not isinstance(name, str):
        raise ValueError(f"'class_name' must be a string. Received: {name!r}")
    if registered and registered != name:  # a registration named explicitly comes first
        obj = registry.get_registered_object(registered, custom_objects)
        if obj is not None:
            return obj
    if name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    # The namespace the config names comes before the registry's built-ins, where
    # e.g. the loss and the metric MeanSquaredError share one name.
    public_table = _namespaces().get(_MODULE_ALIASES.get(module, module))
    if public_table is not None and name in public_table:
        return public_table[name]
    obj = registry.get_registered_object(name, custom_objects)
    # A built-in of another namespace does not count: {"module": "keras.losses",
    # "class_name": "Dense"} is refused, as in Keras.
    foreign = public_table is not None and registry.builtin_objects().get(name) is obj
    if obj is not None and not foreign:
        return obj
    kind = "function" if class_name == "function" else "class"
    where = f" (module {module!r}, which is never imported)" if module else ""
    raise ValueError(f"{registry.unknown_object_error(registered or name, kind)} "
                     f"The config names {kind} {name!r}{where}.")
