"""Optimizers and learning-rate schedules against float64 numpy references written
from Keras 3's documented update rules and schedule formulas."""

import math

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import optimizers, schedules
from mlxfunctional.saving import registry

RNG = np.random.default_rng(0)
W0 = [RNG.normal(size=(3, 2)).astype(np.float32), RNG.normal(size=(4,)).astype(np.float32)]
GRADS = [[RNG.normal(size=w.shape).astype(np.float32) * 2 for w in W0] for _ in range(5)]


# ----------------------------------------------------------------- numpy reference
def _sgd(w, g, s, lr, t, momentum=0.0, nesterov=False, **_):
    if momentum == 0:
        return w - lr * g
    s["m"] = momentum * s.get("m", 0.0) - lr * g
    return w + (momentum * s["m"] - lr * g if nesterov else s["m"])


def _rmsprop(w, g, s, lr, t, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **_):
    s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
    if centered:
        s["a"] = rho * s.get("a", 0.0) + (1 - rho) * g
        step = lr * g / np.sqrt(s["v"] - s["a"] ** 2 + epsilon)
    else:
        step = lr * g / np.sqrt(s["v"] + epsilon)
    if momentum > 0:
        s["mom"] = momentum * s.get("mom", 0.0) + step
        step = s["mom"]
    return w - step


def _adam(w, g, s, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **_):
    s["m"] = beta_1 * s.get("m", 0.0) + (1 - beta_1) * g
    s["v"] = beta_2 * s.get("v", 0.0) + (1 - beta_2) * g * g
    v = s["v"]
    if amsgrad:
        v = s["vhat"] = np.maximum(s.get("vhat", 0.0), s["v"])
    alpha = lr * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    return w - alpha * s["m"] / (np.sqrt(v) + epsilon)


def _nadam(w, g, s, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7, u_prod=None, **_):
    mu_t = beta_1 * (1 - 0.5 * 0.96 ** t)
    mu_next = beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
    s["m"] = beta_1 * s.get("m", 0.0) + (1 - beta_1) * g
    s["v"] = beta_2 * s.get("v", 0.0) + (1 - beta_2) * g * g
    m_hat = mu_next * s["m"] / (1 - u_prod * mu_next) + (1 - mu_t) * g / (1 - u_prod)
    v_hat = s["v"] / (1 - beta_2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + epsilon)


def _adamax(w, g, s, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **_):
    s["m"] = beta_1 * s.get("m", 0.0) + (1 - beta_1) * g
    s["u"] = np.maximum(beta_2 * s.get("u", 0.0), np.abs(g))
    return w - lr / (1 - beta_1 ** t) * s["m"] / (s["u"] + epsilon)


def _adagrad(w, g, s, lr, t, initial_accumulator_value=0.1, epsilon=1e-7, **_):
    s["acc"] = s.get("acc", initial_accumulator_value) + g * g
    return w - lr * g / np.sqrt(s["acc"] + epsilon)


def _adadelta(w, g, s, lr, t, rho=0.95, epsilon=1e-7, **_):
    s["eg"] = rho * s.get("eg", 0.0) + (1 - rho) * g * g
    delta = -np.sqrt(s.get("ed", 0.0) + epsilon) / np.sqrt(s["eg"] + epsilon) * g
    s["ed"] = rho * s.get("ed", 0.0) + (1 - rho) * delta * delta
    return w + lr * delta


def _lion(w, g, s, lr, t, beta_1=0.9, beta_2=0.99, **_):
    m = s.get("m", 0.0)
    w = w - lr * np.sign(beta_1 * m + (1 - beta_1) * g)
    s["m"] = beta_2 * m + (1 - beta_2) * g
    return w


RULES = {"SGD": _sgd, "RMSprop": _rmsprop, "Adam": _adam, "AdamW": _adam, "Nadam": _nadam,
         "Adamax": _adamax, "Adagrad": _adagrad, "Adadelta": _adadelta, "Lion": _lion}
DEFAULT_LR = {"SGD": 0.01}


def reference(name, grads_seq, weights=W0, learning_rate=None, weight_decay=None,
              clipnorm=None, clipvalue=None, global_clipnorm=None, loss_scale_factor=None,
              **hp):
    """Runs Keras' documented update for ``len(grads_seq)`` steps, in float64."""
    if name == "AdamW" and weight_decay is None:
        weight_decay = 0.004
    lr_of = learning_rate if callable(learning_rate) else (
        lambda step: DEFAULT_LR.get(name, 0.001) if learning_rate is None else learning_rate)
    ws = [w.astype(np.float64) for w in weights]
    slots = [{} for _ in ws]
    u_prod = 1.0
    for it, grads in enumerate(grads_seq):
        gs = [g.astype(np.float64) for g in grads]
        if loss_scale_factor:
            gs = [g / loss_scale_factor for g in gs]
        if clipnorm:
            gs = [g * min(1.0, clipnorm / np.sqrt((g * g).sum())) for g in gs]
        elif global_clipnorm:
            norm = math.sqrt(sum((g * g).sum() for g in gs))
            gs = [g * min(1.0, global_clipnorm / norm) for g in gs]
        elif clipvalue:
            gs = [np.minimum(np.maximum(g, -clipvalue), clipvalue) for g in gs]
        lr, t = lr_of(it), it + 1
        u_prod *= hp.get("beta_1", 0.9) * (1 - 0.5 * 0.96 ** t)
        for i, g in enumerate(gs):
            w = ws[i] * (1 - weight_decay * lr) if weight_decay else ws[i]
            ws[i] = RULES[name](w, g, slots[i], lr, t, u_prod=u_prod, **hp)
    return ws


