"""keras.ops' elementwise ops (ops/numpy_elementwise*.py) against numpy.

Expected dtypes come from the tables below, written from Keras' documented
rules (JAX-like promotion with weak Python scalars and 32-bit results; float
ops turn ints and bools into floatx; comparisons give bool), not from our
``result_type``.
"""

import math
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import ops

RNG = np.random.default_rng(0)
SHAPES = [(), (0,), (2, 3), (2, 1, 4)]
TOLERANCE = {"float32": dict(rtol=2e-5, atol=1e-6), "float16": dict(rtol=2e-3, atol=2e-3)}


def _as_numpy(x):
    return np.array(x.astype(mx.float32)) if x.dtype == mx.bfloat16 else np.array(x)


def _name(dtype):
    return str(dtype).replace("mlx.core.", "")


def _sample(dtype, shape, low, high):
    """Values of ``dtype`` in ``[low, high]``: ints rounded, bools from 0/1."""
    if dtype == "bool":
        return RNG.integers(0, 2, shape).astype(bool)
    values = RNG.uniform(low, high, shape)
    if "int" in dtype:
        return np.clip(np.round(values), max(low, np.iinfo(dtype).min),
                       np.iinfo(dtype).max).astype(dtype)
    return values.astype(dtype)


def _check(result, expected, dtype):
    assert isinstance(result, mx.array)
    assert _name(result.dtype) == dtype
    got = _as_numpy(result)
    assert got.shape == np.shape(expected)
    if dtype in TOLERANCE:
        np.testing.assert_allclose(got, np.asarray(expected, np.float64), equal_nan=True,
                                   **TOLERANCE[dtype])
    else:
        np.testing.assert_array_equal(got, np.asarray(expected).astype(dtype))


# -- unary ops computed in a float ---------------------------------------------------

# Keras: ints and bools become floatx (float32), floats keep their width.
FLOAT_RESULT = {"float32": "float32", "float16": "float16", "int32": "float32",
                "uint8": "float32", "bool": "float32"}

UNARY_FLOAT = [  # name, numpy reference (on float64), sample range
    ("exp", np.exp, (-3, 3)), ("exp2", np.exp2, (-3, 6)), ("expm1", np.expm1, (-3, 3)),
    ("log", np.log, (0.1, 9)), ("log2", np.log2, (0.1, 9)), ("log10", np.log10, (0.1, 9)),
    ("log1p", np.log1p, (0, 9)), ("sqrt", np.sqrt, (0, 9)), ("cbrt", np.cbrt, (-9, 9)),
    ("sin", np.sin, (-4, 4)), ("cos", np.cos, (-4, 4)), ("tan", np.tan, (-1, 1)),
    ("arcsin", np.arcsin, (-1, 1)), ("arccos", np.arccos, (-1, 1)),
    ("arctan", np.arctan, (-9, 9)), ("sinh", np.sinh, (-3, 3)), ("cosh", np.cosh, (-3, 3)),
    ("tanh", np.tanh, (-3, 3)), ("arcsinh", np.arcsinh, (-9, 9)),
    ("arccosh", np.arccosh, (1, 9)), ("arctanh", np.arctanh, (-0.9, 0.9)),
    ("deg2rad", np.deg2rad, (-360, 360)), ("rad2deg", np.rad2deg, (-4, 4)),
    ("sinc", np.sinc, (-3, 3)), ("i0", np.i0, (-9, 9)), ("floor", np.floor, (-9, 9)),
    ("ceil", np.ceil, (-9, 9)), ("reciprocal", np.reciprocal, (1, 9)),
    ("fabs", np.fabs, (-9, 9)), ("angle", np.angle, (-9, 9)),
]


@pytest.mark.parametrize("name,reference,domain", UNARY_FLOAT, ids=[c[0] for c in UNARY_FLOAT])
@pytest.mark.parametrize("dtype", ["float32", "float16", "int32", "bool"])
def test_unary_float_ops(name, reference, domain, dtype):
    for shape in SHAPES:
        x = _sample(dtype, shape, *domain)
        if dtype == "bool" and name in ("log", "log2", "log10", "arccosh", "reciprocal"):
            x = np.ones(shape, bool)  # outside their domain at 0
        with np.errstate(all="ignore"):
            expected = reference(x.astype(np.float64))
        _check(getattr(ops, name)(x), expected, FLOAT_RESULT[dtype])
        _check(getattr(ops, name)(mx.array(x)), expected, FLOAT_RESULT[dtype])


def test_float_ops_take_python_scalars_and_lists():
    _check(ops.exp(1), math.e, "float32")
    _check(ops.sqrt([[4, 9]]), [[2.0, 3.0]], "float32")
    _check(ops.log(2.0), math.log(2.0), "float32")


