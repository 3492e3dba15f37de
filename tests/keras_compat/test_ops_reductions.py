"""keras.ops reductions, statistics, sorting, searching, sets and indexing, against numpy.

Expected dtypes come from tables written here from Keras 3's documented rules
(which are JAX's with 32-bit results), not from ``result_type``.
"""


import mlx.core as mx
import numpy as np
import pytest

from mlxfunctional import ops

RNG = np.random.default_rng(0)

# ---- expected dtypes (Keras 3 on JAX, 32-bit) ------------------------------------------
SUM_DTYPE = {"bool": "int32", "int8": "int32", "int16": "int32", "uint8": "uint32",
             "int32": "int32", "float16": "float16", "float32": "float32"}
FLOAT_DTYPE = {"bool": "float32", "int8": "float32", "uint8": "float32", "int32": "float32",
               "float16": "float16", "float32": "float32"}
SAME, INT32, BOOL = "same", "int32", "bool"


def dtype_name(a):
    return str(np.asarray(a).dtype) if not isinstance(a, mx.array) else \
        str(a.dtype).replace("mlx.core.", "")


def data(shape, dtype, nan=False):
    if dtype == "bool":
        return RNG.random(shape) < 0.5
    if dtype.startswith(("int", "uint")):
        low = 0 if dtype.startswith("u") else -3
        return RNG.integers(low, 4, size=shape).astype(dtype)
    x = RNG.normal(size=shape).astype(dtype)
    if nan and x.size:
        x.flat[RNG.choice(x.size, size=max(1, x.size // 5), replace=False)] = np.nan
    return x


def check(out, expected, dtype, rtol=1e-5, atol=1e-6):
    assert dtype_name(out) == dtype, f"dtype {dtype_name(out)}, expected {dtype}"
    got = np.asarray(out.astype(mx.float32) if dtype in ("float16", "bfloat16") else out)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"shape {got.shape}, expected {expected.shape}"
    if got.dtype.kind in "biu":
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected.astype(np.float64), rtol=rtol, atol=atol,
                                   equal_nan=True)


# ---- plain and NaN-skipping reductions --------------------------------------------------
REDUCTIONS = {  # name: (numpy reference, dtype rule)
    "sum": (np.sum, SUM_DTYPE), "prod": (np.prod, SUM_DTYPE),
    "mean": (np.mean, FLOAT_DTYPE), "std": (np.std, FLOAT_DTYPE), "var": (np.var, FLOAT_DTYPE),
    "max": (np.max, SAME), "min": (np.min, SAME), "amax": (np.amax, SAME),
    "amin": (np.amin, SAME), "all": (np.all, BOOL), "any": (np.any, BOOL),
    "ptp": (np.ptp, SAME), "median": (np.median, FLOAT_DTYPE),
    "nansum": (np.nansum, SUM_DTYPE), "nanprod": (np.nanprod, SUM_DTYPE),
    "nanmean": (np.nanmean, FLOAT_DTYPE), "nanstd": (np.nanstd, FLOAT_DTYPE),
    "nanvar": (np.nanvar, FLOAT_DTYPE), "nanmax": (np.nanmax, SAME),
    "nanmin": (np.nanmin, SAME), "nanmedian": (np.nanmedian, FLOAT_DTYPE),
}
AXES = [(None, False), (0, False), (-1, True), ((0, 2), False), ((-1, 0), True)]


def expected_dtype(rule, dtype):
    return dtype if rule == SAME else rule if isinstance(rule, str) else rule[dtype]


@pytest.mark.parametrize("name, dtype", [
    (name, dtype) for name in sorted(REDUCTIONS)
    for dtype in ("float32", "int32", "bool", "int8", "uint8", "float16")
    if (name, dtype) != ("ptp", "bool")])  # numpy (and JAX) refuse ptp of bools
def test_reductions_against_numpy(name, dtype):
    reference, rule = REDUCTIONS[name]
    nan = name.startswith("nan") and dtype.startswith("float")
    x = data((3, 4, 5), dtype, nan=nan)
    if name in ("prod", "nanprod") and dtype != "bool":
        x = np.where(np.abs(x) > 1, 1, x).astype(dtype)  # no overflow in 32 bits
    for axis, keepdims in AXES:
        out = getattr(ops, name)(x, axis=axis, keepdims=keepdims)
        ref = reference(x.astype(np.float64) if dtype.startswith("float") else x,
                        axis=axis, keepdims=keepdims)
        tol = 2e-3 if dtype == "float16" else 1e-5
        check(out, ref, expected_dtype(rule, dtype), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["nanmax", "nanmin", "nanmean", "nanmedian", "nanvar"])
def test_nan_reductions_of_an_all_nan_slice_are_nan(name):
    x = np.array([[np.nan, np.nan], [1.0, np.nan]], np.float32)
    out = np.asarray(getattr(ops, name)(x, axis=1))
    assert np.isnan(out[0]) and out[1] == pytest.approx(0.0 if name == "nanvar" else 1.0)
    assert np.isnan(np.asarray(ops.max(x, axis=1))[0])  # the plain op propagates NaN


def test_max_min_initial_and_empty_inputs():
    x = np.array([[1, 5], [-2, 0]], np.int32)
    check(ops.max(x, axis=1, initial=3), np.max(x, axis=1, initial=3), "int32")
    check(ops.min(x, initial=-7), np.min(x, initial=-7), "int32")
    empty = np.zeros((0, 3), np.float32)
    check(ops.max(empty, axis=0, initial=-1.0), np.max(empty, axis=0, initial=-1.0), "float32")
    with pytest.raises(ValueError, match="max: cannot reduce over a zero-size axis"):
        ops.max(empty, axis=0)
    check(ops.sum(empty, axis=0), np.zeros(3), "float32")
    check(ops.prod(np.zeros((0,), np.int8)), 1, "int32")
    check(ops.sum(empty, axis=1), np.zeros(0), "float32")
    assert np.isnan(np.asarray(ops.mean(np.zeros((0,), np.float32))))
    check(ops.all(np.zeros((0,), bool)), True, "bool")
    check(ops.count_nonzero(empty), 0, "int32")


EMPTY_CASES = [  # (op, numpy reference, shape, keyword arguments)
    (name, reference, shape, kwargs)
    for name, reference in (("sum", np.sum), ("prod", np.prod), ("mean", np.mean),
                            ("var", np.var), ("std", np.std), ("all", np.all), ("any", np.any),
                            ("nansum", np.nansum), ("nanprod", np.nanprod),
                            ("nanmean", np.nanmean), ("nanvar", np.nanvar),
                            ("count_nonzero", np.count_nonzero), ("median", np.median),
                            ("nanmedian", np.nanmedian))
    for shape, kwargs in (((0,), {}), ((0, 3), {"axis": 0}), ((0, 3), {"axis": 1}),
                          ((2, 0), {"axis": -1}))
] + [
    (name, reference, (0, 3), {"axis": axis})
    for name, reference in (("cumsum", np.cumsum), ("cumprod", np.cumprod),
                            ("nancumsum", np.nancumsum), ("sort", np.sort),
                            ("argsort", np.argsort))
    for axis in (0, 1)
] + [
    ("max", np.max, (0, 3), {"axis": 1}), ("argmax", np.argmax, (0, 3), {"axis": 1}),
    ("nanmin", np.nanmin, (0, 3), {"axis": 1}), ("nanargmin", np.nanargmin, (0, 3), {"axis": 1}),
    ("diff", np.diff, (0, 3), {"axis": 0}), ("trapezoid", np.trapezoid, (3, 0), {}),
    ("trapezoid", np.trapezoid, (3, 1), {}),
]


@pytest.mark.parametrize("name, reference, shape, kwargs", EMPTY_CASES,
                         ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in EMPTY_CASES])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's "mean of empty slice"
def test_empty_inputs(name, reference, shape, kwargs):
    x = np.zeros(shape, np.float32)
    op = getattr(ops, name)
    out = op(x, **kwargs)
    want = reference(x.astype(np.float64), **kwargs)
    dtype = {"all": "bool", "any": "bool", "count_nonzero": "int32", "argmax": "int32",
             "nanargmin": "int32", "argsort": "int32"}.get(name, "float32")
    check(out, want, dtype)


def test_empty_inputs_of_data_dependent_ops():
    nothing = np.zeros((0,), np.float32)
    check(ops.unique(nothing), np.zeros(0), "float32")
    values, counts = ops.unique(nothing, size=2, fill_value=-1.0, return_counts=True)
    check(values, [-1.0, -1.0], "float32")
    check(counts, [0, 0], "int32")
    check(ops.nonzero(np.zeros((0, 2)))[1], np.zeros(0), "int32")
    check(ops.isin(nothing, [1.0]), np.zeros(0, bool), "bool")
    check(ops.histogram(nothing, bins=2)[0], [0, 0], "int32")
    check(ops.take(np.zeros((2, 0)), np.zeros((0,), np.int32), axis=1), np.zeros((2, 0)),
          "float32")
    with pytest.raises(IndexError, match="take: cannot take from axis 1, which has size 0"):
        ops.take(np.zeros((2, 0)), [0], axis=1)


def test_prod_dtype_argument_and_count_nonzero():
    x = np.array([[1, 2], [3, 4]], np.int8)
    check(ops.prod(x, axis=0, dtype="float32"), [3.0, 8.0], "float32")
    y = data((3, 4, 5), "float32")
    y[y < 0] = 0
    for axis in (None, 1, (0, -1)):
        check(ops.count_nonzero(y, axis=axis), np.count_nonzero(y, axis=axis), "int32")


@pytest.mark.parametrize("name", ["argmax", "argmin", "nanargmax", "nanargmin"])
def test_arg_reductions(name):
    reference = getattr(np, name)
    x = data((4, 5), "float32")
    x[1, 2] = x[1, 4] = x.max() + 1  # a tie: the first index wins
    x[2, 1] = x[2, 3] = x.min() - 1
    for axis in (None, 0, -1):
        for keepdims in (False, True):
            check(getattr(ops, name)(x, axis=axis, keepdims=keepdims),
                  reference(x, axis=axis, keepdims=keepdims), "int32")
    ints = data((3, 6), "int8")
    check(getattr(ops, name)(ints, axis=1), reference(ints, axis=1), "int32")
    with_nan = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]], np.float32)
    out = np.asarray(getattr(ops, name)(with_nan, axis=1))
    if name.startswith("nan"):  # skips NaNs; -1 for an all-NaN row (JAX's convention)
        assert out[0] == reference(with_nan[0]) and out[1] == -1
    else:  # the first NaN is the extremum, as in numpy
        np.testing.assert_array_equal(out, reference(with_nan, axis=1))


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "nancumsum", "nancumprod"])
@pytest.mark.parametrize("dtype, expected", [("float32", "float32"), ("int32", "int32"),
                                             ("int8", "int8"), ("bool", "int32"),
                                             ("uint8", "uint8")])
