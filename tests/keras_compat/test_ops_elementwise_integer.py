"""keras.ops elementwise ops, continued: integer and bit operations, where/select, empty
arrays, compiled steps, gradients, symbolic tensors and the namespace (see
test_ops_elementwise.py)."""

from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import ops
from tests.keras_compat.test_ops_elementwise import (RNG, _check, _sample)


# -- integer and bit operations ---------------------------------------------------------

@pytest.mark.parametrize("dtype", ["int32", "int8", "int16", "uint8"])
def test_gcd_and_lcm(dtype):
    signed = not dtype.startswith("u")
    x1 = np.array([12, -18 if signed else 18, 0, 7, 0, 21, 13], dtype)
    x2 = np.array([18, 12, 5, 0, 0, 6, 8], dtype)
    _check(ops.gcd(x1, x2), np.gcd(x1, x2), dtype)
    _check(ops.lcm(x1, x2), np.lcm(x1, x2), dtype)
    _check(ops.gcd(x1[:, None], x2), np.gcd(x1[:, None], x2), dtype)


def test_gcd_worst_case_consecutive_fibonacci_numbers():
    x1, x2 = np.array([1134903170], np.int32), np.array([1836311903], np.int32)
    _check(ops.gcd(x1, x2), [1], "int32")
    _check(ops.gcd(np.array([233 * 7], np.int32), 377 * 7), [7], "int32")


def test_gcd_refuses_floats():
    with pytest.raises(TypeError, match="gcd"):
        ops.gcd(np.array([1.5]), np.array([2.0]))


BITWISE = [("bitwise_and", np.bitwise_and), ("bitwise_or", np.bitwise_or),
           ("bitwise_xor", np.bitwise_xor), ("bitwise_left_shift", np.left_shift),
           ("left_shift", np.left_shift), ("bitwise_right_shift", np.right_shift),
           ("right_shift", np.right_shift)]


# Shifts are for ints only; and, or, xor also take bools.
BITWISE_CASES = [(n, r, d) for n, r in BITWISE for d in ["int32", "uint8", "int8", "bool"]
                 if not (d == "bool" and "shift" in n)]


@pytest.mark.parametrize("name,reference,dtype", BITWISE_CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in BITWISE_CASES])
def test_bitwise_binary(name, reference, dtype):
    x = np.array([[5, -7 if dtype.startswith("int") else 7, 12, 1]], dtype) if dtype != "bool" \
        else np.array([[True, False, True, False]])
    y = np.array([1, 2, 3, 0], dtype) if dtype != "bool" else np.array([True, True, False, False])
    _check(getattr(ops, name)(x, y), reference(x, y), dtype)
    if dtype != "bool":  # a Python int keeps the array's dtype
        _check(getattr(ops, name)(x, 2), reference(x, np.array(2, dtype)), dtype)


@pytest.mark.parametrize("name", ["bitwise_invert", "bitwise_not"])
@pytest.mark.parametrize("dtype", ["int32", "uint8", "bool"])
def test_bitwise_invert(name, dtype):
    x = np.array([0, 1, 5, 100], dtype) if dtype != "bool" else np.array([True, False])
    _check(getattr(ops, name)(x), np.invert(x), dtype)


@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_invert", "left_shift"])
def test_bit_operations_refuse_floats(name):
    args = (np.ones(2, np.float32),) * (1 if name == "bitwise_invert" else 2)
    with pytest.raises(TypeError, match=name):
        getattr(ops, name)(*args)


def test_logical_ops_take_nonzero_as_true():
    x1, x2 = np.array([0.0, 2.0, -1.0, 0.0]), np.array([0, 0, 3, 5])
    for name in ("logical_and", "logical_or", "logical_xor"):
        _check(getattr(ops, name)(x1, x2), getattr(np, name)(x1, x2), "bool")
    _check(ops.logical_not(x2), np.logical_not(x2), "bool")


def test_ldexp_and_nextafter():
    x1 = np.array([1.5, -3.0, 0.0, 0.75], np.float32)
    exponents = np.array([2, -1, 5, 10], np.int32)
    _check(ops.ldexp(x1, exponents), np.ldexp(x1, exponents), "float32")
    _check(ops.ldexp(np.array([3, 1]), 3), [24.0, 8.0], "float32")
    with pytest.raises(TypeError, match="ldexp"):
        ops.ldexp(x1, x1)
    start = np.array([1.0, 1.0, 0.0, -0.0, -1.0, np.inf, 3e38, 2.0, np.nan, -5.0], np.float32)
    toward = np.array([2.0, 0.0, 1.0, -1.0, 0.0, 0.0, np.inf, 2.0, 1.0, -np.inf], np.float32)
    result = np.array(ops.nextafter(start, toward))
    np.testing.assert_array_equal(result, np.nextafter(start, toward))
    assert ops.nextafter(start, toward).dtype == mx.float32


