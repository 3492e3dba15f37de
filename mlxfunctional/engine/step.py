"""Compiled step functions, cached per input signature, and state that survives a failure.

A step (``Model.train_step``/``test_step``/``predict_step``) runs as one
``mx.compile``d function. A compiled function must see every array it reads
or writes as a captured input/output, or MLX bakes it in as a constant. The
model gives the state to capture (``Trainer._step_state``), by this rule:

- the whole module tree of the model (weights, statistics, and every
  sub-model held as an attribute: a GAN's generator and discriminator);
- train steps only: the ``state`` of every optimizer the model holds as an
  attribute (``optimizer``, and e.g. a GAN's ``d_optimizer``/``g_optimizer``,
  also inside lists or dicts);
- train and test steps: the ``variables`` of every metric in ``model.metrics``
  and of every metric held as an attribute;
- the tally of out-of-range ids and labels (``index_bounds.TALLY``), which the
  steps count into instead of syncing to check them;
- ``mx.random.state`` (without it Dropout's mask would freeze).

Anything else a custom step changes (a Python attribute, an array kept outside
these containers) is read when the step is traced and then fixed.

This module knows nothing of models: :class:`StepCache` keeps compiled
functions keyed by ``(mode, data-parallel group, input signature, whether the
data vouches for its labels)``, and :class:`StateSnapshot` puts every captured
array back after a failure. An
exception raised while ``mx.compile`` traces leaves the captured arrays as
tracers that poison every later evaluation in the process; so any call that
may trace (a new cache entry's first call, a run without ``mx.compile``) is
guarded: on an exception the state is restored and the entry dropped. An
entry that has run once with the state's structure unchanged is called with
no guard: that is the hot path of ``fit``, and it does no extra work.

A step on rows of a data set may leave out the bounds check of its labels when
the whole set is in range (``index_bounds.known_rows``): the data set itself
answers (its ``values_within``, set per step as :attr:`StepCache.source`), and
the entry traced so keeps the answer as a condition; a later data set that
breaks it traces the step again, with the check.
"""

import collections

import mlx.core as mx
import numpy as np
from mlx.utils import tree_flatten

# Compiled functions kept per model. Each holds a traced graph and (on the CPU)
# JIT kernels, so the cache is bounded; 8 covers what alternates in practice: train,
# test and predict for two or three batch sizes, plus a steps_per_execution group
# and a validation batch size. An evicted entry is retraced when its signature
# comes back (milliseconds; seconds the first time ever on the CPU, for the JIT).
MAX_ENTRIES = 8


def _containers(tree, out):
    """Appends ``(container, shallow copy)`` for every dict and list in ``tree``."""
    if isinstance(tree, dict):
        out.append((tree, dict(tree)))
        for value in dict.values(tree):
            _containers(value, out)
    elif isinstance(tree, list):
        out.append((tree, list(tree)))
        for value in tree:
            _containers(value, out)
    elif isinstance(tree, tuple):
        for value in tree:
            _containers(value, out)


def state_arrays(tree):
    """The ``mx.array`` leaves of ``tree`` (a step's state or outputs), in order."""
    return [a for _, a in tree_flatten(tree) if isinstance(a, mx.array)]


def structure(state):
    """``(shape, dtype)`` of every array of ``state`` in order: a compiled function
    traces again when this changes (e.g. an optimizer creating its slots)."""
    return [(a.shape, a.dtype) for a in state_arrays(state)]


class StateSnapshot:
    """References to every array of a step's captured state, to put back on failure.

    Captured containers are mutated in place (their entries are rebound), so the
    snapshot keeps a shallow copy of each dict and list: no array is copied.
    ``mx.random.state`` cannot be assigned from Python; its key is put back with
    ``mx.random.seed`` (a key is the seed's two 32-bit halves).

    Args:
        state: a list of containers (dicts, lists, ``mx.random.state``).
        flags: ``(object, attribute)`` pairs to put back as well.
    """

    def __init__(self, state, flags=()):
        self._saved = []
        self._flags = [(obj, name, getattr(obj, name, None)) for obj, name in flags]
        self._key = None
        for part in state:
            if part is mx.random.state:
                self._key = part[0]
            else:
                _containers(part, self._saved)

    def restore(self):
        for container, content in self._saved:
            if isinstance(container, dict):
                dict.clear(container)
                dict.update(container, content)  # (nn.Module overrides update())
            else:
                container[:] = content
        for obj, name, value in self._flags:
            setattr(obj, name, value)
        if self._key is not None:
            high, low = (int(v) for v in np.array(self._key).astype(np.uint64))
            mx.random.seed((high << 32) | low)


