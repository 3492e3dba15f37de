"""keras.ops.nn against independent numpy/scipy references and Keras' documented rules.

References are written out here from the definitions (scipy.special for erf and
the logistic function); convolutions reuse tests/_conv_reference.py (direct
convolution loops, scatter-add transposed convolution). Expected dtypes come
from a table of Keras-on-JAX's rules, not from ``result_type``.
"""

import itertools
import pathlib

import mlx.core as mx
import numpy as np
import pytest
from scipy import special

from mlxfunctional import ops
from tests._conv_reference import ref_conv, ref_conv_transpose, ref_depthwise, ref_separable

RNG = np.random.default_rng(1234)
API = pathlib.Path(__file__).parent / "keras_api"


def rand(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def close(actual, expected, rtol=1e-5, atol=1e-5):
    actual = np.array(actual)
    assert actual.shape == np.shape(expected), (actual.shape, np.shape(expected))
    np.testing.assert_allclose(actual.astype(np.float64), expected, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------- namespace

# Ops of Keras 3.15's keras.ops.nn that cannot exist on MLX: none. (Partial: ctc_decode's
# strategy="beam_search" raises NotImplementedError, tested below; sparse=True of one_hot
# and multi_hot is an error, MLX having no sparse tensors.)
IMPOSSIBLE = {}


def test_every_keras_nn_op_exists():
    names = (API / "ops_nn.txt").read_text().split()
    assert len(names) == 55
    for name in names:
        if name in IMPOSSIBLE:
            continue
        assert callable(getattr(ops.nn, name)), name
        assert getattr(ops, name) is getattr(ops.nn, name), name
        assert name in ops.nn.__all__, name


# --------------------------------------------------------------------------- activations

SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805


def np_softplus(x):
    return np.logaddexp(x, 0)


ELEMENTWISE = {  # op -> (numpy reference, kwargs)
    "relu": (lambda x: np.maximum(x, 0), {}),
    "relu6": (lambda x: np.minimum(np.maximum(x, 0), 6), {}),
    "hard_tanh": (lambda x: np.clip(x, -1, 1), {}),
    "sigmoid": (special.expit, {}),
    "sparse_sigmoid": (lambda x: np.where(x <= -1, 0, np.where(x >= 1, 1, (x + 1) / 2)), {}),
    "softplus": (np_softplus, {}),
    "softsign": (lambda x: x / (1 + np.abs(x)), {}),
    "soft_shrink": (lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.7, 0), {"threshold": 0.7}),
    "sparse_plus": (lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)), {}),
    "silu": (lambda x: x * special.expit(x), {}),
    "swish": (lambda x: x * special.expit(x), {}),
    "squareplus": (lambda x: (x + np.sqrt(x * x + 3)) / 2, {"b": 3}),
    "log_sigmoid": (lambda x: np.log(special.expit(x)), {}),
    "leaky_relu": (lambda x: np.where(x > 0, x, 0.1 * x), {"negative_slope": 0.1}),
    "hard_sigmoid": (lambda x: np.clip(x / 6 + 0.5, 0, 1), {}),
    "hard_silu": (lambda x: x * np.clip(x / 6 + 0.5, 0, 1), {}),
    "hard_swish": (lambda x: x * np.clip(x / 6 + 0.5, 0, 1), {}),
    "elu": (lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1)), {"alpha": 0.5}),
    "selu": (lambda x: SELU_S * np.where(x > 0, x, SELU_A * (np.exp(x) - 1)), {}),
    "gelu": (lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
             {}),
    "celu": (lambda x: np.maximum(x, 0) + 2 * np.minimum(0, np.exp(x / 2) - 1), {"alpha": 2.0}),
    "tanh_shrink": (lambda x: x - np.tanh(x), {}),
    "hard_shrink": (lambda x: np.where(np.abs(x) > 0.3, x, 0), {"threshold": 0.3}),
    "threshold": (lambda x: np.where(x > 0.2, x, -5.0), {"threshold": 0.2, "default_value": -5.0}),
}
# Keras-on-JAX keeps integer inputs integer for the clipping ops only.
INT_STAYS_INT = {"relu", "relu6", "hard_tanh"}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@pytest.mark.parametrize("shape", [(), (0,), (7,), (2, 3, 4)])
def test_elementwise_activation_float32(name, shape):
    ref, kwargs = ELEMENTWISE[name]
    x = rand(*shape, scale=3.0)
    y = getattr(ops, name)(x, **kwargs)
    assert y.dtype == mx.float32
    close(y, ref(x.astype(np.float64)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_activation_int_and_half(name):
    ref, kwargs = ELEMENTWISE[name]
    x = np.arange(-8, 9, dtype=np.int32)
    y = getattr(ops, name)(x, **kwargs)
    assert y.dtype == (mx.int32 if name in INT_STAYS_INT else mx.float32)
    close(y, ref(x.astype(np.float64)), rtol=1e-5, atol=1e-6)
    half = getattr(ops, name)(mx.array(rand(5), dtype=mx.float16), **kwargs)
    assert half.dtype == mx.float16


def test_gelu_exact_and_python_list():
    x = rand(11, scale=3.0)
    close(ops.gelu(x, approximate=False), 0.5 * x * (1 + special.erf(x / np.sqrt(2))),
          atol=1e-6)
    close(ops.relu([[-1.0, 2.0]]), [[0.0, 2.0]])


def np_softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 0, 1, (0, 2), (-1, -2)])
def test_softmax_family(axis):
    x = rand(2, 3, 4, scale=2.0)
    close(ops.softmax(x, axis=axis), np_softmax(x.astype(np.float64), axis))
    close(ops.log_softmax(x, axis=axis), np.log(np_softmax(x.astype(np.float64), axis)),
          atol=1e-5)


