"""Serialization: the registry of known classes, configs to/from plain data, and
model/weights files (``load_model``, ``save_model``, ``ModelFileError``)."""

from ..registry import (
    CustomObjectScope,
    custom_object_scope,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    register_serializable,
)
from ..engine.serialization import deserialize_layer, model_from_json, serialize_layer
from .errors import ModelFileError

# Model files need the engine, which itself imports this package's registry:
# these names are resolved on first use.
_LAZY = {"load_model": "model_file", "save_model": "model_file",
         "load_weights": "weights_file", "save_weights": "weights_file"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
