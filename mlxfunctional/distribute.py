"""Data-parallel training on MLX's distributed runtime (``mx.distributed``).

Start the same script in several processes -- on one machine or several --
with ``mlx.launch``; ``fit``/``evaluate``/``predict`` then see a group of size
> 1 and run data-parallel with no code change::

    mlx.launch -n 2 --python $(which python) train.py            # one machine
    mlx.launch --hostfile hosts.json --python $(which python) train.py

What happens (MLX provides the transport: ring over TCP, MPI, NCCL, JACCL):

- ``batch_size`` stays the *global* batch: each rank takes its contiguous
  slice of every global batch (rank r of n: rows ``[r*B//n, (r+1)*B//n)``);
  every rank must be given the same data (generators must yield the same
  batches in the same order), and shuffling uses a seed shared by rank 0.
- Gradients are combined inside the compiled step as the gradient of the
  loss over the whole global batch: ``sum_r(n_r * g_r) / sum_r(n_r)`` (the
  plain average of ``nn.average_gradients`` when shards are equal). Loss
  terms that are not a mean over rows enter as each rank's share of the
  global batch's loss (``engine/global_batch.py``); a batch with fewer rows
  than ranks goes whole to every rank (:class:`WholeBatch`).
- Every rank must make the same ``fit``/``evaluate``/``predict`` calls in the
  same order (their collectives pair up); callback lists may differ.
- Metric states (sums and counts) are summed across ranks before a value is
  read, so every rank logs the numbers a single process would log.
- ``predict`` gathers every rank's rows, in order, on every rank.
- Weights (and optimizer state, if any) are broadcast from rank 0 when
  ``fit`` starts: seeds of the other ranks do not matter. Non-trainable
  statistics (BatchNormalization's moving mean/variance), which each rank
  updates from its own shard, are averaged over ranks at the end of every
  epoch, before validation. ``stop_training`` set on any rank stops every
  rank at the same point: after the same batch when a callback acts on
  batches (the flag is then summed after every batch), else at the epoch's end.
- Only rank 0 prints the progress bar and writes files (``model.save``,
  ``save_weights``, ModelCheckpoint, CSVLogger); see :func:`is_chief`.
- An error inside ``fit``/``evaluate``/``predict`` on any rank is written to
  that rank's stderr as one line, ``mlxfunctional: fit() failed on rank R of N:
  <cause>``, before it propagates. The other ranks then fail too: a peer that
  exits or dies makes the backend fail the next collective, and that error
  is raised as :class:`DistributedError` naming the rank. A peer that hangs
  (or a machine that vanishes without closing its sockets) is caught by a
  watchdog: no step finished for ``timeout`` seconds (default 600,
  ``MLXF_DISTRIBUTED_TIMEOUT``) ends the process with an error (exit code 75)
  instead of blocking forever.
- ``mlx.launch`` (0.32) exits 0 even when every rank fails, and waits forever
  for a rank that is stopped (SIGSTOP): check each rank's exit status, not the
  launcher's -- in its output (``[WARN] Node with rank R exited with code C``,
  and the line above) or by starting the ranks yourself with ``MLX_RANK`` and
  ``MLX_HOSTFILE`` set, as ``tests/test_distributed.py`` does.
"""

import contextlib
import os
import sys
import threading
import time

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from mlx.utils import tree_flatten, tree_map, tree_unflatten

from . import global_state

EXIT_TIMEOUT = 75  # EX_TEMPFAIL: the job can be restarted
# Module state, held in global_state (which says what each is for):
_active = global_state.data_parallel  # the DataParallel of the fit/evaluate/predict running now
_launched = global_state.launched_data_parallel
_for_groups = global_state.group_data_parallels  # one DataParallel per group


class DistributedError(RuntimeError):
    """A collective operation failed: another process of the group died or hung."""


class WholeBatch(tuple):
    """A training batch with fewer rows than processes, given whole to every process:
    each takes the step on all its rows (the combined gradient is then the batch's
    own) and rank 0 alone counts it in the metrics."""