def test_softmax_int_input_size_one_warning_and_bad_axis():
    assert ops.softmax(np.array([1, 2, 3], np.int32)).dtype == mx.float32
    with pytest.warns(UserWarning, match="size 1"):
        ops.softmax(np.ones((3, 1), np.float32))
    with pytest.raises(ValueError, match="softmax: axis 3"):
        ops.softmax(np.ones((3, 2), np.float32), axis=3)


def np_sparsemax(z):
    """Projection onto the simplex by bisection on tau: sum(max(z - tau, 0)) = 1."""
    lo, hi = z.min() - 1, z.max()
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.maximum(z - mid, 0).sum() > 1 else (lo, mid)
    return np.maximum(z - (lo + hi) / 2, 0)


@pytest.mark.parametrize("axis", [-1, 0])
def test_sparsemax_is_the_simplex_projection(axis):
    x = rand(4, 5, scale=0.6)
    expected = np.apply_along_axis(np_sparsemax, axis, x.astype(np.float64))
    y = np.array(ops.sparsemax(x, axis=axis))
    close(y, expected, atol=1e-5)
    np.testing.assert_allclose(y.sum(axis=axis), 1.0, atol=1e-5)
    # Keras' documented example: one dominant entry takes everything.
    close(ops.sparsemax(np.array([-0.5, 0, 1, 2, 3], np.float32)), [0, 0, 0, 0, 1])


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_glu(axis):
    x = rand(4, 6, 2)
    a, b = np.split(x.astype(np.float64), 2, axis=axis)
    close(ops.glu(x, axis=axis), a * special.expit(b))
    with pytest.raises(ValueError, match="glu: the size of axis"):
        ops.glu(rand(3, 5))


# --------------------------------------------------------------------------- convolutions

CONV_CASES = [  # (input shape, kernel shape, strides, padding, dilation)
    ((2, 9, 3), (3, 3, 4), 1, "valid", 1),
    ((2, 9, 3), (4, 3, 2), 2, "same", 1),
    ((1, 7, 8, 2), (3, 3, 2, 5), 1, "same", 1),
    ((1, 8, 8, 2), (3, 2, 2, 3), (2, 1), "same", 1),
    ((1, 9, 9, 3), (3, 3, 3, 2), 1, "valid", (2, 1)),
    ((1, 5, 6, 4), (3, 3, 2, 6), 1, "same", 1),  # groups = 4 / 2
    ((1, 5, 4, 6, 2), (2, 3, 2, 2, 3), (1, 2, 2), "same", 1),
]


