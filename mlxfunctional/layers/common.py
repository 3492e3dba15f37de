"""Helpers shared by the layers: Keras' object arguments, their weights, the
output tail ``activation(x + bias)`` with its activity-regularizer loss, and the
time loop of recurrent layers under a shape trace.

Keras names a layer's object arguments by kind: ``activation`` and
``*_activation`` are activations, ``*_initializer`` initializers,
``*_regularizer`` regularizers and ``*_constraint`` constraints. The layers
keep each one as an attribute of the same name, so the name tells how to
resolve it (``<kind>.get``) and how to write it in a config (``<kind>.serialize``).
"""

import mlx.core as mx

from .. import activations, constraints, initializers, regularizers
from ..engine import global_batch, trace
from .. import tree

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


def time_steps(order):
    """The time steps a recurrent layer runs: all of ``order``, or its first two
    during a shape trace. Every step has the same shapes, and a config declaring
    10^8 timesteps must not make loading it hang."""
    return list(order)[:2] if trace.in_trace() else order


def full_sequence(outputs, steps):
    """The per-step ``outputs`` stacked to ``(batch, steps, ...)``; a traced
    (shortened) sequence is stretched to its declared length by repeating."""
    sequence = mx.stack(outputs, axis=1)
    if len(outputs) < steps:
        sequence = mx.broadcast_to(sequence[:, -1:],
                                   (sequence.shape[0], steps) + tuple(sequence.shape[2:]))
    return sequence


def add_activity_loss(layer, outputs):
    """Adds ``layer.activity_regularizer`` of every array in ``outputs`` (when the layer
    has one) to its losses; returns ``outputs``."""
    if layer.activity_regularizer is not None:
        for y in tree.flatten(outputs):
            # A sum over the batch's rows (Keras 3 does not divide by the batch size).
            layer.add_loss(global_batch.sum_over_rows(layer.activity_regularizer(y)))
    return outputs


def bias_activation(layer, x):
    """``activation(x + bias)`` (no bias unless ``use_bias``), with its activity loss."""
    if layer.use_bias:
        x = x + layer["bias"]
    return add_activity_loss(layer, layer.activation(x))
