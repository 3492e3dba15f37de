"""Xception's layers (Chollet, 2017) with Keras' names and sizes, as a model without weights.

The network is an entry flow (two plain convolutions, then three blocks that halve
the size and widen to 128, 256, 728 channels), a middle flow (eight residual blocks of
three separable convolutions at 728 channels) and an exit flow (one more halving
block, then two separable convolutions to 2048 channels). Every convolution is
followed by a BatchNormalization and none has a bias.

Keras leaves the four strided 1x1 shortcut convolutions, their BatchNormalizations
and the ``add`` layers unnamed, so they take the session's counter names
(``conv2d``, ``batch_normalization``, ``add``, ...); every other layer has a fixed
name. ``NAMED`` lists the fixed names of the layers that hold weights: weights are
matched to those by name and to the unnamed ones by their order.
"""

from .. import layers
from ..engine.functional import Functional
from ..engine.graph import get_source_inputs
from ..engine.input_layer import Input

# Output channels of the two separable convolutions of each halving block of the
# entry flow (blocks 2-4) and of the exit flow (block 13).
_ENTRY = ((2, 128, 128), (3, 256, 256), (4, 728, 728))
_EXIT = (13, 728, 1024)
_MIDDLE = range(5, 13)   # blocks 5-12
_WIDTH = 728


def _bn(x, name=None):
    return layers.BatchNormalization(axis=-1, name=name)(x)


def _sep(x, filters, name):
    """A bias-free 3x3 separable convolution and its BatchNormalization (``name_bn``)."""
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return _bn(x, f"{name}_bn")


def _relu(x, name):
    return layers.Activation("relu", name=name)(x)


def _halving_block(x, block, filters1, filters2, first_relu=True):
    """relu-sepconv-relu-sepconv, 3x3/2 max pooling, plus a strided 1x1 shortcut."""
    shortcut = layers.Conv2D(filters2, (1, 1), strides=(2, 2), padding="same",
                             use_bias=False)(x)
    shortcut = _bn(shortcut)
    if first_relu:  # block 2 follows block1_conv2_act: already rectified
        x = _relu(x, f"block{block}_sepconv1_act")
    x = _sep(x, filters1, f"block{block}_sepconv1")
    x = _relu(x, f"block{block}_sepconv2_act")
    x = _sep(x, filters2, f"block{block}_sepconv2")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same",
                            name=f"block{block}_pool")(x)
    return layers.add([x, shortcut])


def _middle_block(x, block):
    """Three relu-sepconv steps at 728 channels, plus the identity."""
    shortcut = x
    for i in (1, 2, 3):
        x = _relu(x, f"block{block}_sepconv{i}_act")
        x = _sep(x, _WIDTH, f"block{block}_sepconv{i}")
    return layers.add([x, shortcut])


def _named():
    names = ["block1_conv1", "block1_conv1_bn", "block1_conv2", "block1_conv2_bn"]
    seps = [(b, (1, 2)) for b, _, _ in _ENTRY] + [(b, (1, 2, 3)) for b in _MIDDLE] \
        + [(_EXIT[0], (1, 2)), (14, (1, 2))]
    for block, convs in seps:
        for i in convs:
            names += [f"block{block}_sepconv{i}", f"block{block}_sepconv{i}_bn"]
    return tuple(names)


# The named layers with weights, in the order the network uses them.
NAMED = _named()


def xception_graph(input_tensor=None, input_shape=(299, 299, 3), include_top=True,
                   pooling=None, classes=1000, classifier_activation="softmax",
                   name="xception"):
    """The Xception model with freshly initialized weights; arguments as ``Xception``'s,
    already checked (``input_shape`` is used only without ``input_tensor``)."""
    img_input = Input(shape=input_shape) if input_tensor is None else input_tensor

    # Entry flow: two valid 3x3 convolutions (the first strided), then three halvings.
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(img_input)
    x = _relu(_bn(x, "block1_conv1_bn"), "block1_conv1_act")
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = _relu(_bn(x, "block1_conv2_bn"), "block1_conv2_act")
    for block, filters1, filters2 in _ENTRY:
        x = _halving_block(x, block, filters1, filters2, first_relu=block != 2)

    for block in _MIDDLE:
        x = _middle_block(x, block)

    x = _halving_block(x, *_EXIT)
    # Exit flow: the activation follows each BatchNormalization here.
    x = _relu(_sep(x, 1536, "block14_sepconv1"), "block14_sepconv1_act")
    x = _relu(_sep(x, 2048, "block14_sepconv2"), "block14_sepconv2_act")

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    # A preprocessing layer in front of ``input_tensor`` stays part of the model.
    inputs = img_input if input_tensor is None else get_source_inputs(input_tensor)
    return Functional(inputs, x, name=name)