# -- unary ops keeping the dtype ------------------------------------------------------

UNARY_SAME = [  # name, numpy reference, sample range, dtypes
    ("abs", np.abs, (-9, 9), ["float32", "int32", "int8", "bool"]),
    ("absolute", np.absolute, (-9, 9), ["float32", "int32", "bool"]),
    ("negative", np.negative, (-9, 9), ["float32", "int32", "float16"]),
    ("sign", np.sign, (-9, 9), ["float32", "int32", "int8"]),
    ("square", np.square, (-9, 9), ["float32", "int32", "uint8"]),
    ("trunc", np.trunc, (-9, 9), ["float32", "int32", "bool"]),
    ("round", np.round, (-9, 9), ["float32", "int32", "float16"]),
    ("real", np.real, (-9, 9), ["float32", "int32"]),
    ("imag", np.imag, (-9, 9), ["float32", "int32"]),
    ("conj", np.conj, (-9, 9), ["float32", "int32"]),
    ("conjugate", np.conjugate, (-9, 9), ["float32", "int32"]),
    ("nan_to_num", np.nan_to_num, (-9, 9), ["float32", "int32", "bool"]),
]
UNARY_SAME_CASES = [(n, r, d, t) for n, r, d, ts in UNARY_SAME for t in ts]


@pytest.mark.parametrize("name,reference,domain,dtype", UNARY_SAME_CASES,
                         ids=[f"{c[0]}-{c[3]}" for c in UNARY_SAME_CASES])
def test_unary_ops_keeping_dtype(name, reference, domain, dtype):
    for shape in SHAPES:
        x = _sample(dtype, shape, *domain)
        if name == "square" and dtype == "uint8":
            x = x % 16
        _check(getattr(ops, name)(x), reference(x), dtype)


def test_square_of_bool_is_int32_and_negative_of_bool_is_refused():
    _check(ops.square(np.array([True, False])), [1, 0], "int32")
    with pytest.raises(ValueError, match="bool"):
        ops.negative(np.array([True]))


# -- binary ops and promotion ---------------------------------------------------------

# (dtype of x1, dtype of x2 or a Python type for a weak scalar, Keras' result_type)
PROMOTION = [
    ("float32", "float32", "float32"),
    ("int32", "int32", "int32"),
    ("int32", "float32", "float32"),
    ("int8", "uint8", "int16"),
    ("float16", "int32", "float16"),
    ("float16", "float32", "float32"),
    ("bool", "int32", "int32"),
    ("bool", "bool", "bool"),
    ("uint8", int, "uint8"),
    ("int32", float, "float32"),
    ("float16", float, "float16"),
]


def _float_of(dtype):  # the float rule applied after promotion
    return dtype if dtype.startswith("float") else "float32"


BINARY = [  # name, numpy reference, result rule
    ("add", np.add, "promote"), ("subtract", np.subtract, "promote"),
    ("multiply", np.multiply, "promote"), ("divide", np.divide, "float"),
    ("true_divide", np.true_divide, "float"), ("divide_no_nan", np.divide, "float"),
    ("floor_divide", np.floor_divide, "promote"), ("mod", np.mod, "int_for_bool"),
    ("fmod", np.fmod, "int_for_bool"), ("power", np.power, "promote"),
    ("maximum", np.maximum, "promote"), ("minimum", np.minimum, "promote"),
    ("fmax", np.fmax, "promote"), ("fmin", np.fmin, "promote"),
    ("arctan2", np.arctan2, "float"), ("logaddexp", np.logaddexp, "float"),
    ("logaddexp2", np.logaddexp2, "float"), ("hypot", np.hypot, "float"),
    ("heaviside", np.heaviside, "float"),
    ("equal", np.equal, "bool"), ("not_equal", np.not_equal, "bool"),
    ("greater", np.greater, "bool"), ("greater_equal", np.greater_equal, "bool"),
    ("less", np.less, "bool"), ("less_equal", np.less_equal, "bool"),
    ("logical_and", np.logical_and, "bool"), ("logical_or", np.logical_or, "bool"),
    ("logical_xor", np.logical_xor, "bool"), ("isclose", np.isclose, "bool"),
]
BROADCASTS = [((2, 3), (3,)), ((0, 3), (3,)), ((), (2, 1)), ((4, 1), (1, 5))]


@pytest.mark.parametrize("name,reference,rule", BINARY, ids=[c[0] for c in BINARY])
@pytest.mark.parametrize("dtype1,dtype2,promoted", PROMOTION,
                         ids=[f"{a}-{getattr(b, '__name__', b)}" for a, b, _ in PROMOTION])
