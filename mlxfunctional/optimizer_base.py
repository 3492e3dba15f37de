"""The optimizer base class: Keras 3's ``BaseOptimizer`` semantics on ``mlx.optimizers``.

An ``Optimizer`` is an ``mlx.optimizers.Optimizer``: ``init(params)``,
``apply_gradients(grads, params) -> new params`` and ``update(model, grads)``
work as in MLX. Everything that changes between steps lives in the ``state``
dict -- ``step`` (Keras' raw ``iterations`` counter), ``learning_rate``,
``slots`` (one dict of arrays per parameter, mirroring the parameter tree) and
any global accumulator (Nadam's ``u_product``) -- so a train step compiled with
``mx.compile(step, inputs=state, outputs=state)`` over
``[model.state, optimizer.state, ...]`` carries it from call to call.

One update, in Keras' order (``t = iterations + 1``, ``lr = schedule(iterations)``):
unscale by ``loss_scale_factor``; clip (``clipnorm`` per tensor, else
``global_clipnorm``, else ``clipvalue``); decoupled weight decay
``w -= w * weight_decay * lr``; the subclass's ``update_step``; the EMA of the
weights; ``iterations += 1``.
"""

import inspect
import re
import warnings

import mlx.core as mx
import mlx.optimizers as mlx_optimizers
import numpy as np
from mlx.nn import Module
from mlx.utils import tree_flatten, tree_map, tree_map_with_path

from mlxfunctional import schedules
from mlxfunctional._resolve import deserialize_object, serialize_object
from mlxfunctional.backend import to_snake_case
from mlxfunctional import registry

# Name -> optimizer class; filled by mlxfunctional.optimizers (a wrapper such as
# LossScaleOptimizer finds its inner optimizer's class here without importing it).
ALL_OBJECTS = {}

# Slot names the base class manages itself (EMA, gradient accumulation).
_BASE_SLOTS = ("average", "gradient_accumulator")


def _f32(x):
    """A number or array -> a float32 ``mx.array`` (never evaluates)."""
    return x.astype(mx.float32) if isinstance(x, mx.array) else mx.array(float(x), mx.float32)


def _takes_step(fn):
    """True for ``fn(step)`` (schedules, MLX schedulers), False for Keras' ``fn()``."""
    if isinstance(fn, schedules.LearningRateSchedule):
        return True
    try:
        inspect.signature(fn).bind(0)
    except TypeError:
        return False
    except ValueError:  # no introspectable signature: assume the step form
        pass
    return True


