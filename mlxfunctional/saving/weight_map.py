"""Every weight of a model under a stable key, in Keras' layout.

Keys follow the model's module tree with ``/``:

- a model's layers by name (``dense_1/kernel``); names are in ``config.json``
  and restored on load, so they are stable;
- a nested model's layers under it (``encoder/conv2d/kernel``);
- a layer's sublayers by the attribute that holds them (``lstm/cell/kernel``,
  ``bidirectional/forward_layer/cell/kernel``, ``custom_rnn/projection_1/kernel``;
  a list attribute adds the index). Attribute names come from the code, while
  sublayer *names* are counters (``dense_7``) that differ between sessions
  and may repeat (both halves of a Bidirectional hold an ``lstm_cell``);
- a weight by its Keras name (``kernel``, ``moving_mean``); a raw ``mlx.nn``
  module's parameters by their MLX paths (``proj/weight``).

This is the set of ``layer.get_weights()`` (the same owners and arrays), each
read through its ``WeightSpec`` so a conv kernel is ``(kh, kw, in, out)``
whatever layout MLX stores.
"""

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten, tree_unflatten

from ..engine.weights import WeightSpec, WeightTracking
from .arrays import dtype_name
from .safe_io import ReadError


class WeightRef:
    """One weight: where it lives and how to read or replace it in Keras' layout."""

    __slots__ = ("key", "owner", "entry")

    def __init__(self, key, owner, entry):
        self.key, self.owner, self.entry = key, owner, entry

    def _stored(self):
        if isinstance(self.entry, WeightSpec):
            return self.owner[self.entry.key]
        return dict(tree_flatten(self.owner.parameters()))[self.entry]

    def read(self):
        value = self._stored()
        return self.entry.to_keras(value) if isinstance(self.entry, WeightSpec) else value

    @property
    def shape(self):
        return tuple(self.read().shape)  # a lazy transpose: no computation

    @property
    def dtype(self):
        return self._stored().dtype

    def assign(self, value):
        """Sets the weight from an ``mx.array`` in Keras' layout and the weight's dtype."""
        if isinstance(self.entry, WeightSpec):
            self.owner[self.entry.key] = self.entry.from_keras(value)
        else:
            self.owner.update(tree_unflatten([(self.entry, value)]), strict=False)


def _children(module):
    """``(path, child module)`` for the modules a layer holds, as ``_sublayers`` finds them."""
    out = []

    def visit(value, path):
        if isinstance(value, nn.Module):
            out.append((path, value))
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                visit(v, path + (str(i),))
        elif isinstance(value, dict):
            for k, v in value.items():
                visit(v, path + (str(k),))

    for key, value in module.items():
        if not str(key).startswith("_"):
            visit(value, (str(key),))
    return out


def weight_refs(model):
    """``{key: WeightRef}`` for every weight of ``model`` (see the module docstring).

    Raises ``ValueError`` when two weights would share a key (e.g. a layer name
    containing ``/`` that collides with a nested path).
    """
    refs, seen_arrays, seen_modules = {}, set(), set()

    def add(path, owner, entry, value):
        if id(value) in seen_arrays:  # the same array reached twice: saved once
            return
        seen_arrays.add(id(value))
        key = "/".join(path)
        if key in refs:
            raise ValueError(f"Two weights of model {getattr(model, 'name', '')!r} would be "
                             f"saved under the same key {key!r}; rename a layer or weight.")
        refs[key] = WeightRef(key, owner, entry)

    def walk(module, path):
        if id(module) in seen_modules:
            return
        seen_modules.add(id(module))
        if isinstance(module, WeightTracking):
            for spec in module._weight_specs:
                add(path + (spec.name,), module, spec, module[spec.key])
            for sub, child in _children(module):
                walk(child, path + sub)
        else:
            for name, value in tree_flatten(module.parameters()):
                add(path + tuple(name.split(".")), module, name, value)

    walk(model, ())
    return refs


def read_weights(model):
    """``{key: mx.array}`` in Keras' layout (lazy reads; nothing is computed)."""
    return {key: ref.read() for key, ref in weight_refs(model).items()}


def compatible_dtypes(file_dtype, weight_dtype):
    """True when an array of ``file_dtype`` may fill a weight of ``weight_dtype``.

    Equal dtypes, or float32 for a bfloat16 weight (how ``.npz`` files hold bfloat16).
    """
    weight = dtype_name(weight_dtype)
    return file_dtype == weight or (weight == "bfloat16" and file_dtype == "float32")


def compare_stored(expected, stored, what, noun="weight", holder="the model"):
    """Checks ``{key: Stored}`` against ``{key: (shape, dtype)}``.

    Returns ``(key_problems, mismatches, matched)``: missing and extra keys,
    shape/dtype mismatches (one message each) and the keys that fit, in
    ``expected``'s order. Shared by weights and optimizer state so both report
    a bad file the same way.
    """
    key_problems, mismatches, matched = [], [], []
    missing = [k for k in expected if k not in stored]
    extra = [k for k in stored if k not in expected]
    if missing:
        key_problems.append(f"{what} lacks {len(missing)} {noun}(s) of {holder}: "
                            f"{_listing(missing)}.")
    if extra:
        key_problems.append(f"{what} holds {len(extra)} {noun}(s) {holder} does not have: "
                            f"{_listing(extra)}.")
    for key, (shape, dtype) in expected.items():
        if key not in stored:
            continue
        array = stored[key]
        if array.shape != tuple(shape):
            mismatches.append(f"{noun} {key!r} has shape {array.shape} in {what}, "
                              f"{tuple(shape)} in {holder}.")
        elif not compatible_dtypes(array.dtype, dtype):
            mismatches.append(f"{noun} {key!r} has dtype {array.dtype} in {what}, "
                              f"{dtype_name(dtype)} in {holder}.")
        else:
            matched.append(key)
    return key_problems, mismatches, matched


def assign_weights(model, stored, what, strict=True, skip_mismatch=False, refs=None):
    """Fills ``model``'s weights from ``{key: Stored}`` (or ``NpyMember``s, read here).

    Nothing is assigned unless everything checks out. Returns ``(problems,
    skipped)``: problems are missing keys and extra keys (when ``strict``) and
    shape/dtype mismatches (unless ``skip_mismatch``, which lists them in
    ``skipped`` instead). ``refs``: the model's ``weight_refs``, if already at hand.
    """
    refs = weight_refs(model) if refs is None else refs
    expected = {k: (r.shape, r.dtype) for k, r in refs.items()}
    key_problems, mismatches, matched = compare_stored(expected, stored, what)
    problems = key_problems if strict else []
    skipped = mismatches if skip_mismatch else []
    if not skip_mismatch:
        problems += mismatches
    if problems:
        return problems, skipped
    # Every array is read (one at a time, each evaluated so no host copy lingers)
    # before any is assigned: a file whose data turns out corrupt changes nothing.
    values = {}
    for key in matched:
        try:
            values[key] = stored[key].to_mlx(expected[key][1])
        except ReadError as e:
            problems.append(str(e))
            continue
        mx.eval(values[key])
    if problems:
        return problems, skipped
    for key in matched:
        refs[key].assign(values.pop(key))
    mx.eval(model.parameters())
    return problems, skipped


def _listing(keys, limit=20):
    shown = ", ".join(repr(k) for k in keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")
