"""A process's loss as its share of the loss of the whole (global) batch.

Data-parallel, each process computes the loss of its shard, and the gradients
are combined as ``sum_r(n_r * g_r) / B`` (``DataParallel.combine_gradients``;
``n_r`` the process's rows, ``B`` the global batch's). That is the gradient of
the global batch's loss when each process's loss is a mean over its rows, as
with the default reduction (``"sum_over_batch_size"``). Other terms are not:

- a sum over rows (the ``"sum"`` reduction, activity regularizers) would be
  averaged over processes instead of summed;
- a mean over a count that depends on the data (``"mean_with_sample_weight"``,
  entries left out by a mask or ``ignore_class``) would divide by each
  process's own count.

While a train step traces, :func:`sum_over_rows` and :func:`mean_over` give
such a term the factor that makes the combined gradient, and the logged loss,
those of one process on the whole batch: ``B / n_r``, and for a mean one
over the count summed over processes. Each costs a small collective in the
step, so the default reduction (which needs neither) costs nothing. Outside
a data-parallel train step both are the plain sum and mean.
"""

import contextlib

import mlx.core as mx

from .. import global_state
from ..loss_functions import divide_no_nan

_active = global_state.loss_shards  # the shard of the step tracing now, innermost last


class _Shard:
    def __init__(self, parallel, rows):
        self.parallel, self.rows = parallel, rows
        self._scale = None

    def global_sum(self, value):
        # The counts depend on the data only: no gradient flows through the collective.
        return mx.distributed.all_sum(mx.stop_gradient(value), group=self.parallel.group)

    def scale(self):
        """``B / n_r``: turns a sum over this shard's rows into its share of the global one."""
        if self._scale is None:
            self._scale = self.global_sum(mx.array(float(self.rows))) / self.rows
        return self._scale


@contextlib.contextmanager
def shard(parallel, rows):
    """Within: losses are this process's share of the global batch's (``rows`` local)."""
    _active.append(_Shard(parallel, rows))
    try:
        yield
    finally:
        _active.pop()


def sum_over_rows(value):
    """``value``, a sum over the batch's rows, as this process's share of the global sum."""
    return value if not _active else value * _active[-1].scale()


def mean_over(total, count):
    """``total / count`` (0 when ``count`` is 0) for a ``count`` that depends on the
    data; data-parallel, this process's share of ``sum(total) / sum(count)``."""
    if not _active:
        return divide_no_nan(total, count)
    shard_ = _active[-1]
    return divide_no_nan(total * shard_.scale(), shard_.global_sum(count))
