"""Values a loaded file gives a model: warned about, or refused, before they do harm.

- Weights holding NaN or an infinity load (a user may want to inspect them),
  with one warning naming the layers: the next ``fit`` step would spread the
  NaN to every weight.
- The optimizer state's ``step`` counts updates: negative (or not a whole
  number), it makes Adam's bias correction divide by ``1 - beta**step`` of a
  negative power. A ``learning_rate`` that is NaN or infinite turns every
  weight into NaN at the first step. Either refuses the file
  (``ModelFileError``); so does any other non-finite scalar of the state.
"""

import warnings

import mlx.core as mx
import numpy as np

from .weight_map import weight_refs


class NonFiniteWeightsWarning(UserWarning):
    """A loaded model holds NaN or infinite weights."""


def _layer_of(key):
    # "dense/kernel" -> "dense"; "outer/inner/kernel" -> "outer/inner"
    return key.rpartition("/")[0] or key


def non_finite_weights(model):
    """``{layer path: [weight names]}`` of the weights holding NaN or +-inf."""
    refs = weight_refs(model)
    flags = {}
    for key, ref in refs.items():
        value = ref.read()
        if mx.issubdtype(value.dtype, mx.floating):
            flags[key] = mx.all(mx.isfinite(value))
            mx.eval(flags[key])  # (one weight's isfinite temporary at a time)
    found = {}
    for key, ok in flags.items():
        if not ok.item():
            found.setdefault(_layer_of(key), []).append(key.rpartition("/")[2])
    return found


def warn_non_finite(model, path, stacklevel=3):
    """One ``NonFiniteWeightsWarning`` naming the layers whose loaded weights hold NaN
    or infinite values; nothing when all are finite."""
    found = non_finite_weights(model)
    if not found:
        return
    listed = [f"{layer!r} ({', '.join(names)})" for layer, names in list(found.items())[:20]]
    more = f" and {len(found) - 20} more layers" if len(found) > 20 else ""
    warnings.warn(
        f"The weights loaded from {str(path)!r} hold NaN or infinite values in "
        f"{len(found)} layer(s): {', '.join(listed)}{more}. Predictions will be NaN or "
        "infinite, and training would spread the NaN to every weight.",
        NonFiniteWeightsWarning, stacklevel=stacklevel)


def _scalar(stored):
    array = np.asarray(stored.array)
    return array.reshape(()).item() if array.size == 1 else None


def optimizer_state_problems(stored, what):
    """Problems of an optimizer state ``{key: Stored}`` whose values make no sense."""
    problems = []
    if "step" in stored:
        step = _scalar(stored["step"])
        if step is None or not float(step).is_integer() or step < 0:
            problems.append(f"{what}: the optimizer's step (updates done so far) is {step!r}; "
                            "it must be a whole number >= 0.")
    for key, value in stored.items():
        if key.startswith("slots/") or key == "step" or stored[key].dtype == "bfloat16":
            continue
        scalar = _scalar(value)
        if isinstance(scalar, float) and not np.isfinite(scalar):
            name = "learning rate" if key == "learning_rate" else f"{key!r}"
            problems.append(f"{what}: the optimizer's {name} is {scalar!r}; it must be "
                            "finite (training from it would turn every weight into NaN).")
    return problems
