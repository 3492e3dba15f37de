"""One small check for integer ids that index a table of ``size`` entries
(CategoryEncoding's one-hot columns, a lookup layer's vocabulary).

Reading out of bounds must never happen. MLX gathers do not check their
indices, so a bad id would read another row or garbage. Two regimes:

- eager (a layer called on concrete arrays): a bad id raises a ValueError that
  names the layer, the first bad value and the valid range;
- inside ``mx.compile`` (fit/evaluate/predict) or a shape trace, values cannot
  be read without a host sync, so the ids are clamped into range and a mask
  says which were valid; callers zero the rows of invalid ids (as
  ``jax.nn.one_hot`` gives an all-zero row for an out-of-range class).

Which regime applies is decided by whether values can be read, not by who
calls: a fit/predict step that runs uncompiled (``jit_compile=False``, or a
short last batch the step cache runs eagerly) raises too.

Kept in one function so a shared bounds helper can replace it later. A leaf:
it imports only ``engine.trace``.
"""

import mlx.core as mx

from ..engine import trace


def checked_ids(layer, ids, size, what="index", strict=True):
    """``(clamped, valid)``: ``ids`` (integers) clamped into ``[0, size)`` and the
    boolean mask of the ids that were in range.

    With ``strict`` a concrete out-of-range id raises a ValueError when called
    eagerly; without, out-of-range ids are left to the caller (a lookup's
    ``invert`` maps them to its OOV token, as Keras does).
    """
    ids = ids.astype(mx.int32) if not mx.issubdtype(ids.dtype, mx.integer) else ids
    valid = (ids >= 0) & (ids < size)
    if strict and not trace.in_trace():
        _raise_if_invalid(layer, ids, valid, size, what)
    return mx.clip(ids, 0, size - 1), valid


def _raise_if_invalid(layer, ids, valid, size, what):
    try:
        all_valid = bool(mx.all(valid).item())
    except ValueError as e:  # inside mx.compile: values are unknown, clamp instead
        if "function transformations" in str(e):
            return
        raise
    if not all_valid:
        bad = ids.reshape(-1)[mx.argmin(valid.reshape(-1).astype(mx.int32))].item()
        raise ValueError(f'Layer "{layer.name}" ({type(layer).__name__}): {what} {bad} is out '
                         f"of range; expected values in [0, {size}).")
