"""Xception (Chollet, 2017) with Keras' layer names and sizes, as ``keras.applications.xception``.

22,910,480 parameters with the classifier top, 20,861,480 without. Building it
evaluates nothing: weights are initialized lazily and shapes come from the lazy
trace. Keras' ImageNet weights want images scaled to [-1, 1] (``preprocess_input``).
"""

from . import app_arguments, xception_weights
from .imagenet_utils import decode_predictions  # noqa: F401  (keras.applications.xception's)
from .imagenet_utils import preprocess_input as _preprocess_input
from .xception_graph import xception_graph


def Xception(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="xception"):
    """Builds Xception, with Keras' ImageNet weights by default.

    Args:
        include_top: include the ``avg_pool``/``predictions`` classifier.
        weights: ``"imagenet"`` (Keras' own weights file, with or without the top,
            downloaded once into ``$MLXF_HOME/models`` and checked against Keras'
            MD5), ``None`` (random initialization), or a path: a tf.keras 2 ``.h5``
            weights file such as Keras' (layers matched by name, the unnamed
            shortcut layers by order), or any file ``model.load_weights`` reads.
        input_tensor: optional symbolic tensor to use as the image input; when it
            comes out of layers (e.g. preprocessing), the model starts at their
            ``Input``.
        input_shape: ``(299, 299, 3)`` with the top and ImageNet weights; else any
            ``(h, w, channels)`` with h, w >= 71 (``None`` for any size without
            the top).
        pooling: without the top, ``None`` (4-D output), ``"avg"`` or ``"max"``.
        classes: number of classes of the top (1000 with ``"imagenet"``).
        classifier_activation: activation of the ``predictions`` layer (``None``
            or ``"softmax"`` with pretrained weights).
        name: the model's name.
    """
    app_arguments.check_common(weights, pooling, input_tensor)
    if include_top:
        app_arguments.check_top(weights, classes, classifier_activation)
    # Keras' obtain_input_shape for Xception: 299x299 by default, at least 71x71 (the
    # size whose exit flow still has one pixel).
    input_shape = app_arguments.obtain_input_shape(input_shape, 299, 71, include_top, weights)
    model = xception_graph(input_tensor, input_shape, include_top, pooling, classes,
                           classifier_activation, name)
    if weights is not None:
        xception_weights.load_pretrained(model, weights, include_top)
    return model


def preprocess_input(x, data_format=None):
    """Scales RGB images in [0, 255] (channels last) to [-1, 1], as Xception's ImageNet
    weights want (``imagenet_utils.preprocess_input(x, mode="tf")``).

    Args:
        x: images, numpy or ``mx.array``.
        data_format: ``"channels_last"`` (the only layout) or None.
    """
    return _preprocess_input(x, data_format=data_format, mode="tf")
