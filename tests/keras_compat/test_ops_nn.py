"""keras.ops.nn against independent numpy/scipy references and Keras' documented rules.

References are written out here from the definitions (scipy.special for erf and
the logistic function); convolutions reuse tests/_conv_reference.py (direct
convolution loops, scatter-add transposed convolution). Expected dtypes come
from a table of Keras-on-JAX's rules, not from ``result_type``.
"""

import itertools
import pathlib
import warnings

import mlx.core as mx
import numpy as np
import pytest
from scipy import special

import mlxfunctional as keras
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


# --------------------------------------------------------------------------- losses, labels

def test_binary_crossentropy():
    t = RNG.integers(0, 2, (3, 4)).astype(np.float32)
    logits = rand(3, 4, scale=3.0)
    p = special.expit(logits.astype(np.float64))
    ref = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    close(ops.binary_crossentropy(t, logits, from_logits=True), ref, atol=1e-5)
    close(ops.binary_crossentropy(t, p.astype(np.float32)), ref, atol=1e-4)
    # probabilities are clipped to [1e-7, 1 - 1e-7]
    close(ops.binary_crossentropy([1.0], [0.0]), [-np.log(1e-7)], rtol=1e-4)
    with pytest.raises(ValueError, match="same shape"):
        ops.binary_crossentropy(t, logits[:, :3])


@pytest.mark.parametrize("axis", [-1, 0])
def test_categorical_crossentropy(axis):
    logits = rand(3, 5, scale=2.0)
    t = np_softmax(rand(3, 5).astype(np.float64), axis)
    logp = np.log(np_softmax(logits.astype(np.float64), axis))
    close(ops.categorical_crossentropy(t, logits, from_logits=True, axis=axis),
          -(t * logp).sum(axis), atol=1e-5)
    probs = np.abs(rand(3, 5)) + 0.1  # not normalized: Keras renormalizes over `axis`
    q = probs / probs.sum(axis=axis, keepdims=True)
    close(ops.categorical_crossentropy(t, probs, axis=axis), -(t * np.log(q)).sum(axis),
          atol=1e-5)


def test_sparse_categorical_crossentropy_and_out_of_range_labels():
    logits = rand(4, 5, scale=2.0)
    labels = np.array([0, 4, 2, 1], np.int32)
    logp = np.log(np_softmax(logits.astype(np.float64), -1))
    ref = -logp[np.arange(4), labels]
    close(ops.sparse_categorical_crossentropy(labels, logits, from_logits=True), ref,
          atol=1e-5)
    close(ops.sparse_categorical_crossentropy(labels[:, None], logits, from_logits=True), ref,
          atol=1e-5)
    # A label outside [0, 5) is an error eagerly and a NaN loss (as Keras on JAX) in a
    # compiled function; it never reads memory.
    bad = np.array([5, -1, 1000000, 2], np.int32)
    with pytest.raises(IndexError, match="label 5 is out of range; valid labels are 0 to 4"):
        ops.sparse_categorical_crossentropy(bad, logits, from_logits=True)
    compiled = mx.compile(lambda t, o: ops.sparse_categorical_crossentropy(t, o, True))
    close(compiled(mx.array(bad), mx.array(logits[:4])),
          [np.nan, np.nan, np.nan, -logp[3, 2]], atol=1e-5)
    with pytest.raises(ValueError, match="without its class axis"):
        ops.sparse_categorical_crossentropy(labels[:3], logits)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot(axis):
    x = np.array([[0, 3], [2, 7]], np.int32)  # 7 is out of range for 4 classes
    ref = (x[..., None] == np.arange(4)).astype(np.float32)
    ref = np.moveaxis(ref, -1, axis)
    y = ops.one_hot(x, 4, axis=axis)
    assert y.dtype == mx.float32
    close(y, ref)
    assert ops.one_hot(np.array([-1, 1]), 3, dtype="int32").tolist() == [[0, 0, 0], [0, 1, 0]]
    assert ops.one_hot(np.zeros((0,), np.int32), 3).shape == (0, 3)
    with pytest.raises(ValueError, match="sparse"):
        ops.one_hot(x, 4, sparse=True)


