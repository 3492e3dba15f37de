"""ImageNet helpers: Keras' ``decode_predictions`` and ``preprocess_input``.

The class index ships with the package (``data/imagenet_class_index.json``, the
same 1000 ``[wnid, name]`` pairs Keras downloads), so decoding works offline.
"""

import functools
import json
from importlib import resources

import mlx.core as mx
import numpy as np

from ..compute.conv_utils import normalize_data_format

NUM_CLASSES = 1000

# Keras' "caffe" means, in BGR order (the order the images are in after the flip).
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
# torchvision's ImageNet statistics, in RGB order, for pixels scaled to [0, 1].
_TORCH_MEAN_RGB = (0.485, 0.456, 0.406)
_TORCH_STD_RGB = (0.229, 0.224, 0.225)
_MODES = ("caffe", "torch", "tf")


@functools.lru_cache(maxsize=None)
def _class_index():
    # Read once, on first use: importing applications should not parse 35 kB of JSON.
    text = resources.files(__package__).joinpath("data/imagenet_class_index.json").read_text(
        encoding="utf-8")
    index = json.loads(text)
    return tuple((index[str(i)][0], index[str(i)][1]) for i in range(NUM_CLASSES))


def imagenet_classes():
    """The ImageNet-1k classes, in the order model outputs use.

    Returns:
        A new list of 1000 ``(wnid, class_name)`` tuples, index 0 being
        ``("n01440764", "tench")``. Names are Keras' (underscores, and "crane" and
        "maillot" each twice), so they match ``decode_predictions``.
    """
    return list(_class_index())


def _to_numpy(x):
    if isinstance(x, mx.array):
        # numpy has no bfloat16: widen what it cannot hold.
        if x.dtype in (mx.bfloat16, mx.float16):
            x = x.astype(mx.float32)
        return np.array(x)
    return np.asarray(x)


def decode_predictions(preds, top=5):
    """Turns ImageNet class scores into ``(wnid, class_name, score)`` tuples.

    Args:
        preds: scores of shape ``(samples, 1000)`` (numpy array, ``mx.array`` or
            nested list), e.g. the output of a VGG19 with its classifier top.
        top: how many classes to return per sample (at least 1).

    Returns:
        One list per sample of ``top`` tuples ``(wnid, class_name, score)``, highest
        score first; ``score`` is a Python float.

    Raises:
        ValueError: if ``preds`` is not 2-D with 1000 columns, or ``top`` < 1.
    """
    preds = _to_numpy(preds)
    if preds.ndim != 2 or preds.shape[1] != NUM_CLASSES:
        raise ValueError(
            "`decode_predictions` expects a batch of predictions (i.e. a 2D array of "
            f"shape (samples, {NUM_CLASSES})). Received array with shape: {preds.shape}"
        )
    top = int(top)
    if top < 1:
        # Keras' `argsort()[-0:]` would silently return all 1000 classes here.
        raise ValueError(f"`top` must be at least 1; received {top}.")
    classes = _class_index()
    results = []
    for row in preds:
        # Same selection as Keras: the last `top` of an ascending argsort, reversed,
        # then a stable sort on the score itself.
        top_indices = row.argsort()[-top:][::-1]
        result = [classes[i] + (float(row[i]),) for i in top_indices]
        result.sort(key=lambda entry: entry[2], reverse=True)
        results.append(result)
    return results


def preprocess_input(x, data_format=None, mode="caffe"):
    """Prepares RGB images in ``[0, 255]`` for an ImageNet model.

    The modes are Keras': ``"caffe"`` flips RGB to BGR and subtracts the ImageNet
    mean per channel, without scaling (Keras' own VGG16/VGG19 weights);
    ``"torch"`` scales to ``[0, 1]`` then normalizes each RGB channel by the
    ImageNet mean and standard deviation (torchvision/timm weights); ``"tf"``
    scales to ``[-1, 1]``.

    Unlike Keras, a float numpy input is never modified in place: the result is
    always a new array.

    Args:
        x: images with 3 channels last: one pixel ``(3,)``, one image
            ``(height, width, 3)`` or a batch ``(samples, height, width, 3)``, as a
            numpy array, ``mx.array`` or nested list. Integer images are fine.
        data_format: ``None`` or ``"channels_last"`` (the only layout here).
        mode: ``"caffe"``, ``"torch"`` or ``"tf"``.

    Returns:
        float32 values of the same shape: an ``mx.array`` for an ``mx.array``
        input, a numpy array otherwise.

    Raises:
        ValueError: for another ``data_format`` or ``mode``, or when the last axis
            is not 3.
    """
    normalize_data_format(data_format)
    if mode not in _MODES:
        raise ValueError(
            f"mode must be one of {', '.join(repr(m) for m in _MODES)}; received {mode!r}.")
    if isinstance(x, mx.array):
        xp, x = mx, x.astype(mx.float32)
    else:
        # np.array copies, which is what keeps the caller's array untouched.
        xp, x = np, np.array(x, dtype=np.float32)
    if x.ndim < 1 or x.shape[-1] != 3:
        raise ValueError(
            "preprocess_input expects RGB images with 3 channels last, i.e. shape "
            f"(..., 3); received shape {tuple(x.shape)}."
        )

    if mode == "caffe":
        bgr = x[..., ::-1]
        return bgr - xp.array(_CAFFE_MEAN_BGR, dtype=xp.float32)
    if mode == "torch":
        mean = xp.array(_TORCH_MEAN_RGB, dtype=xp.float32)
        std = xp.array(_TORCH_STD_RGB, dtype=xp.float32)
        return (x / 255.0 - mean) / std
    return x / 127.5 - 1.0  # "tf"
