"""Learning-rate schedules, with Keras 3 names, arguments and defaults.

A schedule maps the optimizer's step count (an integer ``mx.array``; the first
update uses ``schedule(0)``) to a float32 scalar learning rate. Every schedule is
written with MLX ops only (``mx.where``, never a Python ``if`` on a value), so it
runs inside a compiled train step where ``step`` is a traced array.
"""

import math

import mlx.core as mx

from mlxfunctional._resolve import builtin_objects, deserialize_object, serialize_object


def _f32(x):
    """A Python number or an array -> a float32 ``mx.array`` (never evaluates)."""
    return x.astype(mx.float32) if isinstance(x, mx.array) else mx.array(x, dtype=mx.float32)


def _positive_steps(decay_steps, name="decay_steps"):
    if decay_steps <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={decay_steps}")


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' "
                                  "must override `__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' "
                                  "must override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = "..."
        return f"{type(self).__name__}({args})"


class ExponentialDecay(LearningRateSchedule):
    """``lr(step) = initial_learning_rate * decay_rate ** p``, ``p = step / decay_steps``.

    Args:
        initial_learning_rate: float, the rate at step 0.
        decay_steps: positive int; the rate is multiplied by ``decay_rate`` every
            ``decay_steps`` steps.
        decay_rate: float.
        staircase: if True, ``p = floor(step / decay_steps)`` (decay in jumps).
        name: defaults to ``"ExponentialDecay"``.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        _positive_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = _f32(step) / _f32(self.decay_steps)
        if self.staircase:  # a setting, not a value: a Python branch is fine here
            p = mx.floor(p)
        return _f32(self.initial_learning_rate) * mx.power(_f32(self.decay_rate), p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after ``boundaries[-1]``.

    Args:
        boundaries: increasing list of step numbers (cast to the step's dtype, as Keras).
        values: list of rates, one longer than ``boundaries``.
        name: defaults to ``"PiecewiseConstant"``.
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}.")
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step):
        step = step if isinstance(step, mx.array) else mx.array(step)
        bounds = [mx.array(b).astype(step.dtype) for b in self.boundaries]
        # Sum of indicator * value over the intervals: a branch-free piecewise function.
        result = (step <= bounds[0]).astype(mx.float32) * _f32(self.values[0])
        result = result + (step > bounds[-1]).astype(mx.float32) * _f32(self.values[-1])
        for low, high, value in zip(bounds[:-1], bounds[1:], self.values[1:-1]):
            inside = mx.logical_and(step > low, step <= high)
            result = result + inside.astype(mx.float32) * _f32(value)
        return result

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - s / d) ** power + end`` with ``s = min(step, d)``,
    ``d = decay_steps``; with ``cycle``, ``d = decay_steps * ceil(step / decay_steps)``
    (1 at step 0) and ``s = step``.

    Args:
        initial_learning_rate: float.
        decay_steps: positive int.
        end_learning_rate: float, defaults to ``0.0001``.
        power: float, defaults to ``1.0``.
        cycle: bool, defaults to False.
        name: defaults to ``"PolynomialDecay"``.
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False, name="PolynomialDecay"):
        _positive_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        s, d = _f32(step), _f32(self.decay_steps)
        if self.cycle:
            d = d * mx.where(s == 0, 1.0, mx.ceil(s / d))
        else:
            s = mx.minimum(s, d)
        end = _f32(self.end_learning_rate)
        return (_f32(self.initial_learning_rate) - end) * mx.power(1 - s / d, self.power) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``lr(step) = initial_learning_rate / (1 + decay_rate * p)``, ``p = step / decay_steps``.

    Args:
        initial_learning_rate: float.
        decay_steps: positive int.
        decay_rate: float.
        staircase: if True, ``p = floor(step / decay_steps)``.
        name: defaults to ``"InverseTimeDecay"``.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        _positive_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = _f32(step) / _f32(self.decay_steps)
        if self.staircase:
            p = mx.floor(p)
        return _f32(self.initial_learning_rate) / (1 + _f32(self.decay_rate) * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup, then cosine decay.

    Without ``warmup_target``: ``s = min(step, decay_steps)``,
    ``lr = initial * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)``.
    With ``warmup_target``: ``s = min(step, warmup_steps + decay_steps)``; while
    ``s < warmup_steps``, ``lr = initial + (warmup_target - initial) * s / warmup_steps``;
    then the cosine above from ``warmup_target`` over ``s - warmup_steps``.

    Args:
        initial_learning_rate: float.
        decay_steps: positive int, length of the cosine part.
        alpha: float, the final rate as a fraction of the decay's start. Defaults to 0.
        name: defaults to ``"CosineDecay"``.
        warmup_target: float or None (no warmup).
        warmup_steps: int, defaults to 0.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _positive_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, s, start):
        cosine = 0.5 * (1.0 + mx.cos(math.pi * s / _f32(self.decay_steps)))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        initial, s = _f32(self.initial_learning_rate), _f32(step)
        if self.warmup_target is None:
            return self._decay(mx.minimum(s, _f32(self.decay_steps)), initial)
        target, warm = _f32(self.warmup_target), _f32(self.warmup_steps)
        s = mx.minimum(s, _f32(self.decay_steps) + warm)
        # max(warm, 1) keeps the unselected warmup branch finite when warmup_steps == 0.
        warmup = (target - initial) * s / mx.maximum(warm, 1.0) + initial
        return mx.where(s < warm, warmup, self._decay(s - warm, target))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR). Period ``i`` lasts
    ``first_decay_steps * t_mul ** i`` steps and starts from ``initial * m_mul ** i``;
    within a period at fraction ``f``:
    ``lr = initial * ((1 - alpha) * m_mul ** i * 0.5 * (1 + cos(pi * f)) + alpha)``.

    Args:
        initial_learning_rate: float.
        first_decay_steps: positive int, length of the first period.
        t_mul: float, period growth factor. Defaults to 2.0.
        m_mul: float, restart height factor. Defaults to 1.0.
        alpha: float, the floor as a fraction of ``initial``. Defaults to 0.
        name: defaults to ``"SGDRDecay"``.
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        _positive_steps(first_decay_steps, "first_decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        fraction = _f32(step) / _f32(self.first_decay_steps)
        t_mul = float(self._t_mul)
        if t_mul == 1.0:  # equal periods
            restart = mx.floor(fraction)
            fraction = fraction - restart
        else:  # geometric periods: invert the partial sum (1 - t^i) / (1 - t)
            restart = mx.floor(mx.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            done = (1.0 - mx.power(t_mul, restart)) / (1.0 - t_mul)
            fraction = (fraction - done) / mx.power(t_mul, restart)
        cosine = 0.5 * mx.power(_f32(self._m_mul), restart) * (1.0 + mx.cos(math.pi * fraction))
        return _f32(self.initial_learning_rate) * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


ALL_OBJECTS = builtin_objects((
    LearningRateSchedule, ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
    InverseTimeDecay, CosineDecay, CosineDecayRestarts))


def serialize(learning_rate_schedule):
    """Schedule -> ``{"class_name": ..., "config": {...}}`` (a function -> its name)."""
    return serialize_object(learning_rate_schedule, "learning rate schedule")


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`."""
    return deserialize_object(config, ALL_OBJECTS, custom_objects, "learning rate schedule")
