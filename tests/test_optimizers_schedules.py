"""Learning-rate schedules against Keras 3's documented formulas, evaluated eagerly,
under vmap and under mx.compile, and their serialization and validation."""

import math

import mlx.core as mx
import numpy as np
import pytest

from mlxfunctional import schedules


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
