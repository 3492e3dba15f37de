"""keras.ops core ops against numpy and plain-Python references: casts, shapes,
gradients, control flow (eager and inside mx.compile), and bounds-safe
scatter/slice."""


import mlx.core as mx
import numpy as np
import pytest

from mlxfunctional import ops

RNG = np.random.default_rng(0)
KERAS_API = __file__.rsplit("/", 1)[0] + "/keras_api/ops.txt"

CORE_OPS = """associative_scan cast cond convert_to_numpy convert_to_tensor custom_gradient
dtype fori_loop is_tensor map saturate_cast scan scatter scatter_update shape slice
slice_update stop_gradient switch unstack vectorized_map while_loop""".split()
# Ops that are plain Python helpers in Keras too (they return Python values or
# wrap functions), so they are not graph ops.
NOT_GRAPH_OPS = {"convert_to_numpy", "custom_gradient", "dtype", "is_tensor", "shape",
                 "convert_to_tensor"}


def test_every_core_op_is_exported_as_keras_names_it():
    keras_names = set(open(KERAS_API).read().split())
    for name in CORE_OPS:
        assert name in keras_names, name
        assert callable(getattr(ops, name)), name
        assert name in ops.core.__all__, name
        if name not in NOT_GRAPH_OPS:
            assert name in ops.OPS, name


# -- casts and conversions ---------------------------------------------------------

CAST_CASES = [  # (numpy input, target dtype)
    (np.array([-2.7, -0.5, 0.0, 0.5, 2.7]), "int32"),
    (np.array([-2.7, 0.0, 2.7], np.float32), "float16"),
    (np.array([0, 1, 3], np.int32), "bool"),
    (np.array([True, False]), "float32"),
    (np.array([1, 200, 255], np.uint8), "int8"),  # wraps, as numpy (and Keras' cast)
    (np.array([[1.5, 2.5]], np.float32), "float32"),
    (np.zeros((0, 3), np.float32), "int32"),
]


@pytest.mark.parametrize("x,dtype", CAST_CASES)
def test_cast_matches_numpy_astype(x, dtype):
    y = ops.cast(x, dtype)
    assert ops.dtype(y) == dtype
    np.testing.assert_array_equal(np.array(y), x.astype(dtype))


SATURATE_CASES = [  # (values, source dtype, target dtype)
    ([-1.0, 256.0, 3.7, -1e30, 1e30], "float32", "uint8"),
    ([-1e10, 1e10, 2.5], "float32", "int32"),
    ([-300, 300, 5], "int32", "int8"),
    ([-5, 70000, 7], "int32", "uint16"),
    ([1e6, -1e6, 1.5], "float32", "float16"),
    ([0, 255, 17], "uint8", "int8"),
]


@pytest.mark.parametrize("values,source,target", SATURATE_CASES)
def test_saturate_cast_clips_to_the_target_range(values, source, target):
    x = np.array(values, dtype=source)
    info = np.iinfo(target) if np.dtype(target).kind in "iu" else np.finfo(target)
    y = np.array(ops.saturate_cast(x, target))
    assert y.dtype == np.dtype(target)
    expected = np.clip(x.astype(np.float64), float(info.min), float(info.max))
    # Bounds not representable in the source dtype step toward zero (Keras' rule):
    # compare within one unit of the source's spacing at the bound.
    spacing = np.spacing(np.abs(expected).astype(source)) if x.dtype.kind == "f" else 0
    assert np.all(np.abs(y.astype(np.float64) - np.trunc(expected)) <= np.maximum(spacing, 1))
    assert np.all(y.astype(np.float64) >= float(info.min))
    assert np.all(y.astype(np.float64) <= float(info.max))


def test_saturate_cast_of_the_keras_example():
    x = ops.cast(np.array([-1, 256]), "float32")
    assert np.array(ops.saturate_cast(x, "uint8")).tolist() == [0, 255]


@pytest.mark.parametrize("value,dtype", [
    (3, "int32"), (3.5, "float32"), (True, "bool"), ([1, 2], "int32"),
    ([[1.0, 2.0]], "float32"), (np.arange(3, dtype=np.int64), "int32"),
    (np.ones(2, np.float64), "float32"), (np.ones(2, np.uint8), "uint8"),
])
def test_convert_to_tensor_default_dtypes(value, dtype):
    t = ops.convert_to_tensor(value)
    assert ops.is_tensor(t) and ops.dtype(t) == dtype
    np.testing.assert_array_equal(ops.convert_to_numpy(t), np.asarray(value))