def test_cumulative(name, dtype, expected):
    reference = getattr(np, name)
    x = data((3, 4), dtype, nan=name.startswith("nan"))
    if "prod" in name and dtype != "bool":
        x = np.where(np.abs(x) > 1, 1, x).astype(dtype)
    for axis in (None, 0, -1):
        ref = reference(x.astype(np.float64) if dtype == "float32" else x, axis=axis)
        check(getattr(ops, name)(x, axis=axis), ref, expected)
    check(getattr(ops, name)(x, axis=1, dtype="float32"),
          reference(x.astype(np.float64), axis=1), "float32")


# ---- statistics --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["quantile", "percentile", "nanquantile", "nanpercentile"])
@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantiles(name, method):
    reference = getattr(np, name)
    scale = 100 if "percentile" in name else 1
    x = data((4, 5, 6), "float32", nan=name.startswith("nan"))
    # q * (n - 1) never falls near a half by rounding (q exact in float32): float32
    # and numpy's float64 positions then pick the same neighbour for "nearest".
    for q in (0.375, [0.0, 0.25, 0.5, 1.0]):
        q = np.multiply(q, scale)
        for axis, keepdims in ((None, False), (1, True), ((0, 2), False), (-1, False)):
            out = getattr(ops, name)(x, q, axis=axis, method=method, keepdims=keepdims)
            ref = reference(x.astype(np.float64), q, axis=axis, method=method,
                            keepdims=keepdims)
            check(out, ref, "float32", rtol=1e-5, atol=1e-5)
    ints = data((7,), "int32")
    check(getattr(ops, name)(ints, 0.5 * scale, method=method),
          reference(ints, 0.5 * scale, method=method), "float32")