def test_binary_ops(name, reference, rule, dtype1, dtype2, promoted):
    expected_dtype = {"promote": promoted, "float": _float_of(promoted), "bool": "bool",
                      "int_for_bool": "int32" if promoted == "bool" else promoted}[rule]
    for shape1, shape2 in BROADCASTS:
        x1 = _sample(dtype1, shape1, 1, 5)
        if isinstance(dtype2, type):  # a weak Python scalar
            x2 = dtype2(2) if dtype2 is int else 1.5
        else:
            x2 = _sample(dtype2, shape2, 1, 5)
            if dtype2 == "bool":
                x2 = np.ones(shape2, bool)  # no division by zero
        if name == "subtract" and promoted == "bool":  # numpy and Keras refuse it too
            with pytest.raises(TypeError, match="subtract"):
                ops.subtract(x1, x2)
            continue
        with np.errstate(all="ignore"):
            expected = reference(x1.astype(np.float64), np.asarray(x2, np.float64))
        _check(getattr(ops, name)(x1, x2), expected, expected_dtype)


SIGNED_REMAINDERS = [("floor_divide", np.floor_divide), ("mod", np.mod), ("fmod", np.fmod)]


@pytest.mark.parametrize("name,reference", SIGNED_REMAINDERS, ids=[c[0] for c in SIGNED_REMAINDERS])
@pytest.mark.parametrize("dtype", ["int32", "float32"])
def test_division_remainders_follow_signs(name, reference, dtype):
    x1 = np.array([-7, 7, -7, 7, 6, -6, 0], dtype)
    x2 = np.array([2, 2, -2, -2, 3, 3, 5], dtype)
    _check(getattr(ops, name)(x1, x2), reference(x1, x2), dtype)
    _check(getattr(ops, name)(x1[:, None], x2), reference(x1[:, None], x2), dtype)


def test_divide_no_nan_gives_zero_for_zero_divisor():
    x1, x2 = np.array([1.0, -2.0, 0.0, 6.0], np.float32), np.array([0.0, 0.0, 0.0, 3.0], np.float32)
    _check(ops.divide_no_nan(x1, x2), [0.0, 0.0, 0.0, 2.0], "float32")
    _check(ops.divide(np.array([1, 2, 3]), np.array([2, 2, 2])), [0.5, 1.0, 1.5], "float32")


def test_fmax_fmin_ignore_nan_and_maximum_propagates_it():
    x1 = np.array([np.nan, 1.0, np.nan, 5.0], np.float32)
    x2 = np.array([2.0, np.nan, np.nan, 3.0], np.float32)
    for name in ("fmax", "fmin", "maximum", "minimum"):
        _check(getattr(ops, name)(x1, x2), getattr(np, name)(x1, x2), "float32")


def test_heaviside_at_negative_zero_positive_and_nan():
    x1 = np.array([-1.5, 0.0, 2.0, np.nan, 0.0], np.float32)
    x2 = np.array([0.5, 0.5, 0.5, 0.5, 7.0], np.float32)
    _check(ops.heaviside(x1, x2), np.heaviside(x1, x2), "float32")
    _check(ops.heaviside(np.array([-2, 0, 3]), np.array([1, 1, 1])), [0.0, 1.0, 1.0], "float32")


def test_hypot_does_not_overflow_and_is_infinite_with_an_infinite_side():
    x1 = np.array([3e30, 0.0, np.inf, 3.0, np.inf], np.float32)
    x2 = np.array([4e30, 0.0, 1.0, 4.0, np.nan], np.float32)
    _check(ops.hypot(x1, x2), np.hypot(x1, x2), "float32")


def test_logaddexp2_at_infinities_and_large_gaps():
    x1 = np.array([-np.inf, np.inf, 100.0, -100.0, 3.0], np.float32)
    x2 = np.array([-np.inf, np.inf, -100.0, 1.0, 3.0], np.float32)
    _check(ops.logaddexp2(x1, x2), np.logaddexp2(x1, x2), "float32")
    _check(ops.logaddexp(x1, x2), np.logaddexp(x1, x2), "float32")


def test_exp2_and_cbrt_are_exact_on_exact_values():
    _check(ops.exp2(np.array([10, -2], np.int32)), [1024.0, 0.25], "float32")
    _check(ops.cbrt(np.array([-27.0, 8.0, 0.0], np.float32)), [-3.0, 2.0, 0.0], "float32")


def test_sinc_and_i0_on_wide_ranges():
    x = np.linspace(-20, 20, 161).astype(np.float32)
    _check(ops.i0(x), np.i0(x.astype(np.float64)), "float32")
    _check(ops.sinc(np.array([0.0, 0.5, -1.5], np.float32)), np.sinc([0.0, 0.5, -1.5]),
           "float32")


# -- rounding, clipping, special values -----------------------------------------------

