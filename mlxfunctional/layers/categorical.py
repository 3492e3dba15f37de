"""Turning integer ids into the outputs Keras' categorical layers give
(``output_mode``): the ids themselves, one-hot rows, multi-hot or count
vectors, and TF-IDF weighted counts. Shared by CategoryEncoding,
Discretization, Hashing, HashedCrossing and the lookup layers.

Out-of-range ids go through ``index_bounds.checked_ids`` (eager: an error;
compiled: an all-zero row).
"""

import mlx.core as mx

from .. import backend
from . import index_bounds


def choice(owner, name, value, allowed):
    """``value`` when it is one of ``allowed``; else a ValueError naming the owner."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{type(owner).__name__}: {name} must be one of {allowed}; "
                         f"received {name}={value!r}")
    return value


def encode(layer, ids, output_mode, depth, dtype, count_weights=None, idf_weights=None,
           keep=None):
    """``ids`` (integers in ``[0, depth)``) encoded as ``output_mode``.

    - ``"int"``: the ids, cast to ``dtype``;
    - ``"one_hot"``: a trailing axis of ``depth`` (a trailing axis of size 1 is
      replaced, as in Keras);
    - ``"multi_hot"`` / ``"count"`` / ``"tf_idf"``: one vector per sample,
      reducing axis 1 (axis 0 for a 1-D input, which is one sample): 1 where an
      id occurs / how often it occurs (weighted by ``count_weights``) / the
      count times ``idf_weights``.

    ``keep``: a boolean array like ``ids``; ids where it is False (a lookup's
    mask token) count nowhere and are not checked.
    """
    dtype = backend.mlx_dtype(dtype)
    if output_mode == "int":
        return ids.astype(dtype)
    if ids.ndim == 0:
        ids = ids[None]
        keep = None if keep is None else keep[None]
    if output_mode == "one_hot" and ids.ndim > 1 and ids.shape[-1] == 1:
        ids = mx.squeeze(ids, -1)
        keep = None if keep is None else mx.squeeze(keep, -1)
    if keep is not None:
        ids = mx.where(keep, ids, 0)
    clamped, valid = index_bounds.checked_ids(layer, ids, depth, "id")
    if keep is not None:
        valid = valid & keep
    hot = (clamped[..., None] == mx.arange(depth)) & valid[..., None]
    if output_mode == "one_hot":
        return hot.astype(dtype)
    axis = 1 if ids.ndim > 1 else 0
    if output_mode == "multi_hot":
        return mx.any(hot, axis=axis).astype(dtype)
    if count_weights is not None:
        weights = mx.array(count_weights).astype(mx.float32)[..., None]
        return mx.sum(hot.astype(mx.float32) * weights, axis=axis).astype(dtype)
    counts = mx.sum(hot.astype(mx.float32), axis=axis)
    if output_mode == "tf_idf":
        counts = counts * idf_weights
    return counts.astype(dtype)
