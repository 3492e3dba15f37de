"""Model: a layer with ``layers``, ``summary()`` and (later) training.

``Model(inputs, outputs)`` returns a ``Functional`` model; subclassing
``Model`` and writing ``call`` gives a subclassed model, as in Keras.
"""

import os

import mlx.core as mx

from .. import registry
from .functional_config import functional_from_config
from .layer import Layer
from .serialization import model_to_json
from .summary import print_summary
from .trainer import Trainer


def _zeros(shape):
    return mx.zeros(tuple(1 if d is None else d for d in shape))


@registry.builtin
class Model(Trainer, Layer):
    """A group of layers with training and inference features.

    Two ways to make one, as in Keras:
    - functional: ``Model(inputs, outputs, name=None)``;
    - subclassing: define layers in ``__init__`` and the forward pass in ``call``.
    """

    # True for Sequential: summary() lists its layers even before its input is known.
    _is_sequential = False

    # ``Model(inputs, outputs)`` returns a Functional, and from_config may give a
    # Sequential, as in Keras. Both subclass Model, so it finds them in the registry
    # (registry.builtin_object) instead of importing their modules, which import this one.
    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            functional = registry.builtin_object("Functional")
            return functional.__new__(functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        super().__init__(**kwargs)

    def build(self, input_shape=None):
        """Builds a subclassed model's layers by running ``call`` once, lazily.

        The run is on placeholder arrays (``None`` sizes become 1) that are never
        evaluated, so it costs no computation.
        """
        self.built = True
        if input_shape is None or type(self).call is Layer.call:
            return
        if isinstance(input_shape, dict):
            self({k: _zeros(v) for k, v in input_shape.items()})
        elif all(d is None or isinstance(d, int) for d in input_shape):
            self(_zeros(input_shape))
        else:
            self([_zeros(s) for s in input_shape])

    @property
    def layers(self):
        """The layers this model tracks (for a subclassed model: its attributes)."""
        return [layer for layer in self._sublayers() if isinstance(layer, Layer)]

    def get_layer(self, name=None, index=None):
        """Returns a layer by name or by index in ``layers``."""
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index, not both.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model only has "
                    f"{len(layers)} layers."
                )
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"No such layer: {name}. Existing layers are: {[l.name for l in layers]}."
            )
        raise ValueError("Provide either a layer name or layer index to get_layer().")

    def summary(self, line_length=None, positions=None, print_fn=None,
                expand_nested=False, show_trainable=False, layer_range=None):
        """Prints a table of the layers (tf.keras 2 text format)."""
        print_summary(self, line_length=line_length, positions=positions,
                      print_fn=print_fn, expand_nested=expand_nested,
                      show_trainable=show_trainable, layer_range=layer_range)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuilds a model: a functional config (``Model.get_config()``) gives a
        Functional, a Sequential's (a ``layers`` list alone) a Sequential."""
        if cls is Model and "layers" in config and "input_layers" not in config:
            return registry.builtin_object("Sequential").from_config(config, custom_objects)
        if "input_layers" in config and "layers" in config:
            target = registry.builtin_object("Functional") if cls is Model else cls
            return functional_from_config(target, config, custom_objects)
        return cls(**config)

    # -- files: the work is in saving/ (model_file.py, weights_file.py) -----------
    def save(self, filepath, overwrite=True):
        """Saves architecture, weights, compile settings and optimizer state.

        ``filepath``: a path ending in ``.mlxf`` (one zip file) or a directory
        (existing, or ending in ``/``). Reload with ``models.load_model``.
        """
        from ..saving.model_file import save_model

        save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True):
        """Saves every weight, keyed ``layer/weight``, to ``.npz`` or ``.safetensors``."""
        from ..saving.weights_file import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, strict=True, by_name=False):
        """Loads weights saved by ``save_weights`` (strict by default; see
        ``saving/weights_file.py``), Keras 3's ``.weights.h5`` or tf.keras 2's
        ``.h5`` (``by_name`` matches layers by name). MLX's form, a list of
        ``(path, array)`` pairs, is also accepted. Returns the model."""
        if not isinstance(filepath, (str, os.PathLike)):
            return Layer.load_weights(self, filepath, strict=strict)
        from ..saving.weights_file import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch, strict=strict, by_name=by_name)
        return self

    def _restore_training_state(self, filepath):
        """Takes the weights, optimizer state and training state of a model file this
        model wrote (``BackupAndRestore``); returns the ``ResumeState``."""
        from ..saving.model_file import restore_training_state

        return restore_training_state(self, filepath)

    def to_json(self, **kwargs):
        """The model's architecture as JSON (plain data, no code)."""
        return model_to_json(self, **kwargs)
