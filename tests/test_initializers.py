"""Initializers against numpy truth: fans, variance-scaling statistics and bounds,
random, constant, orthogonal and identity initializers, seeds, config round trips and
names; plus unknown names and custom objects across the initializer, activation,
regularizer and constraint registries.

Activations are in test_activations.py; regularizers and constraints in
test_regularizers_constraints.py.
"""

import math

import mlx.core as mx
import numpy as np
import pytest

from _as_numpy import np_
from mlxfunctional import activations, constraints, initializers, regularizers
from mlxfunctional import registry

TRUNC_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


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
