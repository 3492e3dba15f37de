"""Optimizers with Keras 3 names, arguments, defaults and update rules, on MLX.

Every optimizer takes Keras' common arguments (``weight_decay``, ``clipnorm``,
``clipvalue``, ``global_clipnorm``, ``use_ema``, ``ema_momentum``,
``ema_overwrite_frequency``, ``loss_scale_factor``,
``gradient_accumulation_steps``, ``name``); see :class:`Optimizer` in
``optimizer_base.py`` for them and for how state reaches a compiled step.

In the rules below ``g`` is the (clipped) gradient, ``w`` the weight (after weight
decay), ``lr`` the learning rate of this step and ``t = iterations + 1``.
"""

import mlx.core as mx
import mlx.optimizers as mlx_optimizers

from mlxfunctional import schedules  # noqa: F401  (keras.optimizers.schedules)
from mlxfunctional._resolve import builtin_objects, deserialize_object, serialize_object
from mlxfunctional import optimizer_base
from mlxfunctional.optimizer_base import Optimizer
from mlxfunctional import registry
from mlxfunctional import optimizers_adaptive, optimizers_loss_scale, optimizers_muon
from mlxfunctional.optimizers_adaptive import Adafactor, Ftrl, Lamb  # noqa: F401
from mlxfunctional.optimizers_loss_scale import LossScaleOptimizer  # noqa: F401
from mlxfunctional.optimizers_muon import Muon  # noqa: F401


def _unit_interval(value, name):
    if not 0 <= value <= 1:
        raise ValueError(f"`{name}` must be a float between [0, 1]. Received: {name}={value}")


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum.

    ``m = momentum * m - lr * g``; ``w += m``, or with ``nesterov``
    ``w += momentum * m - lr * g`` (the new ``m``). Without momentum ``w -= lr * g``.

    Args:
        learning_rate: defaults to 0.01.
        momentum: float in [0, 1], defaults to 0.
        nesterov: bool, defaults to False.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        _unit_interval(momentum, "momentum")
        self.momentum = momentum
        self.nesterov = nesterov
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def build_slots(self, variable):
        return {"momentum": mx.zeros_like(variable)} if self.momentum != 0 else {}

    def update_step(self, gradient, variable, learning_rate, slots, t):
        if self.momentum == 0:
            return variable - gradient * learning_rate
        m = slots["momentum"] * self.momentum - gradient * learning_rate
        slots["momentum"] = m
        if self.nesterov:
            return variable + (m * self.momentum - gradient * learning_rate)
        return variable + m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """RMSprop (epsilon inside the square root, as Keras).

    ``v = rho * v + (1 - rho) * g**2``; centered: ``a = rho * a + (1 - rho) * g``,
    ``den = v - a**2 + epsilon``, else ``den = v + epsilon``;
    ``inc = lr * g / sqrt(den)``; with momentum ``m = momentum * m + inc; w -= m``,
    else ``w -= inc``.

    Args:
        learning_rate: defaults to 0.001.
        rho: float, defaults to 0.9.
        momentum: float, defaults to 0.
        epsilon: float, defaults to 1e-7.
        centered: bool, defaults to False.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, name="rmsprop", **kwargs):
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def build_slots(self, variable):
        slots = {"velocity": mx.zeros_like(variable)}
        if self.momentum > 0:
            slots["momentum"] = mx.zeros_like(variable)
        if self.centered:
            slots["average_gradient"] = mx.zeros_like(variable)
        return slots

    def update_step(self, gradient, variable, learning_rate, slots, t):
        rho = self.rho
        v = rho * slots["velocity"] + (1 - rho) * mx.square(gradient)
        slots["velocity"] = v
        if self.centered:
            a = rho * slots["average_gradient"] + (1 - rho) * gradient
            slots["average_gradient"] = a
            denominator = v - mx.square(a) + self.epsilon
        else:
            denominator = v + self.epsilon
        increment = learning_rate * gradient / mx.sqrt(denominator)
        if self.momentum > 0:
            slots["momentum"] = self.momentum * slots["momentum"] + increment
            return variable - slots["momentum"]
        return variable - increment

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adam(Optimizer):
    """Adam with Keras' bias correction folded into the step size.

    ``m += (g - m) * (1 - beta_1)``; ``v += (g**2 - v) * (1 - beta_2)``; amsgrad:
    ``v_hat = max(v_hat, v)`` replaces ``v`` below;
    ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``;
    ``w -= alpha * m / (sqrt(v) + epsilon)``.

    Args:
        learning_rate: defaults to 0.001.
        beta_1: float, defaults to 0.9.
        beta_2: float, defaults to 0.999.
        epsilon: float, defaults to 1e-7.
        amsgrad: bool, defaults to False.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="adam", **kwargs):
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def build_slots(self, variable):
        slots = {"momentum": mx.zeros_like(variable), "velocity": mx.zeros_like(variable)}
        if self.amsgrad:
            slots["velocity_hat"] = mx.zeros_like(variable)
        return slots

    def update_step(self, gradient, variable, learning_rate, slots, t):
        dtype = variable.dtype
        alpha = learning_rate * (mx.sqrt(1 - mx.power(self.beta_2, t))
                                 / (1 - mx.power(self.beta_1, t))).astype(dtype)
        m = slots["momentum"] + (gradient - slots["momentum"]) * (1 - self.beta_1)
        v = slots["velocity"] + (mx.square(gradient) - slots["velocity"]) * (1 - self.beta_2)
        slots["momentum"], slots["velocity"] = m, v
        if self.amsgrad:
            v = slots["velocity_hat"] = mx.maximum(slots["velocity_hat"], v)
        return variable - m * alpha / (mx.sqrt(v) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (``w -= w * weight_decay * lr`` before the
    Adam step); the same arguments as :class:`Adam` plus

    Args:
        weight_decay: float, defaults to 0.004 (must not be None).
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="adamw", **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, name=name,
                         weight_decay=weight_decay, **kwargs)


