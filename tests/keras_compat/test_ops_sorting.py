"""keras.ops sorting, searching, sets and indexing; reductions in compiled calls and
functional models; the namespace (see test_ops_reductions.py for the reductions)."""

from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import ops
from mlxfunctional.ops import numpy as ops_numpy
from tests.keras_compat.test_ops_reductions import (RNG, check, data, dtype_name)


# ---- sorting, searching, sets ---------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "int32", "uint8"])
def test_sort_argsort_argpartition(dtype):
    x = data((4, 7), dtype)  # small ints: many ties
    for axis in (-1, 0, None):
        check(ops.sort(x, axis=axis), np.sort(x, axis=axis), dtype)
        check(ops.argsort(x, axis=axis), np.argsort(x, axis=axis, kind="stable"), "int32")
    for kth in (0, 3, -1):
        out = np.asarray(ops.argpartition(x, kth, axis=1))
        assert dtype_name(ops.argpartition(x, kth)) == "int32"
        parted = np.take_along_axis(x, out, axis=1)
        k = kth % 7
        np.testing.assert_array_equal(parted[:, k], np.sort(x, axis=1)[:, k])
        assert (parted[:, :k] <= parted[:, k:k + 1]).all()
        assert (parted[:, k + 1:] >= parted[:, k:k + 1]).all()
        np.testing.assert_array_equal(np.sort(out, axis=1), np.tile(np.arange(7), (4, 1)))
    check(ops.sort(np.array([2.0, np.nan, -1.0], np.float32)), [-1.0, 2.0, np.nan], "float32")
    check(ops.sort(np.zeros((0, 3), np.float32)), np.zeros((0, 3)), "float32")


@pytest.mark.parametrize("n", [0, 1, 2, 5, 16, 33])
@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted(n, side):
    seq = np.sort(RNG.integers(0, 10, size=n)).astype(np.float32)
    values = np.array([[-1, 0, 3.5], [5, 9, 10]], np.float32)
    check(ops.searchsorted(seq, values, side=side), np.searchsorted(seq, values, side=side),
          "int32")
    check(ops.searchsorted(seq.astype(np.int32), 4, side=side),
          np.searchsorted(seq, 4, side=side), "int32")


def test_digitize_and_isin():
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.5, 3.0, 7.0], np.float32)
    rising, falling = np.array([0.0, 1.0, 2.5, 3.0]), np.array([3.0, 2.5, 1.0, 0.0])
    check(ops.digitize(x, rising), np.digitize(x, rising), "int32")
    check(ops.digitize(x, falling), np.digitize(x, falling), "int32")
    a, b = data((3, 4), "int32"), np.array([0, 2, 7], np.int32)
    check(ops.isin(a, b), np.isin(a, b), "bool")
    check(ops.isin(a, b, invert=True), np.isin(a, b, invert=True), "bool")
    check(ops.isin(a, np.zeros((0,), np.int32)), np.zeros(a.shape, bool), "bool")
    check(ops.isin(np.array([1.5, 2.0]), [2]), [False, True], "bool")


def test_unique():
    x = np.array([[3, 1, 2], [3, 1, 7]], np.int32)
    values, index, inverse, counts = ops.unique(
        x, return_index=True, return_inverse=True, return_counts=True)
    ref = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    for got, want in zip((values, index, inverse, counts), ref):
        check(got, want.reshape(np.shape(got)), "int32")
    assert tuple(inverse.shape) == x.shape
    check(ops.unique(x.astype(np.float32)), np.unique(x).astype(np.float32), "float32")
    # size: padded with the smallest value (or fill_value) and zero counts, or cut.
    distinct, distinct_counts = np.unique(x, return_counts=True)
    extra = 6 - distinct.size
    padded, padded_counts = ops.unique(x, size=6, return_counts=True)
    check(padded, np.pad(distinct, (0, extra), constant_values=distinct.min()), "int32")
    check(padded_counts, np.pad(distinct_counts, (0, extra)), "int32")
    check(ops.unique(x, size=6, fill_value=-9),
          np.pad(distinct, (0, extra), constant_values=-9), "int32")
    check(ops.unique(x, size=2), distinct[:2], "int32")
    rows = np.array([[1, 2], [0, 5], [1, 2]], np.int32)
    check(ops.unique(rows, axis=0), np.unique(rows, axis=0), "int32")
    check(ops.unique(np.zeros((0,), np.float32)), np.zeros(0), "float32")


