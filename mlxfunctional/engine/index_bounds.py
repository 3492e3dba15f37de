"""Bounds on the indices the package gathers with: ids, labels, ``take``'s indices.

MLX's gathers do not check bounds: id 100 in a 10-row table reads whatever
memory follows it, id 2e9 crashes the process. So every gather on indices a
user supplies (``Embedding``, the sparse losses and metrics, ``ops.take``...)
first passes them through :func:`bounded`, which returns indices that are
always in range and a mask of the ones that were (:func:`checked` when they
are only compared, never gathered with: the mask alone). What happens to an index
out of range depends on where the call runs:

- **eagerly** (concrete arrays, no step of fit/evaluate/predict running): an
  :class:`IndexOutOfRangeError` naming the layer, loss or op, the bad value and
  the valid range;
- **in a step of fit/evaluate/predict**, compiled or not: reading the indices
  would force a sync every step, so the step never raises. The index is made
  safe (the caller decides the result: a zero embedding, a NaN loss) and
  counted in a small tally the step captures with its state; ``fit`` and
  ``evaluate`` read it when an epoch ends and warn once (:class:`IndexRangeWarning`),
  ``predict`` reads it with each batch's outputs and raises;
- **in any other trace** (the user's own ``mx.compile``, ``mx.vmap``, shape
  inference on placeholders): made safe the same way, not counted.

Labels a step gathers from a data set (``fit``/``evaluate`` on arrays) are checked
once per call, on the whole set, rather than in every step: :func:`known_rows`
marks them, and a step whose labels the set's range keeps in bounds runs without
the check and the count (three kernels of the guide MLP's step, 1-2% of it). The
compiled step is kept only for data sets that keep it in bounds (``step.py``). Known
rows are array objects: labels passed as arguments through a transformation
(``nn.value_and_grad(f)(x, y)`` in a custom ``train_step``) come out as new arrays and
are checked in the step as before.

Made safe means clamped into ``[0, size)`` (an index past the end reads the
last element, as XLA's gather does); NaN float indices read element 0.
"""

import collections
import contextlib
import warnings

import mlx.core as mx

from .. import global_state

__all__ = ["IndexOutOfRangeError", "IndexRangeWarning", "bounded", "checked", "comparable",
           "caller", "known_rows", "same_values", "start_recording", "stop_recording",
           "batch_done", "reset", "report", "saved", "warn_if_counted", "raise_if_counted"]

_RECORDING = global_state.index_recording  # [flag]
_CALLERS = global_state.index_callers
TALLY = global_state.index_tally
_SITES = global_state.index_sites
_BATCH_COUNTED = global_state.index_batch_counted  # [flag]: see batch_done()
_KNOWN = global_state.index_known  # id(array) -> (array, source, position): known_rows()

_COMPARED = {"bool": mx.int32, "int8": mx.int32, "int16": mx.int32, "int32": mx.int32,
             "uint8": mx.int32, "uint16": mx.int32, "uint32": mx.int64, "int64": mx.int64,
             "uint64": mx.int64, "float16": mx.float32, "bfloat16": mx.float32,
             "float32": mx.float32}
_LOWEST = {mx.int32: -2 ** 31, mx.int64: -2 ** 63 + 1, mx.float32: -2.0 ** 62}
_UNKNOWN = -2 ** 63  # the tally's value when no step kept one
# The tally's "counts" packs three fields into one int64, so that a step
# updates it with one fused kernel: bad indices * _BAD + (first bad site's code) * _SITE
# + batches done before the first bad one. Each field saturates at its limit.
_SITE, _SITE_LIMIT = 2 ** 24, 2 ** 16
_BAD, _BAD_LIMIT = _SITE * _SITE_LIMIT, 2 ** 23


