"""Feature extractors: a model's intermediate activations as a model of their own.

Guide §9 does it by hand for every layer::

    features = Model(inputs=vgg19.input, outputs=[l.output for l in vgg19.layers])

Style transfer and perceptual losses want a few named layers instead
(``block1_conv1`` ... ``block5_conv1``), as a dict they can index by name.
The extractor shares the base model's layers and weights: nothing is copied,
and freezing or fine-tuning the base affects both.
"""

from ..engine.functional import Functional


def feature_extractor(model, layer_names=None, name=None):
    """A model from ``model``'s inputs to the outputs of the named layers.

    Args:
        model: a functional model (e.g. ``applications.VGG19(include_top=False)``).
        layer_names: the layers whose outputs to return, in this order; ``None``
            for every layer except the inputs.
        name: the extractor's name (default ``"<model>_features"``).

    Returns a model whose call returns ``{layer name: activation}``.
    Raises ``ValueError`` naming unknown layers and listing the model's layers.
    """
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    by_name = {layer.name: layer for layer in layers}
    if layer_names is None:
        layer_names = list(by_name)
    elif isinstance(layer_names, str):
        layer_names = [layer_names]
    else:
        layer_names = list(layer_names)
    if not layer_names:
        raise ValueError("layer_names is empty: name at least one layer whose output to return.")
    unknown = [n for n in layer_names if n not in by_name]
    if unknown:
        raise ValueError(f"Model {model.name!r} has no layer(s) {', '.join(map(repr, unknown))}; "
                         f"its layers are: {', '.join(by_name)}.")
    if len(set(layer_names)) != len(layer_names):
        raise ValueError(f"layer_names repeats a name: {list(layer_names)}.")
    outputs = {n: by_name[n].output for n in layer_names}
    return Functional(model.inputs if len(model.inputs) > 1 else model.inputs[0], outputs,
                      name=name or f"{model.name}_features")