class Nadam(Optimizer):
    """Adam with Nesterov momentum and Keras' momentum cache schedule.

    ``u_t = beta_1 * (1 - 0.5 * 0.96**t)``, ``u_t1 = beta_1 * (1 - 0.5 * 0.96**(t+1))``;
    once per step ``u_prod *= u_t`` (``u_prod`` starts at 1, kept in ``state``);
    ``m += (g - m) * (1 - beta_1)``; ``v += (g**2 - v) * (1 - beta_2)``;
    ``m_hat = u_t1 * m / (1 - u_prod * u_t1) + (1 - u_t) * g / (1 - u_prod)``;
    ``v_hat = v / (1 - beta_2**t)``; ``w -= lr * m_hat / (sqrt(v_hat) + epsilon)``.

    Args:
        learning_rate: defaults to 0.001.
        beta_1: float, defaults to 0.9.
        beta_2: float, defaults to 0.999.
        epsilon: float, defaults to 1e-7.
    """

    _global_slots = ("u_product",)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="nadam", **kwargs):
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self._state["u_product"] = mx.array(1.0, mx.float32)

    def _momentum_cache(self, t):
        return self.beta_1 * (1.0 - 0.5 * mx.power(0.96, t))

    def _update_global_slots(self, t):
        self._state["u_product"] = self._state["u_product"] * self._momentum_cache(t)

    def update_step(self, gradient, variable, learning_rate, slots, t):
        dtype = variable.dtype
        u_t, u_t1 = self._momentum_cache(t).astype(dtype), self._momentum_cache(t + 1).astype(dtype)
        u_product = self._state["u_product"].astype(dtype)  # already includes u_t
        m = slots["momentum"] + (gradient - slots["momentum"]) * (1 - self.beta_1)
        v = slots["velocity"] + (mx.square(gradient) - slots["velocity"]) * (1 - self.beta_2)
        slots["momentum"], slots["velocity"] = m, v
        m_hat = u_t1 * m / (1 - u_product * u_t1) + (1 - u_t) * gradient / (1 - u_product)
        v_hat = v / (1 - mx.power(self.beta_2, t)).astype(dtype)
        return variable - m_hat * learning_rate / (mx.sqrt(v_hat) + self.epsilon)

    def build_slots(self, variable):
        return {"momentum": mx.zeros_like(variable), "velocity": mx.zeros_like(variable)}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Adamax(Optimizer):
    """Adam with the infinity norm.

    ``m += (g - m) * (1 - beta_1)``; ``u = max(beta_2 * u, |g|)``;
    ``w -= lr * m / ((1 - beta_1**t) * (u + epsilon))``.

    Args:
        learning_rate: defaults to 0.001.
        beta_1: float, defaults to 0.9.
        beta_2: float, defaults to 0.999.
        epsilon: float, defaults to 1e-7.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="adamax", **kwargs):
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def build_slots(self, variable):
        return {"m": mx.zeros_like(variable), "u": mx.zeros_like(variable)}

    def update_step(self, gradient, variable, learning_rate, slots, t):
        correction = (1 - mx.power(self.beta_1, t)).astype(variable.dtype)
        m = slots["m"] + (gradient - slots["m"]) * (1 - self.beta_1)
        u = mx.maximum(self.beta_2 * slots["u"], mx.abs(gradient))
        slots["m"], slots["u"] = m, u
        return variable - learning_rate * m / (correction * (u + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Adagrad(Optimizer):
    """``acc += g**2``; ``w -= lr * g / sqrt(acc + epsilon)``.

    Args:
        learning_rate: defaults to 0.001.
        initial_accumulator_value: float, the starting ``acc``; defaults to 0.1.
        epsilon: float, defaults to 1e-7.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="adagrad", **kwargs):
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def build_slots(self, variable):
        return {"accumulator": mx.full(variable.shape, self.initial_accumulator_value,
                                       dtype=variable.dtype)}

    def update_step(self, gradient, variable, learning_rate, slots, t):
        acc = slots["accumulator"] = slots["accumulator"] + mx.square(gradient)
        return variable - learning_rate * gradient / mx.sqrt(acc + self.epsilon)

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """``Eg = rho * Eg + (1 - rho) * g**2``;
    ``d = -sqrt(Ed + epsilon) * g / sqrt(Eg + epsilon)`` (with the old ``Ed``);
    ``Ed = rho * Ed + (1 - rho) * d**2``; ``w += lr * d``.

    Args:
        learning_rate: defaults to 0.001.
        rho: float, defaults to 0.95.
        epsilon: float, defaults to 1e-7.
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name="adadelta", **kwargs):
        self.rho, self.epsilon = rho, epsilon
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def build_slots(self, variable):
        return {"accumulated_grad": mx.zeros_like(variable),
                "accumulated_delta_var": mx.zeros_like(variable)}

    def update_step(self, gradient, variable, learning_rate, slots, t):
        rho, eps = self.rho, self.epsilon
        grad_sq = rho * slots["accumulated_grad"] + (1 - rho) * mx.square(gradient)
        delta_sq = slots["accumulated_delta_var"]
        delta = -mx.sqrt(delta_sq + eps) * gradient / mx.sqrt(grad_sq + eps)
        slots["accumulated_grad"] = grad_sq
        slots["accumulated_delta_var"] = rho * delta_sq + (1 - rho) * mx.square(delta)
        return variable + learning_rate * delta

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Lion(Optimizer):
    """``w -= lr * sign(beta_1 * m + (1 - beta_1) * g)``, then
    ``m = beta_2 * m + (1 - beta_2) * g``.

    Args:
        learning_rate: defaults to 0.001.
        beta_1: float in (0, 1], defaults to 0.9.
        beta_2: float, defaults to 0.99.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, name="lion", **kwargs):
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the "
                             f"optimizer degenerates to SignSGD. Received: beta_1={beta_1}.")
        self.beta_1, self.beta_2 = beta_1, beta_2
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def build_slots(self, variable):
        return {"momentum": mx.zeros_like(variable)}

    def update_step(self, gradient, variable, learning_rate, slots, t):
        m = slots["momentum"]
        new = variable - learning_rate * mx.sign(m * self.beta_1 + gradient * (1 - self.beta_1))
        slots["momentum"] = m * self.beta_2 + gradient * (1 - self.beta_2)
        return new

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


