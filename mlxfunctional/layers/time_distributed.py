"""TimeDistributed: applies a layer to every temporal slice of its input."""

import inspect

from ..engine.input_spec import InputSpec, check_input_spec
from ..engine.layer import Layer
from .. import registry
from .. import tree


@registry.builtin
class TimeDistributed(Layer):
    """Applies ``layer`` to every temporal slice of a ``(batch, time, ...)`` input.

    Args:
        layer: a ``Layer`` instance. Its weights are the wrapper's weights, shared
            by all timesteps; it is built for the per-timestep shape
            ``(batch, *input_shape[2:])``.

    Call arguments: ``training`` and ``mask`` (``(batch, time)``) are passed on to
    the wrapped layer when its ``call`` takes them. The output mask is the input
    mask, as in Keras 3.

    Output: ``(batch, time, *layer_output_shape[1:])``.
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(
                "Please initialize `TimeDistributed` layer with a `Layer` instance. "
                f"Received: {layer!r}"
            )
        super().__init__(**kwargs)
        self.layer = layer
        self.input_spec = InputSpec(min_ndim=3)
        self.supports_masking = True

    def _child_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3 or \
                any(isinstance(d, (tuple, list)) for d in input_shape):
            raise ValueError(
                f'Layer "{self.name}" (TimeDistributed) needs a single input of rank >= 3, '
                f"(batch, time, ...); received input shape {input_shape}."
            )
        return (input_shape[0],) + tuple(input_shape[2:])

    def build(self, input_shape):
        self.layer._maybe_build(self._child_shape(input_shape))
        self.built = True

    def _fold(self, x):
        # (batch, time, ...) -> (batch * time, ...): one call of the wrapped layer
        # covers every timestep, with no Python loop over time.
        return x.reshape((x.shape[0] * x.shape[1],) + tuple(x.shape[2:]))

    def call(self, inputs, training=None, mask=None):
        self._child_shape(tuple(inputs.shape))
        batch, steps = inputs.shape[0], inputs.shape[1]
        if mask is not None and tuple(mask.shape[:2]) != (batch, steps):
            raise ValueError(
                f'Layer "{self.name}" (TimeDistributed): the mask\'s first two dimensions '
                f"{tuple(mask.shape[:2])} must match the input's (batch, time) "
                f"{(batch, steps)}. Received: input shape {tuple(inputs.shape)}, mask "
                f"shape {tuple(mask.shape)}."
            )
        x = self._fold(inputs)
        try:
            check_input_spec(self.layer, self.layer.input_spec, x)
        except ValueError as e:
            raise ValueError(
                f'Layer "{self.name}" (TimeDistributed) received input shape '
                f"{tuple(inputs.shape)}, i.e. per-timestep shape {tuple(x.shape)}, which "
                f'the wrapped layer "{self.layer.name}" rejects: {e}'
            ) from e
        inner_mask = self._fold(mask) if mask is not None else None
        outputs, _ = self.layer._call_and_mask((x,), {"training": training}, inner_mask,
                                               compute_mask=False)

        def unfold(y):
            return y.reshape((batch, steps) + tuple(y.shape[1:]))

        return tree.map_structure(unfold, outputs)

    def get_config(self):
        config = super().get_config()
        config["layer"] = {
            "class_name": registry.get_registered_name(type(self.layer)),
            "config": self.layer.get_config(),
        }
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = config.pop("layer")
        class_name = inner["class_name"]
        inner_cls = registry.get_registered_object(class_name, custom_objects)
        if inner_cls is None:
            raise registry.unknown_object_error(class_name, "layer")
        if "custom_objects" in inspect.signature(inner_cls.from_config).parameters:
            layer = inner_cls.from_config(inner["config"], custom_objects=custom_objects)
        else:
            layer = inner_cls.from_config(inner["config"])
        return cls(layer, **config)
