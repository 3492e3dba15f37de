"""keras.ops on whole arrays (creation, windows, shape, pad, products, matrices,
vectorize) against numpy, with Keras 3's dtype rules.

Expected dtypes come from tables written here from Keras' documented rules
(JAX-style promotion kept at 32 bits; creation ops default to floatx), not
from ``result_type``.
"""

import pathlib
import warnings

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import ops

API = pathlib.Path(__file__).parent / "keras_api"

MY_OPS = """append arange array array_split bartlett blackman broadcast_to concatenate copy
cross diag diagflat diagonal dot dsplit dstack einsum empty empty_like expand_dims eye flip
fliplr flipud full full_like geomspace hamming hanning hsplit hstack identity inner kaiser
kron linspace logspace matmul meshgrid moveaxis ndim ones ones_like outer pad ravel repeat
reshape roll rot90 size slogdet split squeeze stack swapaxes tensordot tile trace transpose
tri tril triu vander vdot vectorize vsplit vstack zeros zeros_like""".split()

RNG = np.random.default_rng(0)


def dtype_name(x):
    return str(x.dtype).replace("mlx.core.", "")


def check(got, want, dtype=None, rtol=1e-5, atol=1e-5):
    """``got`` (an array or a list/tuple of them) equals numpy's ``want`` in shape and
    values, and has ``dtype`` (a name) when given."""
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want)
        for g, w in zip(got, want):
            check(g, w, dtype, rtol, atol)
        return
    assert isinstance(got, mx.array), type(got)
    value = np.array(got.astype(mx.float32) if got.dtype == mx.bfloat16 else got)
    assert value.shape == np.shape(want), (value.shape, np.shape(want))
    np.testing.assert_allclose(value, want, rtol=rtol, atol=atol)
    if dtype is not None:
        assert dtype_name(got) == dtype, (dtype_name(got), dtype)


def sample(shape, dtype):
    if dtype == "bool":
        return RNG.random(shape) > 0.5
    if dtype.startswith(("int", "uint")):
        low = 0 if dtype.startswith("uint") else -5
        return RNG.integers(low, 6, shape).astype(dtype)
    if dtype == "bfloat16":  # (numpy has none: an MLX array)
        return mx.array(RNG.standard_normal(shape).astype(np.float32)).astype(mx.bfloat16)
    return RNG.standard_normal(shape).astype(dtype)


def as_float32(x):
    return np.array(x.astype(mx.float32)) if isinstance(x, mx.array) else x.astype(np.float32)


# ----------------------------------------------------------------------------- names

def test_every_name_of_the_slice_exists_in_keras_ops_and_ops_numpy():
    keras_ops = set((API / "ops.txt").read_text().split())
    keras_numpy = set((API / "ops_numpy.txt").read_text().split())
    assert set(MY_OPS) <= keras_ops and set(MY_OPS) <= keras_numpy  # the slice is Keras'
    for name in MY_OPS:
        assert callable(getattr(ops, name)), name
        assert getattr(ops.numpy, name) is getattr(ops, name), name
    # Nothing in this slice is impossible on MLX: no exclusions.
    assert sorted(ops.numpy_arrays.__all__) == sorted(MY_OPS)


# ----------------------------------------------------------------------------- creation

