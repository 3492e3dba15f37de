"""Order statistics, correlation and counting: ``quantile``, ``median``, ``corrcoef``,
``correlate``, ``histogram``, ``bincount``.

Quantiles sort the reduced axes (moved last and flattened) and read the sorted
values at ``q * (n - 1)``; ``method`` says what to do between two of them
("linear" interpolates, "lower"/"higher" take one neighbour, "midpoint" their
mean, "nearest" the closer, ties to the even index). A NaN makes the quantile
NaN; the ``nan*`` forms skip NaNs (NaN sorts last, so they read among the
first ``count`` values). Results are ``result_type(x, float)``.
"""

import math

import mlx.core as mx

from .operation import keras_op
from .reduction_utils import (canonical_axes, cast, compute_dtype, dtype_name, float_dtype,
                              reduced_shape, require_values, tensor, values_known)
from .dtypes import result_type

__all__ = ["quantile", "percentile", "median", "nanquantile", "nanpercentile", "nanmedian",
           "corrcoef", "correlate", "histogram", "bincount"]

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(op, x, q, axis, method, keepdims, skip_nan):
    if method not in _METHODS:
        raise ValueError(f"{op}: `method` must be one of {_METHODS}; received {method!r}.")
    x = tensor(x)
    dtype = float_dtype(x.dtype)
    x = cast(x, compute_dtype(dtype))
    q = cast(tensor(q), x.dtype)
    if q.ndim > 1:
        raise ValueError(f"{op}: `q` must be a scalar or 1-D; received shape {q.shape}.")
    if q.size and values_known(q) and not (0 <= mx.min(q).item() <= mx.max(q).item() <= 1):
        scale = 100 if "percentile" in op else 1
        raise ValueError(f"{op}: `q` must lie in [0, {scale}]; received "
                         f"{[float(f'{v * scale:.6g}') for v in q.reshape(-1).tolist()]}.")
    axes = canonical_axes(axis, x.ndim, op)
    if x.size == 0:  # NaN, as numpy; and MLX's sort divides by a zero axis length
        batch = reduced_shape(x.shape, axes, False)
        out = mx.full(tuple(q.shape) + batch, float("nan"), dtype=x.dtype)
    else:
        rows = _sorted_rows(x, axes)  # (batch..., n)
        batch, n = tuple(rows.shape[:-1]), rows.shape[-1]
        nan = mx.isnan(rows)
        count = n - mx.sum(nan, axis=-1, keepdims=True) if skip_nan else mx.array(n)
        # (Q?, batch..., 1): each quantile's fractional position in its sorted row.
        position = q.reshape(tuple(q.shape) + (1,) * (len(batch) + 1)) * (
            count.astype(x.dtype) - 1)
        if q.ndim:
            rows = mx.broadcast_to(rows, tuple(q.shape) + tuple(rows.shape))
        out = _read(rows, position, method)
        undefined = count == 0 if skip_nan else mx.any(nan, axis=-1, keepdims=True)
        out = mx.where(undefined, mx.array(float("nan"), dtype=x.dtype), out).squeeze(-1)
    if keepdims:
        out = out.reshape(tuple(q.shape) + tuple(
            1 if a in axes else d for a, d in enumerate(x.shape)))
    return cast(out, dtype)


def _sorted_rows(x, axes):
    """``x`` with the reduced ``axes`` moved last, flattened into one and sorted
    (NaN last): one row per output element."""
    kept = [a for a in range(x.ndim) if a not in axes]
    n = math.prod(x.shape[a] for a in axes)
    rows = mx.transpose(x, kept + list(axes)).reshape(tuple(x.shape[a] for a in kept) + (n,))
    return mx.sort(rows, axis=-1)


