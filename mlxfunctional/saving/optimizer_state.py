"""The optimizer's state to and from flat ``{key: array}``, for ``optimizer.npz``.

The state is the tree a compiled train step carries: ``step``,
``learning_rate``, global accumulators (Nadam's ``u_product``) and ``slots``,
which mirrors the model's trainable parameters
(``slots/dense/kernel/momentum``). Keys join the tree's path with ``/``;
arrays are saved exactly as the optimizer holds them (slots in the layout
MLX stores each weight in), because resuming training must continue
bit for bit.

Restoring first lets the optimizer build a fresh state for the model's
trainable parameters (so the tree has the structure a train step expects),
checks the file against it key by key, then assigns the loaded state.
"""

import mlx.core as mx

from .value_checks import optimizer_state_problems
from .weight_map import compare_stored


def flatten_state(state, prefix=()):
    """``{"a/b/c": array}`` for the arrays of a nested dict/list state."""
    out = {}
    if isinstance(state, mx.array):
        out["/".join(prefix)] = state
    elif isinstance(state, dict):
        for k, v in state.items():
            out.update(flatten_state(v, prefix + (str(k),)))
    elif isinstance(state, (list, tuple)):
        for i, v in enumerate(state):
            out.update(flatten_state(v, prefix + (str(i),)))
    return out


def _replace_leaves(state, values, prefix=()):
    """A copy of ``state``'s containers with every array taken from ``values``."""
    if isinstance(state, mx.array):
        return values["/".join(prefix)]
    if isinstance(state, dict):
        return {k: _replace_leaves(v, values, prefix + (str(k),)) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_replace_leaves(v, values, prefix + (str(i),))
                           for i, v in enumerate(state))
    return state


def optimizer_arrays(model):
    """The state to save: ``{key: mx.array}``.

    Slots of parameters that are no longer trainable (a layer frozen after
    training) are left out: a restored optimizer is built for the trainable
    parameters of the loaded model, and must find exactly what it expects.
    """
    trainable = set(flatten_state(model.trainable_parameters()))
    out = {}
    for key, value in flatten_state(model.optimizer.state).items():
        slot = key
        while slot.startswith("inner_optimizer/"):  # a wrapper's (LossScaleOptimizer's)
            slot = slot[len("inner_optimizer/"):]
        if slot.startswith("slots/") and slot[len("slots/"):].rpartition("/")[0] not in trainable:
            continue
        out[key] = value
    return out


def restore_optimizer(model, stored, what, budget=None):
    """Gives ``model.optimizer`` the state in ``{key: Stored}`` (or ``NpyMember``s, read
    here; ``budget``, a ``safe_io.Budget``, is then told the bytes the state needs);
    returns problems (nothing is assigned when there are any). ``ReadError`` when an
    array's data cannot be read."""
    optimizer = model.optimizer
    optimizer.init(model.trainable_parameters())
    fresh = flatten_state(optimizer.state)
    if budget is not None:
        budget.expect(sum(v.nbytes for v in fresh.values()))
    key_problems, mismatches, matched = compare_stored(
        {k: (v.shape, v.dtype) for k, v in fresh.items()}, stored, what,
        noun="value", holder="the optimizer")
    nonsense = optimizer_state_problems(stored, what)  # a negative step, a NaN rate...
    if key_problems or mismatches or nonsense:
        return key_problems + mismatches + nonsense
    # Assigning refills the optimizer's own dict, so the train step compiled later
    # (which calls init() again and keeps existing slots) starts from these values.
    values = {}
    for k in matched:
        values[k] = stored[k].to_mlx(fresh[k].dtype)
        mx.eval(values[k])
    optimizer.state = _replace_leaves(optimizer.state, values)
    mx.eval(optimizer.state)
    return []