CREATION = [
    # (call, numpy reference, expected dtype by Keras' rule)
    (lambda: ops.zeros((2, 3)), np.zeros((2, 3)), "float32"),
    (lambda: ops.zeros(4, dtype="int32"), np.zeros(4), "int32"),
    (lambda: ops.zeros((0, 3)), np.zeros((0, 3)), "float32"),
    (lambda: ops.ones((2, 1, 3), dtype="bool"), np.ones((2, 1, 3)), "bool"),
    (lambda: ops.ones([3]), np.ones(3), "float32"),
    (lambda: ops.empty((2, 2)), np.zeros((2, 2)), "float32"),
    (lambda: ops.full((2, 3), 7), np.full((2, 3), 7.0), "float32"),  # floatx, int fill
    (lambda: ops.full((2, 3), 1.5, dtype="int32"), np.full((2, 3), 1), "int32"),
    (lambda: ops.full((2, 3), [1, 2, 3]), np.full((2, 3), [1, 2, 3]), "float32"),
    (lambda: ops.full((), 2.0), np.full((), 2.0), "float32"),
    (lambda: ops.zeros_like(np.ones((2, 3), np.int32)), np.zeros((2, 3)), "int32"),
    (lambda: ops.ones_like(np.ones((2,), np.uint8)), np.ones(2), "uint8"),
    (lambda: ops.ones_like(np.ones((2,), np.uint8), dtype="float16"), np.ones(2), "float16"),
    (lambda: ops.empty_like(np.ones((0, 2), np.float32)), np.zeros((0, 2)), "float32"),
    (lambda: ops.full_like(np.ones((2, 2), np.int32), 2.7), np.full((2, 2), 2), "int32"),
    (lambda: ops.full_like(np.ones((2, 2), np.float32), 3, dtype="int8"),
     np.full((2, 2), 3), "int8"),
    (lambda: ops.array([[1, 2], [3, 4]]), np.array([[1, 2], [3, 4]]), "int32"),
    (lambda: ops.array([1.5, 2.0]), np.array([1.5, 2.0]), "float32"),
    (lambda: ops.array(np.arange(3, dtype=np.float64)), np.arange(3), "float32"),
    (lambda: ops.array([1, 2], dtype="float16"), np.array([1, 2]), "float16"),
    (lambda: ops.copy(np.arange(4, dtype=np.int8)), np.arange(4), "int8"),
    (lambda: ops.arange(5), np.arange(5), "int32"),
    (lambda: ops.arange(2, 10), np.arange(2, 10), "int32"),
    (lambda: ops.arange(1, 10, 3), np.arange(1, 10, 3), "int32"),
    (lambda: ops.arange(0, 5, 0.5), np.arange(0, 5, 0.5), "float32"),
    (lambda: ops.arange(5.0), np.arange(5.0), "float32"),
    (lambda: ops.arange(10, 0, -3), np.arange(10, 0, -3), "int32"),
    (lambda: ops.arange(10, dtype="int16"), np.arange(10), "int16"),
    (lambda: ops.arange(4, dtype="float16"), np.arange(4), "float16"),
    (lambda: ops.arange(np.array(4, np.uint8)), np.arange(4), "uint8"),
    (lambda: ops.arange(3, 3), np.arange(3, 3), "int32"),
    (lambda: ops.linspace(0, 10, 7), np.linspace(0, 10, 7), "float32"),
    (lambda: ops.linspace(0, 10, 7, endpoint=False), np.linspace(0, 10, 7, endpoint=False),
     "float32"),
    (lambda: ops.linspace(2.0, 3.0, 1), np.linspace(2.0, 3.0, 1), "float32"),
    (lambda: ops.linspace(2.0, 3.0, 0), np.linspace(2.0, 3.0, 0), "float32"),
    (lambda: ops.linspace(0, 10, 4, dtype="int32"), np.linspace(0, 10, 4, dtype=np.int32),
     "int32"),
    (lambda: ops.linspace(np.array([0, 1], np.int32), np.array([10, 20], np.int32), 5),
     np.linspace([0, 1], [10, 20], 5), "float32"),
    (lambda: ops.linspace([0.0, 1.0], 5.0, 4, axis=-1), np.linspace([0, 1], 5, 4, axis=-1),
     "float32"),
    (lambda: ops.linspace(np.zeros((2, 3), np.float16), 1, 3, axis=1),
     np.linspace(np.zeros((2, 3)), 1, 3, axis=1), "float16"),
    (lambda: ops.logspace(0, 3, 4), np.logspace(0, 3, 4), "float32"),
    (lambda: ops.logspace(0, 3, 4, base=2, endpoint=False),
     np.logspace(0, 3, 4, base=2, endpoint=False), "float32"),
    (lambda: ops.logspace([0, 1], 2, 3, axis=1), np.logspace([0, 1], 2, 3, axis=1), "float32"),
    (lambda: ops.geomspace(1, 1000, 4), np.geomspace(1, 1000, 4), "float32"),
    (lambda: ops.geomspace(-1, -1000, 5), np.geomspace(-1, -1000, 5), "float32"),
    (lambda: ops.geomspace([1, 2], [100, 200], 5, axis=1, endpoint=False),
     np.geomspace([1, 2], [100, 200], 5, axis=1, endpoint=False), "float32"),
    (lambda: ops.eye(3), np.eye(3), "float32"),
    (lambda: ops.eye(3, 5, k=2, dtype="int32"), np.eye(3, 5, k=2), "int32"),
    (lambda: ops.eye(4, 2, k=-1), np.eye(4, 2, k=-1), "float32"),
    (lambda: ops.identity(4), np.identity(4), "float32"),
    (lambda: ops.identity(0, dtype="bool"), np.identity(0), "bool"),
    (lambda: ops.tri(3), np.tri(3), "float32"),
    (lambda: ops.tri(3, 5, k=1, dtype="int32"), np.tri(3, 5, k=1), "int32"),
    (lambda: ops.tri(4, 3, k=-2), np.tri(4, 3, k=-2), "float32"),
    (lambda: ops.meshgrid(np.arange(3), np.arange(4.0)),
     np.meshgrid(np.arange(3), np.arange(4.0)), None),
    (lambda: ops.meshgrid(np.arange(3), np.arange(2), np.arange(4), indexing="ij"),
     np.meshgrid(np.arange(3), np.arange(2), np.arange(4), indexing="ij"), "int32"),
]