def _read(rows, position, method):
    """The sorted ``rows`` read at fractional ``position``s (``(..., 1)``) by ``method``."""
    n = rows.shape[-1]

    def at(index):  # the values at integer positions, clamped into the row
        index = mx.clip(index, 0, n - 1).astype(mx.int32)
        return mx.take_along_axis(rows, mx.broadcast_to(index, rows.shape[:-1] + (1,)),
                                  axis=-1)

    low, high = mx.floor(position), mx.ceil(position)
    if method == "lower":
        return at(low)
    if method == "higher":
        return at(high)
    if method == "nearest":
        return at(mx.round(position))  # half to even, as numpy and JAX round
    below, above = at(low), at(high)
    if method == "midpoint":
        return (below + above) / 2
    return below + (above - below) * (position - low)


@keras_op
def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th quantiles (``q`` in [0, 1], a scalar or 1-D) along ``axis``; a 1-D
    ``q`` adds a leading axis."""
    return _quantile("quantile", x, q, axis, method, keepdims, skip_nan=False)


@keras_op
def percentile(x, q, axis=None, method="linear", keepdims=False):
    """``quantile(x, q / 100)``."""
    return _quantile("percentile", x, tensor(q) / 100, axis, method, keepdims, False)


@keras_op
def median(x, axis=None, keepdims=False):
    """``quantile(x, 0.5)``: the middle value, or the mean of the two middle ones."""
    return _quantile("median", x, 0.5, axis, "linear", keepdims, skip_nan=False)


@keras_op
def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """``quantile`` of the non-NaN elements; NaN for an all-NaN slice."""
    return _quantile("nanquantile", x, q, axis, method, keepdims, skip_nan=True)


@keras_op
def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """``nanquantile(x, q / 100)``."""
    return _quantile("nanpercentile", x, tensor(q) / 100, axis, method, keepdims, True)


@keras_op
def nanmedian(x, axis=None, keepdims=False):
    """``nanquantile(x, 0.5)``."""
    return _quantile("nanmedian", x, 0.5, axis, "linear", keepdims, skip_nan=True)


@keras_op
def corrcoef(x):
    """Pearson correlations ``cov[i, j] / sqrt(cov[i, i] * cov[j, j])`` between the rows
    of ``x`` (each row a variable, each column an observation), clipped to [-1, 1]."""
    x = tensor(x)
    if x.ndim > 2 or x.size == 0:
        raise ValueError("corrcoef: `x` must be a non-empty 1-D or 2-D tensor; received shape "
                         f"{x.shape}.")
    dtype = float_dtype(x.dtype)
    x = cast(x, compute_dtype(dtype))
    rows = x.reshape(1, -1) if x.ndim < 2 else x
    centered = rows - mx.mean(rows, axis=1, keepdims=True)
    cov = centered @ centered.T
    scale = mx.sqrt(mx.diagonal(cov))
    out = mx.clip(cov / scale[:, None] / scale[None, :], -1, 1)
    return cast(out.reshape(()) if x.ndim < 2 else out, dtype)


@keras_op
def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D tensors: ``out[k] = sum_n x1[n + k] * x2[n]``, over
    every overlap ("full"), the length of the longer ("same") or full overlaps only
    ("valid"). Ints and bools correlate in float32."""
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: `mode` must be 'valid', 'same' or 'full'; "
                         f"received {mode!r}.")
    x1, x2 = tensor(x1), tensor(x2)
    if x1.ndim != 1 or x2.ndim != 1 or x1.size == 0 or x2.size == 0:
        raise ValueError("correlate: `x1` and `x2` must be non-empty 1-D tensors; received "
                         f"shapes {x1.shape} and {x2.shape}.")
    dtype = result_type(x1.dtype, x2.dtype)
    if dtype not in ("float16", "bfloat16"):
        dtype = "float32"
    a, v = cast(x1, "float32"), cast(x2, "float32")
    n, m = a.shape[0], v.shape[0]
    # MLX's conv1d is a cross-correlation: padding `a` by m - 1 on both sides
    # gives every shift, the full correlation.
    full = mx.conv1d(a.reshape(1, n, 1), v.reshape(1, m, 1), padding=m - 1).reshape(-1)
    if mode == "full":
        out = full
    elif mode == "valid":
        out = full[min(n, m) - 1:max(n, m)]
    else:
        # numpy centres the window on the shorter input (found against numpy).
        start = (m - 1) // 2 if n >= m else n // 2
        out = full[start:start + max(n, m)]
    return cast(out, dtype)


