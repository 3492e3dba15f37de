"""Helpers shared by the layers: Keras' object arguments, their weights and the
output tail ``activation(x + bias)`` with its activity-regularizer loss.

Keras names a layer's object arguments by kind: ``activation`` and
``*_activation`` are activations, ``*_initializer`` initializers,
``*_regularizer`` regularizers and ``*_constraint`` constraints. The layers
keep each one as an attribute of the same name, so the name tells how to
resolve it (``<kind>.get``) and how to write it in a config (``<kind>.serialize``).
"""

from .. import activations, constraints, initializers, regularizers
from ..utils import tree

_KINDS = (("activation", activations), ("_initializer", initializers),
          ("_regularizer", regularizers), ("_constraint", constraints))

# The arguments Dense and the convolutions share, in Keras' config order.
KERNEL_BIAS_ARGS = ("activation", "use_bias", "kernel_initializer", "bias_initializer",
                    "kernel_regularizer", "bias_regularizer", "activity_regularizer",
                    "kernel_constraint", "bias_constraint")


def _kind(name):
    """The module (activations, initializers...) of argument ``name``; None for plain values."""
    for suffix, module in _KINDS:
        if name.endswith(suffix):
            return module
    return None


def set_objects(layer, **arguments):
    """Sets ``layer.<name> = <kind>.get(value)`` for each object argument, in order."""
    for name, value in arguments.items():
        setattr(layer, name, _kind(name).get(value))


def config_values(layer, *names):
    """``{name: layer.<name>}`` for ``get_config``, in order: object arguments
    serialized with their kind's ``serialize``, other values as they are."""
    config = {}
    for name in names:
        value = getattr(layer, name)
        kind = _kind(name)
        config[name] = value if kind is None else kind.serialize(value)
    return config


def add_weight(layer, name, shape, arg=None, initializer=None, **kwargs):
    """``layer.add_weight`` with the layer's ``<arg>_initializer``, ``<arg>_regularizer``
    and ``<arg>_constraint`` (``arg`` defaults to ``name``; ``initializer``, when
    given, replaces the layer's)."""
    arg = arg or name
    if initializer is None:
        initializer = getattr(layer, f"{arg}_initializer")
    return layer.add_weight(shape=shape, name=name, initializer=initializer,
                            regularizer=getattr(layer, f"{arg}_regularizer"),
                            constraint=getattr(layer, f"{arg}_constraint"), **kwargs)


def add_activity_loss(layer, outputs):
    """Adds ``layer.activity_regularizer`` of every array in ``outputs`` (when the layer
    has one) to its losses; returns ``outputs``."""
    if layer.activity_regularizer is not None:
        for y in tree.flatten(outputs):
            layer.add_loss(layer.activity_regularizer(y))
    return outputs


def bias_activation(layer, x):
    """``activation(x + bias)`` (no bias unless ``use_bias``), with its activity loss."""
    if layer.use_bias:
        x = x + layer.bias
    return add_activity_loss(layer, layer.activation(x))
