"""VGG19 (Simonyan & Zisserman, 2014) with Keras' layer names and sizes.

143,667,240 parameters with the classifier top. Building it evaluates
nothing: weights are initialized lazily and shapes come from the lazy trace.
"""

import os

from .. import activations, layers
from ..engine.functional import Functional
from ..engine.graph import get_source_inputs
from ..engine.input_layer import Input
from ..engine.keras_tensor import KerasTensor
from .imagenet_utils import decode_predictions  # noqa: F401  (keras.applications.vgg19's)
from .imagenet_utils import preprocess_input as _preprocess_input

# (convolutions per block, filters)
_BLOCKS = ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))
CONV_NAMES = tuple(f"block{b}_conv{i}" for b, (n, _) in enumerate(_BLOCKS, 1)
                   for i in range(1, n + 1))
LAYER_NAMES = frozenset(CONV_NAMES + ("fc1", "fc2", "predictions"))


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg19", *,
          repo_id="timm/vgg19.tv_in1k", revision=None):
    """Builds VGG19, with ImageNet weights by default.

    Args:
        include_top: include the ``flatten``/``fc1``/``fc2``/``predictions`` classifier.
        weights: ``"imagenet"`` (torchvision's ImageNet weights, from the Hugging Face
            Hub repo ``repo_id``; downloaded and converted once, then read from
            ``$MLXF_HOME/models``), ``None`` (random initialization), or a path:
            a Keras 2 ``.h5`` weights file (Keras' own VGG19 weights), a
            ``.safetensors`` in timm's layout, or our own ``.mlxf``/``.npz``/
            ``.safetensors``. Without the top, only the convolutions are loaded.
        input_tensor: optional symbolic tensor to use as the image input; when it
            comes out of layers (e.g. preprocessing), the model starts at their
            ``Input``.
        input_shape: ``(224, 224, 3)`` with the top and ImageNet weights; else any
            ``(h, w, channels)`` with h, w >= 32 (``None`` for any size without
            the top).
        pooling: without the top, ``None`` (4-D output), ``"avg"`` or ``"max"``.
        classes: number of classes of the top (1000 with ``"imagenet"``).
        classifier_activation: activation of the ``predictions`` layer (``None``
            or ``"softmax"`` with pretrained weights).
        repo_id, revision: the Hub repo and revision (branch, tag or commit) for
            ``weights="imagenet"``.

    ``preprocess_input`` (in this module) follows the weights loaded last:
    torch-style for the Hub weights, caffe-style for Keras' ``.h5`` weights.
    """
    if not (weights is None or weights == "imagenet" or isinstance(weights, (str, os.PathLike))):
        raise ValueError("The `weights` argument should be either `None` (random "
                         "initialization), 'imagenet' (pre-training on ImageNet), or the "
                         f"path to the weights file to be loaded; received {weights!r}.")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling must be None, 'avg' or 'max'; received {pooling!r}.")
    if include_top:
        _check_top(weights, classes, classifier_activation)
    input_shape = _input_shape(input_shape, include_top, weights)
    if input_tensor is None:
        img_input = Input(shape=input_shape, name="input_1")
    elif isinstance(input_tensor, KerasTensor):
        img_input = input_tensor
    else:
        raise ValueError(f"input_tensor must be a symbolic tensor (from keras.Input or a "
                         f"layer); received {type(input_tensor).__name__}.")

    x = img_input
    for block, (convs, filters) in enumerate(_BLOCKS, start=1):
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
    model = Functional(inputs, x, name=name)
    if weights is not None:
        from . import vgg19_weights  # (it imports this module's names)

        vgg19_weights.load_pretrained(model, weights, include_top, repo_id, revision)
    return model


def _check_top(weights, classes, classifier_activation):
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"classes must be a positive int; received {classes!r}.")
    if weights == "imagenet" and classes != 1000:
        raise ValueError('If using `weights="imagenet"` with `include_top=True`, `classes` '
                         f"should be 1000. Received classes={classes}.")
    if weights is not None and \
            activations.get(classifier_activation) not in (activations.softmax,
                                                           activations.linear):
        raise ValueError("Only `None` and `softmax` activations are allowed for the "
                         "`classifier_activation` argument when using pretrained weights, "
                         "with `include_top=True`; received classifier_activation="
                         f"{classifier_activation!r}.")


def _input_shape(input_shape, include_top, weights):
    """Keras' ``obtain_input_shape`` for VGG19 (224x224 default, 32x32 minimum)."""
    imagenet = weights == "imagenet"
    if input_shape is None:
        return (224, 224, 3) if include_top else (None, None, 3)
    input_shape = tuple(input_shape)
    if include_top and imagenet and input_shape != (224, 224, 3):
        raise ValueError("When setting `include_top=True` and loading `imagenet` weights, "
                         f"`input_shape` should be (224, 224, 3). Received: input_shape="
                         f"{input_shape}")
    if len(input_shape) != 3:
        raise ValueError(f"`input_shape` must be a tuple of three integers (height, width, "
                         f"channels); received input_shape={input_shape}")
    if imagenet and input_shape[-1] != 3:
        raise ValueError("The input must have 3 channels with `imagenet` weights; "
                         f"received input_shape={input_shape}")
    if any(size is not None and size < 32 for size in input_shape[:2]):
        raise ValueError("Input size must be at least 32x32; received input_shape="
                         f"{input_shape}")
    if include_top and None in input_shape:
        raise ValueError("If `include_top` is True, you should specify a static "
                         f"`input_shape`. Received: input_shape={input_shape}")
    return input_shape


def preprocess_input(x, data_format=None, mode=None):
    """Prepares RGB images in [0, 255] (channels last) for VGG19.

    Args:
        x: images, numpy or ``mx.array``, last axis RGB.
        mode: ``"torch"`` (RGB / 255, minus ImageNet mean, over std: the Hub
            weights), ``"caffe"`` (BGR minus the mean pixel: Keras' ``.h5``
            weights) or ``"tf"``; by default the mode of the weights that
            ``VGG19()`` loaded last (``"torch"`` before any).
    """
    from .vgg19_weights import preprocessing_mode  # (it imports this module's names)

    return _preprocess_input(x, data_format=data_format, mode=mode or preprocessing_mode())