def test_view_reads_the_same_bits():
    x = np.array([[1.0, -2.5], [0.0, 3.0]], np.float32)
    for dtype, expected in [("int32", x.view(np.int32)), ("uint8", x.view(np.uint8)),
                            ("float32", x)]:
        _check(ops.view(x, dtype), expected, dtype)
    ints = np.array([-1, 3, 255, 0], np.int16)
    _check(ops.view(ints, "uint8"), ints.view(np.uint8), "uint8")
    _check(ops.view(ints), ints, "int16")


# -- where and select -----------------------------------------------------------------

WHERE_CASES = [  # x1 dtype or Python type, x2 dtype or Python type, result dtype
    ("float32", "float32", "float32"), ("int32", "int32", "int32"),
    ("int32", "float32", "float32"), ("uint8", int, "uint8"), (int, float, "float32"),
    ("bool", "bool", "bool"),
]


@pytest.mark.parametrize("dtype1,dtype2,expected_dtype", WHERE_CASES)
def test_where_selects_and_promotes(dtype1, dtype2, expected_dtype):
    condition = np.array([[True, False, True], [False, False, True]])

    def operand(dtype, shape):
        if dtype is int:
            return 7
        if dtype is float:
            return 0.5
        return _sample(dtype, shape, 1, 9)

    x1, x2 = operand(dtype1, (2, 3)), operand(dtype2, (3,))
    _check(ops.where(condition, x1, x2), np.where(condition, x1, x2), expected_dtype)
    numeric_condition = condition.astype(np.int32) * 3
    _check(ops.where(numeric_condition, x1, x2), np.where(condition, x1, x2), expected_dtype)


def test_where_with_condition_only_gives_indices():
    condition = np.array([[0, 2, 0], [1, 0, 3]])
    result = ops.where(condition)
    assert isinstance(result, tuple) and len(result) == 2
    for got, expected in zip(result, np.nonzero(condition)):
        _check(got, expected, "int32")
    with pytest.raises(ValueError, match="both"):
        ops.where(condition, np.ones(3))


def test_where_with_condition_only_refuses_compiled_functions():
    @mx.compile
    def step(condition):
        return ops.where(condition)[0]

    with pytest.raises(ValueError, match="compiled"):
        step(mx.array([True, False]))


def test_select_picks_the_first_true_condition():
    x = np.arange(-3, 7).astype(np.float32)
    condlist = [x < 0, x > 3, x < 5]
    choicelist = [-x, x ** 2, 10 * np.ones_like(x)]
    _check(ops.select(condlist, choicelist, default=42), np.select(condlist, choicelist, 42),
           "float32")
    ints = np.arange(6).reshape(2, 3)
    _check(ops.select([ints > 3], [ints], default=-1), np.select([ints > 3], [ints], -1),
           "int32")
    with pytest.raises(ValueError, match="lists"):
        ops.select(x > 0, x)
    with pytest.raises(ValueError, match="length"):
        ops.select([x > 0], [x, x])


# -- empty arrays, compiled steps, gradients ------------------------------------------

def test_empty_arrays_keep_their_shape():
    empty = np.zeros((0, 3), np.float32)
    for name in ("add", "hypot", "gcd", "where"):
        if name == "gcd":
            result = ops.gcd(empty.astype(np.int32), np.int32(4))
        elif name == "where":
            result = ops.where(empty > 0, empty, 1.0)
        else:
            result = getattr(ops, name)(empty, np.ones(3, np.float32))
        assert result.shape == (0, 3), name
    assert ops.select([empty > 0], [empty]).shape == (0, 3)


def test_ops_inside_a_compiled_function_equal_eager():
    def f(x, y):
        return (ops.hypot(x, y) + ops.logaddexp2(x, y) + ops.sinc(x) + ops.i0(y)
                + ops.where(ops.greater(x, y), ops.fmod(x, y), ops.nextafter(x, y))
                + ops.select([x < 0], [ops.cbrt(x)]) + ops.round(x, 1))

    x = mx.array(RNG.uniform(-3, 3, (4, 5)).astype(np.float32))
    y = mx.array(RNG.uniform(0.5, 3, (4, 5)).astype(np.float32))
    np.testing.assert_allclose(np.array(mx.compile(f)(x, y)), np.array(f(x, y)), rtol=1e-5,
                               atol=1e-5)
    g = lambda a, b: ops.gcd(a, b) + ops.bitwise_xor(a, b)
    a, b = mx.array([12, 35, 9]), mx.array([18, 14, 0])
    np.testing.assert_array_equal(np.array(mx.compile(g)(a, b)), np.array(g(a, b)))