@pytest.mark.parametrize("case", range(len(CREATION)))
def test_creation_against_numpy(case):
    call, want, dtype = CREATION[case]
    check(call(), want, dtype)


def test_linspace_retstep_and_integer_endpoints_floor():
    samples, step = ops.linspace(2, 10, 5, retstep=True)
    want, want_step = np.linspace(2, 10, 5, retstep=True)
    check(samples, want, "float32")
    assert float(step) == pytest.approx(want_step)
    # Integer dtypes round down, as numpy's.
    check(ops.linspace(-3, 4, 6, dtype="int32"), np.linspace(-3, 4, 6, dtype=np.int32))


# ----------------------------------------------------------------------------- windows

WINDOWS = {"bartlett": np.bartlett, "blackman": np.blackman, "hamming": np.hamming,
           "hanning": np.hanning}


@pytest.mark.parametrize("name", sorted(WINDOWS))
@pytest.mark.parametrize("m", [0, 1, 2, 5, 12, 51])
def test_windows_against_numpy(name, m):
    check(getattr(ops, name)(m), WINDOWS[name](m), "float32", atol=1e-6)
    # The length may come as an int array (Keras passes tensors too): floatx still.
    check(getattr(ops, name)(np.array(m, np.int32)), WINDOWS[name](m), "float32", atol=1e-6)


@pytest.mark.parametrize("m", [0, 1, 2, 7, 32])
@pytest.mark.parametrize("beta", [0.0, 5.0, 8.6, 14.0, 29.9, 30.0, 40.0, 100.0])
def test_kaiser_against_numpy(m, beta):
    # beta = 30 crosses from the Bessel series to the asymptotic expansion.
    check(ops.kaiser(m, beta), np.kaiser(m, beta), "float32", rtol=2e-5, atol=1e-6)


def test_kaiser_beta_as_array():
    check(ops.kaiser(9, np.array(6.0, np.float32)), np.kaiser(9, 6.0), "float32", atol=1e-6)


# ----------------------------------------------------------------------------- shape

DTYPES = ["float32", "int32", "bool"]

