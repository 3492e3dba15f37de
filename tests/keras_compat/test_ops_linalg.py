"""keras.ops.linalg against numpy.linalg / scipy.linalg: values, batching, dtypes,
gradients (against float64 finite differences), compiled steps and symbolic use."""

from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest
import scipy.linalg

import mlxfunctional as keras
from mlxfunctional import ops
from mlxfunctional.ops import linalg

API = Path(__file__).parent / "keras_api"
RNG = np.random.default_rng(0)


def _names(file):
    return (API / file).read_text().split()


def _spd(*shape):
    a = RNG.normal(size=shape + (shape[-1],))
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def _well_conditioned(*shape):
    return RNG.normal(size=shape) + 3 * np.eye(shape[-1])


def _close(actual, expected, tol=1e-4):
    actual = np.asarray(actual)
    assert actual.shape == np.shape(expected), (actual.shape, np.shape(expected))
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


def test_every_keras_linalg_name_exists():
    for name in _names("ops_linalg.txt"):
        assert callable(getattr(linalg, name)), name
        assert name in linalg.__all__, name
    top_level = set(_names("ops.txt"))
    for name in _names("ops_linalg.txt"):  # Keras exports all 16 at top level too
        assert name in top_level
        assert getattr(ops, name) is getattr(linalg, name), name


SQUARE_SHAPES = [(3, 3), (2, 4, 4), (2, 1, 3, 3), (0, 2, 2)]


@pytest.mark.parametrize("shape", SQUARE_SHAPES)
@pytest.mark.parametrize("op, reference", [
    ("inv", np.linalg.inv),
    ("det", np.linalg.det),
    ("solve", lambda a: np.linalg.solve(a, np.ones(a.shape[:-1] + (2,)))),
])
def test_square_ops_match_numpy(op, reference, shape):
    a = _well_conditioned(*shape).astype(np.float32)
    if op == "solve":
        result = ops.solve(a, np.ones(shape[:-1] + (2,), np.float32))
    else:
        result = getattr(ops, op)(a)
    assert result.dtype == mx.float32
    _close(result, reference(a.astype(np.float64)), tol=2e-4)


@pytest.mark.parametrize("dtype, expected", [("int32", mx.float32), ("float16", mx.float16),
                                             ("float32", mx.float32)])
def test_int_inputs_compute_in_float_and_half_stays_half(dtype, expected):
    # Keras: result_type(dtype, float) -- ints give floatx, float16 stays float16.
    a = np.array([[4, 1], [2, 3]]).astype(dtype)
    for result, reference in [(ops.inv(a), np.linalg.inv(a.astype(float))),
                              (ops.det(a), np.linalg.det(a.astype(float))),
                              (ops.norm(a), np.linalg.norm(a.astype(float)))]:
        assert result.dtype == expected
        _close(result.astype(mx.float32), reference, tol=2e-3)


@pytest.mark.parametrize("a_shape, b_shape, vector", [
    ((2, 3, 3), (3,), True),        # one vector for every matrix
    ((2, 3, 3), (2, 3), True),      # one dimension less than a: a batch of vectors
    ((3, 3), (3, 2), False),        # a matrix right-hand side
    ((2, 3, 3), (1, 3, 2), False),  # batch dimensions broadcast
])
def test_solve_vectors_matrices_and_broadcast_batches(a_shape, b_shape, vector):
    a = _well_conditioned(*a_shape).astype(np.float64)
    b = RNG.normal(size=b_shape)
    if vector:  # Keras' documented rule, numpy < 2's: (..., M) is a (batch of) vector
        expected = np.linalg.solve(a, np.broadcast_to(b, a.shape[:-1])[..., None])[..., 0]
    else:
        expected = np.linalg.solve(a, b)
    result = ops.solve(a.astype(np.float32), b.astype(np.float32))
    _close(result, expected)
    with pytest.raises(ValueError, match="disagree on M"):
        ops.solve(a.astype(np.float32), np.ones(4, np.float32))


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("b_shape", [(4,), (4, 2)])
def test_solve_triangular_reads_only_its_triangle(lower, b_shape):
    a = _well_conditioned(4, 4).astype(np.float32)  # both triangles non-zero
    b = RNG.normal(size=b_shape).astype(np.float32)
    expected = scipy.linalg.solve_triangular(a.astype(float), b.astype(float), lower=lower)
    _close(ops.solve_triangular(a, b, lower=lower), expected)
    batched = np.stack([a, 2 * a])
    result = np.asarray(ops.solve_triangular(batched, np.stack([b, b]), lower=lower))
    _close(result[1], expected / 2)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_and_cholesky_inverse(shape, upper):
    spd = _spd(*shape[:-1]).astype(np.float32)
    lower = np.linalg.cholesky(spd.astype(float))
    factor = ops.cholesky(spd, upper=upper)
    _close(factor, np.swapaxes(lower, -1, -2) if upper else lower)
    # Keras' backends read cholesky_inverse's input as the factor itself.
    _close(ops.cholesky_inverse(factor, upper=upper), np.linalg.inv(spd.astype(float)))


