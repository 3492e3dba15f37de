"""Serialization: the registry of known classes and configs to/from plain data."""

from .registry import (
    CustomObjectScope,
    custom_object_scope,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    register_serializable,
)
from .serialization import deserialize_layer, model_from_json, serialize_layer
