"""Initializers, activations, regularizers and constraints against numpy truth."""

import math

import mlx.core as mx
import numpy as np
import pytest

from mlxfunctional import activations, constraints, initializers, regularizers
from mlxfunctional.saving import registry

TRUNC_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


def np_(x):
    return np.array(x.astype(mx.float32) if x.dtype != mx.float32 else x)


# ---------------------------------------------------------------- initializers

@pytest.mark.parametrize("shape, fans", [
    ((), (1, 1)), ((7,), (7, 7)), ((300, 200), (300, 200)),
    ((3, 3, 16, 32), (144, 288)), ((5, 4, 6), (20, 30)), ((2, 3, 3, 8, 4), (144, 72)),
])
def test_compute_fans(shape, fans):
    assert initializers.compute_fans(shape) == fans


# (name, shape, variance, bound or None, distribution)
def _vs_cases():
    fi, fo = 3 * 3 * 64, 3 * 3 * 128
    return [
        ("glorot_uniform", (300, 200), 2 / 500, math.sqrt(6 / 500), "uniform"),
        ("glorot_normal", (300, 200), 2 / 500, 2 * math.sqrt(2 / 500) / TRUNC_STD, "trunc"),
        ("he_normal", (3, 3, 64, 128), 2 / fi, 2 * math.sqrt(2 / fi) / TRUNC_STD, "trunc"),
        ("he_uniform", (3, 3, 64, 128), 2 / fi, math.sqrt(6 / fi), "uniform"),
        ("lecun_normal", (400, 300), 1 / 400, 2 * math.sqrt(1 / 400) / TRUNC_STD, "trunc"),
        ("lecun_uniform", (400, 300), 1 / 400, math.sqrt(3 / 400), "uniform"),
        ("glorot_uniform", (3, 3, 64, 128), 2 / (fi + fo), math.sqrt(6 / (fi + fo)), "uniform"),
    ]


@pytest.mark.parametrize("name, shape, var, bound, dist", _vs_cases())
def test_variance_scaling_presets_statistics(name, shape, var, bound, dist):
    init = initializers.get(name)
    init.seed = 1234
    w = np_(init(shape))
    assert w.shape == shape and w.dtype == np.float32
    assert abs(w.mean()) < 4 * math.sqrt(var / w.size)
    assert w.var() == pytest.approx(var, rel=0.05)
    assert np.abs(w).max() <= bound * (1 + 1e-6)
    assert np.abs(w).max() >= 0.97 * bound  # the bound is reached, so it is the right one


def test_conv_shaped_fans_reach_initializers():
    # he_uniform on (3, 3, 16, 32): fan_in = 3*3*16 = 144; glorot: fan_out = 288.
    w = np_(initializers.HeUniform(seed=3)((3, 3, 16, 32)))
    assert np.abs(w).max() <= math.sqrt(6 / 144) and np.abs(w).max() > 0.97 * math.sqrt(6 / 144)
    w = np_(initializers.GlorotUniform(seed=3)((3, 3, 16, 32)))
    limit = math.sqrt(6 / (144 + 288))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.97 * limit


def test_variance_scaling_modes_and_untruncated():
    shape = (250, 400)
    for mode, n in [("fan_in", 250), ("fan_out", 400), ("fan_avg", 325)]:
        w = np_(initializers.VarianceScaling(3.0, mode, "untruncated_normal", seed=5)(shape))
        assert w.var() == pytest.approx(3.0 / n, rel=0.05)
    # Untruncated: about 4.6% of values lie beyond 2 stddev; truncated: none.
    w = np_(initializers.VarianceScaling(1.0, "fan_in", "untruncated_normal", seed=5)(shape))
    assert 0.03 < np.mean(np.abs(w) > 2 * math.sqrt(1 / 250)) < 0.06
    w = np_(initializers.VarianceScaling(1.0, "fan_in", "truncated_normal", seed=5)(shape))
    assert np.all(np.abs(w) <= 2 * math.sqrt(1 / 250) / TRUNC_STD + 1e-6)
    with pytest.raises(ValueError):
        initializers.VarianceScaling(mode="fan_x")
    with pytest.raises(ValueError):
        initializers.VarianceScaling(distribution="normalish")
    with pytest.raises(ValueError):
        initializers.VarianceScaling(scale=0.0)