def test_multi_hot():
    x = np.array([[0, 2, 2], [1, 3, 9]], np.int32)
    assert ops.multi_hot(x, 4).tolist() == [[1, 0, 1, 0], [0, 1, 0, 1]]
    assert ops.multi_hot(np.array([3, 0]), num_tokens=5, dtype="int32").tolist() == \
        [1, 0, 0, 1, 0]
    with pytest.raises(ValueError, match="num_classes"):
        ops.multi_hot(x)


def test_psnr():
    a, b = np.abs(rand(2, 8, 8, 3)), np.abs(rand(2, 8, 8, 3))
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    close(ops.psnr(a, b, 1.0), 20 * np.log10(1.0) - 10 * np.log10(mse), rtol=1e-5)
    close(ops.psnr(a, b, 255.0), 20 * np.log10(255.0) - 10 * np.log10(mse), rtol=1e-5)
    with pytest.raises(ValueError, match="must match"):
        ops.psnr(a, b[:1], 1.0)


# --------------------------------------------------------------------------- CTC

def collapse(path, blank):
    out, prev = [], None
    for c in path:
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return out


def brute_ctc(logits, label, blank):
    """-log of the summed probability of every alignment collapsing to ``label``."""
    p = np_softmax(logits.astype(np.float64), -1)
    total = 0.0
    for path in itertools.product(range(p.shape[1]), repeat=p.shape[0]):
        if collapse(path, blank) == list(label):
            total += np.prod([p[t, c] for t, c in enumerate(path)])
    return -np.log(total)


@pytest.mark.parametrize("blank", [0, 3])
def test_ctc_loss_against_enumerated_alignments(blank):
    classes, steps = 4, 5
    labels = [1, 1], [2, 1, 0] if blank == 3 else [2, 1, 3], [2], []
    output_lengths = [5, 4, 3, 5]
    batch = len(labels)
    logits = rand(batch, steps, classes)
    target = np.full((batch, 3), 2, np.int32)  # padding past each length must not matter
    for b, lab in enumerate(labels):
        target[b, :len(lab)] = lab
    loss = ops.ctc_loss(target, logits, [len(lab) for lab in labels], output_lengths,
                        mask_index=blank)
    expected = [brute_ctc(logits[b, :output_lengths[b]], labels[b], blank)
                for b in range(batch)]
    close(loss, expected, rtol=1e-4, atol=1e-4)


def test_ctc_loss_compiles_and_has_gradients():
    logits = mx.array(rand(2, 6, 5))
    target, tl, ol = mx.array([[1, 2, 2], [3, 0, 0]]), mx.array([3, 1]), mx.array([6, 4])

    def total(x):
        return mx.sum(ops.ctc_loss(target, x, tl, ol))

    eager, grad = mx.value_and_grad(total)(logits)
    compiled = mx.compile(mx.value_and_grad(total))(logits)
    close(compiled[0], float(eager), rtol=1e-6)
    close(compiled[1], np.array(grad), atol=1e-6)
    g = np.array(grad)
    assert np.isfinite(g).all()
    # d loss / d logits = softmax - (posterior occupancy): each step's row sums to 0,
    # and steps past the output length get no gradient.
    np.testing.assert_allclose(g.sum(-1), 0, atol=1e-5)
    assert np.abs(g[1, 4:]).max() == 0


def np_greedy(scores, length, merge, blank):
    best = scores[:length].argmax(-1)
    out, prev = [], None
    for c in best:
        if not (merge and c == prev) and c != blank:
            out.append(int(c))
        prev = c
    return out, -scores[:length].max(-1).sum()


@pytest.mark.parametrize("merge", [True, False])
def test_ctc_decode_greedy(merge):
    scores = np.array([[[0, 9, 0, 0], [0, 9, 0, 0], [9, 0, 0, 0], [0, 9, 0, 0],
                        [0, 0, 0, 9], [0, 0, 9, 0]]], np.float32)
    scores = np.concatenate([scores, rand(2, 6, 4)], axis=0)
    lengths = np.array([6, 4, 6], np.int32)
    decoded, log_probs = ops.ctc_decode(scores, lengths, merge_repeated=merge)
    assert decoded.shape == (1, 3, 6) and log_probs.shape == (3, 1)
    for b in range(3):
        labels, score = np_greedy(scores[b].astype(np.float64), lengths[b], merge, 0)
        assert np.array(decoded[0, b]).tolist() == labels + [-1] * (6 - len(labels))
        close(log_probs[b], [score], rtol=1e-5)
    assert np.array(decoded[0, 0]).tolist()[:4] == ([1, 1, 3, 2] if merge else [1, 1, 1, 3])