def test_quantile_nan_and_bad_method():
    x = np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 4.0]], np.float32)
    check(ops.quantile(x, 0.5, axis=1), np.quantile(x, 0.5, axis=1), "float32")
    check(ops.median(np.array([3, 1, 2, 8], np.int8)), 2.5, "float32")
    with pytest.raises(ValueError, match="quantile: `method` must be one of"):
        ops.quantile(x, 0.5, method="cubic")
    with pytest.raises(ValueError, match=r"percentile: `q` must lie in \[0, 100\]; received "
                                         r"\[50.0, 120.0\]"):
        ops.percentile(x, [50, 120])


@pytest.mark.parametrize("shape", [(5,), (3, 6)])
@pytest.mark.parametrize("weights", [None, "same", "axis"])
def test_average(shape, weights):
    x = data(shape, "float32")
    axis = -1 if weights == "axis" else None
    w = {None: None, "same": RNG.random(shape), "axis": RNG.random(shape[-1])}[weights]
    check(ops.average(x, axis=axis, weights=w), np.average(x, axis=axis, weights=w), "float32")
    ints = data(shape, "int32")
    check(ops.average(ints, axis=0), np.average(ints, axis=0), "float32")
    with pytest.raises(ValueError, match="average: `weights` must have the shape of `x`"):
        ops.average(np.ones((2, 3)), axis=None, weights=np.ones(3))