def test_eigh_and_eig():
    spd = _spd(2, 4).astype(np.float32)
    w, v = ops.eigh(spd)
    _close(w, np.linalg.eigvalsh(spd.astype(float)), tol=1e-3)
    _close(np.asarray(v) @ (np.asarray(w)[..., None] * np.swapaxes(np.asarray(v), -1, -2)),
           spd, tol=1e-3)
    general = RNG.normal(size=(3, 3)).astype(np.float32)
    w, v = ops.eig(general)
    assert w.dtype == mx.complex64 and v.dtype == mx.complex64
    w, v = np.asarray(w), np.asarray(v)
    _close(general @ v, v * w[None, :], tol=1e-4)  # A v = lambda v
    np.testing.assert_allclose(np.sort_complex(w), np.sort_complex(np.linalg.eigvals(general)),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (2, 3, 5)])
def test_lu_factor_matches_scipy(shape):
    x = RNG.normal(size=shape).astype(np.float32)
    lu, pivots = ops.lu_factor(x)
    assert pivots.dtype == mx.int32
    for i in np.ndindex(*shape[:-2]):
        expected_lu, expected_piv = scipy.linalg.lu_factor(x[i].astype(float))
        _close(np.asarray(lu)[i], expected_lu, tol=1e-4)
        np.testing.assert_array_equal(np.asarray(pivots)[i], expected_piv)


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 4, 3)])
@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_qr(shape, mode):
    x = RNG.normal(size=shape).astype(np.float32)
    q, r = (np.asarray(t) for t in ops.qr(x, mode=mode))
    eq, er = np.linalg.qr(x.astype(float), mode=mode)
    assert q.shape == eq.shape and r.shape == er.shape
    _close(q @ r, x)
    _close(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(q.shape[-1]), q.shape[:-2]
                                                          + (q.shape[-1],) * 2))
    _close(np.abs(r), np.abs(er), tol=1e-4)  # unique up to the signs of q's columns
    assert np.allclose(np.tril(r, -1), 0)
    with pytest.raises(ValueError, match="mode"):
        ops.qr(x, mode="r")


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3)])
@pytest.mark.parametrize("full_matrices", [True, False])
def test_svd(shape, full_matrices):
    x = RNG.normal(size=shape).astype(np.float32)
    u, s, vh = (np.asarray(t) for t in ops.svd(x, full_matrices=full_matrices))
    eu, es, evh = np.linalg.svd(x.astype(float), full_matrices=full_matrices)
    assert (u.shape, s.shape, vh.shape) == (eu.shape, es.shape, evh.shape)
    _close(s, es)
    k = s.shape[-1]
    _close((u[..., :k] * s[..., None, :]) @ vh[..., :k, :], x)
    _close(ops.svd(x, compute_uv=False), es)


def test_pinv_lstsq_matrix_rank():
    x = RNG.normal(size=(2, 5, 3)).astype(np.float32)
    _close(ops.pinv(x), np.linalg.pinv(x.astype(float)), tol=1e-3)
    a = RNG.normal(size=(6, 3)).astype(np.float32)
    for b in (RNG.normal(size=(6,)), RNG.normal(size=(6, 2))):
        b = b.astype(np.float32)
        expected = np.linalg.lstsq(a.astype(float), b.astype(float), rcond=None)[0]
        _close(ops.lstsq(a, b), expected, tol=1e-3)
    under = RNG.normal(size=(2, 4)).astype(np.float32)  # minimum-norm solution
    expected = np.linalg.lstsq(under.astype(float), np.ones(2), rcond=None)[0]
    _close(ops.lstsq(under, np.ones(2, np.float32)), expected, tol=1e-3)
    deficient = np.stack([np.outer([1, 2, 3], [1, 0, 2]), np.eye(3), np.zeros((3, 3))])
    rank = ops.matrix_rank(deficient.astype(np.float32))
    assert rank.dtype == mx.int32
    np.testing.assert_array_equal(rank, np.linalg.matrix_rank(deficient))
    np.testing.assert_array_equal(ops.matrix_rank(np.diag([1.0, 1e-3]), tol=1e-2), 1)
    # a large rcond zeroes all but the largest singular value
    _close(ops.pinv(np.diag([2.0, 1e-3]), rcond=0.1), np.diag([0.5, 0.0]))


