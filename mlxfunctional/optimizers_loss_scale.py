"""``LossScaleOptimizer``: dynamic loss scaling around another optimizer (Keras 3).

The train step takes the gradient of ``loss * scale`` (``scale_loss``), so small
float16 gradients do not underflow; this optimizer divides the scale out and
hands the gradients to ``inner_optimizer``. When every gradient is finite the
update is kept and, after ``dynamic_growth_steps`` such steps in a row, the scale
doubles; otherwise the weights and the inner state stay as they were and the
scale halves. The choice is made with ``mx.where`` on values inside the step
(Keras uses a cond): no host sync, at the price of computing the inner update
on every step.
"""

import mlx.core as mx
from mlx.utils import tree_flatten, tree_map

from mlxfunctional import registry
from mlxfunctional._resolve import deserialize_object, serialize_object
from mlxfunctional.optimizer_base import ALL_OBJECTS, Optimizer

_BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None,
                  "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
                  "ema_overwrite_frequency": None, "loss_scale_factor": None,
                  "gradient_accumulation_steps": None}


def _snapshot(tree):
    """New containers holding the same arrays (nothing is copied)."""
    if isinstance(tree, dict):
        return {k: _snapshot(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_snapshot(v) for v in tree]
    return tree


def _keep_where(finite, new, old):
    """Rebinds every array of the containers ``new`` to where(finite, new, old), in place
    (a compiled step holds these very containers)."""
    items = new.items() if isinstance(new, dict) else enumerate(new)
    for key, value in list(items):
        before = old[key] if (isinstance(old, dict) and key in old) or \
            (isinstance(old, list) and key < len(old)) else None
        if isinstance(value, (dict, list)):
            _keep_where(finite, value, before if before is not None else type(value)())
        elif isinstance(value, mx.array) and isinstance(before, mx.array) \
                and before.shape == value.shape:
            new[key] = mx.where(finite, value, before)


class LossScaleOptimizer(Optimizer):
    """Dynamic loss scaling for another optimizer.

    Args:
        inner_optimizer: the optimizer that updates the weights (its own
            ``loss_scale_factor`` is switched off: the scale here replaces it).
        initial_scale: the first scale (2**15).
        dynamic_growth_steps: finite steps in a row before the scale doubles (2000).
        name: defaults to "loss_scale_optimizer".
    State: ``step_counter`` (int32), ``dynamic_scale`` (float32) and the inner
    optimizer's state under ``inner_optimizer``.
    """

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000,
                 name=None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`. Instead, "
                             "simply set `loss_scale_factor` directly on the "
                             "`inner_optimizer`.")
        for arg, default in _BASE_DEFAULTS.items():  # accepted at their defaults (old configs)
            if arg in kwargs and kwargs.pop(arg) != default:
                raise ValueError(f"LossScaleOptimizer does not support `{arg}`. Instead, set "
                                 f"`{arg}` on the `inner_optimizer`.")
        if kwargs:
            raise ValueError("LossScaleOptimizer does not support arguments: "
                             f"`{'`, `'.join(kwargs)}`.")
        if not isinstance(inner_optimizer, Optimizer):
            raise ValueError("`inner_optimizer` must be an mlxfunctional optimizer. Received: "
                             f"inner_optimizer={inner_optimizer!r}")
        if isinstance(dynamic_growth_steps, bool) or not isinstance(dynamic_growth_steps, int) \
                or dynamic_growth_steps < 1:
            raise ValueError("`dynamic_growth_steps` must be an integer >= 1. Received: "
                             f"dynamic_growth_steps={dynamic_growth_steps}")
        self.inner_optimizer = None
        super().__init__(learning_rate=0.0, name=name or "loss_scale_optimizer")
        self.inner_optimizer = inner_optimizer
        self.initial_scale, self.dynamic_growth_steps = initial_scale, dynamic_growth_steps
        inner_optimizer.loss_scale_factor = None  # or the gradients would be unscaled twice
        del self._state["learning_rate"]  # the inner optimizer's rate is the one used
        self._state["step_counter"] = mx.array(0, mx.int32)
        self._state["dynamic_scale"] = mx.array(float(initial_scale), mx.float32)
        self._state["inner_optimizer"] = inner_optimizer.state

    # The rate and the iteration count are the inner optimizer's.
    @property
    def learning_rate(self):
        if self.inner_optimizer is None:
            return mx.array(0.0)
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if getattr(self, "inner_optimizer", None) is None:  # during the base's __init__
            Optimizer.learning_rate.fset(self, value)
        else:
            self.inner_optimizer.learning_rate = value

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value):
        self.inner_optimizer.iterations = value

    @property
    def state(self):
        return self._state

    @state.setter
    def state(self, state):
        # The inner state is refilled through the inner optimizer, so its own dict (the
        # one its updates rebind) stays the one held here.
        state = dict(state)
        self.inner_optimizer.state = state.pop("inner_optimizer", self.inner_optimizer.state)
        self._state.clear()
        self._state.update(state)
        self._state["inner_optimizer"] = self.inner_optimizer.state
        self._initialized = False

    def scale_loss(self, loss):
        """``loss * dynamic_scale``."""
        return loss * self._state["dynamic_scale"].astype(loss.dtype)

    def init(self, parameters):
        self.inner_optimizer.init(parameters)
        self._initialized = True

    build = init

    def apply_gradients(self, gradients, parameters):
        if not self._initialized:
            self.init(gradients)
        state = self._state
        leaves = [g for _, g in tree_flatten(gradients) if isinstance(g, mx.array)]
        finite = mx.array(True)
        for g in leaves:
            finite = finite & mx.all(mx.isfinite(g))
        scale = state["dynamic_scale"]
        unscaled = tree_map(lambda g: g / scale.astype(g.dtype), gradients)
        before = _snapshot(self.inner_optimizer.state)
        updated = self.inner_optimizer.apply_gradients(unscaled, parameters)
        _keep_where(finite, self.inner_optimizer.state, before)
        new_params = tree_map(lambda n, p: mx.where(finite, n, p), updated, parameters)
        counter = state["step_counter"]
        grow = finite & (counter == self.dynamic_growth_steps - 1)
        state["step_counter"] = mx.where(finite & ~grow, counter + 1, 0).astype(mx.int32)
        state["dynamic_scale"] = mx.where(finite, mx.where(grow, scale * 2.0, scale),
                                          scale * 0.5).astype(mx.float32)
        state["step"] = state["step"] + 1
        return new_params

    def finalize_variable_values(self, model_or_params):
        return self.inner_optimizer.finalize_variable_values(model_or_params)

    def get_config(self):
        return {"name": self.name,
                "inner_optimizer": serialize_object(self.inner_optimizer, "optimizer"),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        with registry.custom_object_scope(custom_objects):
            inner = deserialize_object(config.pop("inner_optimizer"), ALL_OBJECTS,
                                       custom_objects, "optimizer")
        return cls(inner, **config)


CLASSES = (LossScaleOptimizer,)
