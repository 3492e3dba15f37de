"""``PyDataset`` (Keras 3; ``Sequence`` is its old name): a dataset of batches by index."""


class PyDataset:
    """Base class for datasets that build batch ``i`` on demand.

    Subclasses implement ``__len__`` (the number of batches) and
    ``__getitem__(i)`` returning ``x``, ``(x, y)`` or ``(x, y, sample_weight)``;
    ``fit``/``evaluate``/``predict`` take batches ``0 .. len - 1`` each epoch and
    call ``on_epoch_begin``/``on_epoch_end`` around them.

    Args:
        workers, use_multiprocessing, max_queue_size: accepted for Keras
            compatibility; batches are built in the calling thread (MLX
            arrays are lazy, so the next batch's work overlaps little anyway).
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__.")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__.")

    @property
    def num_batches(self):
        return len(self)

    def on_epoch_begin(self):
        """Called before each epoch's first batch."""

    def on_epoch_end(self):
        """Called after each epoch's last batch (e.g. to shuffle)."""


Sequence = PyDataset
