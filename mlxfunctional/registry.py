"""The registry of serializable classes and functions.

A model file names classes by string. Those strings resolve *only* here:
the package's own classes, what the user registered with
``register_serializable``, and what is passed as ``custom_objects`` (or in a
``custom_object_scope``). Nothing is ever imported by name.

A leaf module: it imports nothing from the package, so every layer, loss and
optimizer module can register itself without importing ``saving/`` (which
depends on the engine, never the reverse).
"""

import threading

# "package>name" or built-in class name -> object
_BUILTIN_OBJECTS = {}
_GLOBAL_CUSTOM_OBJECTS = {}
_GLOBAL_CUSTOM_NAMES = {}
_SCOPE = threading.local()


def register_builtin(obj, name=None):
    """Registers one of this package's own classes or functions under its name."""
    _BUILTIN_OBJECTS[name or obj.__name__] = obj
    return obj


def builtin(obj):
    """Decorator form of :func:`register_builtin`."""
    return register_builtin(obj)


def builtin_objects():
    """A copy of ``{name: object}`` for every built-in registered so far."""
    return dict(_BUILTIN_OBJECTS)


def builtin_object(name):
    """One of the package's own classes or functions, by name; custom objects and
    scopes never shadow it. Lets a base class reach a subclass without importing it."""
    return _BUILTIN_OBJECTS[name]


def register_serializable(package="Custom", name=None):
    """Decorator that makes a custom class or function known to the loader.

    Args:
        package: prefix of the registered name (``"Custom"`` by default).
        name: name within the package; defaults to the object's ``__name__``.
    """

    def decorator(obj):
        registered = f"{package}>{name or obj.__name__}"
        if hasattr(obj, "get_config") is False and isinstance(obj, type):
            raise ValueError(
                f"Cannot register {obj.__name__}: a class must define get_config()."
            )
        _GLOBAL_CUSTOM_OBJECTS[registered] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = registered
        return obj

    return decorator


# Keras' spelling of the same decorator.
register_keras_serializable = register_serializable


def get_registered_name(obj):
    """Returns the name an object is serialized under."""
    if obj in _GLOBAL_CUSTOM_NAMES:
        return _GLOBAL_CUSTOM_NAMES[obj]
    return getattr(obj, "__name__", type(obj).__name__)


def _scopes():
    if not hasattr(_SCOPE, "stack"):
        _SCOPE.stack = []
    return _SCOPE.stack


class CustomObjectScope:
    """``with custom_object_scope({"MyLayer": MyLayer}):`` makes names resolvable."""

    def __init__(self, custom_objects):
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self):
        _scopes().append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _scopes().pop()


custom_object_scope = CustomObjectScope


def get_registered_object(name, custom_objects=None, module_objects=None):
    """Resolves a serialized name, or returns None when nothing knows it.

    Looks, in order, in ``custom_objects``, the active scopes, the user's
    registrations, ``module_objects`` and the package's built-ins. A registered
    ``"Custom>Name"`` is also found by its bare ``"Name"``.
    """
    tables = [custom_objects or {}]
    tables += list(reversed(_scopes()))
    tables += [_GLOBAL_CUSTOM_OBJECTS, module_objects or {}, _BUILTIN_OBJECTS]
    for table in tables:
        if name in table:
            return table[name]
    if ">" not in name:
        for key, obj in _GLOBAL_CUSTOM_OBJECTS.items():
            # A key the user put in get_custom_objects() by hand may lack a package.
            if key.rpartition(">")[2] == name:
                return obj
    return None


def get_custom_objects():
    """The live global dict of user registrations, ``{"package>Name": object}``.

    As in Keras, adding to it makes a name resolvable
    (``get_custom_objects()["MyLayer"] = MyLayer``) and clearing it forgets every
    registration; names given to a ``custom_object_scope`` are not in it.
    """
    return _GLOBAL_CUSTOM_OBJECTS


def unknown_object_error(name, kind="class"):
    """The error for a name that nothing knows: says the two ways to make it known."""
    return ValueError(
        f"Unknown {kind} {name!r}. It is neither built into mlxfunctional nor "
        "registered. Make it known either by passing "
        f"custom_objects={{{name!r}: {name.split('>')[-1]}}} to the loading call, "
        "or by decorating its definition with "
        "@mlxfunctional.saving.register_serializable()."
    )
