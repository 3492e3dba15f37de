"""``keras.ops.math``: segment reductions, top-k, special functions, distances,
log-determinants and complex views; the Fourier-transform ops are in
``math_signal.py`` and re-exported here."""

import mlx.core as mx

from .. import backend
from ..engine import index_bounds
from .control_flow import concrete
from .dtypes import convert_to_tensor, result_type
from .math_signal import *  # noqa: F401,F403
from .math_signal import __all__ as _signal_all
from .operation import keras_op

__all__ = sorted(_signal_all + [
    "cdist", "erf", "erfc", "erfinv", "in_top_k", "logdet", "logsumexp", "rsqrt",
    "segment_max", "segment_min", "segment_prod", "segment_sum", "top_k",
    "view_as_complex", "view_as_real"])


def _float(x):
    """``x`` as an array, ints and bools cast to ``floatx()`` (Keras' rule for
    transcendental functions)."""
    x = convert_to_tensor(x)
    if not backend.is_float_dtype(backend.standardize_dtype(x.dtype)):
        x = x.astype(backend.mlx_dtype(backend.floatx()))
    return x


# -- segment reductions -------------------------------------------------------

def _segment(data, segment_ids, num_segments, reduce, initial, op):
    """Reduces the rows of ``data`` sharing a segment id; ids outside
    ``[0, num_segments)`` are dropped (JAX's rule), empty segments hold
    ``initial``."""
    data = convert_to_tensor(data)
    ids = convert_to_tensor(segment_ids)
    if ids.ndim != 1:
        raise ValueError(f"{op}: `segment_ids` must be 1-D; received shape "
                         f"{tuple(ids.shape)}. Flatten data and ids first, or vmap.")
    if data.ndim == 0 or data.shape[0] != ids.shape[0]:
        raise ValueError(f"{op}: `segment_ids` ({ids.shape[0]}) and `data` "
                         f"({tuple(data.shape)}) must share their leading dim.")
    ids = ids.astype(mx.int32)
    if num_segments is None:
        if concrete(ids) is None:
            raise ValueError(f"{op}: `num_segments` is needed inside a compiled function "
                             "(it sets the output shape and cannot be read from traced ids).")
        num_segments = int(ids.max().item()) + 1 if ids.size else 0
    num_segments = int(num_segments)
    rest = tuple(data.shape[1:])
    # A scratch segment past the end takes the dropped rows.
    ids = mx.where((ids >= 0) & (ids < num_segments), ids, num_segments)
    out = mx.full((num_segments + 1,) + rest, initial, data.dtype)
    return reduce(out.at[ids], data)[:num_segments]


def _extreme(dtype, highest):
    if mx.issubdtype(dtype, mx.floating):
        return float("inf") if highest else float("-inf")
    if dtype == mx.bool_:
        return highest
    info = mx.iinfo(dtype)
    return info.max if highest else info.min


@keras_op
def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    """Sum of the rows of ``data`` in each segment (0 for empty segments)."""
    return _segment(data, segment_ids, num_segments, lambda at, d: at.add(d), 0,
                    "segment_sum")


@keras_op
def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    """Product of the rows of ``data`` in each segment (1 for empty segments)."""
    return _segment(data, segment_ids, num_segments, lambda at, d: at.multiply(d), 1,
                    "segment_prod")


@keras_op
def segment_max(data, segment_ids, num_segments=None, sorted=False):
    """Maximum of the rows in each segment (the dtype's lowest value when empty)."""
    dtype = convert_to_tensor(data).dtype
    return _segment(data, segment_ids, num_segments, lambda at, d: at.maximum(d),
                    _extreme(dtype, highest=False), "segment_max")


@keras_op
def segment_min(data, segment_ids, num_segments=None, sorted=False):
    """Minimum of the rows in each segment (the dtype's highest value when empty)."""
    dtype = convert_to_tensor(data).dtype
    return _segment(data, segment_ids, num_segments, lambda at, d: at.minimum(d),
                    _extreme(dtype, highest=True), "segment_min")


# -- top-k --------------------------------------------------------------------

@keras_op
def top_k(x, k, sorted=True):
    """The ``k`` largest values along the last axis and their int32 indices, largest
    first; equal values keep their order (lowest index first).

    A stable ascending sort of the *reversed* row, read backwards, gives a
    descending order whose ties come lowest index first, for every dtype (no
    negation, which overflows unsigned and minimum ints).
    """
    x = convert_to_tensor(x)
    if x.ndim == 0:
        raise ValueError("top_k: `x` must have at least one dim.")
    n = x.shape[-1]
    k = int(k)
    if not 0 <= k <= n:
        raise ValueError(f"top_k: `k`={k} must be in [0, {n}] (the size of the last axis).")
    order = mx.argsort(x[..., ::-1], axis=-1)[..., ::-1][..., :k]
    indices = mx.stop_gradient((n - 1 - order).astype(mx.int32))  # (values carry the grad)
    return mx.take_along_axis(x, indices, axis=-1), indices