class IndexOutOfRangeError(IndexError, ValueError):
    """An id, label or index outside the range its table, class count or axis allows.

    Attributes: ``value`` (the first bad one), ``low`` and ``high`` (the valid range,
    both included); None when unknown.
    """

    def __init__(self, message, value=None, low=None, high=None):
        super().__init__(message)
        self.value, self.low, self.high = value, low, high


class IndexRangeWarning(UserWarning):
    """fit/evaluate met out-of-range indices (made safe and counted; see the module)."""


Report = collections.namedtuple("Report", "count site value batch")


def comparable(indices):
    """``indices`` in a dtype where comparing with any size is exact: small ints
    widen to int32 (MLX refuses ``int8 < 1000``), 32-bit unsigned and 64-bit ints
    stay 64-bit (a cast to int32 would wrap 2**32 + 1 into range), floats are
    truncated toward zero (as a cast to int would)."""
    name = str(indices.dtype).rsplit(".", 1)[-1]
    target = _COMPARED.get(name)
    if target is None:
        raise TypeError(f"indices must be integers or floats; received dtype {name}.")
    x = indices.astype(target) if indices.dtype != target else indices
    if target == mx.float32:
        x = mx.where(x < 0, mx.ceil(x), mx.floor(x))
    return x


def _values_known(x):
    """True when ``x``'s values can be read now (not inside a trace)."""
    if global_state.tracing:
        return False
    try:
        mx.eval(x)
    except ValueError as e:
        if "function transformations" in str(e):
            return False
        raise
    return True


def _message(where, what, value, low, high):
    plural = "indices" if what == "index" else f"{what}s"
    subject = f"{what} {value} is out of range; " if value is not None else ""
    return (f"{where}: {subject}valid {plural} are {low} to {high}"
            + (" (negative ones count from the end)." if low < 0 else "."))


def checked(indices, size, where, what="index", negative=False, outcome=None):
    """``(x, valid)``: ``indices`` in a dtype where comparing with any size is exact
    (not yet made safe: callers that compare rather than gather need no more), and
    a bool mask of the ones in range (None when every one was checked in range).

    Raises, or counts, what is out of range as the module docstring says. The
    arguments are those of :func:`bounded`.
    """
    indices = indices if isinstance(indices, mx.array) else mx.array(indices)
    if _CALLERS:
        where = _CALLERS[-1]
    x = comparable(indices)
    if indices.size == 0:
        return x, None
    size = int(size)
    low = -size if negative else 0
    if size <= 0:
        raise IndexOutOfRangeError(f"{where}: no {what} is valid: the axis it indexes "
                                   "has size 0.")
    rows = _KNOWN.get(id(indices))
    if rows is not None and rows[0] is indices and rows[1].values_within(rows[2], low, size):
        return x, None  # (the data set they come from is in range: see known_rows)
    valid = (x >= low) & (x < size)  # (False for NaN)
    step = _RECORDING[0]  # None, "compiled" or "eager" (see start_recording())
    known = step != "compiled" and _values_known(x)
    if step is None and known:
        if not valid.all().item():
            bad = x.reshape(-1)[mx.argmin(valid.reshape(-1).astype(mx.int32))].item()
            bad = int(bad) if bad == bad else bad
            raise IndexOutOfRangeError(_message(where, what, bad, low, size - 1), bad, low,
                                       size - 1)
        return x, None
    # An eager step counts only what it computes itself: inside a transformation of
    # the user's (their own mx.compile) the tally is not captured, and writing a
    # tracer into it would poison every later step.
    if step == "compiled" or (step == "eager" and known):
        _count(x, valid, (where, what, low, size - 1, outcome))
    return x, valid