class Optimizer(mlx_optimizers.Optimizer):
    """Base class. Subclasses implement ``build_slots(variable) -> dict`` (the
    per-parameter accumulators, e.g. ``{"momentum": zeros}``) and
    ``update_step(gradient, variable, learning_rate, slots, t) -> new variable``,
    which writes new accumulator values into ``slots`` and never evaluates arrays.

    Args:
        learning_rate: a float, a ``LearningRateSchedule``, or a callable. A callable
            taking one argument gets the step count (int ``mx.array``, 0 on the first
            update); one taking none (Keras' form) is called with nothing.
        weight_decay: float or None. Decoupled: ``w -= w * weight_decay * lr`` before
            the update (see ``exclude_from_weight_decay``).
        clipnorm: float or None; each gradient ``g -> g * c / max(||g||, c)``.
        clipvalue: float or None; each gradient element clipped to ``[-c, c]``.
        global_clipnorm: float or None; all gradients scaled by
            ``c / max(global_norm, c)``. At most one of the three clip arguments.
        use_ema: bool; keep ``average = m * average + (1 - m) * w`` per weight
            (``m = 0`` on the first step). ``finalize_variable_values`` swaps it in.
        ema_momentum: float ``m``, default 0.99.
        ema_overwrite_frequency: int or None; copy the averages into the weights
            every this many steps.
        loss_scale_factor: float or None; ``scale_loss`` multiplies the loss by it and
            the update divides the gradients by it.
        gradient_accumulation_steps: int >= 2 or None; update the weights every this
            many calls with the mean gradient of those calls.
        name: str.
    """

    _global_slots = ()  # keys of global accumulators in ``state`` (held back between
    # accumulation steps, like the slots)

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__()
        for legacy in ("jit_compile", "is_legacy_optimizer"):  # tf.keras 2 configs
            kwargs.pop(legacy, None)
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.")
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}")
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. "
                             f"Received: gradient_accumulation_steps={gradient_accumulation_steps}")
        if use_ema and not 0 <= ema_momentum <= 1:
            raise ValueError(f"`ema_momentum` must be in the range [0, 1]. "
                             f"Received: ema_momentum={ema_momentum}")
        if use_ema and ema_overwrite_frequency and (
                not isinstance(ema_overwrite_frequency, int) or ema_overwrite_frequency < 1):
            raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. "
                             f"Received: ema_overwrite_frequency={ema_overwrite_frequency}")
        self.name = name or to_snake_case(type(self).__name__)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self._exclude_paths, self._exclude_ids, self._exclude_pattern = set(), set(), None
        # int32 like Keras on JAX; MLX's uint64 would wrap on `step - k` in a schedule.
        self._state["step"] = mx.array(0, mx.int32)
        self._lr_fn = None
        self.learning_rate = learning_rate

    # ----------------------------------------------------------------- learning rate
    def _scheduled(self, step):
        return _f32(self._lr_fn(step) if self._lr_takes_step else self._lr_fn())

    @property
    def learning_rate(self):
        """The rate of the next update (a float32 scalar ``mx.array``)."""
        if self._lr_fn is not None:
            return self._scheduled(self._state["step"])
        return self._state["learning_rate"]

    @learning_rate.setter
    def learning_rate(self, value):
        # The value is written into ``state``, so a compiled step sees it. Swapping a
        # constant for a schedule (or back) changes the traced graph: recompile then.
        if isinstance(value, schedules.LearningRateSchedule) or callable(value):
            self._lr_fn, self._lr_takes_step = value, _takes_step(value)
            self._state["learning_rate"] = self._scheduled(self._state["step"])
            return
        if isinstance(self._lr_fn, schedules.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not "
                "settable. If you need the learning rate to be settable, you should "
                "instantiate the optimizer with a float `learning_rate` argument.")
        self._lr_fn = None
        self._state["learning_rate"] = _f32(value)

    @property
    def iterations(self):
        """Completed updates, as an int (Keras' ``iterations``). Evaluates: not for
        use inside a compiled step (read ``state["step"]`` there)."""
        steps = int(self._state["step"].item())
        return steps // self.gradient_accumulation_steps if self.gradient_accumulation_steps \
            else steps

    @iterations.setter
    def iterations(self, value):
        self._state["step"] = mx.array(int(value), mx.int32)

    def scale_loss(self, loss):
        """``loss * loss_scale_factor`` (the loss unchanged without a factor)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    # ---------------------------------------------------------------------- state
    @property
    def state(self):
        """The dict a compiled step must capture: ``step``, ``learning_rate``,
        ``slots`` and any global accumulator."""
        return self._state

    @state.setter
    def state(self, state):
        # Refill the same dict (MLX's setter swaps it): a step compiled over the old
        # object keeps working after loading a saved state.
        if state is not self._state:
            self._state.clear()
            self._state.update(state)
        self._initialized = False

    def build_slots(self, variable):
        """The accumulators of one parameter, e.g. ``{"momentum": zeros}``."""
        return {}

    def update_step(self, gradient, variable, learning_rate, slots, t):
        """Returns the updated ``variable``; ``t`` is the 1-based step (float32)."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step.")

    def init_single(self, parameter, state):
        state.update(self._new_slots(parameter))

    def apply_single(self, gradient, parameter, state):
        raise NotImplementedError("Keras optimizers update through apply_gradients.")

    def build_slots_for(self, variable, path):
        """``build_slots`` for a parameter whose tree path (``"dense.kernel"``) matters
        (Muon sends embeddings to its AdamW branch by path)."""
        return self.build_slots(variable)

    def _new_slots(self, param, path=""):
        if not isinstance(param, mx.array):
            return {}
        slots = self.build_slots_for(param, path)
        if self.use_ema:
            slots["average"] = mx.zeros_like(param)
        if self.gradient_accumulation_steps:
            slots["gradient_accumulator"] = mx.zeros_like(param)
        return slots

    def _fill_slots(self, params, slots, path=()):
        """Slots for every array in ``params``; existing slot dicts are kept as they
        are (same objects), so a loaded or captured state survives."""
        if isinstance(params, dict):
            slots = slots if isinstance(slots, dict) else {}
            for key, value in params.items():
                slots[key] = self._fill_slots(value, slots.get(key), path + (str(key),))
            return slots
        if isinstance(params, (list, tuple)):
            slots = slots if isinstance(slots, list) else []
            for i, value in enumerate(params):
                if i < len(slots):
                    slots[i] = self._fill_slots(value, slots[i], path + (str(i),))
                else:
                    slots.append(self._fill_slots(value, None, path + (str(i),)))
            return slots
        return slots if isinstance(slots, dict) else self._new_slots(params, ".".join(path))

    def init(self, parameters):
        """Creates the slots for ``parameters`` (Keras: ``build``). Call it before the
        first compiled step so the state's structure does not change under trace."""
        for path, value in tree_flatten(parameters):
            if id(value) in self._exclude_ids:
                self._exclude_paths.add(path)
        self._state["slots"] = self._fill_slots(parameters, self._state.get("slots"))
        self._initialized = True

    build = init

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempts parameters from ``weight_decay``; call before ``init``.

        Args:
            var_list: parameter arrays (matched by identity at ``init``) or parameter
                paths such as ``"dense.bias"``.
            var_names: strings (regular expressions) searched for in each parameter's
                path, e.g. ``["bias"]``.
        """
        if self._initialized:
            raise ValueError("`exclude_from_weight_decay()` can only be configured "
                             "before the optimizer is built.")
        self._exclude_ids = {id(v) for v in var_list or () if isinstance(v, mx.array)}
        self._exclude_paths = {v for v in var_list or () if isinstance(v, str)}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _weight_decay_for(self, path, slots):
        """The decay rate of one parameter (None: no decay). Muon uses two rates."""
        return self.weight_decay if self._use_weight_decay(path) else None

    def _use_weight_decay(self, path):
        if path in self._exclude_paths:
            return False
        return self._exclude_pattern is None or self._exclude_pattern.search(path) is None

    # --------------------------------------------------------------------- update
    def _clip_by_norm(self, g):
        # Keras' form: g * c / max(||g||, c), with the norm of a zero gradient kept 0.
        c = self.clipnorm
        l2sum = mx.sum(mx.square(g), keepdims=True)
        l2norm = mx.where(l2sum > 0, mx.sqrt(mx.where(l2sum > 0, l2sum, 1)), l2sum)
        return g * c / mx.maximum(l2norm, c)

    def _clip_gradients(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            return tree_map(self._clip_by_norm, grads)
        if self.global_clipnorm and self.global_clipnorm > 0:
            leaves = [g for _, g in tree_flatten(grads)]
            if not leaves:
                return grads
            norm = mx.sqrt(sum(mx.sum(mx.square(g.astype(mx.float32))) for g in leaves))
            c = self.global_clipnorm
            # + (norm - norm): an inf/nan norm gives nan weights, as Keras, not a silent 0.
            scale = c * mx.minimum(1.0 / norm, 1.0 / c) + (norm - norm)
            return tree_map(lambda g: g * scale.astype(g.dtype), grads)
        if self.clipvalue and self.clipvalue > 0:
            v = self.clipvalue
            return tree_map(lambda g: mx.clip(g, -v, v), grads)
        return grads

    def _update_global_slots(self, t):
        """Hook for per-step (not per-parameter) accumulators, e.g. Nadam's."""

    def apply_gradients(self, gradients, parameters):
        """Returns the updated parameters (a tree shaped like ``gradients``); the
        optimizer's own state is updated in ``state``."""
        if not self._initialized:
            self.init(gradients)
        state = self._state
        raw_step = state["step"]
        lr = self._scheduled(raw_step) if self._lr_fn is not None else state["learning_rate"]
        if self._lr_fn is not None:
            state["learning_rate"] = lr  # the rate of the latest update, for logging
        if self.loss_scale_factor is not None:
            gradients = tree_map(lambda g: g / self.loss_scale_factor, gradients)
        acc = self.gradient_accumulation_steps
        iterations = raw_step // acc if acc else raw_step
        is_update = (raw_step + 1) % acc == 0 if acc else None
        t = (iterations + 1).astype(mx.float32)
        if acc:
            def accumulate(g, slots):
                total = g + slots["gradient_accumulator"]
                slots["gradient_accumulator"] = mx.where(is_update, 0, total).astype(g.dtype)
                return total / acc
            gradients = tree_map(accumulate, gradients, state["slots"])
        gradients = self._clip_gradients(gradients)

        held = {k: state[k] for k in self._global_slots}
        self._update_global_slots(t)
        if acc:  # between accumulation steps nothing but the accumulators may change
            for k, v in held.items():
                state[k] = mx.where(is_update, state[k], v)

        def update_one(path, g, param, slots):
            held = {k: v for k, v in slots.items() if k not in _BASE_SLOTS}
            rate = lr.astype(param.dtype)
            w = param
            decay = self._weight_decay_for(path, slots)
            if decay is not None:
                w = w - w * decay * rate
            new = self.update_step(g.astype(param.dtype), w, rate, slots, t)
            if acc:
                new = mx.where(is_update, new, param)
                for k, v in held.items():
                    slots[k] = mx.where(is_update, slots[k], v)
            if self.use_ema:
                m = (iterations != 0).astype(param.dtype) * self.ema_momentum
                slots["average"] = m * slots["average"] + (1 - m) * new
                if self.ema_overwrite_frequency:
                    overwrite = (iterations + 1) % self.ema_overwrite_frequency == 0
                    new = mx.where(overwrite, slots["average"], new)
            return new

        new_params = tree_map_with_path(update_one, gradients, parameters, state["slots"])
        state["step"] = raw_step + 1
        return new_params

    def finalize_variable_values(self, model_or_params):
        """With ``use_ema``: puts the moving averages into a model (updated in place)
        or returns them for a parameter tree. Without: returns its argument."""
        if not self.use_ema:
            return model_or_params
        is_model = isinstance(model_or_params, Module)
        params = model_or_params.trainable_parameters() if is_model else model_or_params
        averages = tree_map(lambda p, s: s["average"], params, self._state["slots"])
        if is_model:
            model_or_params.update(averages)
            return model_or_params
        return averages

    # ------------------------------------------------------------- serialization
    def get_config(self):
        if isinstance(self._lr_fn, schedules.LearningRateSchedule):
            learning_rate = schedules.serialize(self._lr_fn)
        elif self._lr_fn is not None:
            learning_rate = serialize_object(self._lr_fn, "learning rate")
        else:
            # float32's shortest repr: 0.01 stays 0.01, not 0.009999999776482582.
            learning_rate = float(str(np.float32(self._state["learning_rate"].item())))
        return {"name": self.name, "learning_rate": learning_rate,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, (dict, str)):  # a schedule's config, or a function's name
            with registry.custom_object_scope(custom_objects):
                config["learning_rate"] = deserialize_object(
                    lr, schedules.ALL_OBJECTS, custom_objects, "learning rate schedule")
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"
