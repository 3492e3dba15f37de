"""The argument checks every ``applications`` model shares (Keras' rules and messages).

A leaf module: each architecture (``vgg19``, ``xception``) calls these before it builds
anything, so a wrong argument is reported before any layer is made or any weight is
looked for.
"""

import os

from .. import activations
from ..engine.keras_tensor import KerasTensor


def check_common(weights, pooling, input_tensor):
    """``weights``, ``pooling`` and ``input_tensor`` of any application."""
    if not (weights is None or weights == "imagenet" or isinstance(weights, (str, os.PathLike))):
        raise ValueError("The `weights` argument should be either `None` (random "
                         "initialization), 'imagenet' (pre-training on ImageNet), or the "
                         f"path to the weights file to be loaded; received {weights!r}.")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling must be None, 'avg' or 'max'; received {pooling!r}.")
    if input_tensor is not None and not isinstance(input_tensor, KerasTensor):
        raise ValueError(f"input_tensor must be a symbolic tensor (from keras.Input or a "
                         f"layer); received {type(input_tensor).__name__}.")


def check_top(weights, classes, classifier_activation):
    """The classifier top's arguments: a positive ``classes`` (1000 with ImageNet
    weights), and no activation but softmax or none with pretrained weights."""
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


def obtain_input_shape(input_shape, default_size, min_size, include_top, weights):
    """Keras' ``obtain_input_shape`` (channels last).

    Returns ``input_shape`` as a tuple: ``(default_size, default_size, 3)`` when it is
    None with the top, ``(None, None, 3)`` without. With ImageNet weights and the top
    the shape must be the default one; with ImageNet weights it must have 3 channels;
    known sizes must be at least ``min_size``; the top needs known sizes.
    """
    imagenet = weights == "imagenet"
    default = (default_size, default_size, 3)
    if input_shape is None:
        return default if include_top else (None, None, 3)
    input_shape = tuple(input_shape)
    if include_top and imagenet and input_shape != default:
        raise ValueError("When setting `include_top=True` and loading `imagenet` weights, "
                         f"`input_shape` should be {default}. Received: input_shape="
                         f"{input_shape}")
    if len(input_shape) != 3:
        raise ValueError(f"`input_shape` must be a tuple of three integers (height, width, "
                         f"channels); received input_shape={input_shape}")
    if imagenet and input_shape[-1] != 3:
        raise ValueError("The input must have 3 channels with `imagenet` weights; "
                         f"received input_shape={input_shape}")
    if any(size is not None and size < min_size for size in input_shape[:2]):
        raise ValueError(f"Input size must be at least {min_size}x{min_size}; received "
                         f"input_shape={input_shape}")
    if include_top and None in input_shape:
        raise ValueError("If `include_top` is True, you should specify a static "
                         f"`input_shape`. Received: input_shape={input_shape}")
    return input_shape
