"""``rearrange``: einops-style axis patterns (``"b (h p) w -> b h (p w)"``) as one
reshape, one transpose and one reshape, without the einops package.

A pattern names each input axis; parentheses group axes that share one
dimension (split on the left, merged on the right), ``...`` stands for any
number of axes, and ``1`` or ``()`` is an axis of size one.
"""

import math
import re

import mlx.core as mx

from .dtypes import convert_to_tensor
from .operation import keras_op

__all__ = ["rearrange"]

_TOKEN = re.compile(r"\.\.\.|\(|\)|[A-Za-z_][A-Za-z0-9_]*|\d+|\S")
_ELLIPSIS = "..."


def _parse(side, pattern):
    """The groups of one side of a pattern: a list of lists of axis names
    (``"1"`` is an anonymous unit axis; ``[]`` is ``()``), where a bare ``...``
    stays the string ``"..."`` (it spans several axes; ``(...)`` merges them)."""
    groups, current = [], None
    for token in _TOKEN.findall(side):
        if token == "(":
            if current is not None:
                raise ValueError(f"rearrange: nested parentheses in {pattern!r}.")
            current = []
        elif token == ")":
            if current is None:
                raise ValueError(f"rearrange: unbalanced ')' in {pattern!r}.")
            groups.append(current)
            current = None
        elif token == _ELLIPSIS or token.isidentifier() or token.isdigit():
            if token.isdigit() and token != "1":
                raise ValueError(f"rearrange: only the number 1 may stand for an axis; "
                                 f"received {token!r} in {pattern!r}.")
            if current is not None:
                current.append(token)
            else:
                groups.append(token if token == _ELLIPSIS else [token])
        else:
            raise ValueError(f"rearrange: unexpected {token!r} in {pattern!r}.")
    if current is not None:
        raise ValueError(f"rearrange: unbalanced '(' in {pattern!r}.")
    names = [n for g in groups for n in ([g] if g == _ELLIPSIS else g) if n != "1"]
    if len(names) != len(set(names)):
        raise ValueError(f"rearrange: an axis is named twice on one side of {pattern!r}.")
    return groups


@keras_op
def rearrange(tensor, pattern, **axes_lengths):
    """``tensor`` with its axes split, reordered and merged as ``pattern`` says
    (``"b h w c -> b c h w"``, ``"b (h1 h) w c -> (b h1) h w c"`` with ``h1=2``).

    Args:
        tensor: the input array.
        pattern: ``"<input axes> -> <output axes>"`` in einops notation.
        **axes_lengths: sizes of axes that a split cannot infer.
    """
    x = convert_to_tensor(tensor)
    if pattern.count("->") != 1:
        raise ValueError(f"rearrange: the pattern must be '<input> -> <output>'; received "
                         f"{pattern!r}.")
    left, right = (_parse(s, pattern) for s in pattern.split("->"))
    sizes, dims = _input_sizes(left, x.shape, axes_lengths, pattern)
    ellipsis = [f"...{i}" for i in range(dims)]

    def expand(groups):
        out = []
        for g in groups:
            if g == _ELLIPSIS:
                out.extend([e] for e in ellipsis)
            else:
                out.append([e for n in g for e in (ellipsis if n == _ELLIPSIS else [n])])
        return out

    left, right = expand(left), expand(right)
    source = [n for g in left for n in g if n != "1"]
    target = [n for g in right for n in g if n != "1"]
    if set(source) != set(target):
        missing = sorted(set(source) - set(target))
        extra = sorted(set(target) - set(source))
        raise ValueError(f"rearrange: both sides of {pattern!r} must name the same axes "
                         f"(rearrange neither reduces nor repeats); only on the left: "
                         f"{missing}, only on the right: {extra}.")
    x = x.reshape([sizes[n] for n in source])
    x = mx.transpose(x, [source.index(n) for n in target])
    return x.reshape([math.prod(sizes[n] for n in g if n != "1") for g in right])


def _input_sizes(groups, shape, axes_lengths, pattern):
    """Every named axis' size, and how many axes ``...`` stands for."""
    sizes = {}
    has_ellipsis = _ELLIPSIS in groups
    dims = len(shape) - (len(groups) - 1) if has_ellipsis else 0
    if (has_ellipsis and dims < 0) or (not has_ellipsis and len(groups) != len(shape)):
        raise ValueError(f"rearrange: the left side of {pattern!r} names {len(groups)} "
                         f"axes but the input has shape {tuple(shape)}.")
    axis = 0
    for group in groups:
        if group == _ELLIPSIS:
            for i in range(dims):
                sizes[f"...{i}"] = shape[axis + i]
            axis += dims
            continue
        if _ELLIPSIS in group:
            raise ValueError(f"rearrange: '...' cannot be inside parentheses on the left "
                             f"of {pattern!r}.")
        dim = shape[axis]
        known = [n for n in group if n in axes_lengths or n == "1"]
        unknown = [n for n in group if n not in known]
        product = math.prod(1 if n == "1" else int(axes_lengths[n]) for n in known)
        if len(unknown) > 1:
            raise ValueError(f"rearrange: cannot split axis {axis} (size {dim}) into "
                             f"{group}: give the sizes of all but one of {unknown}.")
        if unknown:
            if product == 0 or dim % product:
                raise ValueError(f"rearrange: axis {axis} (size {dim}) is not divisible by "
                                 f"{product}, the product of the given sizes of {known}.")
            sizes[unknown[0]] = dim // product
        elif product != dim:
            raise ValueError(f"rearrange: axis {axis} has size {dim} but {group} multiply "
                             f"to {product}.")
        for n in known:
            if n != "1":
                sizes[n] = int(axes_lengths[n])
        axis += 1
    unused = set(axes_lengths) - set(sizes)
    if unused:
        raise ValueError(f"rearrange: sizes given for axes that the left side of {pattern!r} "
                         f"does not split: {sorted(unused)}.")
    return sizes, dims
