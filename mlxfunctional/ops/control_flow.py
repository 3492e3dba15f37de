"""Keras' control-flow ops on MLX: ``cond``, ``switch``, loops, scans and maps.

MLX has no data-dependent control flow inside ``mx.compile``: a compiled
function is traced once and every Python branch it takes is baked in. So each
op asks whether the value that decides its path is *concrete*: eagerly (and
for values that do not depend on a compiled function's inputs) it is, the
predicate is read and only the chosen branch runs. Inside a compiled (or
``mx.vmap``-ed) trace it is not, and the op does what a fixed graph can:

- ``cond`` / ``switch`` compute every branch and select with ``mx.where``
  (the branches must agree in structure, shape and dtype);
- ``while_loop`` with ``maximum_iterations`` unrolls that many masked steps;
  without it, it cannot run and says so;
- ``fori_loop``, ``scan`` and ``map`` need only trip counts, which are shapes
  or Python ints, and unroll.

While a layer graph is built (``KerasTensor`` inputs run the layers on zero
placeholders), predicates are treated as traced too: zeros say nothing
about the real values.

How "concrete" is detected: MLX refuses ``mx.eval`` on an array that depends
on a tracer (``ValueError: [eval] ... during function transformations``), and
only on those, so :func:`concrete` tries to evaluate the one array it needs
and catches exactly that error. It needs no flag from the training engine and
answers per value (a constant computed inside a compiled step is concrete).
"""

import builtins

import mlx.core as mx

from .. import global_state, tree
from .dtypes import convert_to_tensor
from .operation import keras_op

__all__ = ["associative_scan", "cond", "fori_loop", "map", "scan", "switch",
           "vectorized_map", "while_loop"]

_TRACER_ERROR = "[eval]"


def concrete(x):
    """``x`` (an array or Python number) as a Python scalar or ``mx.array`` with a
    known value, or ``None`` when it depends on a compiled/vmapped trace."""
    if not isinstance(x, mx.array):
        return x
    try:
        mx.eval(x)
    except ValueError as e:
        if _TRACER_ERROR in str(e):
            return None
        raise
    return x


def _as_bool(pred, op):
    if global_state.tracing:
        # A symbolic call runs on zero placeholders: their values mean nothing, so
        # take the traced path (every branch is built, shapes are checked).
        return None
    value = concrete(pred)
    if value is None:
        return None
    if isinstance(value, mx.array):
        if value.size != 1:
            raise ValueError(f"{op}: the predicate must be a scalar; received shape "
                             f"{tuple(value.shape)}.")
        return builtins.bool(value.item())
    return builtins.bool(value)