@pytest.mark.parametrize("xs, ks, strides, padding, dilation", CONV_CASES)
def test_conv(xs, ks, strides, padding, dilation):
    x, k = rand(*xs), rand(*ks)
    groups = xs[-1] // ks[-2]
    expected = ref_conv(x.astype(np.float64), k.astype(np.float64), strides, padding,
                        dilation, groups)
    close(ops.conv(x, k, strides, padding, dilation_rate=dilation), expected, atol=1e-4)
    # channels_first: the same numbers with the channel axis moved to 1.
    y = ops.conv(np.moveaxis(x, -1, 1), k, strides, padding.upper(), "channels_first", dilation)
    close(y, np.moveaxis(expected, -1, 1), atol=1e-4)


def test_conv_errors_and_dtype():
    with pytest.raises(ValueError, match="conv: the number of input channels"):
        ops.conv(rand(1, 5, 3), rand(2, 2, 4))
    with pytest.raises(ValueError, match="conv: `kernel` must have rank 3"):
        ops.conv(rand(1, 5, 3), rand(2, 3, 3, 4))
    with pytest.raises(ValueError, match="conv: the output would be empty"):
        ops.conv(rand(1, 2, 3), rand(3, 3, 4))
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        ops.conv(rand(1, 5, 3), rand(2, 3, 4), padding="full")
    # The input takes the kernel's dtype (Keras on JAX).
    y = ops.conv(np.ones((1, 4, 2), np.int32), mx.array(rand(2, 2, 3), dtype=mx.float16))
    assert y.dtype == mx.float16
    # Integer convolutions stay integer (MLX convolves floats: exact for small sums).
    xi, ki = RNG.integers(-50, 50, (1, 6, 6, 2)), RNG.integers(-50, 50, (3, 3, 2, 2))
    for op, args in ((ops.conv, (xi, ki)), (ops.depthwise_conv, (xi, ki)),
                     (ops.conv_transpose, (xi, ki))):
        y = op(*(a.astype(np.int32) for a in args))
        assert y.dtype == mx.int32
        close(y, np.array(op(*(a.astype(np.float32) for a in args))), atol=0)


@pytest.mark.parametrize("xs, ks, strides, padding, dilation", [
    ((2, 8, 3), (3, 3, 2), 1, "same", 1),
    ((1, 7, 6, 2), (3, 3, 2, 3), 2, "same", 1),
    ((1, 7, 7, 3), (2, 3, 3, 1), 1, "valid", 2),
])
def test_depthwise_and_separable_conv(xs, ks, strides, padding, dilation):
    x, k = rand(*xs), rand(*ks)
    expected = ref_depthwise(x.astype(np.float64), k.astype(np.float64), strides, padding,
                             dilation)
    close(ops.depthwise_conv(x, k, strides, padding, dilation_rate=dilation), expected,
          atol=1e-4)
    pw = rand(*((1,) * (len(xs) - 2) + (ks[-2] * ks[-1], 4)))
    expected = ref_separable(x.astype(np.float64), k.astype(np.float64),
                             pw.astype(np.float64), strides, padding, dilation)
    close(ops.separable_conv(x, k, pw, strides, padding, dilation_rate=dilation), expected,
          atol=1e-4)
    y = ops.separable_conv(np.moveaxis(x, -1, 1), k, pw, strides, padding, "channels_first",
                           dilation)
    close(y, np.moveaxis(expected, -1, 1), atol=1e-4)


