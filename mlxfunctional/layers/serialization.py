"""``keras.layers.serialize`` / ``deserialize``: a layer to Keras 3's config dict and back.

Thin wrappers over ``saving.serialization_lib``, imported when called: ``saving``
imports the engine and the layers, so importing it here would be a cycle.
"""


def serialize(layer):
    """A layer (or model) -> ``{"module", "class_name", "config", "registered_name"}``."""
    from ..saving.serialization_lib import serialize_keras_object

    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """A layer config (Keras 3's form or ``{"class_name", "config"}``) -> a new layer.

    Args:
        config: what :func:`serialize` returned.
        custom_objects: ``{name: class}`` for unregistered custom layers.

    Raises:
        ValueError: if the config names an unknown class, or one that is not a Layer.
    """
    from ..engine.layer import Layer
    from ..saving.serialization_lib import deserialize_keras_object

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("keras.layers.deserialize expects a dict with 'class_name' and "
                         f"'config'. Received: {config!r}")
    layer = deserialize_keras_object(config, custom_objects=custom_objects)
    if not isinstance(layer, Layer):
        raise ValueError(f"keras.layers.deserialize: {config['class_name']!r} is not a Layer "
                         f"(it resolves to {layer!r}).")
    return layer
