"""VGG19 (Simonyan & Zisserman, 2014) with Keras' layer names and sizes.

143,667,240 parameters with the classifier top. Building it evaluates
nothing: weights are initialized lazily and shapes come from the lazy trace.
"""

from . import app_arguments, vgg19_weights
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
    app_arguments.check_common(weights, pooling, input_tensor)
    if include_top:
        app_arguments.check_top(weights, classes, classifier_activation)
    # Keras' obtain_input_shape for VGG19: 224x224 by default, at least 32x32.
    input_shape = app_arguments.obtain_input_shape(input_shape, 224, 32, include_top, weights)
    model = vgg19_graph(input_tensor, input_shape, include_top, pooling, classes,
                        classifier_activation, name)
    if weights is not None:
        vgg19_weights.load_pretrained(model, weights, include_top, repo_id, revision)
    return model


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
