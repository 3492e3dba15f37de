"""keras.ops array ops, continued: products, matrices, vectorize, errors, MLX transforms and
functional models, against numpy references (see test_ops_arrays.py)."""

import warnings

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import ops
from tests.keras_compat.test_ops_arrays import (check, dtype_name, sample)


# ----------------------------------------------------------------------------- products

PRODUCT_DTYPES = [
    # (dtype1, dtype2, Keras' result for matmul/einsum; the other products promote)
    ("float32", "float32", "float32"), ("int32", "int32", "int32"),
    ("int8", "int8", "int32"), ("int8", "int16", "int16"), ("int32", "float32", "float32"),
    ("uint8", "int8", "int16"), ("bool", "bool", "bool"), ("float16", "float16", "float16"),
]

# (name, op, numpy reference, shape1, shape2, int8 @ int8 gives int32)
PRODUCTS = [
    ("matmul", ops.matmul, np.matmul, (3, 4), (4, 2), True),
    ("matmul_batch", ops.matmul, np.matmul, (2, 1, 3, 4), (5, 4, 2), True),
    ("matmul_vec_mat", ops.matmul, np.matmul, (4,), (2, 4, 3), True),
    ("matmul_mat_vec", ops.matmul, np.matmul, (2, 3, 4), (4,), True),
    ("matmul_vec_vec", ops.matmul, np.matmul, (4,), (4,), True),
    ("matmul_empty", ops.matmul, np.matmul, (0, 4), (4, 2), True),
    ("dot_scalar", ops.dot, np.dot, (), (2, 3), False),
    ("dot_vec", ops.dot, np.dot, (4,), (4,), False),
    ("dot_nd_1d", ops.dot, np.dot, (2, 3, 4), (4,), False),
    ("dot_nd_md", ops.dot, np.dot, (2, 3, 4), (5, 4, 2), False),
    ("tensordot_2", ops.tensordot, np.tensordot, (2, 3, 4), (3, 4, 5), False),
    ("tensordot_0", lambda a, b: ops.tensordot(a, b, 0), lambda a, b: np.tensordot(a, b, 0),
     (2, 3), (4,), False),
    ("tensordot_pairs", lambda a, b: ops.tensordot(a, b, ([0, -1], [2, 0])),
     lambda a, b: np.tensordot(a, b, ([0, 2], [2, 0])), (2, 3, 4), (4, 5, 2), False),
    ("inner", ops.inner, np.inner, (2, 3, 4), (5, 4), False),
    ("inner_scalar", ops.inner, np.inner, (2, 3), (), False),
    ("vdot", ops.vdot, np.vdot, (2, 3), (3, 2), False),
    ("outer", ops.outer, np.outer, (2, 3), (4,), False),
    ("kron", ops.kron, np.kron, (2, 3), (3, 2), False),
    ("kron_ndims", ops.kron, np.kron, (2,), (2, 3, 2), False),
]


def _integer_reference(reference, a, b, out_dtype):
    """numpy on int64 (exact), then wrapped into ``out_dtype`` like integer math."""
    if out_dtype == "bool":
        return reference(a.astype(np.int64), b.astype(np.int64)) > 0
    return reference(a.astype(np.int64), b.astype(np.int64)).astype(out_dtype)


@pytest.mark.parametrize("dtype1, dtype2, int8_result", PRODUCT_DTYPES)
@pytest.mark.parametrize("name, op, reference, shape1, shape2, int8_to_int32", PRODUCTS,
                         ids=[c[0] for c in PRODUCTS])
def test_products_against_numpy(name, op, reference, shape1, shape2, int8_to_int32, dtype1,
                                dtype2, int8_result):
    if name.startswith(("kron", "outer", "dot_scalar", "inner_scalar")) and dtype1 == "bool":
        want_dtype = "bool"
    elif int8_to_int32 or (dtype1, dtype2) != ("int8", "int8"):
        want_dtype = int8_result
    else:
        want_dtype = "int8"  # only matmul and einsum widen int8 x int8
    a, b = sample(shape1, dtype1), sample(shape2, dtype2)
    got = op(a, b)
    if want_dtype.startswith("float"):
        tol = 2e-2 if want_dtype == "float16" else 1e-4
        check(got, reference(a.astype(np.float64), b.astype(np.float64)), want_dtype,
              rtol=tol, atol=tol)
    else:
        check(got, _integer_reference(reference, a, b, want_dtype), want_dtype, 0, 0)