_CLASSES = (Optimizer, SGD, RMSprop, Adam, AdamW, Nadam, Adamax, Adagrad, Adadelta, Lion) \
    + optimizers_adaptive.CLASSES + optimizers_muon.CLASSES + optimizers_loss_scale.CLASSES
ALL_OBJECTS = optimizer_base.ALL_OBJECTS  # the one table, shared with the wrappers
ALL_OBJECTS.update(builtin_objects(_CLASSES))
# Keras' identifiers are the lower-cased class names ("sgd", "rmsprop", "adamw").
ALL_OBJECTS.update({cls.__name__.lower(): cls for cls in _CLASSES})


def serialize(optimizer):
    """Optimizer -> ``{"class_name": ..., "config": {...}}``."""
    return serialize_object(optimizer, "optimizer")


def deserialize(config, custom_objects=None):
    """Inverse of :func:`serialize`; also takes a name such as ``"adam"``. Names
    resolve case-insensitively, as Keras'."""
    if isinstance(config, str) and config.lower() in ALL_OBJECTS:
        config = config.lower()
    if isinstance(config, dict) and str(config.get("class_name", "")).lower() in ALL_OBJECTS:
        config = {**config, "class_name": config["class_name"].lower()}
    # The scope lets from_config find custom schedules given in custom_objects.
    with registry.custom_object_scope(custom_objects):
        optimizer = deserialize_object(config, ALL_OBJECTS, custom_objects, "optimizer")
    if not isinstance(optimizer, mlx_optimizers.Optimizer):
        raise ValueError(f"Could not interpret optimizer identifier: {config!r}")
    return optimizer


def get(identifier):
    """A name (``"adam"``, ``"RMSprop"``), a config dict, an optimizer class or
    instance (any ``mlx.optimizers.Optimizer``) -> an optimizer; None -> None."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, mlx_optimizers.Optimizer):
        return identifier()
    if isinstance(identifier, mlx_optimizers.Optimizer):
        return identifier
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
