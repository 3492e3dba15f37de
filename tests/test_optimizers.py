"""Optimizer update rules against float64 numpy references written from Keras 3's
documented rules (tests/_optimizer_reference.py): every optimizer and its variants,
the common arguments (weight decay, clipping, loss scaling), schedules and callables
as learning rates, gradient accumulation, EMA, state round trips, and a compiled
training step.

Learning-rate schedules are in test_optimizers_schedules.py; configs and identifiers
in test_optimizers_config.py.
"""

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest

import mlxfunctional as keras
from _optimizer_reference import GRADS, RNG, W0, assert_close, reference, run, run_from
from mlxfunctional import optimizers, schedules


# ------------------------------------------------------------------------ rules
VARIANTS = [
    ("SGD", {}), ("SGD", {"momentum": 0.9}), ("SGD", {"momentum": 0.8, "nesterov": True}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.5}),
    ("RMSprop", {}), ("RMSprop", {"momentum": 0.9}), ("RMSprop", {"centered": True}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "rho": 0.8, "learning_rate": 0.01}),
    ("Adam", {}), ("Adam", {"amsgrad": True}), ("Adam", {"learning_rate": 0.1, "beta_1": 0.5,
                                                          "beta_2": 0.9, "epsilon": 1e-3}),
    ("AdamW", {}), ("AdamW", {"weight_decay": 0.5, "learning_rate": 0.1, "amsgrad": True}),
    ("Nadam", {}), ("Nadam", {"learning_rate": 0.1, "beta_1": 0.8, "beta_2": 0.95}),
    ("Adamax", {}), ("Adamax", {"learning_rate": 0.1, "beta_1": 0.7, "beta_2": 0.9}),
    ("Adagrad", {}), ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 1.0}),
    ("Adadelta", {}), ("Adadelta", {"learning_rate": 1.0, "rho": 0.9}),
    ("Lion", {}), ("Lion", {"learning_rate": 0.1, "beta_1": 0.5, "beta_2": 0.9}),
]


@pytest.mark.parametrize("name,kwargs", VARIANTS, ids=[f"{n}-{k}" for n, k in VARIANTS])
def test_update_rule_matches_keras(name, kwargs):
    got = run(getattr(optimizers, name)(**kwargs), GRADS)
    assert_close(got, reference(name, GRADS, **kwargs))
    # The weights must move well beyond the tolerance, or the comparison proves nothing.
    assert np.abs(got[0] - W0[0]).max() > 5 * 1e-6


COMMON = [
    {"weight_decay": 0.1, "learning_rate": 0.05},
    {"clipnorm": 0.5}, {"global_clipnorm": 1.0}, {"clipvalue": 0.3},
    {"loss_scale_factor": 8.0},
    {"clipnorm": 0.5, "weight_decay": 0.2, "learning_rate": 0.1},
]


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Lion", "Nadam"])
@pytest.mark.parametrize("common", COMMON, ids=lambda c: "-".join(c))
def test_common_arguments(name, common):
    kwargs = dict(common, **({"momentum": 0.9} if name == "SGD" else {}))
    got = run(getattr(optimizers, name)(**kwargs), GRADS)
    assert_close(got, reference(name, GRADS, **kwargs))


def test_clipping_really_clips():
    # Gradients of norm ~5: each clip option must change the result.
    plain = run(optimizers.SGD(0.1), GRADS[:2])
    for kwargs in ({"clipnorm": 0.5}, {"global_clipnorm": 0.5}, {"clipvalue": 0.1}):
        assert not np.allclose(run(optimizers.SGD(0.1, **kwargs), GRADS[:2])[0], plain[0])


def test_zero_gradient_with_clipnorm_stays_finite():
    zeros = [[np.zeros_like(w) for w in W0]]
    for kwargs in ({"clipnorm": 1.0}, {"global_clipnorm": 1.0}):
        assert_close(run(optimizers.SGD(0.1, **kwargs), zeros), W0)


def test_schedule_and_weight_decay_use_step_before_increment():
    sched = schedules.PiecewiseConstantDecay([0, 2], [0.5, 0.1, 0.02])
    opt = optimizers.Adam(learning_rate=sched, weight_decay=0.3)
    got = run(opt, GRADS)
    want = reference("Adam", GRADS, learning_rate=lambda s: 0.5 if s <= 0 else
                     (0.1 if s <= 2 else 0.02), weight_decay=0.3)
    assert_close(got, want)
    assert opt.iterations == 5
    assert float(opt.learning_rate) == pytest.approx(0.02)


def test_callable_learning_rates():
    # A one-argument callable gets the step; Keras' zero-argument form is called bare.
    got = run(optimizers.SGD(lambda step: 0.1 / (step + 1)), GRADS[:3])
    assert_close(got, reference("SGD", GRADS[:3], learning_rate=lambda s: 0.1 / (s + 1)))
    got = run(optimizers.SGD(lambda: 0.2), GRADS[:2])
    assert_close(got, reference("SGD", GRADS[:2], learning_rate=0.2))


def test_exclude_from_weight_decay():
    opt = optimizers.SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    got = run(opt, GRADS[:2])
    with_decay = reference("SGD", GRADS[:2], learning_rate=0.1, weight_decay=0.5)
    without = reference("SGD", GRADS[:2], learning_rate=0.1)
    assert_close(got, [with_decay[0], without[1]])
    opt = optimizers.SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_list=["kernel"])
    assert_close(run(opt, GRADS[:2]), [without[0], with_decay[1]])
    with pytest.raises(ValueError, match="before"):
        opt.exclude_from_weight_decay(var_names=["x"])


