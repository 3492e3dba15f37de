"""``keras.ops.linalg``: decompositions, solvers, inverses and norms on MLX.

Every op takes batches of matrices (leading dimensions) as Keras does. MLX
0.32 runs its LAPACK kernels on the CPU only, so each call names the CPU
stream (``stream=mx.cpu``): the ops also work when the default device is a
GPU, at the cost of a copy to host memory there. Kernels without an MLX
gradient get one in ``linalg_gradients.py``.

Integer inputs compute in ``floatx()`` (Keras' ``result_type(dtype, float)``);
float16/bfloat16 inputs compute in float32 (MLX's LAPACK takes float32 and
float64 only) and come back in their own dtype.
"""

import math

import mlx.core as mx

from .. import backend, tree
from . import linalg_gradients as grads
from .dtypes import convert_to_tensor, result_type
from .operation import any_symbolic, keras_op

CPU = grads.CPU

__all__ = ["cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq",
           "lu_factor", "matrix_rank", "norm", "pinv", "qr", "solve", "solve_triangular",
           "svd"]


def _float(x):
    """(``x`` in a dtype MLX's LAPACK takes, the dtype Keras returns)."""
    x = convert_to_tensor(x)
    out = backend.mlx_dtype(result_type(x.dtype, float))
    compute = out if out in (mx.float32, mx.float64) else mx.float32
    return x.astype(compute), out


def _matrices(x, op, square=False):
    if x.ndim < 2:
        raise ValueError(f"{op}: expected `x` of rank >= 2 (a matrix or a batch of "
                         f"matrices). Received: x.shape={x.shape}")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{op}: expected square matrices. Received: x.shape={x.shape}")


def _t(x):
    return mx.swapaxes(x, -1, -2)


def _eps(dtype):
    return 2.0 ** -52 if dtype == mx.float64 else 2.0 ** -23


@keras_op
def cholesky(x, upper=False):
    """Cholesky factor of positive-definite ``x``: lower ``L`` with ``x = L L^T``
    (``upper=True``: ``U = L^T``). Not positive definite: undefined values."""
    x, out = _float(x)
    _matrices(x, "cholesky", square=True)
    lower = grads.cholesky(x)
    return (_t(lower) if upper else lower).astype(out)


@keras_op
def cholesky_inverse(x, upper=False):
    """``(L L^T)^-1`` from the Cholesky factor ``x = L`` (``upper``: ``x = U``,
    ``(U^T U)^-1``), as Keras' backends read it."""
    x, out = _float(x)
    _matrices(x, "cholesky_inverse", square=True)
    eye = mx.eye(x.shape[-1], dtype=x.dtype)
    inv_factor = grads.triangular_solver(not upper)(x, eye)
    if upper:
        return (inv_factor @ _t(inv_factor)).astype(out)
    return (_t(inv_factor) @ inv_factor).astype(out)


@keras_op
def det(x):
    """Determinant of each square matrix, by LU factorization."""
    x, out = _float(x)
    _matrices(x, "det", square=True)
    return mx.linalg.det(x, stream=CPU).astype(out)


@keras_op
def eig(x):
    """Eigenvalues and right eigenvectors of a general square ``x`` (complex64)."""
    x, _ = _float(x)
    _matrices(x, "eig", square=True)
    return mx.linalg.eig(x.astype(mx.float32), stream=CPU)


@keras_op
def eigh(x):
    """Eigenvalues (ascending) and eigenvectors of a symmetric ``x``; the input is
    symmetrized first (``(x + x^T) / 2``) as JAX does."""
    x, out = _float(x)
    _matrices(x, "eigh", square=True)
    w, v = grads.eigh(0.5 * (x + _t(x)))
    return w.astype(out), v.astype(out)


@keras_op
def inv(x):
    """Inverse of each square matrix."""
    x, out = _float(x)
    _matrices(x, "inv", square=True)
    return grads.inv(x).astype(out)


@keras_op
def lu_factor(x):
    """Compact LU factorization with partial pivoting: ``(lu, pivots)`` as
    ``scipy.linalg.lu_factor`` (row ``i`` was swapped with row ``pivots[i]``)."""
    x, out = _float(x)
    _matrices(x, "lu_factor")
    lu, pivots = mx.linalg.lu_factor(x, stream=CPU)
    return lu.astype(out), pivots.astype(mx.int32)