def test_random_normal_uniform_truncated():
    w = np_(initializers.RandomNormal(mean=1.0, stddev=0.5, seed=2)((400, 300)))
    assert w.mean() == pytest.approx(1.0, abs=0.01) and w.std() == pytest.approx(0.5, rel=0.02)
    w = np_(initializers.RandomUniform(-2.0, 3.0, seed=2)((400, 300)))
    assert w.min() >= -2.0 and w.max() < 3.0 and w.mean() == pytest.approx(0.5, abs=0.02)
    assert w.var() == pytest.approx(25 / 12, rel=0.03)
    w = np_(initializers.TruncatedNormal(mean=0.5, stddev=0.1, seed=2)((400, 300)))
    assert w.min() >= 0.3 - 1e-6 and w.max() <= 0.7 + 1e-6
    assert w.std() == pytest.approx(0.1 * TRUNC_STD, rel=0.02)
    w = np_(initializers.RandomNormal(seed=1)((500, 400)))  # Keras defaults: 0, 0.05
    assert w.std() == pytest.approx(0.05, rel=0.02)


def test_constant_initializers_and_dtypes():
    np.testing.assert_array_equal(np_(initializers.Zeros()((2, 3))), np.zeros((2, 3)))
    np.testing.assert_array_equal(np_(initializers.Ones()((4,))), np.ones(4))
    np.testing.assert_array_equal(np_(initializers.Constant(2.5)((2, 2))), np.full((2, 2), 2.5))
    np.testing.assert_array_equal(np_(initializers.Constant([1.0, 2.0])((3, 2))),
                                  np.tile([1.0, 2.0], (3, 1)))
    assert initializers.Zeros()((2,)).dtype == mx.float32
    assert initializers.Ones()((2,), "float16").dtype == mx.float16
    assert initializers.Constant(3)((2,), mx.int32).dtype == mx.int32
    assert initializers.GlorotUniform(seed=1)((4, 4), "bfloat16").dtype == mx.bfloat16
    assert initializers.RandomNormal()((4, 4), mx.float16).dtype == mx.float16
    with pytest.raises(ValueError):
        initializers.GlorotUniform()((4, 4), "int32")
    with pytest.raises(ValueError):
        initializers.Ones()((2,), "float13")


def _orthogonal_truth(shape, seed, gain=1.0):
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    a = np.array(mx.random.normal((max(rows, cols), min(rows, cols)), key=mx.random.key(seed)))
    q, r = np.linalg.qr(a.astype(np.float64))
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return gain * q.reshape(shape)


@pytest.mark.parametrize("shape", [(64, 64), (100, 40), (40, 100), (3, 3, 4, 8)])
def test_orthogonal(shape):
    w = np_(initializers.Orthogonal(seed=11)(shape))
    assert w.shape == shape
    flat = w.reshape(-1, shape[-1])
    small = min(flat.shape)
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-5)
    np.testing.assert_allclose(w, _orthogonal_truth(shape, 11), atol=1e-4)
    w2 = np_(initializers.Orthogonal(gain=2.0, seed=11)(shape)).reshape(-1, shape[-1])
    np.testing.assert_allclose(w2, 2 * flat, atol=1e-5)
    with pytest.raises(ValueError):
        initializers.Orthogonal()((5,))


def test_identity():
    np.testing.assert_array_equal(np_(initializers.Identity()((3, 3))), np.eye(3))
    np.testing.assert_array_equal(np_(initializers.Identity(gain=2.0)((2, 4))), 2 * np.eye(2, 4))
    with pytest.raises(ValueError):
        initializers.Identity()((2, 2, 2))


RANDOM_INITS = [initializers.RandomNormal, initializers.RandomUniform,
                initializers.TruncatedNormal, initializers.VarianceScaling,
                initializers.GlorotUniform, initializers.GlorotNormal, initializers.HeNormal,
                initializers.HeUniform, initializers.LecunNormal, initializers.LecunUniform,
                initializers.Orthogonal]