def test_diff_and_trapezoid():
    x = data((4, 6), "float32")
    for n, axis in ((1, -1), (2, 0), (3, 1), (0, 1)):
        check(ops.diff(x, n=n, axis=axis), np.diff(x, n=n, axis=axis), "float32")
    check(ops.diff(np.array([1, 4, 9], np.int8)), np.diff(np.array([1, 4, 9], np.int8)), "int8")
    flags = np.array([True, True, False, True])
    check(ops.diff(flags), np.diff(flags), "bool")
    check(ops.trapezoid(x), np.trapezoid(x.astype(np.float64)), "float32")
    check(ops.trapezoid(x, dx=0.5, axis=0), np.trapezoid(x, dx=0.5, axis=0), "float32")
    grid = np.cumsum(RNG.random(6))
    check(ops.trapezoid(x, x=grid), np.trapezoid(x, x=grid), "float32")
    check(ops.trapezoid(np.arange(5, dtype=np.int32)), np.trapezoid(np.arange(5)), "float32")


def test_corrcoef():
    x = data((3, 8), "float32")
    check(ops.corrcoef(x), np.corrcoef(x), "float32", rtol=1e-4, atol=1e-5)
    ints = data((2, 6), "int32")
    check(ops.corrcoef(ints), np.corrcoef(ints), "float32", rtol=1e-4, atol=1e-5)
    check(ops.corrcoef(x[0]), np.corrcoef(x[0]), "float32")


@pytest.mark.parametrize("mode", ["valid", "same", "full"])
@pytest.mark.parametrize("n, m", [(6, 3), (5, 5), (3, 7), (1, 4), (4, 1)])
def test_correlate(mode, n, m):
    a, v = data((n,), "float32"), data((m,), "float32")
    check(ops.correlate(a, v, mode=mode), np.correlate(a, v, mode=mode), "float32",
          rtol=1e-4, atol=1e-5)
    ai, vi = data((n,), "int32"), data((m,), "int8")
    check(ops.correlate(ai, vi, mode=mode), np.correlate(ai, vi.astype(np.int32), mode=mode),
          "float32")


@pytest.mark.parametrize("bins, range_", [(10, None), (4, None), (5, (-1.0, 1.0)),
                                          (3, (0.0, 0.0))])
def test_histogram(bins, range_):
    x = data((50,), "float32")
    counts, edges = ops.histogram(x, bins=bins, range=range_)
    ref_counts, ref_edges = np.histogram(x, bins=bins, range=range_)
    check(counts, ref_counts, "int32")
    check(edges, ref_edges, "float32", rtol=1e-5, atol=1e-6)
    steps = np.array([0, 1, 1, 2, 3, 3, 3, 4], np.int32)  # values on the edges
    check(ops.histogram(steps, bins=4)[0], np.histogram(steps, bins=4)[0], "int32")
    with pytest.raises(ValueError, match="histogram: `bins` must be a positive integer"):
        ops.histogram(x, bins=-5)
    with pytest.raises(ValueError, match="histogram: `range` must be a pair"):
        ops.histogram(x, range=(5, 1))


def test_bincount():
    x = np.array([1, 1, 2, 3, 2, 4, 4, 5], np.int32)
    check(ops.bincount(x), np.bincount(x), "int32")
    check(ops.bincount(x, minlength=9), np.bincount(x, minlength=9), "int32")
    w = RNG.random(8).astype(np.float32)
    check(ops.bincount(x, weights=w), np.bincount(x, weights=w), "float32")
    check(ops.bincount(x.astype(np.uint8), weights=x.astype(np.int8)),
          np.bincount(x, weights=x), "int16")  # result_type(uint8, int8)
    rows = np.array([[0, 1, 1], [2, 2, 0]], np.int32)
    check(ops.bincount(rows, minlength=4),
          np.stack([np.bincount(r, minlength=4) for r in rows]), "int32")
    check(ops.bincount(np.zeros((0,), np.int32), minlength=2), [0, 0], "int32")
    with pytest.raises(ValueError, match="bincount: MLX has no sparse"):
        ops.bincount(x, sparse=True)
    with pytest.raises(ValueError, match="bincount: `x` must be non-negative"):
        ops.bincount(np.array([1, -1], np.int32))