def run(optimizer, grads_seq, weights=W0):
    params = {"kernel": mx.array(weights[0]), "bias": mx.array(weights[1])}
    optimizer.init(params)
    for grads in grads_seq:
        g = {"kernel": mx.array(grads[0]), "bias": mx.array(grads[1])}
        params = optimizer.apply_gradients(g, params)
        mx.eval(params, optimizer.state)
    return [np.array(params["kernel"]), np.array(params["bias"])]


def run_from(optimizer, weights, grads_seq):
    """Continues training ``weights`` with an already-initialized optimizer."""
    params = {"kernel": mx.array(weights[0]), "bias": mx.array(weights[1])}
    for grads in grads_seq:
        g = {"kernel": mx.array(grads[0]), "bias": mx.array(grads[1])}
        params = optimizer.apply_gradients(g, params)
    return [np.array(params["kernel"]), np.array(params["bias"])]


def assert_close(got, want, start=W0, rtol=1e-4, atol=1e-6):
    """Compares the displacements from ``start``: small updates are checked too."""
    for g, w, s in zip(got, want, start):
        np.testing.assert_allclose(g - s, w - s, rtol=rtol, atol=atol)


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


# -------------------------------------------------------------------- schedules
STEPS = [0, 1, 3, 10, 17, 50, 120]


def _cosine(step, init, d, alpha=0.0, target=None, warm=0):
    if target is None:
        s = min(step, d)
        return init * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * s / d)) + alpha)
    s = min(step, d + warm)
    if s < warm:
        return init + (target - init) * s / warm
    return target * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * (s - warm) / d)) + alpha)


def _restarts(step, init, first, t_mul, m_mul, alpha):
    start, length, i = 0.0, float(first), 0
    while step >= start + length:
        start, length, i = start + length, length * t_mul, i + 1
    frac = (step - start) / length
    return init * ((1 - alpha) * m_mul ** i * 0.5 * (1 + math.cos(math.pi * frac)) + alpha)


SCHEDULES = [
    (schedules.ExponentialDecay(0.1, 10, 0.5), lambda s: 0.1 * 0.5 ** (s / 10)),
    (schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True),
     lambda s: 0.1 * 0.5 ** (s // 10)),
    (schedules.InverseTimeDecay(0.1, 5, 0.5), lambda s: 0.1 / (1 + 0.5 * s / 5)),
    (schedules.InverseTimeDecay(0.1, 5, 0.5, staircase=True),
     lambda s: 0.1 / (1 + 0.5 * (s // 5))),
    (schedules.PiecewiseConstantDecay([3, 17], [1.0, 0.5, 0.1]),
     lambda s: 1.0 if s <= 3 else (0.5 if s <= 17 else 0.1)),
    (schedules.CosineDecay(0.1, 40), lambda s: _cosine(s, 0.1, 40)),
    (schedules.CosineDecay(0.1, 40, alpha=0.2), lambda s: _cosine(s, 0.1, 40, 0.2)),
    (schedules.CosineDecay(0.0, 40, warmup_target=0.2, warmup_steps=10),
     lambda s: _cosine(s, 0.0, 40, target=0.2, warm=10)),
    (schedules.PolynomialDecay(0.1, 20, 0.01, power=2.0),
     lambda s: (0.1 - 0.01) * (1 - min(s, 20) / 20) ** 2 + 0.01),
    (schedules.PolynomialDecay(0.1, 20, cycle=True),
     lambda s: (0.1 - 1e-4) * (1 - s / (20 * max(1, math.ceil(s / 20)))) + 1e-4),
    (schedules.CosineDecayRestarts(0.1, 5), lambda s: _restarts(s, 0.1, 5, 2.0, 1.0, 0.0)),
    (schedules.CosineDecayRestarts(0.1, 5, t_mul=1.0, m_mul=0.5, alpha=0.1),
     lambda s: _restarts(s, 0.1, 5, 1.0, 0.5, 0.1)),
]


@pytest.mark.parametrize("schedule,formula", SCHEDULES,
                         ids=[f"{type(s).__name__}{i}" for i, (s, _) in enumerate(SCHEDULES)])
def test_schedules(schedule, formula):
    for step in STEPS:
        got = schedule(mx.array(step))
        assert got.dtype == mx.float32 and got.shape == ()
        assert float(got) == pytest.approx(formula(step), rel=1e-5, abs=1e-7), step
    clone = schedules.deserialize(schedules.serialize(schedule))
    assert type(clone) is type(schedule) and clone.get_config() == schedule.get_config()


def test_schedules_trace_without_evaluation():
    # vmap is a function transformation like compile: a Python `if` on a value would
    # raise there. It also checks every schedule elementwise over a vector of steps.
    steps = mx.array(STEPS)
    for schedule, formula in SCHEDULES:
        got = np.array(mx.vmap(schedule)(steps))
        np.testing.assert_allclose(got, [formula(s) for s in STEPS], rtol=1e-5, atol=1e-7)
    # And two of the branchy ones compiled (each compile costs seconds of g++ on CPU).
    fn = mx.compile(lambda s: [SCHEDULES[7][0](s), SCHEDULES[9][0](s)])
    for step in (0, 12, 30):
        got = fn(mx.array(step))
        assert float(got[0]) == pytest.approx(SCHEDULES[7][1](step), rel=1e-5, abs=1e-7)
        assert float(got[1]) == pytest.approx(SCHEDULES[9][1](step), rel=1e-5, abs=1e-7)


def test_schedule_validation():
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="1 less"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(NotImplementedError):
        schedules.LearningRateSchedule()(0)


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