def test_convert_to_tensor_with_dtype_and_refusals():
    assert ops.dtype(ops.convert_to_tensor([1, 2], dtype="float16")) == "float16"
    with pytest.raises(ValueError, match="sparse"):
        ops.convert_to_tensor([1.0], sparse=True)


def test_convert_to_numpy_of_bfloat16_is_float32_values():
    x = mx.array([1.5, -2.25, 3.0]).astype(mx.bfloat16)
    y = ops.convert_to_numpy(x)
    assert isinstance(y, np.ndarray) and y.dtype == np.float32
    np.testing.assert_array_equal(y, [1.5, -2.25, 3.0])


def test_shape_dtype_is_tensor():
    x = mx.zeros((8, 12), mx.float16)
    assert ops.shape(x) == (8, 12) and ops.shape(np.zeros((2, 0))) == (2, 0)
    assert ops.dtype(x) == "float16" and ops.dtype(np.zeros(2, np.int8)) == "int8"
    assert ops.is_tensor(x) and not ops.is_tensor(np.zeros(2)) and not ops.is_tensor(1.0)


@pytest.mark.parametrize("shape,axis", [((2, 3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), -1),
                                        ((0, 3), 1), ((5,), 0)])
def test_unstack_matches_numpy_slices(shape, axis):
    x = RNG.normal(size=shape).astype(np.float32)
    parts = ops.unstack(x, axis=axis)
    expected = [np.take(x, i, axis=axis) for i in range(x.shape[axis])]
    assert len(parts) == len(expected)
    for p, e in zip(parts, expected):
        np.testing.assert_array_equal(np.array(p), e)
    with pytest.raises(ValueError, match="num"):
        ops.unstack(x, num=x.shape[axis] + 1, axis=axis)


# -- gradients -----------------------------------------------------------------------

def test_stop_gradient_blocks_the_gradient():
    x = mx.array([1.0, 2.0, 3.0])
    g = mx.grad(lambda v: (v * ops.stop_gradient(v)).sum())(x)
    np.testing.assert_allclose(np.array(g), [1.0, 2.0, 3.0])  # d/dv v*c = c


def test_custom_gradient_jax_style_replaces_autodiff():
    @ops.custom_gradient
    def log1pexp(x):
        e = mx.exp(x)

        def grad(upstream):
            return upstream * (1.0 - 1.0 / (1 + e))

        return mx.log(1 + e), grad

    x = mx.array([0.0, 2.0, 100.0])
    np.testing.assert_allclose(np.array(log1pexp(x))[:2], np.log1p(np.exp([0.0, 2.0])),
                               rtol=1e-6)
    g = np.array(mx.grad(lambda v: log1pexp(v).sum())(x))
    # the custom rule stays finite at 100, where autodiff of log(1 + e) is nan
    np.testing.assert_allclose(g, 1 / (1 + np.exp(-np.array([0.0, 2.0, 100.0]))), rtol=1e-6)


def test_custom_gradient_torch_style_with_two_inputs():
    @ops.custom_gradient
    def scaled_product(x, y):
        def grad(*args, upstream):
            return 3.0 * upstream * y, 5.0 * upstream * x  # deliberately not autodiff

        return x * y, grad

    x, y = mx.array([2.0]), mx.array([7.0])
    gx, gy = mx.grad(lambda a, b: scaled_product(a, b).sum(), argnums=(0, 1))(x, y)
    assert np.array(gx).tolist() == [21.0] and np.array(gy).tolist() == [10.0]


# -- control flow --------------------------------------------------------------------

def test_cond_eager_runs_only_the_chosen_branch():
    calls = []

    def branch(name, value):
        def fn():
            calls.append(name)
            return value
        return fn

    assert ops.cond(mx.array(True), branch("t", 1), branch("f", 2)) == 1
    assert ops.cond(np.array(0), branch("t", 1), branch("f", 2)) == 2
    assert ops.cond(False, branch("t", 1), branch("f", (3, 4))) == (3, 4)
    assert calls == ["t", "f", "f"]


