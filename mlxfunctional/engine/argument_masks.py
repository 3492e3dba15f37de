"""Masks of named call arguments: Keras' ``<name>_mask`` convention.

A layer whose ``call`` takes ``query`` and ``query_mask`` (MultiHeadAttention,
GroupQueryAttention) receives in ``query_mask`` the mask that travels with the
tensor passed as ``query`` -- not only the first argument's mask, which every
layer receives as ``mask``. A leaf: the eager path (``layer.py``), the shape
trace and the functional graph all use it.
"""

import inspect

_MASK_ARGUMENTS = {}


def mask_arguments(cls):
    """``(name, position)`` of each argument of ``cls.call`` that has a companion
    ``<name>_mask`` argument (``query``/``query_mask`` in MultiHeadAttention); the
    position is None for a keyword-only argument. Cached per class."""
    if cls not in _MASK_ARGUMENTS:
        params = list(inspect.signature(cls.call).parameters.values())[1:]  # (self)
        names = {p.name for p in params}
        _MASK_ARGUMENTS[cls] = tuple(
            (p.name, i if p.kind == p.POSITIONAL_OR_KEYWORD else None)
            for i, p in enumerate(params)
            if f"{p.name}_mask" in names
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    return _MASK_ARGUMENTS[cls]


def argument_masks(layer, args, kwargs, mask_of):
    """``{"<name>_mask": mask}`` for the call arguments of ``layer`` that carry a mask.

    Keras fills a ``call`` argument ``<name>_mask`` left at None with the mask of the
    tensor passed as ``<name>`` (so ``mha(query, value)`` sees both sequences' padding).
    ``mask_of(value)`` reads a mask: ``_keras_mask`` of an eager array, the mask a
    functional graph carries beside a symbolic tensor.
    """
    found = {}
    for name, position in mask_arguments(type(layer)):
        if kwargs.get(f"{name}_mask") is not None:
            continue
        if name in kwargs:
            value = kwargs[name]
        elif position is not None and position < len(args):
            value = args[position]
        else:
            continue
        mask = None if value is None or isinstance(value, (list, tuple, dict)) \
            else mask_of(value)
        if mask is not None:
            found[f"{name}_mask"] = mask
    return found