def test_ctc_decode_beam_search_finds_the_most_probable_labelings():
    """With beams enough to keep every prefix, the search is exact: the best labelings
    and their log-probabilities summed over all alignments (enumerated here)."""
    logits = rand(2, 4, 3, scale=1.5)
    lengths = np.array([4, 3], np.int32)
    decoded, scores = ops.ctc_decode(logits, lengths, strategy="beam_search", beam_width=50,
                                     top_paths=2)
    assert decoded.shape == (2, 2, 4) and scores.shape == (2, 2)
    for b in range(2):
        p = np_softmax(logits[b, :lengths[b]].astype(np.float64), -1)
        totals = {}
        for path in itertools.product(range(3), repeat=int(lengths[b])):
            key = tuple(collapse(path, 0))
            totals[key] = totals.get(key, 0) + np.prod([p[t, c] for t, c in enumerate(path)])
        best = sorted(totals.items(), key=lambda kv: -kv[1])[:2]
        for i, (labels, prob) in enumerate(best):
            row = np.array(decoded[i, b]).tolist()
            assert row == list(labels) + [-1] * (4 - len(labels))
            close(scores[b, i], np.log(prob), rtol=1e-5)
    with pytest.raises(ValueError, match="eagerly only"):
        mx.compile(lambda x: ops.ctc_decode(x, mx.array(lengths), strategy="beam_search")[1])(
            mx.array(logits))


# --------------------------------------------------------------------------- normalization

@pytest.mark.parametrize("axes, keepdims", [([0], False), ((0, 2), True), ([-1], False),
                                            ([0, 1, 2], False)])
def test_moments(axes, keepdims):
    x = rand(3, 4, 5) + 2
    mean, var = ops.moments(x, axes, keepdims=keepdims)
    ax = tuple(axes)
    close(mean, x.astype(np.float64).mean(ax, keepdims=keepdims))
    close(var, x.astype(np.float64).var(ax, keepdims=keepdims))
    smean, svar = ops.moments(x, axes, keepdims=keepdims, synchronized=True)
    close(smean, np.array(mean))
    close(svar, np.array(var), atol=1e-5)


def test_moments_dtypes():
    mean, var = ops.moments(np.arange(6, dtype=np.int32), [0])
    assert mean.dtype == mx.float32 and float(mean) == 2.5 and float(var) == pytest.approx(35 / 12)
    half = mx.array(rand(8) * 100, dtype=mx.float16)
    mean, var = ops.moments(half, [0])
    assert mean.dtype == var.dtype == mx.float16


def test_batch_normalization():
    x = rand(4, 3, 5)
    mean, var = rand(3), np.abs(rand(3)) + 0.5
    offset, scale = rand(3), rand(3)
    shape = (1, 3, 1)
    ref = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + 1e-3) * scale.reshape(shape) \
        + offset.reshape(shape)
    close(ops.batch_normalization(x, mean, var, axis=1, offset=offset, scale=scale), ref,
          atol=1e-5)
    ref = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + 0.5)
    close(ops.batch_normalization(x, mean, var, 1, epsilon=0.5), ref, atol=1e-5)
    with pytest.raises(ValueError, match="must have 5 values"):
        ops.batch_normalization(x, mean, var, axis=-1)


@pytest.mark.parametrize("axis", [-1, [1, 2], 0])
def test_layer_and_rms_normalization(axis):
    x = rand(3, 4, 5) * 3 + 1
    ax = tuple(axis) if isinstance(axis, list) else (axis,)
    pshape = [x.shape[a] if a % 3 in [b % 3 for b in ax] else 1 for a in range(3)]
    gamma, beta = rand(*pshape), rand(*pshape)
    x64 = x.astype(np.float64)
    normed = (x64 - x64.mean(ax, keepdims=True)) / np.sqrt(x64.var(ax, keepdims=True) + 1e-7)
    close(ops.layer_normalization(x, gamma, beta, axis=axis), normed * gamma + beta, atol=1e-5)
    close(ops.layer_normalization(x, axis=axis, epsilon=0.1),
          (x64 - x64.mean(ax, keepdims=True)) / np.sqrt(x64.var(ax, keepdims=True) + 0.1),
          atol=1e-5)
    rms = x64 / np.sqrt((x64 ** 2).mean(ax, keepdims=True) + 1e-7)
    close(ops.rms_normalization(x, gamma, axis=axis), rms * gamma, atol=1e-5)
    # gamma given flat for the last axis (Keras reshapes only when needed)
    if axis == -1:
        close(ops.layer_normalization(x, gamma.reshape(-1), beta.reshape(-1)),
              normed * gamma + beta, atol=1e-5)
    half = ops.layer_normalization(mx.array(x, dtype=mx.float16), axis=axis)
    assert half.dtype == mx.float16


