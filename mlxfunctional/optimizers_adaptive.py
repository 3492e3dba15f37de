"""Adafactor, Ftrl and Lamb, with Keras 3's arguments, defaults, slot names and rules.

As in :mod:`mlxfunctional.optimizers`, ``g`` is the (clipped) gradient, ``w`` the
weight after weight decay, ``lr`` this step's rate and ``t = iterations + 1``.
"""

import mlx.core as mx

from mlxfunctional.optimizer_base import Optimizer


def _rms(x):
    return mx.sqrt(mx.mean(mx.square(x)))


class Adafactor(Optimizer):
    """Adafactor: second moments kept factored (a row and a column vector) for
    weights of rank >= 2, so they cost O(n + m) instead of O(n m).

    ``rho = min(lr, 1 / sqrt(t))``; ``alpha = max(epsilon_2, rms(w)) * rho``;
    ``b = 1 - t**beta_2_decay``; ``G = g**2 + epsilon_1``. Rank >= 2:
    ``r = b r + (1 - b) mean(G, -1)``, ``c = b c + (1 - b) mean(G, -2)``,
    ``v = (r / mean(r, -1)) outer c`` over the last two axes; otherwise
    ``v = b v + (1 - b) G``. ``u = g / sqrt(v)``;
    ``w -= alpha * u / max(1, rms(u) / clip_threshold)``.

    Args:
        learning_rate: defaults to 0.001.
        beta_2_decay: float, defaults to -0.8.
        epsilon_1: float, added to g**2 (1e-30).
        epsilon_2: float, the floor of the weight's rms in the step size (1e-3).
        clip_threshold: float, the update's rms cap (1.0).
        relative_step: bool (True); kept for Keras configs: Keras caps the rate at
            1 / sqrt(t) whether or not it is set, and so does this class.
        Other arguments: as for ``Optimizer``.
    Slots: ``r`` and ``c`` (rank >= 2 weights only) and ``velocity``.
    """

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30,
                 epsilon_2=1e-3, clip_threshold=1.0, relative_step=True, name="adafactor",
                 **kwargs):
        self.beta_2_decay, self.epsilon_1, self.epsilon_2 = beta_2_decay, epsilon_1, epsilon_2
        self.clip_threshold, self.relative_step = clip_threshold, relative_step
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def build_slots(self, variable):
        if variable.ndim < 2:
            return {"velocity": mx.zeros_like(variable)}
        shape = variable.shape
        return {"r": mx.zeros(shape[:-1], dtype=variable.dtype),
                "c": mx.zeros(shape[:-2] + shape[-1:], dtype=variable.dtype),
                "velocity": mx.zeros_like(variable)}

    def update_step(self, gradient, variable, learning_rate, slots, t):
        dtype = variable.dtype
        t = t.astype(dtype)
        rho = mx.minimum(learning_rate, mx.rsqrt(t))
        alpha = mx.maximum(self.epsilon_2, _rms(variable)) * rho
        grad_sq = mx.square(gradient) + self.epsilon_1
        b = 1 - mx.power(t, self.beta_2_decay)
        if variable.ndim >= 2:
            r = slots["r"] = b * slots["r"] + (1 - b) * mx.mean(grad_sq, axis=-1)
            c = slots["c"] = b * slots["c"] + (1 - b) * mx.mean(grad_sq, axis=-2)
            row = r / mx.mean(r, axis=-1, keepdims=True)
            v = slots["velocity"] = mx.expand_dims(row, -1) * mx.expand_dims(c, -2)
        else:
            v = slots["velocity"] = b * slots["velocity"] + (1 - b) * grad_sq
        u = gradient / mx.sqrt(v)
        u = u / mx.maximum(1.0, _rms(u) / self.clip_threshold)
        return variable - alpha * u

    def get_config(self):
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay,
                "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}


