"""``timeseries_dataset_from_array``: sliding windows over a series, in batches."""

import numpy as np

from .py_dataset import PyDataset


class TimeseriesBatches(PyDataset):
    """Batches of windows ``data[start + i * sampling_rate]`` (and ``targets[start]``).

    Built by :func:`timeseries_dataset_from_array`; batch ``i`` is computed when
    asked for, so the windows are never all held at once.
    """

    def __init__(self, data, targets, starts, sequence_length, sampling_rate, batch_size):
        super().__init__()
        self.data, self.targets, self.starts = data, targets, starts
        self.offsets = np.arange(sequence_length) * sampling_rate
        self.batch_size = batch_size

    def __len__(self):
        if self.batch_size is None:
            return len(self.starts)
        return -(-len(self.starts) // self.batch_size)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"Batch index {index} is out of range for {len(self)} batches.")
        index %= len(self)
        if self.batch_size is None:  # unbatched: one window per item, as Keras
            starts = self.starts[index:index + 1]
        else:
            starts = self.starts[index * self.batch_size:(index + 1) * self.batch_size]
        windows = self.data[starts[:, None] + self.offsets[None, :]]
        if self.batch_size is None:
            windows = windows[0]
        if self.targets is None:
            return windows
        targets = self.targets[starts]
        return windows, (targets[0] if self.batch_size is None else targets)


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None, format=None):
    """Windows of a series as a :class:`~mlxfunctional.utils.PyDataset` of batches.

    Window ``k`` starts at step ``s_k = start_index + k * sequence_stride`` and holds
    ``data[s_k], data[s_k + sampling_rate], ...`` (``sequence_length`` steps, all
    before ``end_index``); its target is ``targets[s_k]``. Windows that would run
    past ``end_index`` (or past the targets) are dropped.

    Args:
        data: array of shape ``(steps, ...)``.
        targets: array with one target per step, or None (the batches are then
            windows only).
        sequence_length: steps per window.
        sequence_stride: steps between the starts of consecutive windows.
        sampling_rate: steps between the elements of one window.
        batch_size: windows per batch; None gives single windows.
        shuffle: shuffle the windows (once, with ``seed``).
        seed: seed of that shuffle.
        start_index, end_index: only ``data[start_index:end_index]`` is used.
        format: accepted for Keras' signature (its "tf"/"grain" dataset kinds);
            the result is always a ``PyDataset``.

    Returns:
        A ``PyDataset`` whose items are ``windows`` of shape
        ``(batch, sequence_length, ...)`` or ``(windows, targets)``.
    """
    data = np.asarray(data)
    n = len(data)
    _check_positive_below("sampling_rate", sampling_rate, n)
    _check_positive_below("sequence_stride", sequence_stride, n)
    if int(sequence_length) < 1:
        raise ValueError(f"`sequence_length` must be at least 1. Received: {sequence_length}")
    if batch_size is not None and int(batch_size) < 1:
        raise ValueError(f"`batch_size` must be at least 1 or None. Received: {batch_size}")
    start = 0 if start_index is None else int(start_index)
    end = n if end_index is None else int(end_index)
    if not 0 <= start < n:
        raise ValueError(f"`start_index` must be in [0, {n}) for data of length {n}. "
                         f"Received: start_index={start_index}")
    if end_index is not None and not (start < end < n):
        raise ValueError(f"`end_index` must be greater than start_index ({start}) and lower "
                         f"than the data's length ({n}). Received: end_index={end_index}")
    if targets is not None:
        targets = np.asarray(targets)
    # Starts are relative to start_index; a window must end before end_index, and
    # (as in Keras) there is no window past the number of targets.
    count = end - start - (int(sequence_length) - 1) * int(sampling_rate)
    if targets is not None:
        count = min(count, len(targets))
    starts = np.arange(0, max(count, 0), int(sequence_stride))
    if shuffle:
        rng = np.random.RandomState(np.random.randint(1e6) if seed is None else seed)
        rng.shuffle(starts)
    starts = starts + start
    return TimeseriesBatches(data, targets, starts, int(sequence_length), int(sampling_rate),
                             None if batch_size is None else int(batch_size))


def _check_positive_below(name, value, n):
    if not 0 < int(value) < n:
        raise ValueError(f"`{name}` must be in (0, {n}) for data of length {n}. "
                         f"Received: {name}={value}")
