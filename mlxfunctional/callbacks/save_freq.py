"""Counting batches for callbacks that act every ``save_freq`` batches
(``ModelCheckpoint``, ``BackupAndRestore``)."""


class BatchCounter:
    """Says after which batches ``every`` batches have passed since the last time.

    ``on_train_batch_end`` gets the index of the last batch of the step, which
    restarts at 0 each epoch and grows by more than one per call with
    ``steps_per_execution``: a smaller index than the last one means a new epoch.
    """

    def __init__(self, every):
        self.every = every
        self.seen = 0   # batches since the last time it was due
        self.last = 0   # the index of the last batch seen

    def due(self, batch):
        added = batch + 1 if batch <= self.last else batch - self.last
        self.seen += added
        self.last = batch
        if self.seen >= self.every:
            self.seen = 0
            return True
        return False
