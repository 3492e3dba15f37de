"""Sequential: a plain stack of layers that holds a functional model.

The stack is the model; the functional graph is how it runs. The graph exists
once the input is known: an ``Input`` first, ``input_shape=`` on the first
layer, ``build(input_shape)``, or the first data the model is called on. From
then on ``add()`` calls the new layer once on the graph's output and appends
that call, so a stack of N layers costs N calls, never N rebuilds.
"""

from .. import registry
from .functional import Functional
from .input_layer import InputLayer
from .keras_tensor import KerasTensor
from .layer import Layer
from .model import Model
from .plot import model_to_svg
from .serialization import deserialize_layer, serialize_layer
from .variables import layer_scope


def _from_graph(name):
    """A read-only view of the inner Functional's ``name``; None until it exists.

    (The trainer reads these to learn input and output names and structures.)
    """
    return property(lambda self: None if self._functional is None
                    else getattr(self._functional, name))


@registry.builtin
class Sequential(Model):
    """``Sequential([layer, ...])`` or ``.add(layer)`` one at a time.

    Args:
        layers: optional list of layers (an ``Input`` may come first).
        name: the model's name (``sequential``, ``sequential_1``...).
        trainable: whether the layers' weights are updated by training.
    """

    _is_sequential = True
    _convert_input_args = False  # its layers cast their own inputs (engine/autocast.py)

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._layers = []  # the stack, without its InputLayer
        self._input_layer = None
        self._functional = None  # the graph, once the input is known
        for layer in layers or []:
            self.add(layer)

    # -- the stack ------------------------------------------------------------
    def add(self, layer):
        """Appends a layer (or an ``Input`` tensor as the first element).

        With a known input the layer is called at once on the model's output,
        so a shape error names the layer here, and its weights exist.
        """
        if isinstance(layer, KerasTensor):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add() takes a Layer; received {layer!r}.")
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError(
                    f'Sequential model "{self.name}": an Input can only be its first '
                    f"element; it already has {len(self._layers)} layer(s) or an input.")
            self._set_input(layer)
            return
        if layer.name in self:  # (the module dict keys the layers by name)
            raise ValueError(f'Sequential "{self.name}" already has a layer named "{layer.name}".')
        if not self._layers and self._input_layer is None and layer._batch_input_shape:
            self._set_input(InputLayer(batch_shape=layer._batch_input_shape))
        if self._functional is not None:
            # Called before it joins the stack: a layer whose call fails is not added.
            with layer_scope(self):  # weights are "sequential/dense/kernel", as in Keras
                self._functional._append_call(layer(self._functional.output))
        self._layers.append(layer)
        self[layer.name] = layer

    def pop(self):
        """Removes the last layer and returns it."""
        if not self._layers:
            raise TypeError("There are no layers in the model.")
        layer = self._layers.pop()
        dict.pop(self, layer.name, None)
        if self._functional is not None:
            plan = self._functional._plan
            node = plan[-1]
            if layer._inbound_nodes and layer._inbound_nodes[-1] is node:
                layer._inbound_nodes.pop()  # so `layer.output` forgets this model's call
            # The calls below it stay valid: the graph ends one node earlier.
            output = plan[-2].outputs if len(plan) > 1 else self._input_layer.output
            self._functional = Functional(self._input_layer.output, output, name=self.name)
        return layer

    @property
    def layers(self):
        return list(self._layers)

    def _sublayers(self):
        return list(self._layers)

    # -- building -------------------------------------------------------------
    def _set_input(self, input_layer):
        """Builds the graph from ``input_layer``: one call per layer of the stack."""
        x = inputs = input_layer.output
        called = []
        try:
            with layer_scope(self):  # weights are "sequential/dense/kernel", as in Keras
                for layer in self._layers:
                    x = layer(x)
                    called.append(layer)
        except Exception:
            # Forget the calls made so far: a later build must not see them as shared.
            for layer in called:
                layer._inbound_nodes.pop()
            raise
        self._input_layer = input_layer
        self._functional = Functional(inputs, x, name=self.name)
        self.built = True

    def build(self, input_shape=None):
        """Builds the graph for inputs of ``input_shape`` (batch size left free)."""
        if self._functional is not None:
            return
        if input_shape is None:
            raise ValueError(
                f'Sequential model "{self.name}" has no input shape yet: give its first '
                "layer an Input, call it on data, or call build(input_shape).")
        self._set_input(InputLayer(batch_shape=(None,) + tuple(input_shape)[1:]))

    def __call__(self, *args, **kwargs):
        if self._functional is None:
            first = args[0] if args else next(iter(kwargs.values()), None)
            if not hasattr(first, "shape"):
                raise ValueError(
                    f'Sequential model "{self.name}" takes one tensor or array as input (its '
                    f"first layer's); received a {type(first).__name__}.")
            dtype = getattr(first, "dtype", None)
            dtype = str(dtype) if isinstance(first, KerasTensor) else _data_dtype(dtype)
            self._set_input(InputLayer(batch_shape=(None,) + tuple(first.shape)[1:], dtype=dtype))
        return super().__call__(*args, **kwargs)

    def call(self, inputs, training=None, mask=None):
        return self._functional.call(inputs, training=training, mask=mask)

    # -- the graph's views ------------------------------------------------------
    def _graph(self):
        if self._functional is None:
            raise ValueError(
                f'Sequential model "{self.name}" has no input yet, so no graph: give its '
                "first layer an Input, call it on data, or call build(input_shape).")
        return self._functional

    @property
    def inputs(self):
        return self._graph().inputs

    @property
    def outputs(self):
        return self._graph().outputs

    @property
    def input(self):
        return self._graph().input

    @property
    def output(self):
        return self._graph().output

    @property
    def input_shape(self):
        return self._graph().input_shape

    @property
    def output_shape(self):
        return self._graph().output_shape

    input_names = _from_graph("input_names")
    output_names = _from_graph("output_names")
    _inputs = _from_graph("_inputs")
    _outputs = _from_graph("_outputs")
    _inputs_struct = _from_graph("_inputs_struct")
    _outputs_struct = _from_graph("_outputs_struct")

    def _functional_graph(self):
        return self._functional

    def _repr_svg_(self):
        """The model's graph as SVG for notebooks; None when unbuilt or without `dot`."""
        return model_to_svg(self)

    # -- config ------------------------------------------------------------------
    def get_config(self):
        # Each entry also records the layer's name, restored by from_config even when
        # a custom get_config() omits it (model files key weights by layer name).
        layers = [{**serialize_layer(l), "name": l.name} for l in self._layers]
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

