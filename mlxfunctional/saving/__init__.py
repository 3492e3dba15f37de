"""Serialization: the registry of known classes, configs to/from plain data, and
model/weights files (``load_model``, ``save_model``, ``ModelFileError``).

``saving`` depends on the engine, never the reverse: the registry is the leaf
``mlxfunctional.registry`` and layer configs are ``engine.serialization``; only
``Model.save``/``save_weights``/``load_weights`` call into this package, as in Keras.
"""

from ..registry import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    register_serializable,
)
from ..engine.serialization import deserialize_layer, model_from_json, serialize_layer
from .errors import ModelFileError
from .serialization_lib import deserialize_keras_object, serialize_keras_object
from .model_file import load_model, save_model
from .weights_file import load_weights, save_weights