def test_gradients_stay_finite_where_a_branch_is_undefined():
    x = mx.array([0.0, 1.0, 2.0])
    y = mx.array([0.0, 2.0, 0.0])
    grad = mx.grad(lambda x: ops.divide_no_nan(x, y).sum())(x)
    np.testing.assert_allclose(np.array(grad), [0.0, 0.5, 0.0])
    grad = mx.grad(lambda x: ops.sinc(x).sum())(x)  # sinc'(0) = 0, sinc'(n) = cos(pi n)/n
    np.testing.assert_allclose(np.array(grad), [0.0, -1.0, 0.5], atol=1e-5)
    grad = mx.grad(lambda x: ops.hypot(x, mx.array(4.0)).sum())(mx.array([3.0]))
    np.testing.assert_allclose(np.array(grad), [0.6], rtol=1e-6)


# -- symbolic tensors in a functional model -------------------------------------------

def test_ops_in_a_functional_model_and_its_config(tmp_path):
    inputs = keras.Input(shape=(5,))
    mask = keras.Input(shape=(5,), dtype="bool")
    x = ops.where(mask, ops.multiply(inputs, 2.0), ops.negative(inputs))
    x = ops.clip(x, -1.5, 3.0)
    y = ops.round(ops.divide(x, 3), decimals=2)
    z = ops.select([ops.greater(inputs, 0.5), ops.less(inputs, -0.5)],
                   [ops.square(inputs), ops.abs(inputs)], default=-9.0)
    outputs = [y, z, ops.hypot(x, inputs)]
    model = keras.Model([inputs, mask], outputs)

    values = RNG.uniform(-2, 2, (3, 5)).astype(np.float32)
    switch = RNG.integers(0, 2, (3, 5)).astype(bool)
    eager = [np.array(ops.round(ops.divide(ops.clip(ops.where(switch, values * 2.0, -values),
                                                      -1.5, 3.0), 3), 2)),
             np.select([values > 0.5, values < -0.5], [values ** 2, np.abs(values)], -9.0),
             np.array(ops.hypot(ops.clip(ops.where(switch, values * 2.0, -values), -1.5, 3.0),
                                values))]
    got = model.predict([values, switch], verbose=0)
    rebuilt = keras.Model.from_config(model.get_config())
    model.save(tmp_path / "ops.mlxf")
    loaded = keras.models.load_model(tmp_path / "ops.mlxf")
    for run in (got, rebuilt.predict([values, switch], verbose=0),
                loaded.predict([values, switch], verbose=0)):
        for a, expected in zip(run, eager):
            np.testing.assert_allclose(np.asarray(a), expected, rtol=1e-6, atol=1e-6)


def test_where_with_condition_only_is_refused_in_a_symbolic_graph():
    with pytest.raises(ValueError, match="symbolic"):
        ops.where(keras.Input(shape=(3,)))


# -- the namespace ----------------------------------------------------------------------

# This file's slice of Keras 3.15's keras.ops.numpy (all exported as keras.ops.* too).
ELEMENTWISE_OPS = """
abs absolute add angle arccos arccosh arcsin arcsinh arctan arctan2 arctanh bitwise_and
bitwise_invert bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift bitwise_xor
cbrt ceil clip conj conjugate cos cosh deg2rad divide divide_no_nan equal exp exp2 expm1
fabs floor floor_divide fmax fmin fmod gcd greater greater_equal heaviside hypot i0 imag
isclose allclose isfinite isinf isnan isneginf isposinf isreal lcm ldexp left_shift less
less_equal log log10 log1p log2 logaddexp logaddexp2 logical_and logical_not logical_or
logical_xor maximum minimum mod multiply nan_to_num negative nextafter not_equal power
rad2deg real reciprocal right_shift round sign signbit sin sinc sinh sqrt square subtract
tan tanh true_divide trunc where select view
""".split()
API = Path(__file__).parent / "keras_api"


def test_every_elementwise_op_keras_exports_exists():
    keras_numpy = set((API / "ops_numpy.txt").read_text().split())
    keras_ops = set((API / "ops.txt").read_text().split())
    assert len(ELEMENTWISE_OPS) == 97
    for name in ELEMENTWISE_OPS:
        assert name in keras_numpy and name in keras_ops, name
        assert callable(getattr(ops, name)), name
        assert getattr(ops.numpy, name) is getattr(ops, name), name
        assert name in ops.numpy.__all__ and name in ops.OPS, name
        assert getattr(ops, name).__doc__, name
