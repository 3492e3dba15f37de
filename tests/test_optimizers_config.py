"""Optimizer configs and identifiers: serialize/deserialize round trips, Keras'
defaults, custom schedules and registered custom optimizers, optimizers.get, and
argument validation."""

import mlx.core as mx
import numpy as np
import pytest

from _optimizer_reference import GRADS, W0, assert_close, run
from mlxfunctional import optimizers, schedules
from mlxfunctional import registry


# ------------------------------------------------------- config and identifiers
CONFIGS = [
    optimizers.SGD(0.1, momentum=0.9, nesterov=True, clipnorm=1.0, name="s"),
    optimizers.RMSprop(0.01, rho=0.8, momentum=0.1, epsilon=1e-6, centered=True),
    optimizers.Adam(0.002, beta_1=0.8, amsgrad=True, weight_decay=0.01),
    optimizers.AdamW(weight_decay=0.1, global_clipnorm=2.0),
    optimizers.Nadam(beta_2=0.99, clipvalue=0.5),
    optimizers.Adamax(epsilon=1e-5), optimizers.Adagrad(initial_accumulator_value=0.5),
    optimizers.Adadelta(rho=0.9), optimizers.Lion(beta_2=0.9, use_ema=True),
    optimizers.Adam(schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=5)),
]


@pytest.mark.parametrize("opt", CONFIGS, ids=lambda o: type(o).__name__)
def test_config_round_trip(opt):
    config = optimizers.serialize(opt)
    assert config["class_name"] == type(opt).__name__
    clone = optimizers.deserialize(config)
    assert type(clone) is type(opt) and clone.get_config() == opt.get_config()
    again = type(opt).from_config(opt.get_config())
    assert again.get_config() == opt.get_config()


def test_keras_defaults():
    assert optimizers.SGD().get_config()["learning_rate"] == 0.01
    cfg = optimizers.RMSprop().get_config()
    assert (cfg["rho"], cfg["epsilon"], cfg["name"]) == (0.9, 1e-7, "rmsprop")
    assert optimizers.AdamW().get_config()["weight_decay"] == 0.004
    assert optimizers.Adagrad().get_config()["initial_accumulator_value"] == 0.1
    assert optimizers.Adadelta().get_config()["rho"] == 0.95
    assert optimizers.Lion().get_config()["beta_2"] == 0.99


def test_custom_schedule_through_custom_objects():
    class Halving(schedules.LearningRateSchedule):
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, step):
            return self.rate * mx.power(0.5, step.astype(mx.float32))

        def get_config(self):
            return {"rate": self.rate}

    config = optimizers.serialize(optimizers.SGD(Halving(0.4)))
    with pytest.raises(ValueError, match="Unknown"):
        optimizers.deserialize(config)
    clone = optimizers.deserialize(config, custom_objects={"Halving": Halving})
    assert float(clone.learning_rate) == pytest.approx(0.4)


@pytest.mark.parametrize("name,cls", [("adam", optimizers.Adam), ("sgd", optimizers.SGD),
                                      ("rmsprop", optimizers.RMSprop), ("RMSprop", optimizers.RMSprop),
                                      ("adamw", optimizers.AdamW), ("Nadam", optimizers.Nadam),
                                      ("adamax", optimizers.Adamax), ("adagrad", optimizers.Adagrad),
                                      ("adadelta", optimizers.Adadelta), ("lion", optimizers.Lion),
                                      ("ADAM", optimizers.Adam)])  # case-insensitive, as Keras
def test_get_by_name(name, cls):
    assert type(optimizers.get(name)) is cls


def test_get_other_identifiers():
    opt = optimizers.Adam()
    assert optimizers.get(opt) is opt
    assert type(optimizers.get(optimizers.SGD)) is optimizers.SGD
    got = optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.5}})
    assert float(got.learning_rate) == 0.5
    assert optimizers.get(None) is None
    for bad in ("nope", "Dense", 3, lambda: 0):
        with pytest.raises(ValueError):
            optimizers.get(bad)
    assert optimizers.schedules is schedules


def test_registered_custom_optimizer():
    @registry.register_serializable(package="OptTest")
    class Sign(optimizers.Optimizer):
        def __init__(self, learning_rate=0.1, **kwargs):
            super().__init__(learning_rate=learning_rate, **kwargs)

        def update_step(self, gradient, variable, learning_rate, slots, t):
            return variable - learning_rate * mx.sign(gradient)

    clone = optimizers.deserialize(optimizers.serialize(Sign(0.25)))
    assert type(clone) is Sign and float(clone.learning_rate) == 0.25
    assert_close(run(clone, GRADS[:1]), [w - 0.25 * np.sign(g) for w, g in zip(W0, GRADS[0])])


def test_validation_and_learning_rate_setter():
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, global_clipnorm=1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Lion(beta_1=0.0)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(foo=1)
    with pytest.warns(UserWarning, match="decay"):
        optimizers.Adam(decay=0.1)
    opt = optimizers.SGD(schedules.ExponentialDecay(0.1, 1, 0.5))
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.3
    opt = optimizers.SGD(0.1)
    opt.learning_rate = 0.3
    assert float(opt.learning_rate) == pytest.approx(0.3)
    assert opt.state["learning_rate"].dtype == mx.float32
    opt.iterations = 7
    assert opt.iterations == 7
    opt.learning_rate = schedules.ExponentialDecay(0.1, 1, 0.5)  # a schedule may replace it
    assert float(opt.learning_rate) == pytest.approx(0.1 * 0.5 ** 7)