def test_cond_inside_compile_selects_per_call():
    f = mx.compile(lambda p, x: ops.cond(p > 0, lambda: (x * 2, x.sum()),
                                         lambda: (x - 1, x.max())))
    x = mx.array([1.0, 4.0])
    a, s = f(mx.array(1), x)
    b, t = f(mx.array(-1), x)
    assert np.array(a).tolist() == [2.0, 8.0] and s.item() == 5.0
    assert np.array(b).tolist() == [0.0, 3.0] and t.item() == 4.0


def test_cond_inside_compile_refuses_branches_of_different_shapes():
    f = mx.compile(lambda p, x: ops.cond(p > 0, lambda: x, lambda: x[:1]))
    with pytest.raises(ValueError, match="cond.*same in shape|cond.*shape"):
        f(mx.array(1), mx.array([1.0, 2.0]))


@pytest.mark.parametrize("index,expected", [(-3, 2.5), (0, 2.5), (1, 1.5), (2, 1.0), (9, 1.0)])
def test_switch_clamps_the_index(index, expected):
    branches = [lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y]
    out = ops.switch(index, branches, mx.array(2.0), mx.array(0.5))
    assert float(out.item()) == expected
    compiled = mx.compile(lambda i, x, y: ops.switch(i, branches, x, y))
    assert float(compiled(mx.array(index), mx.array(2.0), mx.array(0.5)).item()) == expected


def test_while_loop_eager_matches_python():
    assert ops.while_loop(lambda i: i < 10, lambda i: i + 1, 0) == 10
    assert ops.while_loop(lambda x, y: x < 10, lambda x, y: (x + 1, y + 1), (0, 1)) == (10, 11)
    out = ops.while_loop(lambda v: v.sum() < 100, lambda v: v * 2, mx.array([1.0, 2.0]))
    assert np.array(out).tolist() == [64.0, 128.0]
    capped = ops.while_loop(lambda i: i < 10, lambda i: i + 1, 0, maximum_iterations=4)
    assert capped == 4
    assert ops.while_loop(lambda i: i < 0, lambda i: i + 1, [5]) == [5]


def test_while_loop_inside_compile_unrolls_masked_steps():
    f = mx.compile(lambda x: ops.while_loop(lambda v: v.sum() < 100, lambda v: v * 2, x,
                                            maximum_iterations=10))
    for start in ([1.0, 2.0], [30.0, 40.0], [200.0, 0.0]):
        expected = np.array(start)
        steps = 0
        while expected.sum() < 100 and steps < 10:
            expected, steps = expected * 2, steps + 1
        assert np.array(f(mx.array(start))).tolist() == expected.tolist()


def test_while_loop_inside_compile_without_a_cap_names_the_fix():
    f = mx.compile(lambda x: ops.while_loop(lambda v: v.sum() < 100, lambda v: v * 2, x))
    with pytest.raises(ValueError, match="while_loop.*maximum_iterations.*fori_loop"):
        f(mx.array([1.0, 2.0]))


def test_fori_loop_eager_and_compiled():
    assert ops.fori_loop(0, 10, lambda i, s: s + i, 0) == 45
    assert ops.fori_loop(mx.array(3), 3, lambda i, s: s + i, 7) == 7
    f = mx.compile(lambda x: ops.fori_loop(0, 4, lambda i, v: v * 2 + i, x))
    ref = 1.0
    for i in range(4):
        ref = ref * 2 + i
    assert f(mx.array(1.0)).item() == ref
    g = mx.compile(lambda n, x: ops.fori_loop(0, n, lambda i, v: v + 1, x))
    with pytest.raises(ValueError, match="fori_loop"):
        g(mx.array(3), mx.array(0.0))


