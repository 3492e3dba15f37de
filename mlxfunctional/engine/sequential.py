"""Sequential: a plain stack of layers, a Functional model underneath.

The graph is (re)built lazily: when the input is known (an ``Input``/
``InputLayer`` first, or ``input_shape=`` on the first layer) at first use,
otherwise from the shape of the first data it is called on.
"""

from .. import registry
from .serialization import deserialize_layer, serialize_layer
from .functional import Functional
from .input_layer import InputLayer
from .keras_tensor import KerasTensor
from .layer import Layer
from .model import Model


@registry.builtin
class Sequential(Functional):
    """``Sequential([layer, ...])`` or ``.add(layer)`` one at a time.

    Args:
        layers: optional list of layers (an ``Input`` may come first).
        name: the model's name (``sequential``, ``sequential_1``...).
    """

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        Model.__init__(self, name=name, trainable=trainable, **kwargs)
        self._stack = []
        self._input_layer = None
        self._graph_nodes = []
        self._dirty = True
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Appends a layer (or an ``Input`` tensor as the first element)."""
        if isinstance(layer, KerasTensor):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add() takes a Layer; received {layer!r}.")
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError("An Input can only be the first element of a Sequential model.")
            self._input_layer = layer
        else:
            if not self._stack and self._input_layer is None and layer._batch_input_shape:
                self._input_layer = InputLayer(batch_shape=layer._batch_input_shape)
            if any(l.name == layer.name for l in self._stack):
                raise ValueError(f'Sequential "{self.name}" already has a layer named "{layer.name}".')
            self._stack.append(layer)
            self[layer.name] = layer
        self._dirty = True
        self.built = self._input_layer is not None
        if self.built:  # as Keras: with a known input, the graph (and weights) exist at once
            self._ensure_graph()

    def pop(self):
        """Removes the last layer."""
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        dict.pop(self, layer.name, None)
        self._dirty = True
        if self._input_layer is not None and self._stack:
            self._ensure_graph()
        return layer

    @property
    def layers(self):
        return list(self._stack)

    def _sublayers(self):
        return list(self._stack)

    # The graph's own views need the graph: build it (from a known input) first.
    @property
    def inputs(self):
        self._ensure_graph()
        return super().inputs

    @property
    def outputs(self):
        self._ensure_graph()
        return super().outputs

    @property
    def input(self):
        self._ensure_graph()
        return super().input

    @property
    def output(self):
        self._ensure_graph()
        return super().output

    def _ensure_graph(self, batch_shape=None, dtype=None):
        if not self._dirty:
            return
        if self._input_layer is None:
            if batch_shape is None:
                raise ValueError(
                    f'Sequential model "{self.name}" has no input shape yet: give its first '
                    "layer an Input, call it on data, or call build(input_shape)."
                )
            self._input_layer = InputLayer(batch_shape=(None,) + tuple(batch_shape[1:]), dtype=dtype)
        self._drop_previous_nodes()
        x = inputs = self._input_layer.output
        for layer in self._stack:
            x = layer(x)
        self._graph_nodes = [(l, l._inbound_nodes[-1]) for l in self._stack]
        self._init_graph(inputs, x)
        self._dirty = False

    def _drop_previous_nodes(self):
        # Rebuilding after add(): forget the calls of the previous build, so
        # `layer.output` keeps meaning this model's call (when nothing else used it).
        for layer, node in self._graph_nodes:
            if layer._inbound_nodes and layer._inbound_nodes[-1] is node:
                layer._inbound_nodes.pop()

    def build(self, input_shape=None):
        self._ensure_graph(input_shape)
        self.built = True

    def __call__(self, *args, **kwargs):
        if self._dirty:
            first = args[0] if args else next(iter(kwargs.values()))
            dtype = getattr(first, "dtype", None)
            dtype = str(dtype) if isinstance(first, KerasTensor) else _data_dtype(dtype)
            self._ensure_graph(tuple(first.shape), dtype)
            self.built = True
        return super().__call__(*args, **kwargs)

    def summary(self, *args, **kwargs):
        if self._dirty and self._input_layer is not None:
            self._ensure_graph()
        super().summary(*args, **kwargs)

    def get_config(self):
        # Each entry also records the layer's name, restored by from_config even when
        # a custom get_config() omits it (model files key weights by layer name).
        layers = [{**serialize_layer(l), "name": l.name} for l in self._stack]
        if self._input_layer is not None:
            layers.insert(0, serialize_layer(self._input_layer))
        return {"name": self.name, "trainable": self.trainable, "layers": layers}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for entry in config["layers"]:
            model.add(deserialize_layer(entry, custom_objects))
        return model


def _data_dtype(dtype):
    name = str(dtype)
    if "int" in name or "bool" in name:
        return "int32"
    return "float32"