def _select(pred, if_true, if_false, op):
    """``mx.where(pred, if_true, if_false)`` leaf by leaf, refusing mismatched branches."""
    flat_t, flat_f = tree.flatten(if_true), tree.flatten(if_false)
    if len(flat_t) != len(flat_f):
        raise ValueError(f"{op}: inside a compiled function both branches run and their "
                         f"results are selected, so they must have the same structure; "
                         f"received {len(flat_t)} and {len(flat_f)} outputs.")
    chosen = []
    for a, b in zip(flat_t, flat_f):
        a, b = convert_to_tensor(a), convert_to_tensor(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            raise ValueError(f"{op}: inside a compiled function both branches run and their "
                             f"results are selected, so they must agree in shape and dtype; "
                             f"received {tuple(a.shape)} {a.dtype} and {tuple(b.shape)} "
                             f"{b.dtype}.")
        chosen.append(mx.where(pred, a, b))
    return tree.pack_sequence_as(if_true, chosen)


@keras_op
def cond(pred, true_fn, false_fn):
    """``true_fn()`` if ``pred`` else ``false_fn()``.

    Inside a compiled function where ``pred`` depends on the inputs, both
    branches run and ``mx.where`` picks the result (so both must return the
    same structure, shapes and dtypes, and both pay their cost).
    """
    value = _as_bool(pred, "cond")
    if value is not None:
        return true_fn() if value else false_fn()
    pred = convert_to_tensor(pred).astype(mx.bool_).reshape(())
    return _select(pred, true_fn(), false_fn(), "cond")


@keras_op
def switch(index, branches, *operands):
    """``branches[index](*operands)``, with ``index`` clamped to the valid range.

    Inside a compiled function where ``index`` depends on the inputs, every
    branch runs and the result is selected with ``mx.where``.
    """
    if not branches:
        raise ValueError("switch: `branches` must hold at least one function.")
    last = len(branches) - 1
    value = None if global_state.tracing else concrete(index)
    if value is not None:
        i = int(value.item() if isinstance(value, mx.array) else value)
        return branches[min(max(i, 0), last)](*operands)
    index = mx.clip(convert_to_tensor(index).reshape(()), 0, last)
    result = branches[last](*operands)
    for i in range(last - 1, -1, -1):
        result = _select(index == i, branches[i](*operands), result, "switch")
    return result


@keras_op
def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Repeats ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``, at most
    ``maximum_iterations`` times.

    Inside a compiled function a predicate that depends on the inputs cannot be
    read: with ``maximum_iterations`` the loop unrolls that many steps, each
    kept only while the predicate holds; without it it raises.
    """
    is_sequence = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_sequence else (loop_vars,)

    def step(values):
        out = body(*values)
        return tuple(out) if is_sequence else (out,)

    done = 0
    while maximum_iterations is None or done < maximum_iterations:
        value = _as_bool(cond(*state), "while_loop")
        if value is None:
            state = _masked_loop(cond, step, state, maximum_iterations, done)
            break
        if not value:
            break
        state = step(state)
        done += 1
    return (type(loop_vars)(state) if is_sequence else state[0])


def _masked_loop(cond, step, state, maximum_iterations, done):
    """The remaining iterations of a while loop with a traced predicate, unrolled:
    each step's result is kept only where the predicate still holds (once it
    fails the state stops changing, so it keeps failing)."""
    if maximum_iterations is None and global_state.tracing:
        # Shape inference on placeholders: one masked step gives the (unchanged)
        # shapes; the real trip count is decided when the model runs.
        return _select(convert_to_tensor(cond(*state)).astype(mx.bool_).reshape(()),
                       step(state), state, "while_loop")
    if maximum_iterations is None:
        raise ValueError(
            "while_loop: the loop condition depends on values traced by mx.compile (or "
            "mx.vmap), and MLX cannot branch on them inside a compiled function. Pass "
            "`maximum_iterations=N` (the loop then runs N masked steps), use "
            "`fori_loop` with a fixed trip count, or call the loop outside the compiled "
            "step.")
    for _ in range(maximum_iterations - done):
        keep = convert_to_tensor(cond(*state)).astype(mx.bool_).reshape(())
        state = _select(keep, step(state), state, "while_loop")
    return state


@keras_op
def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``.

    The bounds must be known (Python ints or concrete arrays); the loop runs in
    Python, so inside a compiled function it unrolls. ``i`` is a Python int.
    """
    bounds = [concrete(lower), concrete(upper)]
    if any(b is None for b in bounds):
        raise ValueError("fori_loop: `lower` and `upper` depend on values traced by "
                         "mx.compile; the trip count must be known. Pass Python ints, or "
                         "use while_loop with maximum_iterations.")
    lower, upper = (int(b.item() if isinstance(b, mx.array) else b) for b in bounds)
    val = init_val
    for i in range(lower, upper):
        val = body_fun(i, val)
    return val


def _leading_length(xs, op, length=None):
    leaves = [convert_to_tensor(x) for x in tree.flatten(xs)]
    sizes = {x.shape[0] if x.ndim else None for x in leaves}
    if None in sizes:
        raise ValueError(f"{op}: every array in `xs` needs a leading axis to loop over; "
                         "received a scalar.")
    if len(sizes) > 1:
        raise ValueError(f"{op}: the arrays in `xs` must share their leading axis; "
                         f"received sizes {sorted(sizes)}.")
    n = sizes.pop() if sizes else None
    if length is not None and n is not None and length != n:
        raise ValueError(f"{op}: `length`={length} but `xs` has {n} elements on its "
                         "leading axis.")
    return n if n is not None else length


def _stack(outputs, op):
    """Stacks a list of same-structure outputs along a new leading axis."""
    flat = [tree.flatten(o) for o in outputs]
    stacked = [mx.stack([convert_to_tensor(leaf) for leaf in leaves])
               for leaves in zip(*flat)]
    return tree.pack_sequence_as(outputs[0], stacked)