class Ftrl(Optimizer):
    """Follow The Regularized Leader (McMahan et al., 2013), with L1/L2 and shrinkage.

    ``p = -learning_rate_power``; ``l2 = l2_regularization_strength + beta / (2 lr)``;
    ``n' = n + g**2``; ``z += g + 2 s w - (n'**p - n**p) / lr * w``
    (s the shrinkage strength); ``w = (clip(z, -l1, l1) - z) / (n'**p / lr + 2 l2)``;
    ``n = n'``.

    Args:
        learning_rate: defaults to 0.001.
        learning_rate_power: float <= 0 (-0.5).
        initial_accumulator_value: float >= 0, the starting ``n`` (0.1).
        l1_regularization_strength, l2_regularization_strength,
        l2_shrinkage_regularization_strength: floats >= 0 (0.0).
        beta: float (0.0).
        Other arguments: as for ``Optimizer``.
    Slots: ``accumulator`` (n) and ``linear`` (z).
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, name="ftrl", **kwargs):
        checks = (("initial_accumulator_value", initial_accumulator_value, "positive or zero"),
                  ("l1_regularization_strength", l1_regularization_strength, "positive or zero"),
                  ("l2_regularization_strength", l2_regularization_strength, "positive or zero"),
                  ("l2_shrinkage_regularization_strength",
                   l2_shrinkage_regularization_strength, "positive or zero"))
        for arg, value, what in checks:
            if value < 0.0:
                raise ValueError(f"`{arg}` needs to be {what}. Received: {arg}={value}.")
        if learning_rate_power > 0.0:
            raise ValueError("`learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def build_slots(self, variable):
        return {"accumulator": mx.full(variable.shape, self.initial_accumulator_value,
                                       dtype=variable.dtype),
                "linear": mx.zeros_like(variable)}

    def update_step(self, gradient, variable, learning_rate, slots, t):
        power = -self.learning_rate_power
        l1 = self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * learning_rate)
        accum = slots["accumulator"]
        new_accum = accum + mx.square(gradient)
        shrunk = gradient + 2 * self.l2_shrinkage_regularization_strength * variable
        linear = slots["linear"] + shrunk - (
            (mx.power(new_accum, power) - mx.power(accum, power)) / learning_rate) * variable
        quadratic = mx.power(new_accum, power) / learning_rate + 2 * l2
        slots["linear"], slots["accumulator"] = linear, new_accum
        return (mx.clip(linear, -l1, l1) - linear) / quadratic

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength,
                "beta": self.beta}


class Lamb(Optimizer):
    """Adam's direction scaled per weight tensor by the trust ratio ||w|| / ||update||
    (You et al., 2019).

    ``m += (g - m)(1 - beta_1)``; ``v += (g**2 - v)(1 - beta_2)``;
    ``u = (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)``;
    ``ratio = ||w|| / ||u||`` (1 when either norm is 0); ``w -= ratio * lr * u``.

    Args:
        learning_rate: defaults to 0.001.
        beta_1: float (0.9). beta_2: float (0.999). epsilon: float (1e-7).
        Other arguments: as for ``Optimizer``.
    Slots: ``momentum``, ``velocity``.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="lamb", **kwargs):
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def build_slots(self, variable):
        return {"momentum": mx.zeros_like(variable), "velocity": mx.zeros_like(variable)}

    def update_step(self, gradient, variable, learning_rate, slots, t):
        t = t.astype(variable.dtype)
        m = slots["momentum"] + (gradient - slots["momentum"]) * (1 - self.beta_1)
        v = slots["velocity"] + (mx.square(gradient) - slots["velocity"]) * (1 - self.beta_2)
        slots["momentum"], slots["velocity"] = m, v
        m_hat = m / (1 - mx.power(self.beta_1, t))
        update = m_hat / (mx.sqrt(v / (1 - mx.power(self.beta_2, t))) + self.epsilon)
        w_norm = mx.sqrt(mx.sum(mx.square(variable)))
        u_norm = mx.sqrt(mx.sum(mx.square(update)))
        ratio = mx.where((w_norm > 0) & (u_norm > 0), w_norm / mx.where(u_norm > 0, u_norm, 1),
                         1.0)
        return variable - ratio * learning_rate * update

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


CLASSES = (Adafactor, Ftrl, Lamb)
