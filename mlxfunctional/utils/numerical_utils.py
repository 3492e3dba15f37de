"""Small numeric helpers Keras users call from ``keras.utils``."""

import numpy as np


def to_categorical(x, num_classes=None):
    """Class indices -> one-hot float32 rows (``num_classes`` defaults to max + 1).

    A trailing dimension of 1 (labels shaped ``(n, 1)``, as CIFAR-10's) is dropped,
    as Keras does.
    """
    x = np.asarray(x, dtype="int64")
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    if x.size and x.min() < 0:
        raise ValueError(f"to_categorical needs non-negative class indices; found {x.min()}.")
    num_classes = int(num_classes) if num_classes is not None else int(x.max()) + 1 if x.size else 0
    if x.size and x.max() >= num_classes:
        raise ValueError(f"Class index {x.max()} is out of range for num_classes={num_classes}.")
    out = np.zeros((x.size, num_classes), dtype="float32")
    out[np.arange(x.size), x] = 1
    return out.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Divides ``x`` by its ``order``-norm along ``axis`` (Keras' ``utils.normalize``).

    A numpy array gives a numpy array, where a zero norm leaves its slice as it
    is; anything else (an ``mx.array``) goes through ``ops.nn.normalize``, which
    divides by ``max(norm, epsilon)``.

    Args:
        x: the array.
        axis: the axis the norm runs along.
        order: the norm's order (``2`` for L2, ``1`` for L1).
    """
    if isinstance(x, np.ndarray):
        norm = np.atleast_1d(np.linalg.norm(x, order, axis))
        norm[norm == 0] = 1  # an all-zero slice stays zero instead of becoming NaN
        return x / np.expand_dims(norm, axis)
    from ..ops.nn_normalization import normalize as ops_normalize

    return ops_normalize(x, axis=axis, order=order)
