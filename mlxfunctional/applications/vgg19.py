"""VGG19 (Simonyan & Zisserman, 2014) with Keras' layer names and sizes.

143,667,240 parameters with the classifier top. Building it evaluates
nothing: weights are initialized lazily and shapes come from the lazy trace.
"""

from .. import layers
from ..engine.functional import Functional
from ..engine.input_layer import Input

# (convolutions per block, filters)
_BLOCKS = ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))


def VGG19(include_top=True, weights=None, input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg19"):
    """Builds VGG19.

    Args:
        include_top: include the ``flatten``/``fc1``/``fc2``/``predictions`` classifier.
        weights: ``None`` (random initialization). Pretrained ImageNet weights are
            not available in this version.
        input_tensor: optional symbolic tensor to use as the model's input.
        input_shape: ``(224, 224, 3)`` with the top; without it, any ``(h, w, 3)``
            with h, w >= 32 (``None`` for any size).
        pooling: without the top, ``None`` (4-D output), ``"avg"`` or ``"max"``.
        classes: number of classes of the top.
        classifier_activation: activation of the ``predictions`` layer.
    """
    if weights is not None:
        raise ValueError(
            f"VGG19(weights={weights!r}): pretrained weights are not available in this "
            "version of mlxfunctional; use weights=None (random initialization)."
        )
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
    img_input = input_tensor if input_tensor is not None else Input(shape=input_shape)

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
    return Functional(img_input, x, name=name)
