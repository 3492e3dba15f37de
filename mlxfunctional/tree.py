"""Nested structures (lists, tuples, dicts) of tensors: flatten and map.

Leaves are anything that is not a list, tuple or dict. Dicts keep insertion
order, which is the order the user wrote them in.
"""


def is_nested(x):
    return isinstance(x, (list, tuple, dict))


def flatten(structure):
    """All leaves of a nested structure, depth first, in order."""
    if isinstance(structure, dict):
        return [leaf for v in structure.values() for leaf in flatten(v)]
    if isinstance(structure, (list, tuple)):
        return [leaf for v in structure for leaf in flatten(v)]
    return [structure]


def map_structure(fn, structure):
    """Applies ``fn`` to every leaf, keeping the structure (and tuple/list types)."""
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, v) for v in structure)
    return fn(structure)


def pack_sequence_as(structure, flat):
    """Refills ``structure`` with the leaves in ``flat`` (the inverse of flatten)."""
    it = iter(flat)
    packed = map_structure(lambda _: next(it), structure)
    return packed
