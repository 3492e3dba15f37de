"""What ``fit``/``evaluate``/``predict`` accept, turned into batches of MLX arrays.

Arrays (numpy or MLX; single, lists, or dicts keyed by input/output names)
are read a batch at a time. A numpy array stays on the host (``HostRows``):
each batch's rows -- a slice in order (``predict``, ``evaluate``,
``fit(shuffle=False)``), a gather when shuffled -- are converted to MLX when
the batch is taken. An MLX array's batch is its slice, or when shuffled a lazy
gather ``x[indices]`` that runs inside the step. Converting the whole set first, then
gathering each batch out of it, copied every sample twice: measured with the
guide's MLP, predict on numpy ran at 0.74x its speed on MLX arrays
(``bench/input_path.py``). Iterables
and generators of ``(x, y)`` / ``(x, y, sample_weight)`` batches are passed
through batch by batch, as Keras reads them: a batch that is a list is
``(x, y[, sample_weight])`` like a tuple, and a framework tensor (a torch
DataLoader's) is read through its ``.numpy()``. Anything else is an error
naming its type and what is accepted (``unreadable``).
"""

import math

import mlx.core as mx
import numpy as np

from .. import global_state, tree
from . import index_bounds, input_standardization
from .step_data import unpack_x_y_sample_weight

# The one way in (``input_standardization.py``): names and structure, and the
# dtype rule, shared with model calls so errors and dtypes agree everywhere.
match_structure = input_standardization.match_structure
as_array = input_standardization.convert_to_array

ACCEPTED = ("arrays (numpy, MLX, or anything numpy can convert), lists, tuples or dicts "
            "of arrays, a keras.utils.PyDataset or Sequence, or a generator or iterable "
            "(e.g. a torch DataLoader) of x, (x, y) or (x, y, sample_weight) batches")


def _type_name(value):
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else \
        f"{cls.__module__}.{cls.__qualname__}"


def unreadable(data, problem):
    """The TypeError for data fit/evaluate/predict cannot read: its type, the
    ``problem`` met, and what they accept."""
    problem = problem.rstrip(".")
    return TypeError(f"Cannot read data of type {_type_name(data)}: {problem}. fit(), "
                     f"evaluate() and predict() accept {ACCEPTED}.")


def _from_tensor(value):
    """A framework tensor (torch, TensorFlow) as numpy, through its ``.numpy()``;
    anything else as it is."""
    if isinstance(value, (mx.array, np.ndarray)) or not hasattr(value, "numpy"):
        return value
    for method in ("detach", "cpu"):  # (a torch tensor that needs grad, or on a GPU)
        if callable(getattr(value, method, None)):
            value = getattr(value, method)()
    return value.numpy()


def _num_samples(arrays):
    sizes = {int(a.shape[0]) for a in arrays}
    if len(sizes) != 1:
        raise ValueError(f"All arrays must have the same number of samples; got sizes {sorted(sizes)}.")
    return sizes.pop()


def class_weight_to_sample_weight(y, class_weight):
    """Per-sample weights from ``{class_index: weight}`` (labels or one-hot ``y``)."""
    y = np.asarray(y)
    labels = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0]
    labels = labels.astype(np.int64)
    weights = np.ones(len(labels), dtype=np.float32)
    for cls, w in class_weight.items():
        weights[labels == int(cls)] = w
    return weights


