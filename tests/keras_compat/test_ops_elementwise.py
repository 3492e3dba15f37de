"""keras.ops' elementwise ops (ops/numpy_elementwise*.py) against numpy.

Expected dtypes come from the tables below, written from Keras' documented
rules (JAX-like promotion with weak Python scalars and 32-bit results; float
ops turn ints and bools into floatx; comparisons give bool), not from our
``result_type``.
"""

import math

import mlx.core as mx
import numpy as np
import pytest

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