def bounded(indices, size, where, what="index", negative=False, outcome=None):
    """``(safe, valid)``: ``indices`` as int32 in ``[0, size)``, and a bool mask of the
    ones that were in range (None when every one was checked in range).

    Args:
        indices: an array of integer (or float) indices.
        size: the number of rows / classes / elements they index.
        where: who gathers, for messages (``'Embedding "emb"'``); a loss or metric
            being called (:func:`caller`) names itself instead.
        what: the indices' name in messages: ``"id"``, ``"label"``, ``"index"``.
        negative: whether ``-size <= i < 0`` is valid and counts from the end.
        outcome: what becomes of an out-of-range one in a step, for the warning
            (``"its embedding is zeros"``).
    """
    x, valid = checked(indices, size, where, what, negative, outcome)
    if x.size == 0:
        return x.astype(mx.int32), None
    size = int(size)
    if negative:
        x = mx.where(x < 0, x + size, x)
    if valid is None and not negative and x.dtype == mx.int32:
        return x, None  # (checked in range: nothing to make safe)
    safe = mx.clip(x, 0, size - 1)
    if safe.dtype == mx.float32:
        safe = mx.where(mx.isnan(safe), 0, safe)
    return safe.astype(mx.int32), valid


def known_rows(arrays, source):
    """Marks ``arrays``, the targets of the step about to run, as rows gathered from a
    data set: :func:`checked` asks ``source.values_within(position, low, high)`` (the
    position in ``arrays``) whether every value of the set lies in ``[low, high)``
    and, if so, neither checks nor counts them. Forgets the previous step's."""
    _KNOWN.clear()
    for position, a in enumerate(arrays):
        _KNOWN[id(a)] = (a, source, position)


def same_values(new, old):
    """``new``, a reshape of ``old`` (a squeezed label axis): known rows when ``old`` is."""
    rows = _KNOWN.get(id(old))
    if rows is not None and rows[0] is old:
        _KNOWN[id(new)] = (new,) + rows[1:]
    return new


def _site(site):
    try:
        return _SITES.index(site)
    except ValueError:
        _SITES.append(site)
        return len(_SITES) - 1