@pytest.mark.parametrize("order", [1, 2, 3])
def test_normalize(order):
    x = rand(3, 4)
    x[1] = 0  # a zero vector stays zero
    norm = np.linalg.norm(x.astype(np.float64), ord=order, axis=-1, keepdims=True)
    close(ops.normalize(x, order=order), x / np.maximum(norm, 1e-7), atol=1e-6)
    close(ops.normalize(x, axis=0, order=order),
          x / np.maximum(np.linalg.norm(x.astype(np.float64), ord=order, axis=0,
                                        keepdims=True), 1e-7), atol=1e-6)
    with pytest.raises(ValueError, match="order"):
        ops.normalize(x, order=0)


def test_polar():
    r, theta = np.abs(rand(5)), rand(5, scale=3.0)
    z = ops.polar(r, theta)
    assert z.dtype == mx.complex64
    np.testing.assert_allclose(np.array(z), r * np.exp(1j * theta.astype(np.float64)),
                               atol=1e-6)


# --------------------------------------------------------------------------- attention

def np_attention(q, k, v, bias=None, mask=None, scale=None, causal=False, cap=None):
    """softmax(scale Q K^T + bias, masked) V on (batch, seq, heads, dim) arrays."""
    q, k, v = (np.asarray(t, np.float64) for t in (q, k, v))
    group = q.shape[2] // k.shape[2]
    k, v = np.repeat(k, group, axis=2), np.repeat(v, group, axis=2)
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    logits = np.einsum("btnh,bsnh->bnts", q, k) * scale
    if cap is not None:
        logits = cap * np.tanh(logits / cap)
    if bias is not None:
        logits = logits + bias
    keep = np.ones(logits.shape, bool)
    if mask is not None:
        keep &= np.broadcast_to(mask, logits.shape)
    if causal:
        keep &= np.tril(np.ones(logits.shape[-2:], bool))
    logits = np.where(keep, logits, -1e30)
    return np.einsum("bnts,bsnh->btnh", np_softmax(logits, -1), v)


@pytest.mark.parametrize("flash", [None, False])
@pytest.mark.parametrize("case", ["plain", "scale", "bias", "mask", "causal", "causal_rect",
                                  "gqa", "all", "soft_cap"])
def test_dot_product_attention(case, flash):
    b, t, s, n, h = 2, 4, 6 if case == "causal_rect" else 4, 4, 8
    kv_heads = 2 if case in ("gqa", "all") else n
    q, k, v = rand(b, t, n, h), rand(b, s, kv_heads, h), rand(b, s, kv_heads, h)
    kwargs = {}
    if case in ("scale", "all"):
        kwargs["scale"] = 0.3
    if case in ("bias", "all"):
        kwargs["bias"] = rand(1, n, t, s)
    if case in ("mask", "all"):
        kwargs["mask"] = RNG.random((b, 1, t, s)) > 0.3
        kwargs["mask"][..., 0] = True  # no fully masked row here (tested below)
    if case in ("causal", "causal_rect", "all"):
        kwargs["is_causal"] = True
    if case == "soft_cap":
        kwargs["attn_logits_soft_cap"] = 1.5
    y = ops.dot_product_attention(q, k, v, flash_attention=flash, **kwargs)
    assert y.shape == (b, t, n, h) and y.dtype == mx.float32
    ref = np_attention(q, k, v, kwargs.get("bias"), kwargs.get("mask"), kwargs.get("scale"),
                       kwargs.get("is_causal", False), kwargs.get("attn_logits_soft_cap"))
    close(y, ref, atol=1e-5)