# (name, op on x, numpy on x, shape of x); the output keeps x's dtype.
SHAPE_OPS = [
    ("reshape", lambda x: ops.reshape(x, (4, -1)), lambda x: np.reshape(x, (4, -1)), (2, 3, 4)),
    ("reshape_int", lambda x: ops.reshape(x, -1), lambda x: np.reshape(x, -1), (2, 3)),
    ("reshape_empty", lambda x: ops.reshape(x, (0, 5)), lambda x: np.reshape(x, (0, 5)), (0, 5)),
    ("ravel", ops.ravel, np.ravel, (2, 3, 4)),
    ("transpose", ops.transpose, np.transpose, (2, 3, 4)),
    ("transpose_axes", lambda x: ops.transpose(x, (1, -1, 0)),
     lambda x: np.transpose(x, (1, 2, 0)), (2, 3, 4)),
    ("swapaxes", lambda x: ops.swapaxes(x, 0, -1), lambda x: np.swapaxes(x, 0, -1), (2, 3, 4)),
    ("moveaxis", lambda x: ops.moveaxis(x, 0, -1), lambda x: np.moveaxis(x, 0, -1), (2, 3, 4)),
    ("moveaxis_tuple", lambda x: ops.moveaxis(x, (0, 1), (2, 0)),
     lambda x: np.moveaxis(x, (0, 1), (2, 0)), (2, 3, 4)),
    ("expand_dims", lambda x: ops.expand_dims(x, -1), lambda x: np.expand_dims(x, -1), (2, 3)),
    ("expand_dims_tuple", lambda x: ops.expand_dims(x, (0, -1)),
     lambda x: np.expand_dims(x, (0, -1)), (2, 3)),
    ("expand_dims_scalar", lambda x: ops.expand_dims(x, 0), lambda x: np.expand_dims(x, 0), ()),
    ("squeeze", ops.squeeze, np.squeeze, (1, 3, 1, 2)),
    ("squeeze_tuple", lambda x: ops.squeeze(x, (0, -2)), lambda x: np.squeeze(x, (0, -2)),
     (1, 3, 1, 2)),
    ("squeeze_empty", lambda x: ops.squeeze(x, 1), lambda x: np.squeeze(x, 1), (0, 1)),
    ("broadcast_to", lambda x: ops.broadcast_to(x, (2, 4, 3)),
     lambda x: np.broadcast_to(x, (2, 4, 3)), (4, 1)),
    ("flip_all", ops.flip, np.flip, (2, 3, 4)),
    ("flip_axis", lambda x: ops.flip(x, -1), lambda x: np.flip(x, -1), (2, 3, 4)),
    ("flip_tuple", lambda x: ops.flip(x, (0, 2)), lambda x: np.flip(x, (0, 2)), (2, 3, 4)),
    ("fliplr", ops.fliplr, np.fliplr, (2, 3, 4)),
    ("flipud", ops.flipud, np.flipud, (3,)),
    ("rot90", ops.rot90, np.rot90, (2, 3, 4)),
    ("rot90_k", lambda x: ops.rot90(x, 3, (2, 0)), lambda x: np.rot90(x, 3, (2, 0)), (2, 3, 4)),
    ("rot90_neg", lambda x: ops.rot90(x, -1, (1, 2)), lambda x: np.rot90(x, -1, (1, 2)),
     (2, 3, 4)),
    ("rot90_2", lambda x: ops.rot90(x, 2), lambda x: np.rot90(x, 2), (3, 4)),
    ("roll", lambda x: ops.roll(x, 5), lambda x: np.roll(x, 5), (2, 3, 4)),
    ("roll_axis", lambda x: ops.roll(x, -1, axis=1), lambda x: np.roll(x, -1, axis=1),
     (2, 3, 4)),
    ("roll_tuple", lambda x: ops.roll(x, (1, -2), (0, 2)), lambda x: np.roll(x, (1, -2), (0, 2)),
     (2, 3, 4)),
    ("tile", lambda x: ops.tile(x, (2, 1, 3)), lambda x: np.tile(x, (2, 1, 3)), (3, 2)),
    ("tile_int", lambda x: ops.tile(x, 2), lambda x: np.tile(x, 2), (2, 3)),
    ("repeat", lambda x: ops.repeat(x, 2), lambda x: np.repeat(x, 2), (2, 3)),
    ("repeat_axis", lambda x: ops.repeat(x, 3, axis=-1), lambda x: np.repeat(x, 3, axis=-1),
     (2, 3)),
    ("repeat_counts", lambda x: ops.repeat(x, [1, 0, 2], axis=1),
     lambda x: np.repeat(x, [1, 0, 2], axis=1), (2, 3, 4)),
    ("diag_1d", lambda x: ops.diag(x, 1), lambda x: np.diag(x, 1), (3,)),
    ("diag_2d", lambda x: ops.diag(x, -1), lambda x: np.diag(x, -1), (3, 4)),
    ("diagflat", lambda x: ops.diagflat(x, -2), lambda x: np.diagflat(x, -2), (2, 2)),
    ("diagonal", lambda x: ops.diagonal(x, 1, -1, 0), lambda x: np.diagonal(x, 1, -1, 0),
     (4, 2, 3)),
    ("tril", lambda x: ops.tril(x, -1), lambda x: np.tril(x, -1), (2, 3, 4)),
    ("triu", lambda x: ops.triu(x, 1), lambda x: np.triu(x, 1), (2, 4, 3)),
    ("tril_empty", ops.tril, np.tril, (0, 3)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, op, reference, shape", SHAPE_OPS, ids=[c[0] for c in SHAPE_OPS])
def test_shape_ops_against_numpy(name, op, reference, shape, dtype):
    x = sample(shape, dtype)
    check(op(x), reference(x), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_size_and_ndim(dtype):
    x = sample((2, 0, 3), dtype)
    check(ops.size(x), np.array(0), "int32")
    check(ops.ndim(x), np.array(3), "int32")
    check(ops.size(sample((2, 5), dtype)), np.array(10), "int32")
    check(ops.ndim(3.0), np.array(0), "int32")


SPLITS = [
    ("split", lambda x: ops.split(x, 2), lambda x: np.split(x, 2), (4, 3)),
    ("split_axis", lambda x: ops.split(x, 3, axis=-1), lambda x: np.split(x, 3, axis=-1),
     (2, 6)),
    ("split_indices", lambda x: ops.split(x, [1, 3, 10], axis=-1),
     lambda x: np.split(x, [1, 3, 10], axis=-1), (2, 3, 4)),
    ("split_negative_index", lambda x: ops.split(x, [-1]), lambda x: np.split(x, [-1]), (5,)),
    ("split_empty", lambda x: ops.split(x, 3), lambda x: np.split(x, 3), (0, 2)),
    ("array_split", lambda x: ops.array_split(x, 3), lambda x: np.array_split(x, 3), (10,)),
    ("array_split_axis", lambda x: ops.array_split(x, 4, axis=1),
     lambda x: np.array_split(x, 4, axis=1), (2, 7)),
    ("array_split_more_than_length", lambda x: ops.array_split(x, 4),
     lambda x: np.array_split(x, 4), (2,)),
    ("hsplit", lambda x: ops.hsplit(x, 2), lambda x: np.hsplit(x, 2), (3, 4)),
    ("hsplit_1d", lambda x: ops.hsplit(x, [2]), lambda x: np.hsplit(x, [2]), (5,)),
    ("vsplit", lambda x: ops.vsplit(x, [1]), lambda x: np.vsplit(x, [1]), (3, 4)),
    ("dsplit", lambda x: ops.dsplit(x, 2), lambda x: np.dsplit(x, 2), (2, 3, 4)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, op, reference, shape", SPLITS, ids=[c[0] for c in SPLITS])
def test_splits_against_numpy(name, op, reference, shape, dtype):
    x = sample(shape, dtype)
    got = op(x)
    assert isinstance(got, list)
    check(got, reference(x), dtype)


# Keras' promotion (JAX's lattice, results kept at 32 bits), written out by hand.
PROMOTED = [
    ("float32", "float32", "float32"), ("int32", "int32", "int32"), ("bool", "bool", "bool"),
    ("int8", "uint8", "int16"), ("int32", "float16", "float16"), ("bool", "int8", "int8"),
    ("uint8", "int32", "int32"), ("float32", "int32", "float32"),
    ("bfloat16", "float16", "float32"), ("uint32", "int8", "int32"),
    ("uint8", "uint16", "uint16"), ("bool", "float16", "float16"),
]

JOINS = [
    ("concatenate", lambda a, b: ops.concatenate([a, b], axis=-1),
     lambda a, b: np.concatenate([a, b], axis=-1), (2, 3), (2, 1)),
    ("concatenate_none", lambda a, b: ops.concatenate([a, b], axis=None),
     lambda a, b: np.concatenate([a, b], axis=None), (2, 3), (4,)),
    ("concatenate_empty", lambda a, b: ops.concatenate([a, b]),
     lambda a, b: np.concatenate([a, b]), (0, 3), (2, 3)),
    ("append", ops.append, np.append, (2, 3), (3,)),
    ("append_axis", lambda a, b: ops.append(a, b, axis=0),
     lambda a, b: np.append(a, b, axis=0), (2, 3), (1, 3)),
    ("stack", lambda a, b: ops.stack([a, b]), lambda a, b: np.stack([a, b]), (2, 3), (2, 3)),
    ("stack_axis", lambda a, b: ops.stack((a, b), axis=-1),
     lambda a, b: np.stack((a, b), axis=-1), (2, 3), (2, 3)),
    ("hstack", lambda a, b: ops.hstack([a, b]), lambda a, b: np.hstack([a, b]), (2, 3), (2, 1)),
    ("hstack_1d", lambda a, b: ops.hstack([a, b]), lambda a, b: np.hstack([a, b]), (3,), (2,)),
    ("vstack", lambda a, b: ops.vstack([a, b]), lambda a, b: np.vstack([a, b]), (3,), (2, 3)),
    ("dstack", lambda a, b: ops.dstack([a, b]), lambda a, b: np.dstack([a, b]), (3,), (3,)),
    ("dstack_2d", lambda a, b: ops.dstack([a, b]), lambda a, b: np.dstack([a, b]),
     (2, 3), (2, 3)),
]


@pytest.mark.parametrize("dtype1, dtype2, expected", PROMOTED)
@pytest.mark.parametrize("name, op, reference, shape1, shape2", JOINS,
                         ids=[c[0] for c in JOINS])
def test_joins_promote_and_match_numpy(name, op, reference, shape1, shape2, dtype1, dtype2,
                                       expected):
    a, b = sample(shape1, dtype1), sample(shape2, dtype2)
    want = reference(as_float32(a), as_float32(b))
    check(op(a, b), want, expected, rtol=1e-2)  # (float16 rounding)


# ----------------------------------------------------------------------------- pad

PAD_MODES = ["constant", "edge", "reflect", "symmetric", "wrap", "maximum", "minimum",
             "mean", "median", "linear_ramp"]
PAD_WIDTHS = [((2, 5), (1, 3)), 1, (1, 2), ((2, 1),), [[0, 0], [4, 0]]]


@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize("mode", PAD_MODES)
@pytest.mark.parametrize("widths", PAD_WIDTHS, ids=str)
def test_pad_against_numpy(widths, mode, dtype):
    x = (np.arange(1, 13).reshape(3, 4) * 3 % 7).astype(dtype)
    check(ops.pad(x, widths, mode=mode), np.pad(x, widths, mode=mode), dtype)


def test_pad_more_dims_circular_constant_values_and_empty():
    x = sample((2, 3, 4), "float32")
    widths = ((0, 1), (2, 2), (4, 1))  # wider than the axis: reflect/wrap go round again
    for mode in ("reflect", "symmetric", "wrap"):
        check(ops.pad(x, widths, mode=mode), np.pad(x, widths, mode=mode), "float32")
    check(ops.pad(x, widths, mode="circular"), np.pad(x, widths, mode="wrap"), "float32")
    check(ops.pad(x, 1, constant_values=7), np.pad(x, 1, constant_values=7), "float32")
    check(ops.pad(np.zeros((0, 2), np.int32), 1, constant_values=3),
          np.pad(np.zeros((0, 2), np.int32), 1, constant_values=3), "int32")
    check(ops.pad(np.ones((1, 3), np.float32), ((2, 2), (0, 0)), mode="reflect"),
          np.pad(np.ones((1, 3)), ((2, 2), (0, 0)), mode="reflect"), "float32")


def test_pad_errors_name_the_argument():
    with pytest.raises(ValueError, match="constant_values"):
        ops.pad(np.ones((2, 2)), 1, mode="edge", constant_values=1)
    with pytest.raises(ValueError, match="mode"):
        ops.pad(np.ones((2, 2)), 1, mode="bogus")
    with pytest.raises(ValueError, match="pad_width"):
        ops.pad(np.ones((2, 2, 2)), ((1, 1), (1, 1)))


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
