"""VGG19's layers (Keras' names and sizes) as a model without weights.

Below both ``vgg19`` (which checks ``VGG19()``'s arguments and loads weights) and
``vgg19_weights`` (which reads the layer names and builds a full model to cache the
converted Hub weights), so neither imports the other's caller.
"""

from .. import layers
from ..engine.functional import Functional
from ..engine.graph import get_source_inputs
from ..engine.input_layer import Input

# (convolutions per block, filters)
BLOCKS = ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))
CONV_NAMES = tuple(f"block{b}_conv{i}" for b, (n, _) in enumerate(BLOCKS, 1)
                   for i in range(1, n + 1))
LAYER_NAMES = frozenset(CONV_NAMES + ("fc1", "fc2", "predictions"))


def vgg19_graph(input_tensor=None, input_shape=(224, 224, 3), include_top=True, pooling=None,
                classes=1000, classifier_activation="softmax", name="vgg19"):
    """The VGG19 model with freshly initialized weights; arguments as ``VGG19``'s, already
    checked (``input_shape`` is used only without ``input_tensor``)."""
    img_input = Input(shape=input_shape, name="input_1") if input_tensor is None else input_tensor
    x = img_input
    for block, (convs, filters) in enumerate(BLOCKS, start=1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                              name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)

    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    # A preprocessing layer in front of ``input_tensor`` stays part of the model.
    inputs = img_input if input_tensor is None else get_source_inputs(input_tensor)
    return Functional(inputs, x, name=name)
