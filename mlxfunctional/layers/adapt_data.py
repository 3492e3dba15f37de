"""The data ``adapt()`` reads, as numpy batches, for every preprocessing layer.

Keras' ``adapt`` takes an array, a dataset or an iterable of batches; here:

- a numpy or MLX array: one batch;
- a list or tuple: one batch for the lookup layers (a list of tokens), an
  iterable of batches for the numeric ones (``[batch_1, batch_2]``), as in Keras;
- a ``PyDataset`` (or anything with ``__len__`` and ``__getitem__`` that is not
  an array): batches ``0 .. len - 1``, by index;
- any other iterable (a generator, a ``DataLoader``-like object): each element.

An element ``(x, y)`` or ``(x, y, sample_weight)`` gives its ``x``. A leaf module.
"""

import mlx.core as mx
import numpy as np


def _x(batch):
    return np.asarray(batch[0] if isinstance(batch, tuple) else batch)


def batches(data, steps=None, list_is_one_batch=False):
    """Yields the numpy batches of ``data`` (at most ``steps`` of them)."""
    if isinstance(data, (np.ndarray, mx.array)) or (
            list_is_one_batch and isinstance(data, (list, tuple))):
        yield np.asarray(data)
        return
    if hasattr(data, "__len__") and hasattr(data, "__getitem__") and \
            not isinstance(data, (list, tuple, dict, str)):
        items = (data[i] for i in range(len(data)))
    elif hasattr(data, "__iter__"):
        items = iter(data)
    else:
        raise TypeError(f"adapt() takes an array, a PyDataset or an iterable of batches; "
                        f"received {type(data).__name__}.")
    for i, batch in enumerate(items):
        if steps is not None and i >= steps:
            break
        yield _x(batch)
