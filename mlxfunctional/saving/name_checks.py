"""Names that go into a file are checked when saving, not discovered broken at load.

A weight is stored under ``layer/weight`` (``outer/inner/weight`` for nested
models): each layer and weight name is one part of that key and an entry name
in a zip archive. So a name must not be empty, hold ``/`` (it would read as
two parts, and may collide with a nested layer's key), hold a control
character (a NUL cuts a zip entry's name short: two weights end up under one
key and the file cannot be loaded), or be ``.`` or ``..`` (path tricks).
Keras refuses ``/`` in a layer name too.
"""

from .weight_map import weight_refs


def name_problem(name):
    """Why ``name`` cannot be part of a weight key, or None."""
    if not isinstance(name, str) or not name:
        return "is empty" if isinstance(name, str) else f"is a {type(name).__name__}"
    if "/" in name:
        return "contains '/', which separates the parts of a weight key"
    bad = [c for c in name if ord(c) < 0x20 or ord(c) == 0x7f]
    if bad:
        return f"contains the control character U+{ord(bad[0]):04X}"
    if name in (".", ".."):
        return "is a path component"
    return None


def _layers(model):
    """Every layer of ``model``, nested models' layers included, once."""
    found, pending, seen = [], [model], set()
    while pending:
        layer = pending.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        found.append(layer)
        sublayers = getattr(layer, "_sublayers", None)
        if callable(sublayers):
            pending.extend(reversed(sublayers()))
    return found


def check_names(model, action="save"):
    """Raises ``ValueError`` naming the first layer or weight whose name cannot be
    saved (see the module docstring)."""
    for layer in _layers(model)[1:]:  # (the model's own name is not part of a key)
        problem = name_problem(getattr(layer, "name", None))
        if problem:
            raise ValueError(
                f'Cannot {action} model "{model.name}": the name {layer.name!r} of layer '
                f"{type(layer).__name__} {problem}. Give the layer another name "
                "(name=...) before saving.")
    for key in weight_refs(model):
        for part in key.split("/"):
            problem = name_problem(part)
            if problem:
                raise ValueError(
                    f'Cannot {action} model "{model.name}": weight {key!r} has a part '
                    f"{part!r} that {problem}. Rename the weight or its layer.")
