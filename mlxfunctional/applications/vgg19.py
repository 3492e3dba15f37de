"""VGG19 (Simonyan & Zisserman, 2014) with Keras' layer names and sizes.

143,667,240 parameters with the classifier top. Building it evaluates
nothing: weights are initialized lazily and shapes come from the lazy trace.
"""

import os

from .. import activations
from ..engine.keras_tensor import KerasTensor
from . import vgg19_weights
from .imagenet_utils import decode_predictions  # noqa: F401  (keras.applications.vgg19's)
from .imagenet_utils import preprocess_input as _preprocess_input
from .vgg19_graph import vgg19_graph
from .vgg19_weights import preprocessing_mode  # noqa: F401  (the mode for a `weights`)


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

    The weights decide how images must be preprocessed: ``preprocess_input(x)``
    (``mode="torch"``) for the default Hub weights, ``mode="caffe"`` for Keras' ``.h5``;
    ``preprocessing_mode(weights)`` says which.
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
    if input_tensor is not None and not isinstance(input_tensor, KerasTensor):
        raise ValueError(f"input_tensor must be a symbolic tensor (from keras.Input or a "
                         f"layer); received {type(input_tensor).__name__}.")
    model = vgg19_graph(input_tensor, input_shape, include_top, pooling, classes,
                        classifier_activation, name)
    if weights is not None:
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


def preprocess_input(x, data_format=None, mode="torch"):
    """Prepares RGB images in [0, 255] (channels last) for VGG19.

    Args:
        x: images, numpy or ``mx.array``, last axis RGB.
        data_format: ``"channels_last"`` (the only layout) or None.
        mode: ``"torch"`` (the default: RGB / 255, minus ImageNet's mean, over its std),
            what ``VGG19(weights="imagenet")``'s torchvision weights were trained on;
            ``"caffe"`` (BGR minus the mean pixel), what Keras' own ``.h5`` weights
            want (and Keras' default, since those are its ``"imagenet"`` weights); or
            ``"tf"`` (scaled to [-1, 1]). ``preprocessing_mode(weights)`` gives the mode
            for a ``weights`` argument of ``VGG19``.
    """
    return _preprocess_input(x, data_format=data_format, mode=mode)
