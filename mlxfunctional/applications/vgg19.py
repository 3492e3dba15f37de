"""VGG19 (Simonyan & Zisserman, 2014) with Keras' layer names and sizes.

143,667,240 parameters with the classifier top. Building it evaluates
nothing: weights are initialized lazily and shapes come from the lazy trace.
"""

import os

from .. import layers
from ..engine.functional import Functional
from ..engine.input_layer import Input
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
        input_tensor: optional symbolic tensor to use as the model's input.
        input_shape: ``(224, 224, 3)`` with the top; without it, any ``(h, w, 3)``
            with h, w >= 32 (``None`` for any size).
        pooling: without the top, ``None`` (4-D output), ``"avg"`` or ``"max"``.
        classes: number of classes of the top (1000 with pretrained weights).
        classifier_activation: activation of the ``predictions`` layer.
        repo_id, revision: the Hub repo and revision (branch, tag or commit) for
            ``weights="imagenet"``.

    ``preprocess_input`` (in this module) follows the weights loaded last:
    torch-style for the Hub weights, caffe-style for Keras' ``.h5`` weights.
    """
    if not (weights is None or weights == "imagenet" or isinstance(weights, (str, os.PathLike))):
        raise ValueError("The `weights` argument should be either `None` (random "
                         "initialization), 'imagenet' (pre-training on ImageNet), or the "
                         f"path to the weights file to be loaded; received {weights!r}.")
    if weights is not None and include_top and classes != 1000:
        raise ValueError(f"With pretrained weights and include_top=True, classes must be "
                         f"1000; received classes={classes}.")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling must be None, 'avg' or 'max'; received {pooling!r}.")
    if input_shape is None:
        input_shape = (224, 224, 3) if include_top else (None, None, 3)
    if include_top and tuple(input_shape) != (224, 224, 3):
        raise ValueError(
            f"With include_top=True, VGG19 takes input_shape=(224, 224, 3); received "
            f"{tuple(input_shape)}. Use include_top=False for other sizes."
        )
    for size in input_shape[:2]:
        if size is not None and size < 32:
            raise ValueError(f"VGG19 needs inputs of at least 32x32; received {tuple(input_shape)}.")
    img_input = input_tensor if input_tensor is not None else \
        Input(shape=input_shape, name="input_1")

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
    model = Functional(img_input, x, name=name)
    if weights is not None:
        from . import vgg19_weights  # (it imports this module's names)

        vgg19_weights.load_pretrained(model, weights, include_top, repo_id, revision)
    return model


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