class StepCache:
    """Compiled step functions in a small LRU, keyed by ``(mode, group, signature, ...)``.

    Each mode (``"train"``, ``"test"``, ``"predict"``) has its own captured state,
    set with :meth:`bind`.

    Args:
        jit: compile with ``mx.compile``; False runs every call eagerly (guarded).
        max_entries: the LRU's bound (see ``MAX_ENTRIES``).
    """

    def __init__(self, jit=True, max_entries=MAX_ENTRIES):
        self.jit = jit
        self.max_entries = max_entries
        # key -> [compiled fn, settled, conditions on the data: (position, low, high)]
        self._entries = collections.OrderedDict()
        self._seen = {}  # keys of short batches met once (see seen_before)
        self._bound = {}  # mode -> (ids of the containers, state, flags)
        self._data = None  # (x, y, sample_weight, their signature): see signature()
        # The data set the batches of the next call come from (``values_within``), or None.
        self.source = None
        self._conditions = None  # those of the entry being traced: see values_within()
        self._last = None  # (mode, x, y, sample_weight, rows, compiled fn): see repeat()
        self.traces = 0  # compiled functions created (for tests and diagnostics)
        self.completed = 0  # calls that returned

    def bind(self, mode, state, flags=()):
        """Sets what ``mode``'s steps capture: ``state``, a list of containers, and
        ``flags``, ``(object, attribute)`` pairs a failure must also put back. Other
        containers than before (a new optimizer, a recompiled model) drop the mode's
        compiled functions."""
        ids = tuple(id(part) for part in state)
        previous = self._bound.get(mode)
        if previous is not None and previous[0] != ids:
            for key in [k for k in self._entries if k[0] == mode]:
                del self._entries[key]
            self._last = None
        self._bound[mode] = (ids, state, list(flags))

    def state(self, mode):
        return self._bound[mode][1]

    def snapshot(self, mode):
        """A :class:`StateSnapshot` of what ``mode``'s steps capture."""
        _, state, flags = self._bound[mode]
        return StateSnapshot(state, flags)

    def __contains__(self, key):
        return key in self._entries

    def seen_before(self, key):
        """Whether ``key`` was asked about before (and remembers it now): a signature
        that comes once is not worth a trace (``step_calls.py``). Bounded like the
        entries: a signature forgotten is merely run uncompiled once more."""
        if key in self._entries or key in self._seen:
            return True
        self._seen[key] = None
        while len(self._seen) > 4 * self.max_entries:
            self._seen.pop(next(iter(self._seen)))
        return False

    def keys(self):
        return list(self._entries)

    def signature(self, batches):
        """:func:`batch_signature` of each of ``batches``, as a tuple.

        Batches with indices carry the whole data set's arrays: the same list
        objects, never changed, on every step of a call. Their arrays' part is
        computed once and kept until :meth:`forget_data` (the end of the call),
        since this runs on every step of ``fit``.
        """
        out = []
        for batch in batches:
            x, y, sw, idx = batch
            if idx is None:
                out.append(batch_signature(batch))
                continue
            data = self._data
            if data is None or data[0] is not x or data[1] is not y or data[2] is not sw:
                data = self._data = (x, y, sw, batch_signature(batch)[1])
            out.append((int(idx.shape[0]), data[3]))
        return tuple(out)

    def values_within(self, position, low, high):
        """Whether every value of target ``position`` of :attr:`source` lies in
        ``[low, high)`` (``index_bounds.known_rows``). A True answer given while an
        entry is traced is kept as that entry's condition (:meth:`call`)."""
        if self.source is None or not self.source.values_within(position, low, high):
            return False
        if self._conditions is not None:
            self._conditions.append((position, low, high))
        return True

    def _holds(self, conditions):
        return all(self.values_within(*c) for c in conditions)

    def remember(self, key, batches):
        """After a compiled call of ``key`` on ``batches``: when they are one batch of
        indices into a data set and the entry is settled, keeps what :meth:`repeat`
        needs to call it again without looking it up."""
        entry = self._entries.get(key)
        if len(batches) == 1 and batches[0][3] is not None and entry is not None and entry[1]:
            x, y, sw, idx = batches[0]
            self._last = (key[0], x, y, sw, int(idx.shape[0]), entry[0])

    def repeat(self, mode, batches):
        """The compiled function :meth:`remember` kept, when ``batches`` are one more
        batch like the last: the same mode, data set (the same list objects) and rows,
        so the same signature and the same decision to compile. Else None.

        ``fit`` calls the same entry on every step of an epoch; this skips building
        and hashing its key (microseconds that cost ~2% of the MLP's step). What it
        kept is dropped with :meth:`forget_data` at the end of the call, and by
        :meth:`bind` and :meth:`clear`.
        """
        last = self._last
        if last is None or len(batches) != 1:
            return None
        x, y, sw, idx = batches[0]
        if last[0] != mode or last[1] is not x or last[2] is not y or last[3] is not sw \
                or idx is None or idx.shape[0] != last[4]:
            return None
        return last[5]

    def call_repeat(self, fn, *args):
        """Calls a settled entry's function: what :meth:`repeat` returned, or
        :meth:`call`'s hot path (no guard: see the module docstring)."""
        out = fn(*args)
        self.completed += 1
        return out

    def forget_data(self):
        """Drops the data set :meth:`signature` and :meth:`remember` kept (it would keep
        it in memory)."""
        self._data = self._last = self.source = None

    def clear(self):
        self._entries.clear()
        self._seen.clear()
        self._last = None

    def call(self, key, fn, *args):
        """``fn(*args)`` compiled for ``key`` (``key[0]`` is the mode; created on first use).

        ``fn`` must read and write only ``args`` and the mode's bound state. The
        first calls of an entry are guarded (see the module docstring).
        """
        if not self.jit:
            return self.call_eagerly(key[0], fn, *args)
        entry = self._entries.get(key)
        if entry is not None and entry[2] and not self._holds(entry[2]):
            del self._entries[key]  # (traced for data in range; this data set is not)
            entry = None
        if entry is not None and entry[1]:
            self._entries.move_to_end(key)
            return self.call_repeat(entry[0], *args)
        state = self.state(key[0])
        if entry is None:
            entry = [self._compile(fn, state), False, []]
            self._entries[key] = entry
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        before = structure(state)
        self._conditions = entry[2]  # (a trace adds to them; a call that does not trace, none)
        try:
            out = self._guarded(key[0], entry[0], args)
        except BaseException:
            self._entries.pop(key, None)
            raise
        finally:
            self._conditions = None
        # Settled once a call leaves the state's structure as it found it; until
        # then the next call traces again, so it stays guarded.
        entry[1] = structure(state) == before
        return out

    def call_eagerly(self, mode, fn, *args):
        """``fn(*args)`` without ``mx.compile``, guarded (a short last batch, eager mode)."""
        return self._guarded(mode, fn, args)

    def _compile(self, fn, state):
        self.traces += 1

        # A fresh function per entry: MLX keys its traces by the function's identity
        # and frees them when the compiled object dies, so entries must not share one.
        def step(*args):
            return fn(*args)

        return mx.compile(step, inputs=state, outputs=state)

    def _guarded(self, mode, fn, args):
        snapshot = self.snapshot(mode)
        try:
            out = fn(*args)
            # A failure while computing counts as the step's.
            mx.eval(self.state(mode), state_arrays(out))
        except BaseException:
            snapshot.restore()
            raise
        self.completed += 1
        return out


def batch_signature(batch):
    """``(rows, (shape, dtype) of every array)`` of a data-adapter batch
    ``(x, y, sample_weight, indices)``: what a compiled step traces for.

    With ``indices`` the arrays are the whole data set and the batch their rows.
    """
    x, y, sw, idx = batch
    arrays = list(x) + (list(y) if y is not None else []) + ([sw] if sw is not None else [])
    rows = int(idx.shape[0]) if idx is not None else int(x[0].shape[0])
    return rows, tuple((tuple(a.shape), a.dtype) for a in arrays)
