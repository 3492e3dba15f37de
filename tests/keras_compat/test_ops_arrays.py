"""keras.ops on whole arrays (creation, windows, shape, pad, products, matrices,
vectorize) against numpy, with Keras 3's dtype rules.

Expected dtypes come from tables written here from Keras' documented rules
(JAX-style promotion kept at 32 bits; creation ops default to floatx), not
from ``result_type``.
"""

import pathlib

import mlx.core as mx
import numpy as np
import pytest

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
