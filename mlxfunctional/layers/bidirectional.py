"""Bidirectional: runs a recurrent layer forwards and a copy backwards, then merges."""

import inspect

import mlx.core as mx

from ..engine.layer import Layer
from .. import registry
from ..engine import serialization
from .. import tree

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _copy(layer, name, **overrides):
    """A fresh layer (new weights) from ``layer``'s config, renamed and overridden."""
    config = dict(layer.get_config(), name=name, **overrides)
    return type(layer).from_config(config)


def _strip(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


@registry.builtin
class Bidirectional(Layer):
    """Bidirectional wrapper for RNNs.

    Args:
        layer: an ``RNN`` instance (``LSTM``, ``GRU``...), or a Layer with
            ``go_backwards``, ``return_sequences``, ``return_state`` attributes and a
            config. It is not used itself: the forward layer (``forward_<name>``) is a
            fresh copy from its config, and so is the backward one (``backward_<name>``,
            with ``go_backwards`` flipped) unless ``backward_layer`` is given.
        merge_mode: how the two outputs combine: ``"concat"`` (default), ``"sum"``,
            ``"mul"``, ``"ave"``, or None for the list ``[forward, backward]``.
        weights: optional initial weights (forward layer's, then backward layer's).
        backward_layer: optional layer for the backward pass; it must have the
            opposite ``go_backwards`` and the same ``stateful``, ``return_sequences``
            and ``return_state``.

    The backward output sequence is flipped back to input time order before
    merging. With ``return_sequences`` masked timesteps output zeros in both
    directions (Keras forces ``zero_output_for_mask``). ``initial_state`` is a
    list whose first half goes to the forward layer and second half to the
    backward one. With ``return_state`` the result is ``[output, *forward_states,
    *backward_states]`` (``[forward_out, backward_out, *states]`` when merge_mode is
    None). Weights: the forward layer's, then the backward layer's.
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `Bidirectional` layer with a `Layer` "
                             f"instance. Received: {layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("`backward_layer` need to be a `Layer` instance. "
                             f"Received: {backward_layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode!r}. Merge mode should "
                             'be one of {"sum", "mul", "ave", "concat", None}')
        for attr in ("go_backwards", "return_sequences", "return_state"):
            if not hasattr(layer, attr):
                raise ValueError(f"Bidirectional needs a recurrent layer with a `{attr}` "
                                 f"attribute; {type(layer).__name__} has none.")
        super().__init__(**kwargs)
        self.forward_layer = _copy(layer, "forward_" + _strip(layer.name, "forward_"))
        if backward_layer is None:
            backward_layer = _copy(layer, "backward_" + _strip(layer.name, "backward_"),
                                   go_backwards=not layer.go_backwards)
        self.backward_layer = backward_layer
        self._verify()
        for inner in (self.forward_layer, self.backward_layer):
            # Zeros at masked steps keep the reversed sequence aligned with the forward one.
            if getattr(inner, "zero_output_for_mask", None) is not None:
                inner.zero_output_for_mask = inner.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = weights
        self.stateful = getattr(layer, "stateful", False)
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    def _verify(self):
        f, b = self.forward_layer, self.backward_layer
        if f.go_backwards == b.go_backwards:
            raise ValueError("Forward layer and backward layer should have different "
                             f"`go_backwards` value. Received: forward_layer.go_backwards="
                             f"{f.go_backwards}, backward_layer.go_backwards={b.go_backwards}")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(f, attr, False) != getattr(b, attr, False):
                raise ValueError("Forward layer and backward layer are expected to have the "
                                 f'same value for attribute "{attr}", got '
                                 f'"{getattr(f, attr, False)}" for forward layer and '
                                 f'"{getattr(b, attr, False)}" for backward layer')

    def build(self, sequences_shape):
        self.forward_layer._maybe_build(sequences_shape)
        self.backward_layer._maybe_build(sequences_shape)
        self.built = True
        if self._initial_weights:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def _run(self, layer, sequences, initial_state, mask, training):
        params = inspect.signature(type(layer).call).parameters
        kwargs = {"training": training}
        if initial_state is not None:
            kwargs["initial_state"] = initial_state
        if mask is not None and "mask" in params:
            kwargs["mask"] = mask
        return layer(sequences, **kwargs)

    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            initial_state = tree.flatten(initial_state)
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self._run(self.forward_layer, sequences, forward_state, mask, training)
        y_rev = self._run(self.backward_layer, sequences, backward_state, mask, training)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]  # back to input time order

        if self.merge_mode == "concat":
            output = [mx.concatenate([y, y_rev], axis=-1)]
        elif self.merge_mode == "sum":
            output = [y + y_rev]
        elif self.merge_mode == "ave":
            output = [(y + y_rev) / 2]
        elif self.merge_mode == "mul":
            output = [y * y_rev]
        else:
            output = [y, y_rev]
        result = output + states
        return result[0] if len(result) == 1 else result

    def compute_mask(self, inputs, mask=None):
        mask = tree.flatten(mask)[0] if mask is not None else None
        output_mask = mask if self.return_sequences else None
        masks = [output_mask] * (2 if self.merge_mode is None else 1)
        if self.return_state:
            n = sum(len(getattr(l, "_flat_state_size", getattr(l, "state_size", [None])))
                    for l in (self.forward_layer, self.backward_layer))
            masks += [None] * n
        return masks[0] if len(masks) == 1 else masks

    @property
    def states(self):
        f, b = getattr(self.forward_layer, "states", None), getattr(self.backward_layer, "states", None)
        return f + b if f and b else None

    def reset_state(self, states=None):
        if not self.stateful:
            raise AttributeError(f'Layer "{self.name}" must be stateful.')
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    reset_states = reset_state

    def get_config(self):
        config = super().get_config()
        config.update(merge_mode=self.merge_mode,
                      layer=serialization.serialize_layer(self.forward_layer),
                      backward_layer=serialization.serialize_layer(self.backward_layer))
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = serialization.deserialize_layer(config.pop("layer"), custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = serialization.deserialize_layer(backward, custom_objects)
        return cls(layer, backward_layer=backward, **config)