class ArrayBatches:
    """Batches of in-memory arrays: shuffled per epoch, gathered lazily.

    Args:
        x, y, sample_weight: flat lists of arrays (y, sample_weight may be None).
        batch_size: samples per batch (the last batch may be smaller).
        shuffle: reshuffle at each epoch.
        steps: stop after this many batches per epoch (None: one pass).
        names: ``(input names, output names)``, to say in an error which array
            could not be read (``x`` for input "img", ``y`` for output "label").

    Attributes:
        seed: the shuffle seed. None (one process): each pass draws its
            order from MLX's global random state (``mx.random.seed`` makes that
            repeatable). Set (data-parallel ``fit`` sets it, see
            ``resume_state.py``), the order of a pass depends only on ``(seed,
            pass index)``: every process, and a run resumed at a later epoch,
            gets the same orders.
        epoch: the index of the epoch the next ``batches()`` call serves (then
            incremented); ``fit`` sets it to ``initial_epoch``.
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, steps=None,
                 names=None):
        x_names, y_names = names or ([None] * len(x), [None] * len(y or []))
        # numpy data stays on the host (HostRows) until a batch takes its rows.
        self.x = [_read(a, where("x", "input", n)) for a, n in zip(x, x_names)]
        self.y = None if y is None else [_read(a, where("y", "output", n))
                                         for a, n in zip(y, y_names)]
        self.sample_weight = None if sample_weight is None else \
            _read(sample_weight, "sample_weight", "float32")
        self.num_samples = _num_samples(self._arrays())
        self.batch_size = int(batch_size or 32)
        self.shuffle = shuffle
        self.steps = capped_steps(steps)
        self.seed = None
        self.epoch = 0
        self._ranges = {}  # y position -> (min, max) or None: see values_within()

    @property
    def steps_per_epoch(self):
        full = math.ceil(self.num_samples / self.batch_size)
        return full if self.steps is None else self.steps

    def batches(self):
        """Yields ``(x_list, y_list_or_None, sample_weight_or_None, indices)`` per step.

        Shuffled MLX data: the arrays are the whole dataset and ``indices`` the
        batch's rows, which the step gathers itself. Otherwise the arrays are the
        batch's own and ``indices`` is None: slices in order; shuffled numpy data is
        gathered on the host, a batch at a time, then converted (converting the whole
        set first, as before, grew ``fit``'s peak memory by the data set's size).
        """
        epoch, self.epoch = self.epoch, self.epoch + 1
        # Passes are numbered from the epoch's index, not from this object's
        # history, so epoch e has the same order in any run (or resumed run).
        per_pass = math.ceil(self.num_samples / self.batch_size)
        passes = 1 if self.steps is None else max(1, math.ceil(self.steps / per_pass))
        step = 0
        on_host = any(isinstance(a, HostRows) for a in self._arrays())
        # (locals: this loop runs once per step of fit)
        x, y, sw, size, steps = self.x, self.y, self.sample_weight, self.batch_size, self.steps
        for p in range(passes):
            order = self._order(epoch * passes + p) if self.shuffle else None
            if order is not None and on_host:
                order = np.array(order)  # (the host gathers the rows: one sync per pass)
            for start in range(0, self.num_samples, size):
                if steps is not None and step >= steps:
                    return
                stop = start + size
                if order is None:
                    yield _rows(x, start, stop), _rows(y, start, stop), \
                        _rows(sw, start, stop), None
                elif on_host:
                    rows = order[start:stop]
                    yield _rows(x, rows), _rows(y, rows), _rows(sw, rows), None
                else:
                    yield x, y, sw, order[start:stop]
                step += 1

    @property
    def vouches_for_labels(self):
        """Whether the steps may ask :meth:`values_within`: only a data set of several
        batches answers, since finding the range costs about what checking one batch in
        its step does (a sync; ``train_on_batch`` would pay it on every call)."""
        return self.y is not None and self.num_samples > self.batch_size

    def values_within(self, position, low, high):
        """Whether every value of ``y[position]`` lies in ``[low, high)``, compared as
        ``index_bounds`` compares labels: the steps then need not check them
        (``index_bounds.known_rows``). The range is computed once (a pass over the
        labels and, for MLX data, a sync)."""
        if self.y is None or position >= len(self.y):
            return False
        if position not in self._ranges:
            self._ranges[position] = _value_range(self.y[position])
        bounds = self._ranges[position]
        return bounds is not None and low <= bounds[0] and bounds[1] < high

    def _arrays(self):
        return self.x + (self.y or []) + \
            ([self.sample_weight] if self.sample_weight is not None else [])

    def _order(self, index):
        if not self.shuffle:
            return mx.arange(self.num_samples)
        if self.seed is None:
            return mx.random.permutation(self.num_samples)
        # A threefry key of its own per (seed, pass): no two passes share one.
        key = mx.array([index % 2**32, self.seed % 2**32], dtype=mx.uint32)
        return mx.random.permutation(self.num_samples, key=key)


def _value_range(a):
    """``(min, max)`` of an MLX array or ``HostRows`` in the dtype its batches have, as
    ``index_bounds`` compares indices; None when there is none (empty, NaN, not numbers)."""
    if a.shape and 0 in a.shape:
        return None
    if isinstance(a, HostRows):  # (numpy's extremes, then cast as the batches are:
        values = a.values        # rounding keeps their order)
        if values.dtype.kind not in "iuf":
            return None
        a = input_standardization.host_to_mlx(np.array([values.min(), values.max()],
                                                       values.dtype), a.dtype)
    try:
        a = index_bounds.comparable(a)
    except TypeError:
        return None
    lo, hi = mx.min(a), mx.max(a)
    mx.eval(lo, hi)
    lo, hi = lo.item(), hi.item()
    return None if lo != lo or hi != hi else (lo, hi)


def where(argument, kind, name):
    """How an error names an array: ``x (for input "img")``, or just ``x``."""
    return argument if name is None else f'{argument} (for {kind} "{name}")'


def _read(data, where="The value", dtype=None):
    """An MLX array as it is (cast to ``dtype`` if given); numpy data (and anything
    numpy reads) checked now and left on the host, as ``HostRows``."""
    data = _from_tensor(data)
    try:
        if isinstance(data, mx.array):
            return as_array(data, dtype, where=where)
        return HostRows(*input_standardization.host_values(data, dtype, where))
    except TypeError as e:
        raise unreadable(data, str(e)) from e


class HostRows:
    """A numpy array whose rows become an ``mx.array`` when sliced or gathered.

    ``values[start:stop]`` is a view, so the slice costs one copy (numpy's cast,
    if the dtype changes, fused into it) into a batch-sized MLX array that is
    still in cache when the step reads it; ``values[indices]`` (shuffled) one more,
    of the batch's rows only.

    Args:
        values: the checked numpy array (``input_standardization.host_values``).
        dtype: the name of the dtype its batches get in MLX.
    """

    def __init__(self, values, dtype):
        self.values, self.dtype = values, dtype

    @property
    def shape(self):
        return self.values.shape

    def __getitem__(self, rows):
        return input_standardization.host_to_mlx(self.values[rows], self.dtype)


def _rows(arrays, start, stop=None):
    """Rows ``start:stop`` -- or, without ``stop``, the rows listed by the numpy array
    ``start`` -- of an array or a list of them, as MLX arrays (None stays)."""
    if arrays is None:
        return None
    if isinstance(arrays, list):
        return [_rows(a, start, stop) for a in arrays]
    if stop is not None:
        return arrays[start:stop]
    return arrays[start if isinstance(arrays, HostRows) else mx.array(start)]


def capped_steps(steps):
    """``steps`` under ``keras.config.set_max_steps_per_epoch``'s cap, if one is set."""
    cap = global_state.max_steps_per_epoch
    return steps if cap is None else cap if steps is None else min(steps, cap)