def _empty_like_output(f, xs, op):
    """The stacked output of a map over zero elements: ``f`` runs on one zero
    element only to learn the output's structure, shapes and dtypes."""
    probe = tree.map_structure(
        lambda x: mx.zeros(x.shape[1:], convert_to_tensor(x).dtype), xs)
    out = f(probe)
    return tree.map_structure(
        lambda y: mx.zeros((0,) + convert_to_tensor(y).shape, convert_to_tensor(y).dtype),
        out)


@keras_op
def map(f, xs):
    """``stack([f(x) for x in xs])`` over the leading axis of (nested) ``xs``."""
    xs = tree.map_structure(convert_to_tensor, xs)
    n = _leading_length(xs, "map")
    if n == 0:
        return _empty_like_output(f, xs, "map")
    return _stack([f(tree.map_structure(lambda x: x[i], xs)) for i in range(n)], "map")


@keras_op
def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loops ``carry, y = f(carry, x)`` over the leading axis of ``xs`` (or
    ``length`` times with ``x=None``); returns the last carry and the stacked ys.

    ``reverse`` walks the axis backwards (ys keep ``xs``' order). The loop runs
    in Python (unrolled in a compiled function), so ``unroll`` only validates.
    """
    if not isinstance(unroll, builtins.bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(f"scan: `unroll` must be a positive int or a bool; received "
                         f"{unroll!r}.")
    if xs is None and length is None:
        raise ValueError("scan: pass `xs` or `length` (the number of iterations).")
    if xs is not None:
        xs = tree.map_structure(convert_to_tensor, xs)
        n = _leading_length(xs, "scan", length)
    else:
        n = int(length)
    carry, ys = init, [None] * n
    for i in (range(n - 1, -1, -1) if reverse else range(n)):
        x = None if xs is None else tree.map_structure(lambda a: a[i], xs)
        carry, ys[i] = f(carry, x)
    if n == 0 or all(y is None for y in tree.flatten(ys)):
        return carry, None
    return carry, _stack(ys, "scan")


@keras_op
def associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive prefix scan ``[e0, f(e0, e1), f(f(e0, e1), e2), ...]`` along ``axis``
    for an associative ``f``, in ``ceil(log2(n))`` parallel steps.

    Each step combines every element with the one ``2**k`` before it (the
    Hillis-Steele scan): ``f`` is called on whole shifted arrays, never per
    element. ``reverse`` scans from the end (as ``flip(scan(flip(elems)))``).
    """
    flat = [convert_to_tensor(e) for e in tree.flatten(elems)]
    if not flat:
        return elems
    axis = axis % flat[0].ndim if flat[0].ndim else 0
    sizes = {e.shape[axis] for e in flat}
    if len(sizes) != 1:
        raise ValueError(f"associative_scan: every array needs the same size on axis "
                         f"{axis}; received shapes {[tuple(e.shape) for e in flat]}.")
    n = sizes.pop()
    if reverse:
        flat = [_flip(e, axis) for e in flat]

    def take(arrays, start, stop):
        index = (builtins.slice(None),) * axis + (builtins.slice(start, stop),)
        return [a[index] for a in arrays]

    def call(a, b):
        out = f(tree.pack_sequence_as(elems, a), tree.pack_sequence_as(elems, b))
        return [convert_to_tensor(o) for o in tree.flatten(out)]

    shift = 1
    while shift < n:
        combined = call(take(flat, 0, n - shift), take(flat, shift, n))
        flat = [mx.concatenate([head, body.astype(head.dtype)], axis=axis)
                for head, body in zip(take(flat, 0, shift), combined)]
        shift *= 2
    if reverse:
        flat = [_flip(e, axis) for e in flat]
    return tree.pack_sequence_as(elems, flat)


def _flip(x, axis):
    index = (builtins.slice(None),) * axis + (builtins.slice(None, None, -1),)
    return x[index]


@keras_op
def vectorized_map(function, elements):
    """``function`` mapped over the leading axis of ``elements`` in one batched
    computation (``mx.vmap``); a list/tuple of arrays reaches ``function`` as one
    list, as in Keras."""
    elements = tree.map_structure(convert_to_tensor, elements)
    return mx.vmap(function)(elements)