def test_gradient_accumulation():
    opt = optimizers.Adam(0.1, gradient_accumulation_steps=2)
    got = run(opt, GRADS[:4])
    means = [[(a + b) / 2 for a, b in zip(GRADS[i], GRADS[i + 1])] for i in (0, 2)]
    assert_close(got, reference("Adam", means, learning_rate=0.1))
    assert opt.iterations == 2
    # Adam hardly sees the 1/2 of the mean; momentum SGD does.
    opt = optimizers.SGD(0.1, momentum=0.9, gradient_accumulation_steps=2)
    assert_close(run(opt, GRADS[:4]), reference("SGD", means, learning_rate=0.1, momentum=0.9))
    # After an odd number of calls the weights hold still.
    assert_close(run(optimizers.SGD(0.1, gradient_accumulation_steps=2), GRADS[:1]), W0)


def test_ema_and_finalize():
    opt = optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5)
    params = {"kernel": mx.array(W0[0]), "bias": mx.array(W0[1])}
    average = None
    for i, grads in enumerate(GRADS[:3]):
        params = opt.apply_gradients({"kernel": mx.array(grads[0]),
                                      "bias": mx.array(grads[1])}, params)
        w = np.array(params["kernel"], dtype=np.float64)
        average = w if i == 0 else 0.5 * average + 0.5 * w
    final = opt.finalize_variable_values(params)
    np.testing.assert_allclose(np.array(final["kernel"]), average, rtol=1e-5)
    # ema_overwrite_frequency=2 writes the average into the weights every other step.
    opt = optimizers.SGD(0.1, use_ema=True, ema_overwrite_frequency=2)
    w = [x.astype(np.float64) for x in W0]
    for i, grads in enumerate(GRADS[:4]):
        w = [x - 0.1 * g for x, g in zip(w, grads)]
        average = w if i == 0 else [0.99 * a + 0.01 * x for a, x in zip(average, w)]
        w = average if i % 2 == 1 else w
    assert_close(run(opt, GRADS[:4]), w)


def test_state_round_trip_keeps_the_captured_dict():
    from mlx.utils import tree_flatten, tree_unflatten

    opt = optimizers.Nadam(0.1)
    captured = opt.state
    params = run(opt, GRADS[:2])
    saved = tree_flatten(opt.state)  # what a checkpoint would hold
    first = run_from(opt, params, GRADS[2:4])
    opt.state = tree_unflatten(saved)
    assert opt.state is captured and opt.iterations == 2
    assert_close(run_from(opt, params, GRADS[2:4]), first)
    assert_close(first, reference("Nadam", GRADS[:4], learning_rate=0.1))


def test_update_model_and_scale_loss():
    x = keras.Input((3,))
    model = keras.Model(x, keras.layers.Dense(2)(x))
    kernel = np.array(model.trainable_parameters()["dense"]["kernel"])
    opt = optimizers.get("sgd")
    grads = {"dense": {"kernel": mx.ones((3, 2)), "bias": mx.ones((2,))}}
    opt.update(model, grads)  # mlx.optimizers.Optimizer.update
    np.testing.assert_allclose(np.array(model.layers[1].kernel), kernel - 0.01, rtol=1e-6)
    assert optimizers.Adam(loss_scale_factor=4.0).scale_loss(2.0) == 8.0


# --------------------------------------------------------------------- compile
def test_compiled_step_learning_rate_and_counter():
    def build():
        x = keras.Input((3,))
        return keras.Model(x, keras.layers.Dense(2, name="d")(x))

    model, twin = build(), build()
    twin.update(model.parameters())
    X = mx.array(RNG.normal(size=(8, 3)).astype(np.float32))
    Y = mx.array(RNG.normal(size=(8, 2)).astype(np.float32))

    def make_step(m, opt, traces):
        grad_fn = nn.value_and_grad(m, lambda a, b: mx.mean((m(a) - b) ** 2))

        def step(a, b):
            traces.append(1)  # Python side effect: runs only when tracing
            loss, grads = grad_fn(a, b)
            opt.update(m, grads)
            return loss
        return step

    opt, eager_opt = optimizers.Adam(0.05), optimizers.Adam(0.05)
    opt.init(model.trainable_parameters())
    traces = []
    state = [model.state, opt.state]
    compiled = mx.compile(make_step(model, opt, traces), inputs=state, outputs=state)
    eager = make_step(twin, eager_opt, [])
    for _ in range(3):
        compiled(X, Y)
        eager(X, Y)
    assert opt.iterations == 3  # the counter advances under compile
    np.testing.assert_allclose(np.array(model.layers[1].kernel),
                               np.array(twin.layers[1].kernel), rtol=1e-5, atol=1e-6)
    opt.learning_rate = 0.0  # must reach the compiled graph through `state`
    before = np.array(model.layers[1].kernel)
    compiled(X, Y)
    np.testing.assert_array_equal(np.array(model.layers[1].kernel), before)
    opt.learning_rate = 0.05
    compiled(X, Y)
    assert not np.allclose(np.array(model.layers[1].kernel), before)
    assert len(traces) == 1 and opt.iterations == 5

    # A schedule evaluated inside the graph: rate 0 from step 2 on.
    sched_model = build()
    sched_opt = optimizers.SGD(schedules.PiecewiseConstantDecay([1], [0.1, 0.0]))
    sched_opt.init(sched_model.trainable_parameters())
    state = [sched_model.state, sched_opt.state]
    compiled = mx.compile(make_step(sched_model, sched_opt, []), inputs=state, outputs=state)
    kernels = []
    for _ in range(4):
        compiled(X, Y)
        kernels.append(np.array(sched_model.layers[1].kernel))
    assert not np.allclose(kernels[0], kernels[1])
    np.testing.assert_array_equal(kernels[1], kernels[3])
    assert float(sched_opt.state["learning_rate"]) == 0.0