def _python_scan(f, init, xs, reverse=False):
    carry, ys = init, [None] * len(xs)
    order = range(len(xs) - 1, -1, -1) if reverse else range(len(xs))
    for i in order:
        carry, ys[i] = f(carry, xs[i])
    return carry, np.stack(ys)


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_matches_a_python_loop(reverse):
    xs = RNG.normal(size=(6, 3)).astype(np.float32)
    f = lambda c, x: (c * 0.5 + x, c.sum() + x)  # noqa: E731
    carry, ys = ops.scan(f, mx.zeros(3), xs, reverse=reverse)
    ref_carry, ref_ys = _python_scan(lambda c, x: (c * 0.5 + x, c.sum() + x),
                                     np.zeros(3, np.float32), xs, reverse)
    np.testing.assert_allclose(np.array(carry), ref_carry, rtol=1e-6)
    np.testing.assert_allclose(np.array(ys), ref_ys, rtol=1e-6)


def test_scan_with_length_only_and_tree_carry():
    carry, ys = ops.scan(lambda c, _: ((c[0] + 1, c[1] * 2), c[0]), (mx.array(0), mx.array(1)),
                         length=4)
    assert (carry[0].item(), carry[1].item()) == (4, 16)
    assert np.array(ys).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="unroll"):
        ops.scan(lambda c, x: (c, x), 0, mx.zeros(2), unroll=0)


def _sequential_scan(f, xs, axis=0, reverse=False):
    xs = np.moveaxis(np.asarray(xs), axis, 0)
    if reverse:
        xs = xs[::-1]
    out = [xs[0]]
    for x in xs[1:]:
        out.append(f(out[-1], x))
    out = np.stack(out)
    if reverse:
        out = out[::-1]
    return np.moveaxis(out, 0, axis)


def _affine(a, b):  # composition of x -> a0 x + a1 then x -> b0 x + b1 (not commutative)
    return np.stack([a[..., 0] * b[..., 0], a[..., 1] * b[..., 0] + b[..., 1]], axis=-1)


def _affine_mx(a, b):
    return mx.stack([a[..., 0] * b[..., 0], a[..., 1] * b[..., 0] + b[..., 1]], axis=-1)


@pytest.mark.parametrize("n", [1, 2, 5, 8, 13])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("op", ["add", "max", "affine"])
def test_associative_scan_matches_a_sequential_scan(n, reverse, op):
    if op == "affine":
        xs = RNG.uniform(0.5, 1.5, size=(n, 3, 2)).astype(np.float32)
        ours, ref = _affine_mx, _affine
    else:
        xs = RNG.normal(size=(n, 3)).astype(np.float32)
        ours, ref = (mx.add, np.add) if op == "add" else (mx.maximum, np.maximum)
    got = ops.associative_scan(ours, xs, reverse=reverse)
    np.testing.assert_allclose(np.array(got), _sequential_scan(ref, xs, reverse=reverse),
                               rtol=1e-5)


def test_associative_scan_on_another_axis_and_on_trees():
    xs = np.arange(24, dtype=np.int32).reshape(2, 6, 2)
    got = ops.associative_scan(lambda a, b: a + b, xs, axis=1)
    np.testing.assert_array_equal(np.array(got), np.cumsum(xs, axis=1))
    got = ops.associative_scan(lambda a, b: [a[0] + b[0], a[1] * b[1]],
                               [mx.array([1, 2, 3]), mx.array([2, 3, 4])])
    assert np.array(got[0]).tolist() == [1, 3, 6] and np.array(got[1]).tolist() == [2, 6, 24]


def test_map_and_vectorized_map_match_a_loop():
    xs = RNG.normal(size=(4, 3)).astype(np.float32)
    f = lambda x: {"sq": x ** 2, "sum": x.sum()}  # noqa: E731
    mapped = ops.map(f, xs)
    np.testing.assert_allclose(np.array(mapped["sq"]), xs ** 2, rtol=1e-6)
    np.testing.assert_allclose(np.array(mapped["sum"]), xs.sum(axis=1), rtol=1e-5)
    empty = ops.map(lambda x: x.sum(), np.zeros((0, 3), np.float32))
    assert empty.shape == (0,)
    v = ops.vectorized_map(lambda x: mx.outer(x, x), xs)
    np.testing.assert_allclose(np.array(v), np.einsum("bi,bj->bij", xs, xs), rtol=1e-6)
    pair = ops.vectorized_map(lambda e: e[0] * e[1], [xs, xs + 1])
    np.testing.assert_allclose(np.array(pair), xs * (xs + 1), rtol=1e-6)