@keras_op
def in_top_k(targets, predictions, k):
    """Whether each target's prediction is among the row's ``k`` largest (ties count
    in the target's favour; a NaN prediction never is)."""
    predictions = convert_to_tensor(predictions)
    classes = predictions.shape[-1]
    # (engine/index_bounds.py: an eager out-of-range target raises; a traced one is
    # never in the top k)
    safe, valid = index_bounds.bounded(convert_to_tensor(targets), classes, "in_top_k",
                                       what="target", outcome="it is never in the top k")
    at_label = mx.take_along_axis(predictions, safe[..., None], axis=-1)
    if mx.issubdtype(at_label.dtype, mx.floating):
        at_label = mx.where(mx.isnan(at_label), float("-inf"), at_label)
    rank = 1 + (predictions > at_label).astype(mx.int32).sum(axis=-1)
    hits = rank <= k
    return hits if valid is None else hits & valid


# -- elementwise special functions -----------------------------------------------

@keras_op
def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``, computed stably."""
    x = _float(x)
    if axis is None:
        axis = list(range(x.ndim))
    if x.size == 0:  # (MLX refuses empty input; an empty sum is 0, its log -inf)
        return mx.log(mx.sum(mx.exp(x), axis=axis, keepdims=keepdims))
    return mx.logsumexp(x, axis=axis, keepdims=keepdims)


@keras_op
def rsqrt(x):
    """``1 / sqrt(x)``."""
    return mx.rsqrt(_float(x))


@keras_op
def erf(x):
    """The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt``."""
    return mx.erf(_float(x))


# Chebyshev-fitted coefficients of erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2)
# (Press et al., Numerical Recipes, "erfcc"; fractional error below 1.2e-7).
_ERFC_COEFFICIENTS = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
                      0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277)


@keras_op
def erfc(x):
    """``1 - erf(x)``, with relative precision kept in the tail (where ``1 - erf``
    would cancel to zero)."""
    x = _float(x)
    z = mx.abs(x).astype(mx.float32)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = mx.zeros_like(t)
    for c in reversed(_ERFC_COEFFICIENTS):
        poly = poly * t + c
    # exp(-z^2) loses z^2 * eps of relative precision when z^2 is rounded; split
    # z = high + low with high on a 1/256 grid, whose square is exact in float32.
    high = mx.floor(z * 256.0) / 256.0
    tail = t * mx.exp(-high * high) * mx.exp(-(z - high) * (z + high) + poly)
    return mx.where(x >= 0, tail, 2.0 - tail).astype(x.dtype)


@keras_op
def erfinv(x):
    """The inverse error function (``erf(erfinv(x)) == x`` on ``(-1, 1)``)."""
    return mx.erfinv(_float(x))


# -- distances, determinants, complex views --------------------------------------

@keras_op
def cdist(x, y):
    """Euclidean distances between the rows of ``x`` (``(..., m, d)``) and ``y``
    (``(..., n, d)``): ``sqrt(sum((x_i - y_j)^2))``, shape ``(..., m, n)``."""
    x, y = convert_to_tensor(x), convert_to_tensor(y)
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(f"cdist: inputs must have rank >= 2; received shapes "
                         f"{tuple(x.shape)} and {tuple(y.shape)}.")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"cdist: the last dims must match; received {tuple(x.shape)} and "
                         f"{tuple(y.shape)}.")
    dtype = backend.mlx_dtype(result_type(x.dtype, y.dtype, float))
    diff = x.astype(dtype)[..., :, None, :] - y.astype(dtype)[..., None, :, :]
    return mx.sqrt((diff * diff).sum(axis=-1))


@keras_op
def logdet(x):
    """``log(det(x))`` of (batches of) positive-definite matrices, as
    ``sum(log|diag(U)|)`` of their LU factorization."""
    x = _float(x)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"logdet: `x` must be (batches of) square matrices; received "
                         f"shape {tuple(x.shape)}.")
    lu, _ = mx.linalg.lu_factor(x.astype(mx.float32), stream=mx.cpu)
    diag = mx.diagonal(lu, axis1=-2, axis2=-1)
    return mx.log(mx.abs(diag)).sum(axis=-1).astype(x.dtype)


@keras_op
def view_as_complex(x):
    """A complex64 tensor from the ``(..., 2)`` (real, imaginary) pairs of ``x``."""
    x = convert_to_tensor(x)
    if x.ndim < 1 or x.shape[-1] != 2:
        raise ValueError(f"view_as_complex: the last dim must be 2 (real, imaginary); "
                         f"received shape {tuple(x.shape)}.")
    x = x.astype(mx.float32)
    return x[..., 0] + 1j * x[..., 1]


@keras_op
def view_as_real(x):
    """The ``(..., 2)`` float32 (real, imaginary) pairs of a complex tensor."""
    x = convert_to_tensor(x)
    return mx.stack([mx.real(x), mx.imag(x)], axis=-1).astype(mx.float32)