def test_integer_matmul_is_exact_beyond_float32():
    # 2^24 + 1 is not a float32: the integer path must not go through floats.
    a = np.array([[2 ** 24 + 1, 1]], np.int32)
    b = np.array([[1], [2]], np.int32)
    check(ops.matmul(a, b), a @ b, "int32", 0, 0)


EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk", [(2, 3, 4), (4, 5)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(4, 4)]),
    ("ij->ji", [(2, 3)]),
    ("ijk", [(2, 3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("bhqd,bhkd->bhqk", [(1, 2, 3, 4), (1, 2, 5, 4)]),
    ("i...->...", [(3, 2, 2)]),
]


@pytest.mark.parametrize("dtype, want", [("float32", "float32"), ("int32", "int32"),
                                         ("int8", "int32"), ("bool", "bool")])
@pytest.mark.parametrize("subscripts, shapes", EINSUMS, ids=[e[0] for e in EINSUMS])
def test_einsum_against_numpy(subscripts, shapes, dtype, want):
    operands = [sample(s, dtype) for s in shapes]
    got = ops.einsum(subscripts, *operands)
    wide = [o.astype(np.float64 if want == "float32" else np.int64) for o in operands]
    expected = np.einsum(subscripts, *wide)
    if want == "bool":
        expected = expected > 0
    check(got, expected, want, rtol=1e-4, atol=1e-4)


CROSSES = [
    ((4, 3), (4, 3), {}), ((4, 2), (4, 2), {}), ((4, 2), (4, 3), {}), ((3,), (2, 3), {}),
    ((3, 4), (3, 4), {"axis": 0}), ((3, 4), (4, 3), {"axisa": 0, "axisc": 0}),
    ((2, 5, 3), (5, 3), {"axisc": 1}),
]


@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize("shape1, shape2, kwargs", CROSSES, ids=str)
def test_cross_against_numpy(shape1, shape2, kwargs, dtype):
    a, b = sample(shape1, dtype), sample(shape2, dtype)
    with warnings.catch_warnings():  # numpy 2 deprecates 2-vectors; Keras keeps them
        warnings.simplefilter("ignore", DeprecationWarning)
        want = np.cross(a, b, **kwargs)
    check(ops.cross(a, b, **kwargs), want, dtype, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- matrices

# Keras' trace dtypes: small ints and bool sum in int32, small unsigned in uint32.
TRACE_DTYPES = [("float32", "float32"), ("float16", "float16"), ("int32", "int32"),
                ("int8", "int32"), ("int16", "int32"), ("bool", "int32"), ("uint8", "uint32"),
                ("uint16", "uint32"), ("uint32", "uint32")]


@pytest.mark.parametrize("dtype, want", TRACE_DTYPES)
@pytest.mark.parametrize("shape, args", [((3, 3), ()), ((2, 3, 4), (1, -1, 0)),
                                         ((4, 3), (-1,)), ((0, 2), ())], ids=str)
def test_trace_against_numpy(shape, args, dtype, want):
    x = sample(shape, dtype)
    expected = np.trace(x.astype(np.float64 if "float" in dtype else np.int64), *args)
    check(ops.trace(x, *args), expected, want, rtol=1e-2)


@pytest.mark.parametrize("dtype", ["float32", "int32", "int8", "uint8"])
@pytest.mark.parametrize("n, increasing", [(None, False), (4, False), (2, True), (0, False)])
def test_vander_against_numpy(n, increasing, dtype):
    x = sample((3,), dtype)
    check(ops.vander(x, n, increasing), np.vander(x, n, increasing), dtype, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1)])
def test_slogdet_against_numpy(shape, dtype):
    x = sample(shape, dtype)
    if dtype == "int32":
        x = x + np.eye(shape[-1], dtype=np.int32) * 8  # keep it non-singular
    sign, logdet = ops.slogdet(x)
    want_sign, want_logdet = np.linalg.slogdet(x.astype(np.float64))
    check(sign, want_sign, "float32")
    check(logdet, want_logdet, "float32", rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- vectorize

def test_vectorize_elementwise_broadcasts():
    f = ops.vectorize(lambda a, b: a * b + 1)
    check(f(np.arange(3.0, dtype=np.float32), np.ones((2, 1), np.float32)),
          np.arange(3.0) * np.ones((2, 1)) + 1, "float32")


def test_vectorize_with_signature_and_excluded():
    dot_last = ops.vectorize(lambda a, b: mx.sum(a * b), signature="(n),(n)->()")
    a, b = sample((2, 3, 4), "float32"), sample((4,), "float32")
    check(dot_last(a, b), np.einsum("ijk,k->ij", a, b), "float32", rtol=1e-4, atol=1e-4)

    scale = ops.vectorize(lambda x, factor: x * factor, excluded={1})
    check(scale(np.arange(4, dtype=np.int32), 3), np.arange(4) * 3, "int32")

    matvec = ops.vectorize(lambda m, v: m @ v, signature="(m,n),(n)->(m)")
    m, v = sample((5, 2, 3), "float32"), sample((3,), "float32")
    check(matvec(m, v), m @ v, "float32", rtol=1e-4, atol=1e-4)


def test_vectorize_several_outputs_and_errors():
    split_sign = ops.vectorize(lambda x: (mx.maximum(x, 0), mx.minimum(x, 0)))
    x = sample((2, 3), "float32")
    pos, neg = split_sign(x)
    check(pos, np.maximum(x, 0), "float32")
    check(neg, np.minimum(x, 0), "float32")
    with pytest.raises(TypeError, match="pyfunc"):
        ops.vectorize(3)
    with pytest.raises(ValueError, match="signature"):
        ops.vectorize(lambda x: x, signature="(n->()")


# ----------------------------------------------------------------------------- errors

def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="squeeze: axis 1 has length 3"):
        ops.squeeze(np.ones((1, 3)), 1)
    with pytest.raises(ValueError, match="equal sections"):
        ops.split(np.ones(5), 2)
    with pytest.raises(ValueError, match="matmul: shapes"):
        ops.matmul(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="out of range"):
        ops.expand_dims(np.ones((2, 3)), 3)
    with pytest.raises(ValueError, match="einsum"):
        ops.einsum("ij,jk->ik", np.ones((2, 2)))
    with pytest.raises(ValueError, match="cross"):
        ops.cross(np.ones(4), np.ones(3))
    with pytest.raises(ValueError, match="slogdet"):
        ops.slogdet(np.ones((2, 3)))
    with pytest.raises(ValueError, match="rot90"):
        ops.rot90(np.ones(3))


# ----------------------------------------------------------------------------- MLX transforms

def _appearances(shape, gather):
    """How often each element of an array of ``shape`` appears in ``gather`` of it:
    the gradient of ``sum(gather(x))``, computed on indices with numpy."""
    index = np.arange(int(np.prod(shape))).reshape(shape)
    return np.bincount(np.ravel(gather(index)), minlength=index.size).reshape(shape)


GATHERS = [
    (lambda x: ops.pad(x, ((1, 3), (2, 0)), mode="reflect"),
     lambda i: np.pad(i, ((1, 3), (2, 0)), mode="reflect")),
    (lambda x: ops.pad(x, 2, mode="symmetric"), lambda i: np.pad(i, 2, mode="symmetric")),
    (lambda x: ops.repeat(x, [2, 0, 1], axis=0), lambda i: np.repeat(i, [2, 0, 1], axis=0)),
    (lambda x: ops.tile(ops.flip(x, 1), (2, 1)), lambda i: np.tile(np.flip(i, 1), (2, 1))),
    (lambda x: ops.concatenate(ops.array_split(ops.rot90(x), 2) + [ops.roll(x.T, 1)]),
     lambda i: np.concatenate(np.array_split(np.rot90(i), 2) + [np.roll(i.T, 1)])),
]


@pytest.mark.parametrize("case", range(len(GATHERS)))
def test_gradients_flow_through_compiled_rearrangements(case):
    op, gather = GATHERS[case]
    x = mx.array(sample((3, 3), "float32"))
    grad = mx.compile(mx.grad(lambda v: mx.sum(op(v))))(x)
    check(grad, _appearances((3, 3), gather), "float32")
    check(mx.compile(op)(x), gather(np.array(x)), "float32")


def test_products_differentiate_and_compile():
    a, b = sample((2, 3), "float32"), sample((3, 4), "float32")

    def loss(a, b):
        return (mx.sum(ops.einsum("ij,jk->ik", a, b)) + mx.sum(ops.matmul(a, b))
                + mx.sum(ops.tensordot(a, b, 1)))

    grad_a, grad_b = mx.compile(mx.grad(loss, argnums=(0, 1)))(mx.array(a), mx.array(b))
    # d/da sum(a @ b) = ones @ b.T, three times over.
    check(grad_a, 3 * np.ones((2, 4)) @ b.T, "float32", rtol=1e-4, atol=1e-4)
    check(grad_b, 3 * a.T @ np.ones((2, 4)), "float32", rtol=1e-4, atol=1e-4)
    vectorized = mx.compile(ops.vectorize(lambda u, v: mx.sum(u * v), signature="(n),(n)->()"))
    check(vectorized(mx.array(a), mx.array(a)), np.sum(a * a, axis=-1), "float32", rtol=1e-5)


# ----------------------------------------------------------------------------- functional

def test_ops_in_a_functional_model_run_and_round_trip_through_config():
    inputs = keras.Input((3, 4))
    h = ops.matmul(inputs, np.arange(8, dtype=np.float32).reshape(4, 2))
    h = ops.concatenate([h, ops.flip(h, axis=1)], axis=-1)
    h = ops.pad(h, ((0, 0), (1, 1), (0, 0)), mode="reflect")
    h = ops.einsum("bij->bji", h)
    first, second = ops.split(h, 2, axis=1)
    outputs = [ops.stack([first, second], axis=-1),
               ops.tril(ops.transpose(inputs, (0, 2, 1))),
               ops.expand_dims(ops.trace(inputs, axis1=1, axis2=2), (0, -1))]
    model = keras.Model(inputs, outputs)

    x = sample((2, 3, 4), "float32")
    h_np = x @ np.arange(8, dtype=np.float32).reshape(4, 2)
    h_np = np.concatenate([h_np, np.flip(h_np, 1)], -1)
    h_np = np.pad(h_np, ((0, 0), (1, 1), (0, 0)), mode="reflect").transpose(0, 2, 1)
    want = [np.stack(np.split(h_np, 2, axis=1), -1), np.tril(x.transpose(0, 2, 1)),
            np.trace(x, axis1=1, axis2=2)[None, :, None]]
    got = model(x)
    check(list(got), want, "float32", rtol=1e-4, atol=1e-4)

    clone = keras.Model.from_config(model.get_config())
    check(list(clone(x)), want, "float32", rtol=1e-4, atol=1e-4)


def test_only_int8_with_int8_widens_to_int32():
    small, flags = sample((2, 2), "int8"), sample((2, 2), "bool")
    assert dtype_name(ops.matmul(small, small)) == "int32"
    assert dtype_name(ops.einsum("ij,jk->ik", small, small)) == "int32"
    # int8 with bool promotes to int8 and stays there (Keras widens int8 x int8 only).
    check(ops.matmul(small, flags), (small.astype(np.int64) @ flags).astype(np.int8), "int8")
    check(ops.einsum("ij,jk->ik", flags, small),
          (flags @ small.astype(np.int64)).astype(np.int8), "int8")