@keras_op
def histogram(x, bins=10, range=None):
    """Counts (int32) of 1-D ``x`` in ``bins`` equal bins over ``range`` (default: x's
    min to max), and the ``bins + 1`` edges; the last bin includes its right edge."""
    if not isinstance(bins, int) or isinstance(bins, bool) or bins < 1:
        raise ValueError(f"histogram: `bins` must be a positive integer; received {bins!r}.")
    if range is not None and (len(range) != 2 or range[1] < range[0]):
        raise ValueError("histogram: `range` must be a pair (low, high) with low <= high; "
                         f"received {range!r}.")
    x = tensor(x)
    if x.ndim != 1:
        raise ValueError(f"histogram: `x` must be 1-D; received shape {x.shape}.")
    dtype = float_dtype(x.dtype)
    values = cast(x, "float32")
    if range is None:
        low = mx.min(values) if x.size else mx.array(0.0)
        high = mx.max(values) if x.size else mx.array(1.0)
    else:
        low, high = mx.array(float(range[0])), mx.array(float(range[1]))
    # numpy widens an empty range to (low - 0.5, high + 0.5).
    same = low == high
    low, high = mx.where(same, low - 0.5, low), mx.where(same, high + 0.5, high)
    edges = low + (high - low) * mx.arange(bins + 1, dtype=mx.float32) / bins
    index = mx.floor((values - low) / (high - low) * bins).astype(mx.int32)
    if x.size == 0:
        return mx.zeros((bins,), dtype=mx.int32), cast(edges, dtype)
    # The formula can land one bin off an edge by rounding: correct against the edges.
    index = mx.clip(index, 0, bins - 1)
    index = mx.where(values < edges[index], index - 1, index)
    index = mx.where((values >= edges[mx.minimum(index + 1, bins)]) & (index < bins - 1),
                     index + 1, index)
    inside = (values >= low) & (values <= high)
    counts = mx.zeros((bins,), dtype=mx.int32).at[mx.clip(index, 0, bins - 1)].add(
        inside.astype(mx.int32))
    return counts, cast(edges, dtype)


@keras_op
def bincount(x, weights=None, minlength=0, sparse=False):
    """Occurrences of each value ``0..max(x)`` in non-negative ints ``x`` (1-D, or 2-D
    counted per row), summing ``weights`` instead of ones when given, at least
    ``minlength`` long. The length depends on the values: eager calls only."""
    if sparse:
        raise ValueError("bincount: MLX has no sparse tensors (sparse=True is not supported).")
    x = tensor(x)
    if x.ndim not in (1, 2) or "int" not in dtype_name(x):
        raise ValueError("bincount: `x` must be a 1-D or 2-D tensor of integers; received "
                         f"shape {x.shape} and dtype {dtype_name(x)}.")
    require_values("bincount", "its output length is the largest value of `x` plus one", x)
    if x.size and mx.min(x).item() < 0:
        raise ValueError(f"bincount: `x` must be non-negative; found {mx.min(x).item()}.")
    length = max(int(mx.max(x).item()) + 1 if x.size else 0, int(minlength))
    if weights is None:
        dtype, weights = "int32", mx.ones(x.shape, dtype=mx.int32)
    else:
        weights = tensor(weights)
        if weights.shape != x.shape:
            raise ValueError("bincount: `weights` must have the shape of `x`; received "
                             f"{weights.shape} and {x.shape}.")
        dtype = result_type(x.dtype, weights.dtype)
        weights = cast(weights, dtype)
    if x.size == 0:
        return mx.zeros(tuple(x.shape[:-1]) + (length,), dtype=weights.dtype)
    if x.ndim == 1:
        return mx.zeros((length,), dtype=weights.dtype).at[x].add(weights)
    rows = mx.broadcast_to(mx.arange(x.shape[0])[:, None], x.shape)
    return mx.zeros((x.shape[0], length), dtype=weights.dtype).at[rows, x].add(weights)
