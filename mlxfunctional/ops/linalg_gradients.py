"""Differentiable forms of MLX's LAPACK-backed linear algebra.

MLX 0.32 has no vector-Jacobian product for ``inv``, ``solve``,
``solve_triangular``, ``cholesky``, ``eigh`` or ``svd``: ``mx.grad`` through
them raises "Not implemented". Each function here runs MLX's kernel forward
and gives the textbook reverse-mode rule as an ``mx.custom_function``, so
``keras.ops.linalg`` keeps gradients inside a training step.

All kernels run on the CPU stream: MLX 0.32 implements its linalg on the CPU
only, so naming the stream makes the ops work when the default device is a GPU.
"""

import functools

import mlx.core as mx

CPU = mx.cpu


def _t(x):
    return mx.swapaxes(x, -1, -2)


def _sum_to(grad, shape):
    """Sums a broadcast gradient back to the operand's ``shape``."""
    extra = grad.ndim - len(shape)
    axes = list(range(extra)) + [extra + i for i, n in enumerate(shape)
                                 if n == 1 and grad.shape[extra + i] != 1]
    if axes:
        grad = mx.sum(grad, axis=axes, keepdims=True)
    return grad.reshape(shape)


@mx.custom_function
def inv(a):
    """``a^-1``; gradient ``-A^-T G A^-T``."""
    return mx.linalg.inv(a, stream=CPU)


@inv.vjp
def _inv_vjp(primals, cotangent, output):
    out_t = _t(output)
    return (-(out_t @ cotangent @ out_t),)


@mx.custom_function
def solve(a, b):
    """``x`` with ``a @ x = b``, ``b`` a (batch of) matrix; batch dims broadcast."""
    batch = mx.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = mx.broadcast_to(a, batch + a.shape[-2:])
    b = mx.broadcast_to(b, batch + b.shape[-2:])
    return mx.linalg.solve(a, b, stream=CPU)


@solve.vjp
def _solve_vjp(primals, cotangent, output):
    a, b = primals
    grad_b = solve(_t(a), cotangent)  # A^-T G
    grad_a = -(grad_b @ _t(output))
    return _sum_to(grad_a, a.shape), _sum_to(grad_b, b.shape)


@functools.lru_cache(maxsize=None)
def triangular_solver(lower):
    """``x`` with triangular ``a @ x = b`` (only ``a``'s ``lower`` or upper triangle
    is read); the gradient on ``a`` keeps that triangle."""

    @mx.custom_function
    def solve_tri(a, b):
        batch = mx.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a = mx.broadcast_to(a, batch + a.shape[-2:])
        b = mx.broadcast_to(b, batch + b.shape[-2:])
        return mx.linalg.solve_triangular(a, b, upper=not lower, stream=CPU)

    @solve_tri.vjp
    def solve_tri_vjp(primals, cotangent, output):
        a, b = primals
        grad_b = triangular_solver(not lower)(_t(a), cotangent)
        grad_a = -(grad_b @ _t(output))
        grad_a = mx.tril(grad_a) if lower else mx.triu(grad_a)
        return _sum_to(grad_a, a.shape), _sum_to(grad_b, b.shape)

    return solve_tri


def _phi(x):
    """Lower triangle with a halved diagonal (the Cholesky gradient's projection)."""
    return mx.tril(x) - 0.5 * x * mx.eye(x.shape[-1], dtype=x.dtype)


@mx.custom_function
def cholesky(a):
    """Lower Cholesky factor ``L`` (``a = L L^T``); gradient after Murray (2016):
    ``S = L^-T Phi(L^T G) L^-1``, ``grad = (S + S^T) / 2``."""
    return mx.linalg.cholesky(a, upper=False, stream=CPU)


@cholesky.vjp
def _cholesky_vjp(primals, cotangent, output):
    lower = output
    solve_lower, solve_upper = triangular_solver(True), triangular_solver(False)
    p = _phi(_t(lower) @ cotangent)
    s = solve_upper(_t(lower), _t(solve_upper(_t(lower), _t(p))))  # L^-T (L^-T P^T)^T
    return (0.5 * (s + _t(s)),)


@mx.custom_function
def eigh(a):
    """Eigenvalues (ascending) and eigenvectors of the symmetric ``a``; gradient
    ``V (diag(gw) + F * (V^T gV)) V^T`` with ``F_ij = 1 / (w_j - w_i)``."""
    return mx.linalg.eigh(a, stream=CPU)


@eigh.vjp
def _eigh_vjp(primals, cotangents, outputs):
    w, v = outputs
    grad_w, grad_v = cotangents
    gap = w[..., None, :] - w[..., :, None]
    eye = mx.eye(w.shape[-1], dtype=w.dtype)
    f = mx.where(eye > 0, 0.0, 1.0 / mx.where(eye > 0, 1.0, gap))
    inner = grad_w[..., None, :] * eye + f * (_t(v) @ grad_v)
    grad = v @ inner @ _t(v)
    return (0.5 * (grad + _t(grad)),)


@mx.custom_function
def singular_values(a):
    """Singular values of ``a`` (descending); gradient ``U diag(g) V^T``."""
    return mx.linalg.svd(a, compute_uv=False, stream=CPU)


@singular_values.vjp
def _singular_values_vjp(primals, cotangent, output):
    a = primals if isinstance(primals, mx.array) else primals[0]  # (MLX passes a lone array)
    u, _, vt = mx.linalg.svd(a, stream=CPU)
    k = output.shape[-1]
    return ((u[..., :, :k] * cotangent[..., None, :]) @ vt[..., :k, :],)