def take(batch):
    """``(x, y, sample_weight)`` of a batch from ``batches()``, gathering its rows."""
    x, y, sw, idx = batch
    if idx is None:
        return x, y, sw
    return ([a[idx] for a in x], None if y is None else [a[idx] for a in y],
            None if sw is None else sw[idx])


class IterableBatches:
    """Batches from an iterable/generator of ``x``, ``(x, y)`` or ``(x, y, sample_weight)``.

    ``standardize`` maps each raw batch to flat lists (it checks dict keys).
    """

    def __init__(self, iterable, standardize, steps=None):
        self.iterable = iterable
        self.standardize = standardize
        self.steps = capped_steps(steps)
        self._iterator = None

    @property
    def steps_per_epoch(self):
        if self.steps is not None:
            return self.steps
        return len(self.iterable) if hasattr(self.iterable, "__len__") else None

    def batches(self):
        if is_indexed_dataset(self.iterable):
            yield from self._indexed_batches()
            return
        # A re-iterable (list) restarts each epoch; a generator continues.
        if self._iterator is None or self.steps is None:
            self._iterator = iter(self.iterable)
        for step, batch in enumerate(self._iterator):
            yield self._standardized(batch)
            if self.steps is not None and step + 1 >= self.steps:
                return

    def _standardized(self, batch):
        """``x``, ``(x, y)`` or ``(x, y, sample_weight)`` -> an adapter batch."""
        if isinstance(batch, (list, tuple)) and len(batch) > 3:
            raise unreadable(self.iterable, f"a batch is a {type(batch).__name__} of "
                                            f"{len(batch)} entries")
        try:
            x, y, sw = unpack_x_y_sample_weight(tree.map_structure(_from_tensor, batch))
            return self.standardize(x, y, sw) + (None,)
        except TypeError as e:  # (a batch of something that is not an array)
            raise unreadable(self.iterable, f"a batch could not be read ({e})") from e

    def _indexed_batches(self):
        # A PyDataset/Sequence: batch i is dataset[i]. (Python's iter() would call
        # __getitem__ until an IndexError, which such datasets never raise.)
        dataset = self.iterable
        n = len(dataset) if self.steps is None else min(self.steps, len(dataset))
        getattr(dataset, "on_epoch_begin", lambda: None)()
        for i in range(n):
            yield self._standardized(dataset[i])
        getattr(dataset, "on_epoch_end", lambda: None)()


def is_indexed_dataset(x):
    """True for a Keras ``PyDataset``/``Sequence``: ``len()`` batches, ``x[i]`` each."""
    return hasattr(x, "__getitem__") and hasattr(x, "__len__") and not hasattr(x, "shape") \
        and not isinstance(x, (dict, list, tuple, str))


def is_iterable_data(x):
    """True for generators/iterables and PyDatasets of batches (not arrays, lists or
    dicts of arrays)."""
    if x is None or isinstance(x, (mx.array, np.ndarray, dict, list, tuple)):
        return False
    return hasattr(x, "__iter__") or hasattr(x, "__next__") or is_indexed_dataset(x)


def split_validation(x, y, sample_weight, validation_split):
    """Keras semantics: the *last* fraction of the samples, taken before shuffling."""
    if not 0 < validation_split < 1:
        raise ValueError(f"validation_split must be in (0, 1); received {validation_split}.")
    n = _num_samples([a for a in x + (y or [])])
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"validation_split={validation_split} leaves no samples for one side "
                         f"of {n} samples.")

    def cut(arrays, lo, hi):
        return None if arrays is None else [a[lo:hi] for a in arrays]

    sw = sample_weight
    train = (cut(x, 0, split_at), cut(y, 0, split_at), None if sw is None else sw[:split_at])
    val = (cut(x, split_at, n), cut(y, split_at, n), None if sw is None else sw[split_at:])
    return train, val