_MATRIX_ORDS = (None, "fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2)


@keras_op
def norm(x, ord=None, axis=None, keepdims=False):
    """Vector norm (one axis: ``sum(|x|^ord)^(1/ord)``, ``max|x|``, ``min|x|``,
    ``count(x != 0)``) or matrix norm (two axes: fro, nuc, +-1, +-2, +-inf)."""
    x, out = _float(x)
    if isinstance(ord, str) and ord not in ("fro", "nuc"):
        raise ValueError(f"norm: `ord` must be a number, None, 'fro' or 'nuc'. "
                         f"Received: ord={ord!r}")
    if axis is None:
        if ord is None:  # the 2-norm of the flattened array
            result = mx.sqrt(mx.sum(x * x))
            return result.reshape((1,) * x.ndim if keepdims else ()).astype(out)
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: with `ord` and axis=None, `x` must have rank 1 or 2. "
                             f"Received: x.shape={x.shape}, ord={ord!r}")
        axis = tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"norm: axis {a} is out of range for x of rank {x.ndim}.")
    axes = tuple(a % x.ndim for a in axes)
    if len(axes) == 1:
        result = _vector_norm(x, ord, axes[0], keepdims)
    elif len(axes) == 2 and axes[0] != axes[1]:
        result = _matrix_norm(x, ord, axes, keepdims)
    else:
        raise ValueError(f"norm: `axis` must name one or two distinct axes. "
                         f"Received: axis={axis}")
    return result.astype(out)


def _vector_norm(x, ord, axis, keepdims):
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; a vector norm (one axis) "
                         "takes a number or None.")
    magnitude = mx.abs(x)
    if ord is None or ord == 2:
        return mx.sqrt(mx.sum(x * x, axis=axis, keepdims=keepdims))
    if ord == math.inf:
        return mx.max(magnitude, axis=axis, keepdims=keepdims)
    if ord == -math.inf:
        return mx.min(magnitude, axis=axis, keepdims=keepdims)
    if ord == 0:
        return mx.sum((x != 0).astype(x.dtype), axis=axis, keepdims=keepdims)
    if ord == 1:
        return mx.sum(magnitude, axis=axis, keepdims=keepdims)
    return mx.sum(magnitude ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):
    if ord not in _MATRIX_ORDS:
        raise ValueError(f"norm: a matrix norm (two axes) takes ord in {_MATRIX_ORDS}. "
                         f"Received: ord={ord!r}")
    rows, cols = axes
    if ord in (None, "fro"):
        return mx.sqrt(mx.sum(x * x, axis=axes, keepdims=keepdims))
    if ord in (1, -1, math.inf, -math.inf):
        # 1: the largest column sum; inf: the largest row sum (numpy's definitions).
        summed, reduced = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = mx.sum(mx.abs(x), axis=summed, keepdims=True)
        pick = mx.max if ord > 0 else mx.min
        result = pick(sums, axis=reduced, keepdims=True)
    else:  # nuc, 2, -2: from the singular values of the matrices moved last
        batch = [i for i in range(x.ndim) if i not in axes]
        values = grads.singular_values(mx.transpose(x, batch + [rows, cols]))
        reduce = {"nuc": mx.sum, 2: mx.max, -2: mx.min}[ord]
        result = mx.expand_dims(reduce(values, axis=-1), sorted(axes))
    if not keepdims:
        result = mx.squeeze(result, axis=axes)
    return result


@keras_op
def qr(x, mode="reduced"):
    """QR decomposition ``x = q @ r``: ``q`` (..., M, K) orthonormal, ``r`` (..., K, N)
    upper triangular, ``K = min(M, N)``; ``mode="complete"``: ``q`` is (..., M, M)."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: `mode` must be 'reduced' or 'complete'. Received: mode={mode!r}")
    x, out = _float(x)
    _matrices(x, "qr")
    m, n = x.shape[-2:]
    if mode == "complete" and m > n:
        # MLX gives the reduced form only. Householder QR of [x | I] treats x's
        # columns first, so its q is x's complete q and r's first n columns x's r.
        eye = mx.broadcast_to(mx.eye(m, dtype=x.dtype), x.shape[:-1] + (m,))
        q, r = mx.linalg.qr(mx.concatenate([x, eye], axis=-1), stream=CPU)
        return q.astype(out), r[..., :n].astype(out)
    q, r = mx.linalg.qr(x, stream=CPU)
    return q.astype(out), r.astype(out)


def _solve_args(a, b, op):
    a, out = _float(a)
    b = convert_to_tensor(b).astype(a.dtype)
    _matrices(a, op, square=True)
    if b.ndim < 1:
        raise ValueError(f"{op}: `b` must have rank >= 1. Received: b.shape={b.shape}")
    # As numpy: b is a vector (batch) when it has one dimension less than a.
    vector = b.ndim == a.ndim - 1 or b.ndim == 1
    if vector:
        b = b[..., None]
    if b.shape[-2] != a.shape[-1]:
        raise ValueError(f"{op}: `a` (..., M, M) and `b` (..., M) or (..., M, N) disagree "
                         f"on M. Received: a.shape={a.shape}, b.shape={b.shape}")
    return a, b, vector, out


@keras_op
def solve(a, b):
    """``x`` with ``a @ x = b`` for square ``a``; ``b`` (..., M) or (..., M, N)."""
    a, b, vector, out = _solve_args(a, b, "solve")
    x = grads.solve(a, b)
    return (x[..., 0] if vector else x).astype(out)


@keras_op
def solve_triangular(a, b, lower=False):
    """``x`` with ``a @ x = b`` reading only ``a``'s upper (or ``lower``) triangle."""
    a, b, vector, out = _solve_args(a, b, "solve_triangular")
    x = grads.triangular_solver(bool(lower))(a, b)
    return (x[..., 0] if vector else x).astype(out)