def test_nonzero():
    for x in (np.array([[0, 1, 0], [2, 0, 3]], np.int32), RNG.random((2, 3, 4)) < 0.3,
              np.zeros((0, 2), np.float32), np.array([0.0, -1.5, 0.0], np.float32)):
        got = ops.nonzero(x)
        want = np.nonzero(x)
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            check(g, w, "int32")
    with pytest.raises(ValueError, match="nonzero: `x` must have at least one dimension"):
        ops.nonzero(np.float32(1))


# ---- indexing ------------------------------------------------------------------------------
def test_take():
    x = data((4, 5), "float32")
    for indices, axis in (([0, -1, 2], 0), ([[1, -5], [4, 0]], 1), ([7, -20, 0], None),
                          (np.zeros((0,), np.int32), 1), (3, -1)):
        check(ops.take(x, indices, axis=axis), np.take(x, indices, axis=axis), "float32")
    ints = data((6,), "int8")
    check(ops.take(ints, [5, -6]), np.take(ints, [5, -6]), "int8")
    with pytest.raises(IndexError, match=r"take: index 5 is out of range for axis 0 of size 5"
                                         r" \(valid indices: -5 to 4\)"):
        ops.take(x[0], [0, 5])
    with pytest.raises(IndexError, match="take: index -21 is out of range .* size 20"):
        ops.take(x, [-21])
    with pytest.raises(IndexError, match="take: index 4 is out of range for axis 0 of size 4"):
        ops.take(x, np.array([4]), axis=0)


def test_take_along_axis():
    x = data((3, 4), "float32")
    idx = np.argsort(x, axis=1)[:, ::-1].copy()
    check(ops.take_along_axis(x, idx, axis=1), np.take_along_axis(x, idx, axis=1), "float32")
    check(ops.take_along_axis(x, idx - 4, axis=-1), np.take_along_axis(x, idx - 4, axis=-1),
          "float32")
    flat = np.array([11, 0, -1])
    check(ops.take_along_axis(x, flat, axis=None), np.take_along_axis(x, flat, axis=None),
          "float32")
    column = np.array([[2], [0], [1]])  # broadcast along the other axis
    check(ops.take_along_axis(x, np.array([[0, 3]]), axis=1),
          np.take_along_axis(x, np.array([[0, 3]] * 3), axis=1), "float32")
    check(ops.take_along_axis(x, column, axis=0),
          np.take_along_axis(x, column, axis=0), "float32")
    with pytest.raises(IndexError, match="take_along_axis: index 4 is out of range for axis 1"):
        ops.take_along_axis(x, np.array([[4]]), axis=1)
    with pytest.raises(ValueError, match="take_along_axis: `x` and `indices` must have the "
                                         "same rank"):
        ops.take_along_axis(x, np.array([1]), axis=1)


def test_unravel_index_and_get_item():
    for indices, shape in (([0, 5, 11], (3, 4)), (7, (2, 2, 2)), ([[1, 2], [3, 0]], (4,))):
        got, want = ops.unravel_index(np.asarray(indices, np.int32), shape), \
            np.unravel_index(indices, shape)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            check(g, w, "int32")
    with pytest.raises(ValueError, match=r"unravel_index: index 12 is out of range"):
        ops.unravel_index(np.array([12], np.int32), (3, 4))
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    for key in (1, -1, (0, slice(1, None), -1), (Ellipsis, 2), (None, 1, slice(None, None, -1)),
                (slice(None), [0, -1]), (1, np.array([[0, 2]]), 3), x[:, 0, 0] > 1,
                (slice(None), x[0] > 5)):
        check(ops.get_item(x, key), x[key], "float32")
    with pytest.raises(IndexError, match="get_item: index 3 is out of range for axis 1"):
        ops.get_item(x, (0, 3))
    with pytest.raises(IndexError, match="get_item: index -5 is out of range for axis 2"):
        ops.get_item(x, (0, slice(None), [1, -5]))


