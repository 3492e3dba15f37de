"""The optimizer's state in Keras 3's weight store (``optimizer/vars/0, 1, ...``).

Keras 3 lists ``iterations`` (int64), then ``learning_rate`` (float32; absent
when the rate is a schedule), then the slot variables in the order the
optimizer's ``build`` creates them: each call of ``add_optimizer_variables``
makes, for every trainable variable in order, one slot per name it is given
(Adam: ``momentum, velocity`` per variable, then every ``velocity_hat``;
RMSprop: every ``velocity``, then every ``momentum``...). ``_SLOT_GROUPS``
holds those calls for the optimizers whose state we map; slots are written
in Keras' weight layout (ours may be transposed, see ``WeightSpec``).

Other optimizers keep their config but start from a fresh state, with a
warning (their slot order is not mapped yet).
"""

import warnings

import mlx.core as mx
import numpy as np

from .optimizer_state import _replace_leaves, flatten_state

_SLOT_GROUPS = {
    "SGD": (("momentum",),),
    "Adam": (("momentum", "velocity"), ("velocity_hat",)),
    "AdamW": (("momentum", "velocity"), ("velocity_hat",)),
    "RMSprop": (("velocity",), ("momentum",), ("average_gradient",)),
}


def _layout(weight):
    """``(to_keras, from_keras)`` for slots of ``weight`` (identity when no spec)."""
    spec = getattr(weight, "_spec", None)
    if spec is None:
        return (lambda a: a), (lambda a: a)
    return spec.to_keras, spec.from_keras


def _plan(model):
    """``[(state key, weight)]`` in Keras' order, or None if not mapped."""
    optimizer = model.optimizer
    groups = _SLOT_GROUPS.get(type(optimizer).__name__)
    if groups is None:
        return None
    optimizer.init(model.trainable_parameters())
    state = flatten_state(optimizer.state)
    plan = [("step", None)]
    if "learning_rate" in state:
        plan.append(("learning_rate", None))
    weights = model.trainable_weights
    for group in groups:
        for weight in weights:
            for name in group:
                key = f"slots/{weight.path}/{name}"
                if key in state:
                    plan.append((key, weight))
    slot_keys = {k for k in state if k.startswith("slots/")}
    if slot_keys != {k for k, _ in plan if k.startswith("slots/")}:
        return None  # a slot we cannot place (e.g. parameters not named by layer/weight)
    return plan


def optimizer_vars(model):
    """The optimizer's state as Keras 3 stores it (a list of numpy arrays), or None."""
    plan = _plan(model)
    if plan is None:
        return None
    state = flatten_state(model.optimizer.state)
    out = []
    for key, weight in plan:
        value = state[key]
        if key == "step":
            out.append(np.array(value.item(), dtype=np.int64))
        elif weight is None:
            out.append(np.array(value, dtype=np.float32))
        else:
            out.append(np.array(_layout(weight)[0](value)))
    return out


def restore_optimizer_vars(model, arrays, where):
    """Sets the optimizer's state from Keras' list; returns problems (nothing set if any)."""
    plan = _plan(model)
    if plan is None:
        warnings.warn(f"{where}: the {type(model.optimizer).__name__} optimizer's state is "
                      "not read from Keras files yet; training resumes with a fresh state.",
                      stacklevel=3)
        return []
    if len(arrays) != len(plan):
        return [f"optimizer/vars holds {len(arrays)} arrays; the "
                f"{type(model.optimizer).__name__} optimizer of this model has {len(plan)}."]
    state = flatten_state(model.optimizer.state)
    values, problems = {}, []
    for (key, weight), stored in zip(plan, arrays):
        current = state[key]
        expected = tuple(weight.shape if weight is not None else current.shape)  # Keras'
        if tuple(stored.shape) != expected:  # (checked before its data is read)
            problems.append(f"optimizer state {key}: expected shape {expected}, "
                            f"found {tuple(stored.shape)}.")
            continue
        array = np.asarray(stored)
        if key == "step":
            if array.shape != () or array.dtype.kind not in "iu" or int(array) < 0:
                problems.append(f"optimizer/vars/0 (iterations) must be a non-negative "
                                f"integer scalar; found {array.dtype} {array.shape}.")
                continue
            values[key] = mx.array(int(array), current.dtype)
            continue
        if weight is not None:
            value = _layout(weight)[1](mx.array(np.ascontiguousarray(array)))
        else:
            value = mx.array(np.asarray(array, dtype=np.float32))
        if not bool(np.isfinite(np.asarray(array, dtype=np.float64)).all()):
            problems.append(f"optimizer state {key} holds NaN or infinite values.")
            continue
        values[key] = value.astype(current.dtype)
    if problems:
        return problems
    model.optimizer.state = _replace_leaves(model.optimizer.state, values)
    mx.eval(model.optimizer.state)
    return []