class DataParallel:
    """Data parallelism over an ``mx.distributed`` group.

    Args:
        group: the group (default: ``mx.distributed.init()``, the launched job's).
        timeout: seconds without a finished step after which a rank gives up
            (default ``$MLXF_DISTRIBUTED_TIMEOUT`` or 600; ``None``/0: never).
    """

    def __init__(self, group=None, timeout=None):
        self.group = group if group is not None else mx.distributed.init()
        self.rank, self.size = self.group.rank(), self.group.size()
        if timeout is None:
            timeout = float(os.environ.get("MLXF_DISTRIBUTED_TIMEOUT", 600))
        self.timeout = timeout or None
        self._last_step = time.monotonic()

    def __repr__(self):
        return f"DataParallel(rank={self.rank}, size={self.size})"

    # -- sharding ----------------------------------------------------------------
    def shard_bounds(self, rows, rank=None):
        """``(lo, hi)``: the contiguous slice of a global batch of ``rows`` that rank
        ``rank`` (default: this one) takes."""
        rank = self.rank if rank is None else rank
        return rows * rank // self.size, rows * (rank + 1) // self.size

    def shard(self, batch):
        """``(this rank's part, global rows)`` of a batch ``(x, y, sample_weight,
        indices)`` of the data adapter; the part is None when it has no rows."""
        x, y, sw, idx = batch
        rows = int(idx.shape[0]) if idx is not None else int(x[0].shape[0])
        lo, hi = self.shard_bounds(rows)
        if lo == hi:
            return None, rows
        if idx is not None:
            return (x, y, sw, idx[lo:hi]), rows
        cut = (lambda arrays: None if arrays is None else [a[lo:hi] for a in arrays])
        return (cut(x), cut(y), None if sw is None else sw[lo:hi], None), rows

    # -- collectives -------------------------------------------------------------
    def all_sum(self, tree):
        """Every array of ``tree`` summed over ranks (metric states are sums, so this
        is also how they are reduced)."""
        return tree_map(lambda a: mx.distributed.all_sum(a, group=self.group), tree)

    def combine_gradients(self, grads, rows):
        """The global batch's gradient from each rank's gradient of its mean loss over
        ``rows`` samples: ``sum_r(rows_r * g_r) / sum_r(rows_r)`` (inside the step)."""
        n = mx.array(float(rows))
        summed = nn.average_gradients({"g": tree_map(lambda g: g * n, grads), "n": n},
                                      group=self.group)
        return tree_map(lambda g: g / summed["n"], summed["g"])

    def broadcast(self, tree):
        """Rank 0's values of ``tree`` on every rank (an all-sum of rank 0's and zeros)."""
        return self.all_sum(tree if self.rank == 0 else tree_map(mx.zeros_like, tree))

    def broadcast_model(self, model, optimizer=None):
        """Copies rank 0's weights (and optimizer state, when it has one) to every rank."""
        model.update(self.broadcast(model.parameters()), strict=False)
        mx.eval(model.parameters())
        if optimizer is not None and tree_flatten(optimizer.state):
            optimizer.state = self.broadcast(optimizer.state)
            mx.eval(optimizer.state)

    def average_state(self, model):
        """Averages the non-trainable float weights (BatchNormalization's moving
        statistics) over ranks, as Keras' mirrored strategy reads them: each rank
        updated them from its own shard. Frozen weights are equal already."""
        trainable = {k for k, _ in tree_flatten(model.trainable_parameters())}
        state = [(k, v) for k, v in tree_flatten(model.parameters())
                 if k not in trainable and mx.issubdtype(v.dtype, mx.floating)]
        if not state:
            return
        g = self.group
        averaged = []
        for k, v in state:
            mean = mx.distributed.all_sum(v, group=g) / self.size
            # Values equal on every rank stay exactly as they are ((a+a+a)/3 may not be a).
            same = mx.distributed.all_max(v, group=g) == mx.distributed.all_min(v, group=g)
            averaged.append((k, mx.where(same, v, mean)))
        model.update(tree_unflatten(averaged), strict=False)
        mx.eval(model.parameters())

    def any(self, flag):
        """True on every rank when ``flag`` is true on any (e.g. ``stop_training``)."""
        return bool(mx.distributed.all_sum(mx.array([1.0 if flag else 0.0]),
                                           group=self.group).item() > 0)

    def shared_seed(self, seed=None):
        """Rank 0's ``seed`` (or one it draws from ``mx.random``), known to every rank.

        One collective whatever the other ranks hold: a rank that, say, loaded no
        resume record must not strand the others."""
        if self.rank != 0:
            seed = 0
        elif seed is None:
            seed = int(mx.random.randint(0, 2**31 - 1, (1,)).item())
        return int(self.broadcast(mx.array([seed], dtype=mx.uint32)).item())

    def gather_rows(self, arrays, rows):
        """Every rank's slice of a global batch of ``rows``, concatenated in rank order
        (numpy). Slices may differ by one row: they are padded for ``all_gather``."""
        width = -(-rows // self.size)
        bounds = [self.shard_bounds(rows, r) for r in range(self.size)]
        out = []
        for a in arrays:
            pad = width - a.shape[0]
            if pad:
                a = mx.concatenate([a, mx.zeros((pad,) + a.shape[1:], a.dtype)])
            gathered = np.asarray(mx.distributed.all_gather(a, group=self.group))
            out.append(np.concatenate([gathered[r * width:r * width + hi - lo]
                                       for r, (lo, hi) in enumerate(bounds)]))
        return out

    # -- failure handling ----------------------------------------------------------
    def step_done(self):
        self._last_step = time.monotonic()

    @contextlib.contextmanager
    def running(self, what):
        """Marks this group active for ``what`` (``fit``...): rank-0-only output and
        files, the hang watchdog, any error reported on stderr with this rank, and
        collective failures raised as DistributedError."""
        _active.append(self)
        self._last_step = time.monotonic()
        stop = threading.Event()
        if self.timeout:
            threading.Thread(target=self._watch, args=(what, stop), daemon=True,
                             name="mlxf-distributed-watchdog").start()
        try:
            yield self
        except (Exception, KeyboardInterrupt) as e:
            collective = isinstance(e, RuntimeError) and _is_collective_failure(e)
            if _active[0] is self:  # once, for the call the user made (not a nested one)
                cause = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                self._report(what, "the connection to another process was lost"
                             if collective else cause)
            if not collective or isinstance(e, DistributedError):
                raise
            raise DistributedError(
                f"{what}() failed on rank {self.rank} of {self.size}: {e}. Another process of "
                "the distributed group has probably exited or lost its connection (see its "
                "output); every rank stops here. Files are written by rank 0 atomically, so "
                "the last complete checkpoint is intact.") from e
        finally:
            stop.set()
            _active.remove(self)

    def _report(self, what, cause):
        # One line per failing rank, whatever catches the error afterwards: mlx.launch
        # 0.32 exits 0 even when ranks fail, so the output is where a failure shows.
        sys.stderr.write(f"mlxfunctional: {what}() failed on rank {self.rank} of "
                         f"{self.size}: {cause}\n")
        sys.stderr.flush()

    def _watch(self, what, stop):
        while not stop.wait(min(5.0, self.timeout / 4)):
            idle = time.monotonic() - self._last_step
            if idle > self.timeout:
                sys.stderr.write(
                    f"mlxfunctional: {what}() on rank {self.rank} of {self.size}: no step "
                    f"finished for {idle:.0f} s (timeout {self.timeout:g} s; "
                    "MLXF_DISTRIBUTED_TIMEOUT). Another process of the group is probably "
                    "stuck or gone; exiting instead of waiting forever.\n")
                sys.stderr.flush()
                os._exit(EXIT_TIMEOUT)


def _is_collective_failure(error):
    text = str(error).lower()
    return any(k in text for k in ("[ring]", "[mpi]", "[nccl]", "[jaccl]", "peer",
                                   "distributed"))


def resolve(distribute):
    """The ``DataParallel`` for ``fit(distribute=...)``, or None for a single process.

    ``None`` (default): data-parallel when the process was launched into a group
    of size > 1 (``mlx.launch``). ``False``: never. ``True``: the launched group,
    which must then be larger than 1. A ``DataParallel`` or an ``mx.distributed``
    group: that one.
    """
    if distribute is False:
        return None
    if isinstance(distribute, DataParallel):
        return distribute if distribute.size > 1 else None
    if isinstance(distribute, mx.distributed.Group):
        if distribute.size() == 1:
            return None
        made = next((p for p in _for_groups if p.group is distribute), None)
        if made is None:
            made = DataParallel(distribute)
            _for_groups.append(made)
        return made
    if distribute not in (None, True):
        raise ValueError(f"distribute must be None, True, False, a DataParallel or an "
                         f"mx.distributed.Group; received {distribute!r}.")
    if _active:
        return _active[-1]
    if _launched:
        return _launched[0]
    if mx.distributed.is_available() and mx.distributed.init().size() > 1:
        _launched.append(DataParallel(mx.distributed.init()))
        return _launched[0]
    if distribute is True:
        raise ValueError("distribute=True, but this process is not part of a distributed "
                         "group: start it with mlx.launch (e.g. mlx.launch -n 2 --python "
                         "$(which python) script.py).")
    return None


def rank():
    """This process's rank in the active or launched group (0 when alone)."""
    if _active:
        return _active[-1].rank
    return mx.distributed.init().rank() if mx.distributed.is_available() else 0


def size():
    """The number of processes in the active or launched group (1 when alone)."""
    if _active:
        return _active[-1].size
    return mx.distributed.init().size() if mx.distributed.is_available() else 1


def is_chief():
    """True on the process that prints and writes files: rank 0 (or a lone process)."""
    return rank() == 0