@pytest.mark.parametrize("cls", RANDOM_INITS, ids=lambda c: c.__name__)
def test_seed_determinism(cls):
    a = np_(cls(seed=42)((8, 6)))
    np.testing.assert_array_equal(a, np_(cls(seed=42)((8, 6))))  # same seed, new instance
    init = cls(seed=42)
    np.testing.assert_array_equal(np_(init((8, 6))), np_(init((8, 6))))  # same instance twice
    assert not np.array_equal(a, np_(cls(seed=43)((8, 6))))
    unseeded = cls()
    assert not np.array_equal(np_(unseeded((8, 6))), np_(unseeded((8, 6))))
    with pytest.raises(ValueError):
        cls(seed="abc")


@pytest.mark.parametrize("init", [
    initializers.Zeros(), initializers.Ones(), initializers.Constant(0.7),
    initializers.RandomNormal(0.1, 0.2, seed=3), initializers.RandomUniform(-1, 2, seed=3),
    initializers.TruncatedNormal(0.5, 2.0, seed=3),
    initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=3),
    initializers.GlorotUniform(seed=3), initializers.GlorotNormal(seed=3),
    initializers.HeNormal(seed=3), initializers.HeUniform(seed=3),
    initializers.LecunNormal(seed=3), initializers.LecunUniform(seed=3),
    initializers.Orthogonal(gain=1.5, seed=3), initializers.Identity(gain=3.0),
], ids=lambda i: type(i).__name__)
def test_initializer_round_trip(init):
    config = initializers.serialize(init)
    assert set(config) == {"class_name", "config"}
    assert config["class_name"] == type(init).__name__
    again = initializers.deserialize(config)
    assert type(again) is type(init) and again.get_config() == init.get_config()
    assert initializers.get(config).get_config() == init.get_config()
    np.testing.assert_array_equal(np_(again((4, 4))), np_(init((4, 4))))
    assert initializers.get(init) is init
    assert init.clone().get_config() == init.get_config()


def test_initializer_get_names_and_configs():
    assert initializers.get(None) is None
    for name, cls in [("glorot_uniform", initializers.GlorotUniform),
                      ("GlorotUniform", initializers.GlorotUniform),
                      ("he_normal", initializers.HeNormal), ("zeros", initializers.Zeros),
                      ("ones", initializers.Ones), ("random_normal", initializers.RandomNormal),
                      ("orthogonal", initializers.Orthogonal),
                      ("Orthogonal", initializers.Orthogonal),
                      ("identity", initializers.Identity),
                      ("truncated_normal", initializers.TruncatedNormal),
                      ("variance_scaling", initializers.VarianceScaling)]:
        assert type(initializers.get(name)) is cls
    assert initializers.GlorotUniform(seed=7).get_config() == {"seed": 7}
    assert initializers.VarianceScaling().get_config() == {
        "scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal", "seed": None}
    assert initializers.serialize(initializers.HeNormal(seed=2)) == {
        "class_name": "HeNormal", "config": {"seed": 2}}
    keras3 = {"module": "keras.initializers", "class_name": "HeUniform",
              "config": {"seed": 9}, "registered_name": None}
    assert initializers.deserialize(keras3).get_config() == {"seed": 9}

    def my_init(shape, dtype=None):
        return mx.ones(shape)
    assert initializers.get(my_init) is my_init
    assert initializers.get(initializers.Ones) .__class__ is initializers.Ones


def test_unknown_names_raise_clear_errors():
    with pytest.raises(ValueError, match=r"glorot_uniforn.*glorot_uniform"):
        initializers.get("glorot_uniforn")
    with pytest.raises(ValueError, match=r"Unknown activation 'rellu'.*relu"):
        activations.get("rellu")
    with pytest.raises(ValueError, match="l1_l2"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="max_norm"):
        constraints.deserialize({"class_name": "MaxiNorm", "config": {}})
    with pytest.raises(ValueError):
        initializers.get(42)
    with pytest.raises(ValueError):
        activations.get(3.5)
    with pytest.raises(ValueError):  # a name not in any registry is never imported
        initializers.deserialize({"class_name": "os.system", "config": {}})
    # Another module's package class is not an initializer.
    fake = type("FakeLayerForTest", (), {"__module__": "mlxfunctional.layers.fake"})
    registry.register_builtin(fake)
    with pytest.raises(ValueError, match="FakeLayerForTest"):
        initializers.get("FakeLayerForTest")
    with pytest.raises(ValueError):
        activations.get("FakeLayerForTest")


