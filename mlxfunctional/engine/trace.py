"""Shape inference by lazy trace.

MLX knows an array's shape as soon as the op is built and computes values
only at ``mx.eval``. So a layer called on symbolic tensors runs its real
``call`` on placeholder arrays that are never evaluated and reads the output
shapes. ``None`` dimensions are traced twice with two different sizes: an
output dimension that changes between the two depends on an unknown one and
comes out as ``None`` again (the same trick Keras 3 uses on JAX).
"""

import contextlib

import mlx.core as mx

from .. import backend, global_state
from .. import tree
from .argument_masks import argument_masks
from .keras_tensor import KerasTensor

# Sizes that stand in for unknown dimensions: even (reshapes by 2 work) and
# large enough for valid convolutions and five stride-2 poolings.
TRACE_SIZES = (96, 128)

def in_trace():
    """True while a layer runs on placeholders (layers may skip side effects)."""
    return global_state.tracing


@contextlib.contextmanager
def _tracing():
    previous = global_state.tracing
    global_state.tracing = True
    try:
        yield
    finally:
        global_state.tracing = previous


def _placeholder(shape, dtype, size, batch=None):
    dims = tuple((batch or size) if d is None and i == 0 else size if d is None else d
                 for i, d in enumerate(shape))
    return mx.zeros(dims, dtype=backend.mlx_dtype(dtype))


def _restoring_state(layer):
    """Snapshot of the weights a call could assign (e.g. moving statistics).

    (MLX's global random key cannot be restored from Python; a trace of a
    random layer advances it, which keeps runs deterministic under a seed.)
    """
    params = layer.parameters()

    def restore():
        layer.update(params, strict=False)

    return restore


def trace_call(layer, args, kwargs):
    """Runs ``layer`` on placeholders for the symbolic tensors in ``args``/``kwargs``.

    Returns ``(outputs, output_mask_shapes)``: nested KerasTensors in the
    structure ``call`` returned, and the mask shape per output (or None).
    """
    restore = _restoring_state(layer)
    try:
        with _tracing():
            try:
                runs = [_one_trace(layer, args, kwargs, size) for size in TRACE_SIZES]
            except Exception:
                # A fixed batch size on one input fixes it for the others (Keras
                # broadcasts (2, 4) with (None, 4) to (2, 4)); retry with it.
                batch = _fixed_batch(args, kwargs)
                if batch is None:
                    raise
                restore()
                runs = [_one_trace(layer, args, kwargs, size, batch) for size in TRACE_SIZES]
    finally:
        restore()
    (out_a, masks_a), (out_b, masks_b) = runs
    flat_a, flat_b = tree.flatten(out_a), tree.flatten(out_b)
    for x in flat_a:
        if not isinstance(x, mx.array):
            raise TypeError(
                f'Layer "{layer.name}" ({type(layer).__name__}) returned {type(x).__name__} '
                "from call(); a layer must return arrays (or a list/tuple/dict of arrays)."
            )
    flat_out = [_merge(layer, i, a, b) for i, (a, b) in enumerate(zip(flat_a, flat_b))]
    mask_shapes = [
        _merge_shape(ma.shape, mb.shape) if ma is not None else None
        for ma, mb in zip(_align_masks(masks_a, len(flat_a)), _align_masks(masks_b, len(flat_b)))
    ]
    for t, ms in zip(flat_out, mask_shapes):
        t._mask_shape = ms
    return tree.pack_sequence_as(out_a, flat_out)


def _align_masks(masks, n):
    flat = tree.flatten(masks) if masks is not None else [None]
    if len(flat) != n:
        flat = (flat * n)[:n] if len(flat) == 1 else [None] * n
    return flat


def _merge_shape(a, b):
    return tuple(x if x == y else None for x, y in zip(a, b))


def _merge(layer, index, a, b):
    if a.ndim != b.ndim:
        raise ValueError(
            f'Layer "{layer.name}": the rank of output {index} depends on the size of '
            f"an unknown input dimension ({a.shape} vs {b.shape})."
        )
    name = layer.name if index == 0 else f"{layer.name}_{index}"
    return KerasTensor(_merge_shape(a.shape, b.shape), backend.standardize_dtype(a.dtype), name=name)


def _fixed_batch(args, kwargs):
    symbolic = [t for t in tree.flatten((args, kwargs)) if isinstance(t, KerasTensor)]
    fixed = {t.shape[0] for t in symbolic if t.shape and t.shape[0] is not None}
    unknown = any(t.shape and t.shape[0] is None for t in symbolic)
    return fixed.pop() if len(fixed) == 1 and unknown else None


def _one_trace(layer, args, kwargs, size, batch=None):
    symbolic = [t for t in tree.flatten((args, kwargs)) if isinstance(t, KerasTensor)]
    values, masks = {}, {}
    for t in symbolic:
        if id(t) not in values:
            values[id(t)] = _placeholder(t.shape, t.dtype, size, batch)
            if t._mask_shape is not None:
                masks[id(t)] = _placeholder(t._mask_shape, "bool", size, batch) == 0
    p_args = tree.map_structure(lambda x: values[id(x)] if isinstance(x, KerasTensor) else x, args)
    p_kwargs = tree.map_structure(lambda x: values[id(x)] if isinstance(x, KerasTensor) else x, kwargs)
    first = args[0] if args else next(iter(kwargs.values()))
    in_mask = tree.map_structure(lambda x: masks.get(id(x)) if isinstance(x, KerasTensor) else None, first)
    if not any(m is not None for m in tree.flatten(in_mask)):
        in_mask = None
    if masks:
        p_kwargs = {**p_kwargs, **argument_masks(
            layer, args, kwargs, lambda x: masks.get(id(x)) if isinstance(x, KerasTensor) else None)}
    outputs, out_mask = layer._call_and_mask(p_args, p_kwargs, in_mask)
    return outputs, out_mask