ROUND_CASES = [
    ("float32", [0.5, 1.5, 2.5, -0.5, 1.234, -5.678], 0),
    ("float32", [1.234, -5.678, 0.05, 2.25], 1),
    ("float32", [1234.5, -5678.0, 150.0], -2),
    ("int32", [1234, -5678, 1250, 1350], -2),
    ("int32", [12, -17, 25, 35], -1),
    ("int32", [12, -17], 2),
]


@pytest.mark.parametrize("dtype,values,decimals", ROUND_CASES)
def test_round_with_decimals_halves_to_even(dtype, values, decimals):
    x = np.array(values, dtype)
    result = ops.round(x, decimals)
    if dtype == "float32":  # scaled by 10**decimals in float32, as numpy does too
        _check(result, np.round(x, decimals), dtype)
    else:  # ints are rounded through a float: exact at these sizes
        _check(result, np.round(x.astype(np.float64), decimals).astype(np.int64), dtype)


CLIP_CASES = [  # values, dtype, x_min, x_max, expected dtype
    ([-3.0, 0.5, 7.0], "float32", -1.0, 2.0, "float32"),
    ([-3, 0, 7, 2], "int32", -1, 2, "int32"),
    ([1, 200, 50], "uint8", 10, 100, "uint8"),
    ([True, False], "bool", 0, 0, "int32"),
    ([-3.0, 0.5, 7.0], "float32", None, 2.0, "float32"),
    ([-3.0, 0.5, 7.0], "float32", 0.0, None, "float32"),
    ([[-3.0, 0.5, 7.0]], "float32", np.array([[-4.0], [0.0]]), 1.0, "float32"),
]


@pytest.mark.parametrize("values,dtype,x_min,x_max,expected_dtype", CLIP_CASES)
def test_clip_keeps_the_dtype(values, dtype, x_min, x_max, expected_dtype):
    x = np.array(values, dtype)
    expected = np.clip(x.astype(np.float64), x_min, x_max)
    _check(ops.clip(x, x_min, x_max), expected, expected_dtype)


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="x_min"):
        ops.clip(np.ones(2), None, None)


def test_nan_to_num_defaults_and_replacements():
    x = np.array([np.nan, np.inf, -np.inf, 1.5], np.float32)
    _check(ops.nan_to_num(x), np.nan_to_num(x), "float32")
    _check(ops.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-9.0),
           np.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-9.0), "float32")


SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.0, -np.nan], np.float32)
VALUE_TESTS = ["isfinite", "isinf", "isnan", "isneginf", "isposinf", "signbit", "isreal"]


@pytest.mark.parametrize("name", VALUE_TESTS)
def test_value_tests(name):
    reference = getattr(np, name)
    _check(getattr(ops, name)(SPECIALS), reference(SPECIALS), "bool")
    _check(getattr(ops, name)(SPECIALS.astype(np.float16)), reference(SPECIALS), "bool")
    ints = np.array([[-3, 0, 4]], np.int32)
    _check(getattr(ops, name)(ints), reference(ints), "bool")
    _check(getattr(ops, name)(np.array([True, False])), reference(np.array([True, False])),
           "bool")
    _check(getattr(ops, name)(np.zeros((0, 2), np.float32)), np.zeros((0, 2), bool), "bool")


def test_isclose_and_allclose():
    x1 = np.array([1.0, np.inf, np.nan, 1e-9, 1.0], np.float32)
    x2 = np.array([1.0 + 1e-6, np.inf, np.nan, 0.0, 1.1], np.float32)
    _check(ops.isclose(x1, x2), np.isclose(x1, x2), "bool")
    _check(ops.isclose(x1, x2, equal_nan=True), np.isclose(x1, x2, equal_nan=True), "bool")
    _check(ops.isclose(x1, x2, rtol=0.2), np.isclose(x1, x2, rtol=0.2), "bool")
    result = ops.allclose(x1[:2], x2[:2])
    assert result.shape == () and result.dtype == mx.bool_ and result.item()
    assert not ops.allclose(x1, x2).item()
    assert ops.allclose(x1, x2, rtol=0.2, atol=1e-8, equal_nan=True).item()


def test_complex_parts():
    z = np.array([1 + 2j, -3 - 0.5j, 0 + 0j, -2 + 0j], np.complex64)
    for name in ("real", "imag", "conj", "conjugate", "angle", "isreal", "abs"):
        expected = getattr(np, name)(z)
        dtype = "complex64" if name in ("conj", "conjugate") else (
            "bool" if name == "isreal" else "float32")
        result = getattr(ops, name)(mx.array(z))
        assert _name(result.dtype) == dtype, name
        np.testing.assert_allclose(np.array(result), expected, rtol=1e-6)


def test_angle_of_negative_reals_is_pi():
    _check(ops.angle(np.array([-2, 3, 0])), [math.pi, 0.0, 0.0], "float32")


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