@keras_op
def svd(x, full_matrices=True, compute_uv=True):
    """Singular value decomposition ``x = u @ diag(s) @ vh``: ``(u, s, vh)``, or
    ``s`` (descending) alone with ``compute_uv=False``."""
    x, out = _float(x)
    _matrices(x, "svd")
    if not compute_uv:
        return grads.singular_values(x).astype(out)
    u, s, vh = mx.linalg.svd(x, stream=CPU)
    if not full_matrices:
        k = min(x.shape[-2:])
        u, vh = u[..., :, :k], vh[..., :k, :]
    return u.astype(out), s.astype(out), vh.astype(out)


def _pinv(x, rcond):
    """Pseudo-inverse from the SVD: singular values ``<= rcond * max(s)`` count as 0."""
    k = min(x.shape[-2:])
    u, s, vh = mx.linalg.svd(x, stream=CPU)
    u, vh = u[..., :, :k], vh[..., :k, :]
    cutoff = rcond * mx.max(s, axis=-1, keepdims=True)
    inverse = mx.where(s > cutoff, 1.0 / mx.where(s > cutoff, s, 1.0), 0.0)
    return (_t(vh) * inverse[..., None, :]) @ _t(u)


@keras_op
def pinv(x, rcond=None):
    """Moore-Penrose pseudo-inverse, (..., N, M) for (..., M, N) ``x``; ``rcond``
    defaults to ``10 * max(M, N) * eps`` as in JAX."""
    x, out = _float(x)
    _matrices(x, "pinv")
    if rcond is None:
        rcond = 10 * max(x.shape[-2:]) * _eps(x.dtype)
    return _pinv(x, rcond).astype(out)


@keras_op
def lstsq(a, b, rcond=None):
    """Least-squares (minimum-norm) ``x`` minimizing ``|a @ x - b|``: ``a`` (M, N),
    ``b`` (M,) or (M, K); ``rcond`` defaults to ``max(M, N) * eps`` as in JAX."""
    a, out = _float(a)
    b = convert_to_tensor(b).astype(a.dtype)
    if a.ndim != 2 or b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(f"lstsq: expected `a` of shape (M, N) and `b` of shape (M,) or "
                         f"(M, K). Received: a.shape={a.shape}, b.shape={b.shape}")
    if rcond is None:
        rcond = max(a.shape) * _eps(a.dtype)
    return (_pinv(a, rcond) @ b).astype(out)


@keras_op
def matrix_rank(x, tol=None):
    """Number of singular values above ``tol`` (default ``max(s) * max(M, N) * eps``),
    as int32."""
    x, _ = _float(x)
    _matrices(x, "matrix_rank")
    s = mx.linalg.svd(x, compute_uv=False, stream=CPU)
    if tol is None:
        tol = mx.max(s, axis=-1, keepdims=True) * (max(x.shape[-2:]) * _eps(x.dtype))
    return mx.sum(s > tol, axis=-1).astype(mx.int32)


def jvp(fun, primals, tangents, has_aux=False):
    """Forward-mode derivative: ``(fun(*primals), J @ tangents)`` (plus ``fun``'s
    auxiliary output with ``has_aux=True``), with ``fun``'s output structure.

    Args:
        fun: a function of ``len(primals)`` arguments (arrays or nested structures
            of arrays) returning an array or a nested structure of arrays; with
            ``has_aux``, a pair ``(output, aux)``.
        primals: the arguments at which the Jacobian is taken.
        tangents: the direction, structured and shaped like ``primals``.
        has_aux: whether ``fun`` returns ``(output, aux)``.
    """
    if any_symbolic((primals, tangents)):
        raise ValueError("jvp: takes arrays, not symbolic tensors (a function argument "
                         "cannot be recorded in a layer graph). Call it inside a layer's "
                         "call() instead.")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: `primals` and `tangents` must be tuples or lists (one entry "
                        f"per argument of `fun`). Received: {type(primals).__name__}, "
                        f"{type(tangents).__name__}")
    flat_primals = [convert_to_tensor(p) for p in tree.flatten(primals)]
    flat_tangents = [convert_to_tensor(t) for t in tree.flatten(tangents)]
    if [p.shape for p in flat_primals] != [t.shape for t in flat_tangents]:
        raise ValueError("jvp: `tangents` must match `primals` in structure and shapes. "
                         f"Received primals {[p.shape for p in flat_primals]}, tangents "
                         f"{[t.shape for t in flat_tangents]}")
    found = {}  # fun's output structure and aux, seen while MLX traces it

    def flat_fun(*flat):
        result = fun(*tree.pack_sequence_as(primals, flat))
        if has_aux:
            result, found["aux"] = result
        found["structure"] = result
        return tree.flatten(result)

    outputs, output_tangents = mx.jvp(flat_fun, flat_primals, flat_tangents)
    structure = found["structure"]
    result = (tree.pack_sequence_as(structure, outputs),
              tree.pack_sequence_as(structure, output_tangents))
    return result + (found["aux"],) if has_aux else result
