"""timm's ``vgg19.tv_in1k`` weights (torchvision's ImageNet VGG19) in our layout.

The source is PyTorch's: conv weights ``(out, in, kh, kw)``, ``fc1`` a 7x7
convolution ``(4096, 512, 7, 7)`` over a channels-first feature map, ``fc2``
a 1x1 convolution ``(4096, 4096, 1, 1)``, the head a Linear ``(out, in)``.
Every tensor is converted by the rule of where it comes from -- a table
keyed by timm's names -- never by comparing shapes: ``features.0.weight``
``(64, 3, 3, 3)`` has the same shape in both layouts, and a shape test
would leave it untransposed.
"""

import numpy as np

from .vgg19_graph import CONV_NAMES

# timm's index of each convolution in ``features`` (ReLUs and pools sit between).
_FEATURE_INDEX = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)


def _conv(w):
    # (out, in, kh, kw) -> Keras (kh, kw, in, out)
    return w.transpose(2, 3, 1, 0)


def _fc1(w):
    # A 7x7 conv over the (C, H, W) map == a Dense over its flattening. Our Flatten
    # is channels-last, so rows go in (H, W, C) order: (out, C, H, W) -> (H, W, C, out).
    return w.transpose(2, 3, 1, 0).reshape(-1, w.shape[0])


def _fc_1x1(w):
    # A 1x1 conv (out, in, 1, 1) is a Linear (out, in); Keras' Dense kernel is (in, out).
    return w.reshape(w.shape[0], w.shape[1]).T


def _linear(w):
    return w.T


def _bias(b):
    return b


def _table(include_top):
    """``[(timm key, our key, conversion, timm shape)]`` for the weights to load."""
    channels = [64, 64, 128, 128] + [256] * 4 + [512] * 8
    rows, c_in = [], 3
    for index, name, c_out in zip(_FEATURE_INDEX, CONV_NAMES, channels):
        rows.append((f"features.{index}.weight", f"{name}/kernel", _conv, (c_out, c_in, 3, 3)))
        rows.append((f"features.{index}.bias", f"{name}/bias", _bias, (c_out,)))
        c_in = c_out
    if include_top:
        rows += [
            ("pre_logits.fc1.weight", "fc1/kernel", _fc1, (4096, 512, 7, 7)),
            ("pre_logits.fc1.bias", "fc1/bias", _bias, (4096,)),
            ("pre_logits.fc2.weight", "fc2/kernel", _fc_1x1, (4096, 4096, 1, 1)),
            ("pre_logits.fc2.bias", "fc2/bias", _bias, (4096,)),
            ("head.fc.weight", "predictions/kernel", _linear, (1000, 4096)),
            ("head.fc.bias", "predictions/bias", _bias, (1000,)),
        ]
    return rows


_TIMM_KEYS = frozenset(key for key, *_ in _table(include_top=True))


def is_timm_vgg19(keys):
    """True for a tensor dict with any of timm's VGG19 names (``features.0.weight``
    ...): a file missing some of them is then reported key by key by ``convert``."""
    return not _TIMM_KEYS.isdisjoint(keys)


def convert(tensors, include_top=True, what="the timm VGG19 weights"):
    """``{timm key: numpy array}`` -> ``{our key: numpy array}`` in Keras' layout.

    Args:
        tensors: timm's tensors (numpy, any float dtype; converted to float32;
            integer tensors are refused).
        include_top: also convert ``fc1``/``fc2``/``predictions`` (the source
            must then hold them).
        what: how to name the source in errors.

    Raises ``ValueError`` naming every missing key and every shape that is not
    timm's (e.g. a checkpoint of another VGG).
    """
    rows = _table(include_top)
    missing = [key for key, *_ in rows if key not in tensors]
    wrong = [f"{key}: expected {shape}, found {tuple(tensors[key].shape)}"
             for key, _, _, shape in rows
             if key in tensors and tuple(tensors[key].shape) != shape]
    wrong += [f"{key}: expected floating point, found {tensors[key].dtype}"
              for key, *_ in rows
              if key in tensors and not np.issubdtype(tensors[key].dtype, np.floating)]
    if missing or wrong:
        lines = []
        if missing:
            lines.append(f"missing tensor(s) {', '.join(missing)}")
        lines += wrong
        raise ValueError(f"{what} do not have timm vgg19.tv_in1k's layout: " + "; ".join(lines)
                         + ".")
    return {ours: np.ascontiguousarray(fn(np.asarray(tensors[key], dtype=np.float32)))
            for key, ours, fn, _ in rows}
