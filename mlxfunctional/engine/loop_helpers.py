"""Small helpers of the training loops (``trainer.py``): the epoch cap, verbosity,
this process's shard of each batch, and whether callbacks act on every batch.
Kept apart so the trainer reads as its loops."""

import mlx.core as mx

from .. import distribute as distribute_lib
from .. import global_state, tree


def _capped_epochs(epochs):
    """``epochs`` under ``keras.config.set_max_epochs``'s cap, if one is set."""
    cap = global_state.max_epochs
    return epochs if cap is None else min(epochs, cap)


def _numpy_ready(outputs):
    """The flat outputs, bfloat16 ones as float32: numpy has no bfloat16, so
    ``predict`` returns those (e.g. a mixed_bfloat16 model's last layer) as float32."""
    return [o.astype(mx.float32) if o.dtype == mx.bfloat16 else o for o in tree.flatten(outputs)]


def _one_ahead(batches):
    """``(batch, ahead)`` pairs of ``batches``, where ``ahead()`` reads the next batch
    early (once; the loop then gets the batch already read)."""
    it = iter(batches)
    box = []

    def ahead():
        if not box:
            box.append(next(it, None))

    ahead()
    while box[0] is not None:
        batch = box.pop()
        yield batch, ahead
        ahead()


def _verbosity(verbose, parallel):
    """Keras' ``verbose`` (checked) as an int; 0 on every process but rank 0 of a
    data-parallel job."""
    if parallel is not None and parallel.rank != 0:
        return 0
    return 1 if verbose == "auto" else verbose


def _sharded(batches, parallel, mode):
    """This process's shard of each batch (the batches themselves without ``parallel``).

    A training batch with fewer rows than processes goes whole to every process
    (a ``WholeBatch``: every process must take the step, for its collectives);
    in evaluation the processes whose shard is empty get ``None`` and skip it.
    """
    if parallel is None:
        return iter(batches)  # (no generator in between: this is every step of fit)
    return _shards(batches, parallel, mode)


def _shards(batches, parallel, mode):
    for batch in batches:
        local, rows = parallel.shard(batch)
        if mode == "train" and rows < parallel.size:
            yield distribute_lib.WholeBatch(batch)
        else:
            yield local


def _len(x):
    return int(tree.flatten(x)[0].shape[0]) if not isinstance(x, dict) else \
        int(next(iter(x.values())).shape[0])


def _due(epoch, freq):
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return epoch + 1 in freq


def cbs_need_batch_logs(cbs, mode="train"):
    """True when a callback other than the built-in loggers acts on every ``mode`` batch.

    Decided by the callbacks' own hook rules (ModelCheckpoint with
    ``save_freq="epoch"`` does not act per batch): in a data-parallel job every
    process must make the same choice, since per-batch logs are then summed over
    processes, and only rank 0 has a progress bar.
    """
    from ..callbacks import History, ProgbarLogger

    return any(_acts_on_batches(cb, mode) for cb in getattr(cbs, "callbacks", [])
               if not isinstance(cb, (History, ProgbarLogger)))


def _acts_on_batches(callback, mode):
    # A duck-typed callback (no Callback base) is sent every hook (callback_list.py).
    check = getattr(callback, "_implements_batch_hooks", None)
    return True if check is None else check(mode)