# ---- compiled calls: static shapes run, bad indices are clamped, data-dependent shapes refuse
def test_inside_mx_compile():
    x = mx.array(data((3, 5), "float32"))
    seq = mx.array(np.sort(data((9,), "float32")))

    def step(x, seq, idx):
        return (ops.sum(x, axis=1), ops.quantile(x, [0.2, 0.9], axis=-1),
                ops.searchsorted(seq, x), ops.take(x, idx, axis=1),
                ops.take_along_axis(x, mx.broadcast_to(idx[None, :], (3, 3)), axis=1),
                ops.unique(x > 0, size=3), ops.histogram(x.reshape(-1), bins=4)[0],
                ops.argsort(x), ops.nanmean(x, axis=0), ops.cumsum(x, axis=0))

    idx = mx.array([0, 4, -1])
    compiled = mx.compile(step)
    for got, want in zip(compiled(x, seq, idx), step(x, seq, idx)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
    # Out of range inside the trace: clamped (index 9 reads the last column,
    # -9 the first), where an eager call raises.
    bad = mx.array([9, -9, 2])
    clamped = compiled(x, seq, bad)[3]
    np.testing.assert_array_equal(np.asarray(clamped), np.asarray(x)[:, [4, 0, 2]])
    with pytest.raises(IndexError, match="take: index 9 is out of range for axis 1 of size 5"):
        step(x, seq, bad)
    for op, message in ((lambda a: ops.unique(a), "unique: its output length"),
                        (lambda a: ops.nonzero(a), "nonzero: its output length"),
                        (lambda a: ops.bincount(a.astype(mx.int32)), "bincount: its output")):
        with pytest.raises(ValueError, match=message + ".*cannot run inside a compiled"):
            mx.compile(op)(x)


def test_gradients_flow_through_reductions():
    x = mx.array(data((4, 6), "float32"))

    def loss(x):
        return ops.sum(ops.quantile(x, 0.5, axis=1)) + ops.sum(ops.take(x, mx.array([1]), 1))

    grad = np.asarray(mx.grad(loss)(x))
    # The median of 6 values averages the 3rd and 4th smallest: 1/2 each; take adds 1.
    expected = np.zeros((4, 6), np.float32)
    order = np.argsort(np.asarray(x), axis=1)
    for r in range(4):
        expected[r, order[r, 2]] += 0.5
        expected[r, order[r, 3]] += 0.5
    expected[:, 1] += 1
    np.testing.assert_allclose(grad, expected, atol=1e-6)


# ---- symbolic tensors in a functional model -------------------------------------------------
def test_ops_in_a_functional_model_and_its_config():
    inputs = keras.Input((6,))
    total = ops.sum(inputs, axis=-1, keepdims=True)
    quartiles = ops.quantile(inputs, [0.25, 0.75], axis=-1)
    running = ops.cumsum(inputs, axis=1)
    picked = ops.take(inputs, [0, 5, -1], axis=1)
    order = ops.argsort(inputs)
    model = keras.Model(inputs, [total, quartiles, running, picked, order])
    x = data((3, 6), "float32")
    eager = [ops.sum(x, axis=-1, keepdims=True), ops.quantile(x, [0.25, 0.75], axis=-1),
             ops.cumsum(x, axis=1), ops.take(x, [0, 5, -1], axis=1), ops.argsort(x)]
    rebuilt = keras.Model.from_config(model.get_config())
    for outputs in (model(mx.array(x)), rebuilt(mx.array(x))):
        for got, want in zip(outputs, eager):
            assert got.dtype == want.dtype
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
    assert tuple(model.outputs[1].shape) == (2, None)
    # predict runs the graph in a compiled step, where take's indices are traced.
    predicted = model.predict(x, verbose=0)
    for i in (0, 2, 3, 4):
        np.testing.assert_allclose(predicted[i], np.asarray(eager[i]), rtol=1e-6)


# ---- the namespace -------------------------------------------------------------------------
MY_OPS = """all any amax amin max min argmax argmin argpartition argsort sort average bincount
corrcoef correlate count_nonzero cumprod cumsum diff digitize histogram isin mean median
nanargmax nanargmin nancumprod nancumsum nanmax nanmean nanmedian nanmin nanpercentile nanprod
nanquantile nanstd nansum nanvar nonzero percentile prod ptp quantile searchsorted std sum var
take take_along_axis trapezoid unique unravel_index get_item""".split()
NOT_POSSIBLE = {}  # every op of this slice exists (data-dependent ones run eagerly)


def test_every_op_of_this_slice_exists_where_keras_has_it():
    api = Path(__file__).parent / "keras_api"
    top = set((api / "ops.txt").read_text().split())
    numpy_names = set((api / "ops_numpy.txt").read_text().split())
    for name in MY_OPS:
        if name in NOT_POSSIBLE:
            continue
        assert name in top and callable(getattr(ops, name)), name
        if name in numpy_names:
            assert getattr(ops_numpy, name) is getattr(ops, name), name
            assert name in ops_numpy.__all__, name
