"""``split_dataset``: one in-memory dataset as two (say train and test).

Keras returns two ``tf.data.Dataset``\\ s; without tf.data, the halves here have
the input's own structure (an array, a tuple/list of arrays, a dict of arrays),
ready for ``fit(x, y)`` or a further split.
"""

import numbers

import numpy as np


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Splits samples into a left part and a right part, as Keras' ``split_dataset``.

    The left part is the first ``left_size`` samples, the right part the last
    ``right_size`` (after shuffling, if asked); when the two sizes add up to
    less than the whole, the samples between them are in neither.

    Args:
        dataset: an array, or a tuple, list or dict of arrays with the same
            first dimension (samples).
        left_size: a float in (0, 1) (a fraction, rounded to the nearest count)
            or an int in (0, n) (a count); default: the rest after ``right_size``.
        right_size: the same for the right part; default: the rest after ``left_size``.
        shuffle: shuffle the samples before splitting.
        seed: seed of that shuffle (a fresh one when None).

    Returns:
        ``(left, right)``, each with the input's structure.
    """
    arrays, rebuild = _flatten(dataset)
    n = len(arrays[0])
    for a in arrays[1:]:
        if len(a) != n:
            raise ValueError("split_dataset: every array of `dataset` must hold the same number "
                             f"of samples. Received lengths {[len(a) for a in arrays]}.")
    left, right = _split_sizes(left_size, right_size, n)
    order = np.arange(n)
    if shuffle:
        rng = np.random.default_rng(seed)
        order = rng.permutation(n)
    left_idx, right_idx = order[:left], order[n - right:]
    return (rebuild([a[left_idx] for a in arrays]), rebuild([a[right_idx] for a in arrays]))


def _flatten(dataset):
    """``dataset`` -> (list of numpy arrays, function rebuilding the structure)."""
    if isinstance(dataset, dict):
        keys = list(dataset)
        return [np.asarray(dataset[k]) for k in keys], lambda parts: dict(zip(keys, parts))
    # A tuple/list of arrays is a group such as (x, y); a list of numbers or rows
    # is one array of samples.
    if isinstance(dataset, (tuple, list)) and dataset and all(
            hasattr(a, "shape") and len(a.shape) >= 1 for a in dataset):
        kind = type(dataset)
        return [np.asarray(a) for a in dataset], lambda parts: kind(parts)
    array = np.asarray(dataset)
    if array.ndim == 0:
        raise TypeError("split_dataset: `dataset` must be an array or a tuple, list or dict of "
                        f"arrays. Received: {type(dataset).__name__}")
    return [array], lambda parts: parts[0]


def _split_sizes(left_size, right_size, n):
    """Keras' rule: fractions rounded, counts as they are; both parts non-empty."""
    if left_size is None and right_size is None:
        raise ValueError("split_dataset: give `left_size`, `right_size` or both. "
                         "Received both as None.")

    def count(size, side):
        if size is None:
            return None
        if isinstance(size, bool) or not isinstance(size, numbers.Real):
            raise TypeError(f"split_dataset: `{side}_size` must be an int, a float or None. "
                            f"Received: {size!r}")
        if isinstance(size, numbers.Integral):
            if not 0 < size < n:
                raise ValueError(f"split_dataset: an int `{side}_size` must be in (0, {n}) for "
                                 f"{n} samples. Received: {size}")
            return int(size)
        if not 0 < size < 1:
            raise ValueError(f"split_dataset: a float `{side}_size` must be in (0, 1). "
                             f"Received: {size}")
        return round(size * n)

    left, right = count(left_size, "left"), count(right_size, "right")
    left = n - right if left is None else left
    right = n - left if right is None else right
    if left + right > n:
        raise ValueError(f"split_dataset: left_size and right_size come to {left} + {right} "
                         f"samples, more than the {n} there are.")
    if left == 0 or right == 0:
        raise ValueError(f"split_dataset: with {n} samples these sizes leave the "
                         f"{'left' if left == 0 else 'right'} part empty "
                         f"(left={left}, right={right}).")
    return left, right