NORM_CASES = [  # (shape, ord, axis)
    ((5,), None, None), ((5,), 0, None), ((5,), 1, None), ((5,), -1, 0), ((5,), 3, None),
    ((5,), 0.5, -1), ((5,), np.inf, None), ((5,), -np.inf, None), ((5,), 2, 0),
    ((3, 4), None, None), ((2, 3, 4), None, None), ((2, 3, 4), 2, -1), ((2, 3, 4), 1, 1),
    ((3, 4), "fro", None), ((3, 4), "nuc", None), ((3, 4), 1, None), ((3, 4), -1, None),
    ((3, 4), 2, None), ((3, 4), -2, None), ((3, 4), np.inf, None), ((3, 4), -np.inf, None),
    ((2, 3, 4), "nuc", (-1, 0)), ((2, 3, 4), 2, (2, 1)), ((2, 3, 4), -np.inf, (0, 2)),
    ((0, 3), None, -1), ((0, 3), "fro", (0, 1)),
]


@pytest.mark.parametrize("shape, ord, axis", NORM_CASES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_norm_matches_numpy(shape, ord, axis, keepdims):
    x = RNG.normal(size=shape).astype(np.float32)
    if shape == (5,):
        x[2] = 0.0  # ord=0 counts non-zeros
    with np.errstate(divide="ignore"):  # ord=-1 over a zero: numpy warns, gives 0
        expected = np.linalg.norm(x.astype(float), ord=ord, axis=axis, keepdims=keepdims)
    result = ops.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    assert result.dtype == mx.float32
    _close(result, expected)


@pytest.mark.parametrize("kwargs, match", [
    (dict(ord="nuc", axis=0), "matrix norm"), (dict(ord=3, axis=(0, 1)), "matrix norm"),
    (dict(ord="max"), "ord"), (dict(ord=1), "rank 1 or 2"), (dict(axis=(0, 0)), "distinct"),
    (dict(axis=3), "out of range"),
])
def test_norm_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ops.norm(np.ones((2, 3, 4), np.float32), **kwargs)


@pytest.mark.parametrize("op, args, match", [
    ("inv", [np.ones((2, 3))], "square"), ("det", [np.ones(3)], "rank >= 2"),
    ("cholesky", [np.ones((3, 2))], "square"), ("svd", [np.ones(3)], "rank >= 2"),
    ("lstsq", [np.ones((3, 2)), np.ones(4)], "lstsq"),
])
def test_bad_shapes_are_named(op, args, match):
    with pytest.raises(ValueError, match=match):
        getattr(ops, op)(*args)


def _numeric_grad(f, a, eps=1e-6):
    """Central differences of a float64 numpy function."""
    grad = np.zeros_like(a)
    for i in np.ndindex(*a.shape):
        step = np.zeros_like(a)
        step[i] = eps
        grad[i] = (f(a + step) - f(a - step)) / (2 * eps)
    return grad


WEIGHTS = RNG.normal(size=(3, 3))


def _sym(f):  # functions of a symmetric matrix: perturb both triangles together
    return lambda a: f(0.5 * (a + a.T))


GRAD_CASES = [  # (mlx function, numpy float64 twin, input maker)
    (lambda a: mx.sum(ops.inv(a) * mx.array(WEIGHTS, mx.float32)),
     lambda a: np.sum(np.linalg.inv(a) * WEIGHTS), lambda: _well_conditioned(3, 3)),
    (lambda a: mx.sum(ops.solve(a, mx.arange(3, dtype=mx.float32))),
     lambda a: np.sum(np.linalg.solve(a, np.arange(3.0))), lambda: _well_conditioned(3, 3)),
    (lambda a: mx.sum(ops.solve_triangular(a, mx.ones((3, 2)), lower=True)),
     lambda a: np.sum(scipy.linalg.solve_triangular(a, np.ones((3, 2)), lower=True)),
     lambda: _well_conditioned(3, 3)),
    (lambda a: ops.det(a), np.linalg.det, lambda: _well_conditioned(3, 3)),
    (lambda a: mx.sum(ops.cholesky(0.5 * (a + a.T)) * mx.array(WEIGHTS, mx.float32)),
     _sym(lambda a: np.sum(np.linalg.cholesky(a) * WEIGHTS)), lambda: _spd(3)),
    (lambda a: mx.sum(ops.eigh(a)[0] * mx.arange(1, 4, dtype=mx.float32)),
     _sym(lambda a: np.sum(np.linalg.eigvalsh(a) * np.arange(1, 4))), lambda: _spd(3)),
    (lambda a: ops.norm(a, "nuc"), lambda a: np.linalg.norm(a, "nuc"),
     lambda: RNG.normal(size=(3, 4))),
    (lambda a: ops.norm(a, 2), lambda a: np.linalg.norm(a, 2), lambda: RNG.normal(size=(3, 3))),
]


@pytest.mark.parametrize("case", range(len(GRAD_CASES)))
def test_gradients_match_finite_differences(case):
    f, reference, make = GRAD_CASES[case]
    a = make()
    grad = mx.grad(f)(mx.array(a.astype(np.float32)))
    np.testing.assert_allclose(np.asarray(grad), _numeric_grad(reference, a),
                               rtol=2e-3, atol=2e-3)


def test_solve_gradients_sum_over_broadcast_batches():
    a, b = _well_conditioned(2, 3, 3), RNG.normal(size=(1, 3, 2))
    weights = RNG.normal(size=(2, 3, 2))
    grad_a, grad_b = mx.grad(
        lambda a, b: mx.sum(ops.solve(a, b) * mx.array(weights, mx.float32)),
        argnums=(0, 1))(mx.array(a, mx.float32), mx.array(b, mx.float32))
    assert grad_a.shape == a.shape and grad_b.shape == b.shape
    np.testing.assert_allclose(
        grad_b, _numeric_grad(lambda t: np.sum(np.linalg.solve(a, t) * weights), b),
        rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(
        grad_a, _numeric_grad(lambda t: np.sum(np.linalg.solve(t, b) * weights), a),
        rtol=1e-3, atol=1e-4)


def test_ops_run_inside_a_compiled_step():
    a = _well_conditioned(2, 3, 3).astype(np.float32)

    @mx.compile
    def step(a):
        return ops.inv(a), ops.norm(a, "nuc", axis=(-2, -1)), ops.qr(a)[1], ops.det(a)

    eager = [ops.inv(a), ops.norm(a, "nuc", axis=(-2, -1)), ops.qr(a)[1], ops.det(a)]
    for compiled, expected in zip(step(mx.array(a)), eager):
        _close(compiled, np.asarray(expected), tol=1e-5)


def test_jvp():
    # Keras' documented example: d/dt sin(0.1 + 0.2 t) = cos(0.1) * 0.2
    out, tangent = ops.jvp(mx.sin, (mx.array(0.1),), (mx.array(0.2),))
    np.testing.assert_allclose([out.item(), tangent.item()],
                               [np.sin(0.1), 0.2 * np.cos(0.1)], rtol=1e-6)

    def fun(pair, scale):  # nested primals and outputs
        x, y = pair
        return {"prod": x * y * scale, "sum": x + y}, "aux-data"

    primals = ((mx.array([1.0, 2.0]), mx.array([3.0, 4.0])), mx.array(2.0))
    tangents = ((mx.array([1.0, 0.0]), mx.array([0.0, 1.0])), mx.array(0.0))
    out, tangent, aux = ops.jvp(fun, primals, tangents, has_aux=True)
    assert aux == "aux-data"
    _close(out["prod"], [6.0, 16.0])
    _close(tangent["prod"], [3.0 * 2, 2.0 * 2])  # d(x y s) = s (dx y + x dy)
    _close(tangent["sum"], [1.0, 1.0])
    with pytest.raises(ValueError, match="tangents"):
        ops.jvp(mx.sin, (mx.ones(2),), (mx.ones(3),))


def test_symbolic_ops_in_a_functional_model_round_trip():
    x = keras.Input((3, 3))
    inverse = ops.inv(x)
    y = ops.norm(inverse, ord="fro", axis=(-2, -1), keepdims=True)
    z = ops.linalg.solve_triangular(x, x, lower=True)
    model = keras.Model(x, [y, z])
    a = _well_conditioned(2, 3, 3).astype(np.float32)
    y_out, z_out = model.predict(a, verbose=0)
    _close(y_out, np.linalg.norm(np.linalg.inv(a.astype(float)), axis=(-2, -1),
                                 keepdims=True))
    _close(z_out, np.asarray(ops.solve_triangular(a, a, lower=True)))
    clone = keras.Model.from_config(model.get_config())
    for got, want in zip(clone.predict(a, verbose=0), (y_out, z_out)):
        np.testing.assert_allclose(got, want, rtol=1e-6)