def test_custom_objects_registered_and_passed():
    @registry.register_serializable(package="InitTest")
    class Halves(initializers.Initializer):
        def __init__(self, value=0.5):
            self.value = value

        def __call__(self, shape, dtype=None):
            return mx.full(tuple(shape), self.value)

        def get_config(self):
            return {"value": self.value}

    config = initializers.serialize(Halves(0.25))
    assert config == {"class_name": "InitTest>Halves", "config": {"value": 0.25}}
    assert initializers.get(config).value == 0.25
    assert isinstance(initializers.get("Halves"), Halves)

    @registry.register_serializable(package="InitTest")
    def cube(x):
        return x * x * x
    assert activations.serialize(cube) == "InitTest>cube"
    assert activations.get("InitTest>cube") is cube
    assert activations.deserialize("InitTest>cube") is cube

    def unregistered_act(x):
        return 2 * x
    with pytest.raises(ValueError, match="unregistered_act"):
        activations.deserialize("unregistered_act")
    assert activations.deserialize("unregistered_act",
                                   custom_objects={"unregistered_act": unregistered_act}) \
        is unregistered_act

    class Unreg(regularizers.Regularizer):
        def __init__(self, k=1.0):
            self.k = k

        def __call__(self, x):
            return self.k * mx.sum(x)

        def get_config(self):
            return {"k": self.k}
    cfg = regularizers.serialize(Unreg(3.0))
    with pytest.raises(ValueError):
        regularizers.deserialize(cfg)
    assert regularizers.deserialize(cfg, custom_objects={"Unreg": Unreg}).k == 3.0
    with registry.custom_object_scope({"Unreg": Unreg}):
        assert regularizers.deserialize(cfg).k == 3.0
    with pytest.raises(ValueError, match="lambda"):
        activations.serialize(lambda x: x)


# ----------------------------------------------------------------- activations

GRID = np.concatenate([np.linspace(-8, 8, 161), [-30.0, -3.0, 0.0, 3.0, 6.0, 30.0]])
GRID = GRID.astype(np.float32)
_erf = np.vectorize(math.erf)


def _np_softplus(x):
    return np.logaddexp(x, 0.0)


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805

ACTIVATION_TRUTH = {
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.minimum(np.maximum(x, 0), 6),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "sigmoid": _np_sigmoid,
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "log_sigmoid": lambda x: -_np_softplus(-x),
    "tanh": np.tanh,
    "linear": lambda x: x,
    "elu": lambda x: np.where(x > 0, x, np.exp(np.minimum(x, 0)) - 1),
    "selu": lambda x: SELU_S * np.where(x > 0, x, SELU_A * (np.exp(np.minimum(x, 0)) - 1)),
    "celu": lambda x: np.where(x > 0, x, np.exp(np.minimum(x, 0)) - 1),
    "softplus": _np_softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "silu": lambda x: x * _np_sigmoid(x),
    "swish": lambda x: x * _np_sigmoid(x),
    "hard_silu": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "hard_swish": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
    "exponential": np.exp,
    "mish": lambda x: x * np.tanh(_np_softplus(x)),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "soft_shrink": lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "squareplus": lambda x: (x + np.sqrt(x * x + 4)) / 2,
}


@pytest.mark.parametrize("name", sorted(ACTIVATION_TRUTH))
def test_activation_against_numpy(name):
    x64 = GRID.astype(np.float64)
    fn = activations.get(name)
    got = np_(fn(mx.array(GRID)))
    np.testing.assert_allclose(got, ACTIVATION_TRUTH[name](x64), rtol=2e-5, atol=2e-6)
    assert fn(mx.array(GRID, dtype=mx.float16)).dtype == mx.float16
    assert activations.deserialize(activations.serialize(fn)) is fn