def _count(x, valid, site):
    """Adds the step's out-of-range indices to the tally (no sync: arrays only).

    Every operation here runs in every compiled step, and on MLX's CPU backend each
    kernel costs microseconds whatever its size (the first version of this function,
    which also kept the first bad value, took a tenth of the guide MLP's step). So a
    compiled step keeps what one reduction and one fused update of one scalar can
    hold: how many were bad, and the batch and site of the first (see ``_SITE``). An
    eager step (the short last batch, ``run_eagerly``) also keeps the largest bad
    value for the message; ``predict``, which raises, reruns the bad batch eagerly
    to name it.
    """
    _BATCH_COUNTED[0] = True
    # (keepdims: no squeeze kernel after the sum; the tally is shape (1,) for that)
    kept = valid.sum(keepdims=True)
    if kept.ndim != 1:
        kept = kept.reshape(1)
    bad = valid.size - kept
    counts = TALLY["counts"]
    first = (counts < _BAD) & (bad > 0)  # (nothing bad before this one)
    code = min(_site(site), _SITE_LIMIT - 2) + 1  # (0: none; the last code: unknown)
    TALLY["counts"] = (mx.minimum(counts // _BAD + bad, _BAD_LIMIT - 1) * _BAD
                       + counts % _BAD + mx.where(first, mx.array(code * _SITE, mx.int64), 0))
    if _RECORDING[0] == "eager":
        if x.dtype == mx.float32:  # (NaN and huge floats: the value only fills a message)
            x = mx.clip(mx.where(mx.isnan(x), -1, x), -2.0 ** 62, 2.0 ** 62)
        worst = mx.where(valid, _LOWEST[x.dtype], x).max().astype(mx.int64).reshape(1)
        TALLY["value"] = mx.where(first, worst, TALLY["value"])


def batch_done():
    """Marks the end of one batch of a step: until something is out of range, the
    tally counts the batches (so it knows which batch was the first bad one).

    Only batches whose step counted anything are counted: the update then fuses into
    the count's kernel, where alone it would be a kernel of its own in every step
    (1.5-1.9% of the guide MLP's epoch, measured in one process, 3 x 40 alternating
    epochs). Every step of a call has the same sites (the same model, losses and
    data), so the batch named is the batch's number in the call; a custom step that
    counts in some batches only would name an earlier one.
    """
    if _RECORDING[0] and _BATCH_COUNTED[0]:
        counts = TALLY["counts"]
        TALLY["counts"] = counts + ((counts < _BAD) & (counts < _SITE - 1))
    _BATCH_COUNTED[0] = False


def reset():
    """Empties the tally (new arrays of the same shapes: no step traces again)."""
    TALLY.update(counts=mx.array([0], mx.int64), value=mx.array([_UNKNOWN], mx.int64))


reset()


def report():
    """The tally as a :class:`Report` (a sync), or None when it counted nothing.
    Its ``value`` is None when only compiled steps counted (see :func:`_count`)."""
    mx.eval(TALLY)
    counts = TALLY["counts"].item()
    count, code, batch = counts // _BAD, counts // _SITE % _SITE_LIMIT, counts % _SITE
    if count == 0:
        return None
    site = _SITES[code - 1] if 0 < code < _SITE_LIMIT - 1 else ("?", "index", 0, 0, None)
    value = TALLY["value"].item()
    return Report(count, site, None if value == _UNKNOWN else value, batch)


def describe(rep, during):
    """A warning's text about a :class:`Report` (``during``: ``"Epoch 3"``...)."""
    where, what, low, high, outcome = rep.site
    plural = "index" if rep.count == 1 else "indices"
    return (f"{during}: {rep.count} out-of-range {plural}, the first in batch "
            f"{rep.batch + 1}: " + _message(where, what, rep.value, low, high)
            + (f" Inside fit/evaluate {outcome}." if outcome else ""))


def warn_if_counted(during):
    """Warns once (:class:`IndexRangeWarning`) when the tally counted anything."""
    rep = report()
    if rep is not None:
        warnings.warn(describe(rep, during), IndexRangeWarning, stacklevel=3)


def raise_if_counted(during, replay=None):
    """Raises :class:`IndexOutOfRangeError` when the tally counted anything.

    ``replay``: a function that reruns the batch eagerly, so that the error names
    the bad value (a compiled step does not keep it); called only then.
    """
    rep = report()
    if rep is None:
        return
    where, what, low, high, _ = rep.site
    error = IndexOutOfRangeError(_message(where, what, rep.value, low, high), rep.value,
                                 low, high)
    if replay is not None:
        try:
            replay()
        except IndexOutOfRangeError as e:
            error = e
    raise IndexOutOfRangeError(f"{str(error)[:-1]} ({during}).", error.value, error.low,
                               error.high) from None


def start_recording(compiled):
    """Marks what follows as a step of fit/evaluate/predict, run under ``mx.compile``
    or not: out-of-range indices are counted, never raised (a compiled step must
    capture ``TALLY`` with its state). Returns what :func:`stop_recording` puts back.
    (Two calls rather than a context manager: this runs on every step of ``fit``.)"""
    previous = _RECORDING[0]
    _RECORDING[0] = "compiled" if compiled else "eager"
    _BATCH_COUNTED[0] = False  # (a step that failed mid-batch may have left it set)
    return previous


def stop_recording(previous):
    _RECORDING[0] = previous


@contextlib.contextmanager
def saved():
    """A fresh tally for the block; the previous one is put back after it (a
    validation pass or a callback's predict inside an epoch keeps the epoch's)."""
    previous = dict(TALLY)
    reset()
    try:
        yield
    finally:
        TALLY.update(previous)
        _KNOWN.clear()  # (they hold the last step's arrays)


@contextlib.contextmanager
def caller(name):
    """Inside the block, out-of-range labels are reported as ``name``'s (a loss or
    metric object naming itself rather than the function it calls)."""
    _CALLERS.append(name)
    try:
        yield
    finally:
        _CALLERS.pop()