def test_dot_product_attention_fully_masked_row_and_errors():
    q, k, v = rand(1, 2, 1, 4), rand(1, 3, 1, 4), rand(1, 3, 1, 4)
    mask = np.array([[[[True, True, False], [False, False, False]]]])
    y = np.array(ops.dot_product_attention(q, k, v, mask=mask))
    # Keras fills masked scores with -0.7 * max: a fully masked row averages the values.
    np.testing.assert_allclose(y[0, 1, 0], v[0, :, 0].mean(0), atol=1e-5)
    with pytest.raises(ValueError, match="4D"):
        ops.dot_product_attention(q[0], k[0], v[0])
    with pytest.raises(ValueError, match="kv_heads dividing"):
        ops.dot_product_attention(rand(1, 2, 3, 4), rand(1, 3, 2, 4), rand(1, 3, 2, 4))


# --------------------------------------------------------------------------- graphs

def test_ops_in_a_functional_model_run_and_round_trip():
    kernel = rand(3, 3, 2, 4)
    inputs = keras.Input((6, 6, 2))
    x = ops.conv(inputs, kernel, padding="same")
    x = ops.relu(x)
    x = ops.max_pool(x, 2)
    x = ops.layer_normalization(x, axis=-1)
    outputs = ops.softmax(ops.gelu(x), axis=-1)
    model = keras.Model(inputs, outputs)

    data = rand(2, 6, 6, 2)
    eager = ops.softmax(ops.gelu(ops.layer_normalization(
        ops.max_pool(ops.relu(ops.conv(data, kernel, padding="same")), 2))))
    close(model(data), np.array(eager), atol=1e-6)
    clone = keras.Model.from_config(model.get_config())
    close(clone(data), np.array(eager), atol=1e-6)


def test_loss_ops_on_symbolic_tensors():
    logits_in = keras.Input((5,))
    labels_in = keras.Input((), dtype="int32")
    loss = ops.sparse_categorical_crossentropy(labels_in, logits_in, from_logits=True)
    hot = ops.one_hot(labels_in, 5)
    model = keras.Model([labels_in, logits_in], [loss, hot])
    logits, labels = rand(3, 5), np.array([0, 4, 2], np.int32)
    out = keras.Model.from_config(model.get_config())([labels, logits])
    close(out[0], np.array(ops.sparse_categorical_crossentropy(labels, logits, True)),
          atol=1e-6)
    close(out[1], np.eye(5)[labels])


def test_ops_inside_a_compiled_step_keep_gradients():
    x, kernel = mx.array(rand(2, 5, 5, 3)), mx.array(rand(3, 3, 3, 2))

    def loss(kernel):
        y = ops.average_pool(ops.silu(ops.conv(x, kernel, padding="same")), 2, padding="same")
        return mx.sum(ops.dot_product_attention(y.reshape(2, 9, 1, 2), y.reshape(2, 9, 1, 2),
                                                y.reshape(2, 9, 1, 2)) ** 2)

    eager = mx.value_and_grad(loss)(kernel)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled = mx.compile(mx.value_and_grad(loss))(kernel)
    close(compiled[0], float(eager[0]), rtol=1e-5)
    close(compiled[1], np.array(eager[1]), rtol=1e-4, atol=1e-5)
    assert np.abs(np.array(eager[1])).sum() > 0


@pytest.mark.parametrize("call, shape", [
    (lambda: ops.conv(np.zeros((0, 5, 3), np.float32), rand(2, 3, 4)), (0, 4, 4)),
    (lambda: ops.conv_transpose(np.zeros((0, 5, 3), np.float32), rand(2, 4, 3)), (0, 6, 4)),
    (lambda: ops.average_pool(np.zeros((0, 4, 4, 1), np.float32), 2, padding="same"),
     (0, 2, 2, 1)),
    (lambda: ops.adaptive_max_pool(np.zeros((0, 5, 3), np.float32), 2), (0, 2, 3)),
    (lambda: ops.sparsemax(np.zeros((0, 3), np.float32)), (0, 3)),
    (lambda: ops.sparse_categorical_crossentropy(np.zeros((0,)), np.zeros((0, 3))), (0,)),
    (lambda: ops.dot_product_attention(*[np.zeros((0, 2, 1, 4), np.float32)] * 3),
     (0, 2, 1, 4)),
    (lambda: ops.ctc_loss(np.zeros((0, 2)), np.zeros((0, 3, 4)), np.zeros(0), np.zeros(0)),
     (0,)),
    (lambda: ops.ctc_decode(np.zeros((0, 3, 4)), np.zeros(0))[0], (1, 0, 3)),
])
def test_empty_batches(call, shape):
    assert call().shape == shape