def test_activation_arguments():
    x = mx.array(GRID)
    xn = GRID.astype(np.float64)
    np.testing.assert_allclose(np_(activations.gelu(x, approximate=True)),
                               0.5 * xn * (1 + np.tanh(np.sqrt(2 / np.pi)
                                                       * (xn + 0.044715 * xn ** 3))),
                               rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(np_(activations.elu(x, alpha=0.5)),
                               np.where(xn > 0, xn, 0.5 * np.expm1(np.minimum(xn, 0))),
                               rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(np_(activations.leaky_relu(x, negative_slope=0.01)),
                               np.where(xn >= 0, xn, 0.01 * xn), rtol=1e-6)
    np.testing.assert_allclose(np_(activations.celu(x, alpha=2.0)),
                               np.maximum(xn, 0) + 2 * np.minimum(0, np.exp(xn / 2) - 1),
                               rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("slope, max_value, threshold", [
    (0.0, None, 0.0), (0.0, 6.0, 0.0), (0.1, None, 0.0), (0.0, None, 1.5),
    (0.2, 4.0, 1.0), (0.0, 2.5, -1.0), (0.3, None, -2.0),
])
def test_relu_arguments(slope, max_value, threshold):
    xn = GRID.astype(np.float64)
    # Keras' documented formula: max_value above it, x above the threshold, else slope*(x - t).
    want = np.where(xn > threshold, xn, slope * (xn - threshold))
    if max_value is not None:
        want = np.where(xn >= max_value, max_value, want)
    got = np_(activations.relu(mx.array(GRID), slope, max_value, threshold))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_softmax_log_softmax_glu():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 5, 6)) * 10).astype(np.float32)
    for axis in (-1, 0, 1):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        want = e / e.sum(axis=axis, keepdims=True)
        np.testing.assert_allclose(np_(activations.softmax(mx.array(x), axis=axis)), want,
                                   rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(np_(activations.log_softmax(mx.array(x), axis=axis)),
                                   np.log(want + 1e-300), rtol=1e-4, atol=1e-4)
    a, b = x[..., :3], x[..., 3:]
    np.testing.assert_allclose(np_(activations.glu(mx.array(x))), a * _np_sigmoid(b),
                               rtol=1e-5, atol=1e-6)


def test_activation_get_serialize():
    assert activations.get(None) is activations.linear
    assert activations.get("relu") is activations.relu
    assert activations.get(activations.tanh) is activations.tanh
    assert activations.get("swish") is activations.silu
    assert activations.serialize(activations.swish) == "silu"
    assert activations.serialize(activations.hard_swish) == "hard_silu"
    assert activations.serialize(activations.relu) == "relu"
    keras3 = {"module": "keras.activations", "class_name": "function",
              "config": "gelu", "registered_name": "gelu"}
    assert activations.deserialize(keras3) is activations.gelu
    assert activations.get({"class_name": "function", "config": "mish"}) is activations.mish
    np.testing.assert_allclose(np_(activations.relu([-1.0, 2.0])), [0.0, 2.0])


# ---------------------------------------------------------------- regularizers

W = np.random.default_rng(1).standard_normal((7, 5)).astype(np.float32)


def _np_orthogonal_penalty(w, factor, mode):
    if mode == "columns":
        w = w.T
    w = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-7)
    p = w @ w.T
    n = p.shape[0]
    return factor * 0.5 * (np.abs(p).sum() - np.abs(np.diag(p)).sum()) / (n * (n - 1) / 2)


@pytest.mark.parametrize("reg, want", [
    (regularizers.L1(), 0.01 * np.abs(W).sum()),
    (regularizers.L1(0.3), 0.3 * np.abs(W).sum()),
    (regularizers.L2(), 0.01 * (W ** 2).sum()),
    (regularizers.L2(0.5), 0.5 * (W ** 2).sum()),
    (regularizers.L1L2(), 0.0),
    (regularizers.L1L2(l1=0.1, l2=0.2), 0.1 * np.abs(W).sum() + 0.2 * (W ** 2).sum()),
    (regularizers.l1_l2(l2=0.4), 0.4 * (W ** 2).sum()),
    (regularizers.OrthogonalRegularizer(), _np_orthogonal_penalty(W, 0.01, "rows")),
    (regularizers.OrthogonalRegularizer(0.5, "columns"), _np_orthogonal_penalty(W, 0.5, "columns")),
], ids=lambda v: repr(v) if isinstance(v, regularizers.Regularizer) else "")
def test_regularizer_values(reg, want):
    got = reg(mx.array(W))
    assert got.shape == ()
    assert float(got) == pytest.approx(float(want), rel=1e-5, abs=1e-7)
    again = regularizers.deserialize(regularizers.serialize(reg))
    assert type(again) is type(reg) and again.get_config() == reg.get_config()
    assert float(again(mx.array(W))) == pytest.approx(float(want), rel=1e-5, abs=1e-7)