@pytest.mark.parametrize("xs, ks, strides, padding, output_padding, dilation", [
    ((2, 5, 3), (3, 4, 3), 2, "valid", None, 1),
    ((2, 5, 3), (4, 2, 3), 2, "same", None, 1),
    ((1, 4, 3, 2), (3, 3, 3, 2), (2, 3), "same", None, 1),
    ((1, 4, 3, 2), (3, 2, 3, 2), 2, "valid", 1, 1),
    ((1, 4, 4, 2), (2, 2, 3, 2), 1, "same", None, 2),
])
def test_conv_transpose(xs, ks, strides, padding, output_padding, dilation):
    x, k = rand(*xs), rand(*ks)
    expected = ref_conv_transpose(x.astype(np.float64), k.astype(np.float64), strides,
                                  padding, output_padding, dilation)
    y = ops.conv_transpose(x, k, strides, padding, output_padding, dilation_rate=dilation)
    close(y, expected, atol=1e-4)
    y = ops.conv_transpose(np.moveaxis(x, -1, 1), k, strides, padding, output_padding,
                           "channels_first", dilation)
    close(y, np.moveaxis(expected, -1, 1), atol=1e-4)


# --------------------------------------------------------------------------- poolings

def np_pool(x, pool, strides, padding, mode):
    """Windows written out: TF "same" pads max((ceil(n/s)-1)*s + k - n, 0), extra at the end;
    padded cells never count (max ignores them, average divides by the real cells)."""
    rank = x.ndim - 2
    out, lo = [], []
    for n, k, s in zip(x.shape[1:-1], pool, strides):
        if padding == "valid":
            out.append((n - k) // s + 1)
            lo.append(0)
        else:
            o = -(-n // s)
            out.append(o)
            lo.append(max((o - 1) * s + k - n, 0) // 2)
    y = np.zeros((x.shape[0], *out, x.shape[-1]))
    for idx in itertools.product(*[range(o) for o in out]):
        sl = tuple(slice(max(i * s - p, 0), min(i * s - p + k, n))
                   for i, s, p, k, n in zip(idx, strides, lo, pool, x.shape[1:-1]))
        window = x[(slice(None),) + sl].reshape(x.shape[0], -1, x.shape[-1])
        y[(slice(None),) + idx] = window.max(1) if mode == "max" else window.mean(1)
    assert rank == len(out)
    return y


POOL_CASES = [  # (shape, pool_size, strides, padding)
    ((2, 9, 3), 3, None, "valid"),
    ((2, 9, 3), 2, 1, "same"),
    ((1, 7, 8, 2), (3, 2), (2, 2), "same"),
    ((1, 6, 6, 2), 2, None, "valid"),
    ((1, 5, 4, 6, 2), 2, (1, 2, 3), "same"),
]


@pytest.mark.parametrize("shape, pool, strides, padding", POOL_CASES)
@pytest.mark.parametrize("mode", ["max", "average"])
def test_pool(shape, pool, strides, padding, mode):
    x = rand(*shape)
    rank = len(shape) - 2
    p = (pool,) * rank if isinstance(pool, int) else pool
    s = p if strides is None else ((strides,) * rank if isinstance(strides, int) else strides)
    expected = np_pool(x.astype(np.float64), p, s, padding, mode)
    op = ops.max_pool if mode == "max" else ops.average_pool
    close(op(x, pool, strides, padding), expected)
    y = op(np.moveaxis(x, -1, 1), pool, strides, padding, data_format="channels_first")
    close(y, np.moveaxis(expected, -1, 1))


def test_pool_int_input_and_errors():
    x = np.arange(16, dtype=np.int32).reshape(1, 4, 4, 1)
    y = ops.max_pool(x, 2)
    assert y.dtype == mx.int32
    close(y, [[[[5], [7]], [[13], [15]]]])
    with pytest.raises(ValueError, match="max_pool: with padding='valid'"):
        ops.max_pool(x, 5)
    with pytest.raises(ValueError, match="rank 3, 4 or 5"):
        ops.average_pool(np.ones((4, 4), np.float32), 2)


def np_adaptive(x, out_size, mode):
    """Cell i of an axis of n cells covers [floor(i n / out), ceil((i + 1) n / out))."""
    spatial = x.shape[1:-1]
    y = np.zeros((x.shape[0], *out_size, x.shape[-1]))
    for idx in itertools.product(*[range(o) for o in out_size]):
        sl = tuple(slice(i * n // o, -(-(i + 1) * n // o)) for i, n, o in
                   zip(idx, spatial, out_size))
        w = x[(slice(None),) + sl].reshape(x.shape[0], -1, x.shape[-1])
        y[(slice(None),) + idx] = w.max(1) if mode == "max" else w.mean(1)
    return y


@pytest.mark.parametrize("shape, out", [((2, 10, 3), 4), ((1, 7, 9, 2), (3, 4)),
                                        ((1, 5, 6, 8, 1), (2, 3, 5)), ((1, 4, 4, 2), 4),
                                        ((1, 3, 5, 1), (5, 2))])
def test_adaptive_pools(shape, out):
    x = rand(*shape)
    o = (out,) * (len(shape) - 2) if isinstance(out, int) else out
    for mode, op in (("max", ops.adaptive_max_pool), ("average", ops.adaptive_average_pool)):
        expected = np_adaptive(x.astype(np.float64), o, mode)
        close(op(x, out), expected)
        close(op(np.moveaxis(x, -1, 1), out, data_format="channels_first"),
              np.moveaxis(expected, -1, 1))


# --------------------------------------------------------------------------- patches, blocks

def np_unfold(x, k, d, p, s):
    n, c, h, w = x.shape
    xp = np.pad(x, [(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])])
    oh = (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    cols = np.zeros((n, c * k[0] * k[1], oh * ow))
    for ci, i, j, a, b in itertools.product(range(c), range(k[0]), range(k[1]), range(oh),
                                            range(ow)):
        cols[:, (ci * k[0] + i) * k[1] + j, a * ow + b] = xp[:, ci, a * s[0] + i * d[0],
                                                             b * s[1] + j * d[1]]
    return cols


@pytest.mark.parametrize("shape, k, d, p, s", [
    ((2, 3, 5, 6), (2, 3), (1, 1), (0, 0), (1, 1)),
    ((1, 2, 7, 7), (3, 3), (2, 1), (1, 2), (2, 3)),
])
def test_unfold_and_fold_are_adjoint(shape, k, d, p, s):
    x = rand(*shape)
    cols = np_unfold(x.astype(np.float64), k, d, p, s)
    close(ops.unfold(x, k, d, p, s), cols, atol=1e-6)
    # fold is unfold's adjoint: <unfold(x), c> == <x, fold(c)> for every x and c.
    c = rand(*cols.shape)
    folded = np.array(ops.fold(c, shape[2:], k, d, p, s), np.float64)
    assert folded.shape == shape
    np.testing.assert_allclose((cols * c).sum(), (x * folded).sum(), rtol=1e-4)
    # and on a 0/1 basis it counts how many patches cover each cell
    ones = np.array(ops.fold(np.ones(cols.shape, np.float32), shape[2:], k, d, p, s))
    cover = np_unfold(np.ones(shape), k, d, p, s).sum(axis=(1, 2)) / shape[1]
    assert ones.sum() == pytest.approx(cover.sum() * shape[1])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_depth_to_space_and_back(data_format):
    b, c = 2, 3
    x = rand(2, 3, 4, b * b * c)
    if data_format == "channels_first":
        x = np.moveaxis(x, -1, 1)
    y = np.array(ops.depth_to_space(x, b, data_format))
    xl = x if data_format == "channels_last" else np.moveaxis(x, 1, -1)
    yl = y if data_format == "channels_last" else np.moveaxis(y, 1, -1)
    assert yl.shape == (2, 6, 8, c)
    for h, w, i, j, k in itertools.product(range(3), range(4), range(b), range(b), range(c)):
        ch = (i * b + j) * c + k if data_format == "channels_last" else (k * b + i) * b + j
        assert yl[:, h * b + i, w * b + j, k].tolist() == xl[:, h, w, ch].tolist()
    close(ops.space_to_depth(y, b, data_format), x)
    with pytest.raises(ValueError, match="block_size"):
        ops.depth_to_space(x, 1, data_format)