def test_orthogonal_regularizer_is_zero_for_orthogonal_rows():
    q = np.linalg.qr(np.random.default_rng(2).standard_normal((6, 6)))[0].astype(np.float32)
    assert float(regularizers.OrthogonalRegularizer(1.0)(mx.array(q))) < 1e-6
    with pytest.raises(ValueError):
        regularizers.OrthogonalRegularizer()(mx.ones((2, 2, 2)))
    with pytest.raises(ValueError):
        regularizers.OrthogonalRegularizer(mode="diag")


def test_regularizer_get_and_validation():
    assert regularizers.get(None) is None
    assert type(regularizers.get("l1")) is regularizers.L1
    assert regularizers.get("l2").l2 == 0.01
    assert regularizers.get("L1L2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert type(regularizers.get("l1_l2")) is regularizers.L1L2
    assert type(regularizers.get("orthogonal_regularizer")) is regularizers.OrthogonalRegularizer
    assert regularizers.serialize(regularizers.L2(0.25)) == {
        "class_name": "L2", "config": {"l2": 0.25}}
    assert regularizers.get({"class_name": "L1", "config": {"l1": 0.2}}).l1 == 0.2
    for bad in (-0.1, float("nan"), None, "x"):
        with pytest.raises((ValueError, TypeError)):
            regularizers.L1(bad)


# ----------------------------------------------------------------- constraints

def _np_norms(w, axis):
    return np.sqrt((w.astype(np.float64) ** 2).sum(axis=axis, keepdims=True))


CW = (np.random.default_rng(3).standard_normal((6, 4)) * np.array([0.1, 1.0, 3.0, 10.0]))
CW = CW.astype(np.float32)
KW = np.random.default_rng(4).standard_normal((3, 3, 2, 4)).astype(np.float32)


@pytest.mark.parametrize("w, axis", [(CW, 0), (CW, 1), (KW, [0, 1, 2]), (KW, -1)])
def test_constraints_against_numpy(w, axis):
    ax = tuple(axis) if isinstance(axis, list) else axis
    n = _np_norms(w, ax)
    eps = 1e-7
    cases = [
        (constraints.MaxNorm(2.0, axis=axis), w * np.clip(n, 0, 2.0) / (eps + n)),
        (constraints.UnitNorm(axis=axis), w / (eps + n)),
        (constraints.MinMaxNorm(0.5, 1.5, rate=1.0, axis=axis),
         w * np.clip(n, 0.5, 1.5) / (eps + n)),
        (constraints.MinMaxNorm(0.5, 1.5, rate=0.25, axis=axis),
         w * (0.25 * np.clip(n, 0.5, 1.5) + 0.75 * n) / (eps + n)),
        (constraints.NonNeg(), w * (w >= 0)),
    ]
    for c, want in cases:
        got = np_(c(mx.array(w)))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=repr(c))
        again = constraints.deserialize(constraints.serialize(c))
        assert type(again) is type(c) and again.get_config() == c.get_config()
    # MaxNorm leaves slices already within the bound untouched; UnitNorm gives unit norms.
    got = np_(constraints.MaxNorm(1e6, axis=axis)(mx.array(w)))
    np.testing.assert_allclose(got, w, rtol=1e-5)
    np.testing.assert_allclose(_np_norms(np_(constraints.UnitNorm(axis)(mx.array(w))), ax), 1.0,
                               rtol=1e-5)


def test_constraint_get_and_defaults():
    assert constraints.get(None) is None
    assert constraints.get("max_norm").get_config() == {"max_value": 2, "axis": 0}
    assert type(constraints.get("MaxNorm")) is constraints.MaxNorm
    assert type(constraints.get("non_neg")) is constraints.NonNeg
    assert type(constraints.get("unit_norm")) is constraints.UnitNorm
    assert constraints.get("min_max_norm").get_config() == {
        "min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}
    assert constraints.serialize(constraints.UnitNorm(axis=[0, 1])) == {
        "class_name": "UnitNorm", "config": {"axis": [0, 1]}}
    c = constraints.NonNeg()
    assert constraints.get(c) is c
    w = mx.array(CW)
    assert constraints.Constraint()(w) is w
