"""How ``fit``/``evaluate``/``predict`` call the model's steps.

Per call of the public API (``_step_call``): bind the captured state for the
mode, create the optimizer's slots, and make the call all-or-nothing until its
first step completes. Per step (``_run_step``): build a model not built yet
from the first batch, then run the mode's function compiled for the batches'
signature, or eagerly for a short batch.

A short batch (fewer rows than the call's batch size: the last one of an
epoch) runs uncompiled in ``fit``: a compiled function for its shape would
trace again and, on the CPU, JIT-compile new kernels, all for one batch per
epoch. ``evaluate`` does so the first time its shape comes and compiles it the
second time (each epoch's validation: it recurs). ``predict`` compiles it at
once, as Keras on JAX does: predict is typically called again and again on
data of one size, the uncompiled step cost 8% of a 10,000-row ``predict`` of
the guide MLP, and a first call that traces every shape leaves the later ones
all compiled (deferring it put the second trace in the second call). Any other
signature -- another batch size, another ``steps_per_execution`` -- gets its
own compiled function in the model's ``StepCache``.
"""

import contextlib

import mlx.core as mx

from .. import _blas
from ..metrics_base import result_arrays
from .compile_utils import metric_arrays, metrics_logs, metrics_results, pythonify
from . import index_bounds
from .data_adapter import take
from .step import StepCache, state_arrays


def overlaps_host_work():
    """Whether the host builds step i + 1 (or reads batch i + 1) while step i computes
    (``async_eval``, at most one step ahead): on a GPU, and on the CPU when BLAS leaves
    a core to the host (``_blas.host_core_free``). When every core computes, the host's
    work only slows the compute. Measured with the guide MLP's ``fit`` on 2 cores against
    the hand-written loop in the same process: with OpenBLAS on 2 threads, 0.85x
    overlapped and 0.93x sync; with one BLAS thread, 1.19x overlapped and 0.91x sync.
    """
    return mx.default_device() == mx.gpu or _blas.host_core_free()


class FullRows:
    """Tells a full batch from a short one, and which data set the batches come from.

    The full size is the data's ``batch_size`` (this process's share of it when
    data-parallel), or for a generator the first batch's rows. ``source`` is the
    data set when it vouches for the range of its labels (``values_within``), else None.
    """

    def __init__(self, data, parallel=None):
        size = getattr(data, "batch_size", None)
        if size is not None and parallel is not None:
            lo, hi = parallel.shard_bounds(size)
            size = hi - lo
        self.rows = size
        self.source = data if getattr(data, "vouches_for_labels", False) else None

    def short(self, rows):
        if self.rows is None:
            self.rows = rows
        return rows < self.rows


class StepCalls:
    """Mixin of ``Model`` (with ``StepMethods``): runs the steps through a ``StepCache``."""

    _step_cache = None
    _overlap_steps = None
    _in_flight = None
    steps_per_execution = 1

    def _compiled_steps(self):
        if self._step_cache is None:  # predict() before compile()
            self._step_cache = StepCache()
        return self._step_cache

    def _bind_steps(self, mode):
        self._compiled_steps().bind(mode, self._step_state(mode), self._step_flags(mode))

    @contextlib.contextmanager
    def _step_call(self, mode):
        """One call of fit/evaluate/predict/*_on_batch in ``mode``.

        A call that fails before any of its steps completes leaves the model, the
        optimizers, the metrics and ``mx.random.state`` (drawn from by shuffling)
        as they were. A failure after steps completed keeps their work, as Keras
        does (a callback raising at epoch 30 does not undo 29 epochs); a step that
        fails while it is traced or run uncompiled is itself undone (``step.py``).
        A model built by this call (deferred building) keeps its new weights.
        """
        cache = self._compiled_steps()
        self._bind_steps(mode)
        snapshot = cache.snapshot(mode) if self.built else None
        if mode == "train" and self.built:
            self._init_optimizer()
        done = cache.completed
        try:
            with index_bounds.saved():  # (this call's own count of out-of-range indices)
                yield
        except BaseException:
            if snapshot is not None and cache.completed == done:
                snapshot.restore()
            raise
        finally:
            cache.forget_data()
            self._in_flight = None  # (the last step's state, held for the overlap)

    def _init_optimizer(self):
        # Slots created before the first trace keep the captured state's structure
        # fixed (else the second call traces again).
        optimizer = getattr(self, "optimizer", None)
        if optimizer is not None and not getattr(optimizer, "_initialized", True):
            optimizer.init(self.trainable_parameters())

    def _build_on(self, batch, mode):
        """Builds the model from a batch (Keras' deferred building): calling a model
        on arrays builds it; the call is lazy and never evaluated. A model made of
        sub-models that are all built (a GAN's) is built already."""
        children = [c for c in self._sublayers() if hasattr(c, "built")]
        if children and all(c.built for c in children):
            self.built = True
        else:
            try:
                self(self._pack_inputs(take(batch)[0]))
            except Exception as e:
                raise RuntimeError(
                    f'Model "{self.name}" is not built and could not be built by calling it '
                    f"on the first batch ({type(e).__name__}: {e}). Build it before "
                    "fit()/evaluate()/predict(): call it once on a batch, or call "
                    "model.build(input_shape).") from e
        if self._parallel is not None:  # every process starts from rank 0's weights
            self._parallel.broadcast_model(self)
        if mode == "train":
            self._init_optimizer()
        self._bind_steps(mode)

    def _run_step(self, mode, batches, full, count=1):
        """Runs ``mode``'s function on ``batches`` (a list); returns what it returns.

        Compiled for the batches' signature when they are ``count`` full batches.
        This runs once per step of ``fit``: on the MLP of ``bench/fit_overhead.py``
        each microsecond here is 0.2% of its speed, so it does no more than it must.
        """
        if not self.built:
            self._build_on(batches[0], mode)
        cache = self._step_cache
        cache.source = full.source  # (index_bounds.known_rows)
        # (parallel: the key has the group, which repeat() does not compare)
        again = cache.repeat(mode, batches) if count == 1 and self._parallel is None else None
        if again is None:
            # (steps that may trust the labels' range are kept apart from those that may not)
            key = (mode, self._parallel, cache.signature(batches), full.source is not None)
            compiled = cache.jit and len(batches) == count \
                and self._compiles(mode, key, batches, full)
        # (out-of-range indices are counted, never raised, in a step: index_bounds.py)
        previous = index_bounds.start_recording(again is not None or compiled)
        try:
            if again is not None:
                return cache.call_repeat(again, batches)
            fn = getattr(self, f"_{mode}_function")
            if not compiled:
                return cache.call_eagerly(mode, fn, batches)
            out = cache.call(key, fn, batches)
            cache.remember(key, batches)
            return out
        except Exception as e:
            self._note_batch(e, mode, batches[0])
            raise
        finally:
            index_bounds.stop_recording(previous)

    def _note_batch(self, error, mode, batch):
        # An error deep in a loss or an op rarely says which data it was given.
        error.add_note(f'(raised by {mode}_step of model "{self.name}" on a batch with '
                       f"{_describe(batch)})")

    def _compiles(self, mode, key, batches, full):
        """Whether batches of ``key`` (as many as a call takes) run compiled: not a
        whole batch (data-parallel), and full or of a mode that compiles short ones
        (module docstring)."""
        _, parallel, signature, _ = key
        if parallel is not None and any(self._whole_batch_of(b) for b in batches):
            return False
        for rows, _ in signature:
            if full.short(rows):
                return mode == "predict" or (mode == "test" and self._step_cache.seen_before(key))
        return True

    def _train_call(self, batches, full, count=None, read_logs=False):
        """One training call (``steps_per_execution`` batches); returns the step's logs
        and, with ``read_logs``, their Python values (``_logs_from``; else None).

        Values read here are evaluated with the step's state: one sync with the
        device instead of two (measured on the guide MLP, 3 alternating runs: 1-2%
        of a ``train_on_batch``, or of a ``fit`` step whose callback reads every batch).
        """
        logs = self._run_step("train", batches, full, count or self.steps_per_execution)
        state = self._step_cache.state("train")
        if self._overlap_steps is None:
            self._overlap_steps = overlaps_host_work()
        if not self._overlap_steps or read_logs:
            # (logs read now wait for this step anyway: one sync, with its state)
            self._in_flight = None
            if read_logs:
                return logs, self._logs_from(logs, also=state)
            mx.eval(state)
            return logs, None
        mx.async_eval(state)
        if self._in_flight is not None:
            mx.eval(self._in_flight)  # bound the queue to one step: wait for the previous
        # The state's arrays, not the logs: the default steps log nothing (None), and
        # waiting on nothing let the host queue a whole epoch (with numpy data, every
        # batch converted and held at once).
        self._in_flight = state_arrays(state)
        return logs, None

    def _train_quietly(self, batches, full, progress=None, step=0):
        """Trains on each batch of the iterator ``batches`` when nothing looks at single
        batches (one batch per call, one process, no batch hooks, no per-batch logs);
        returns the last step's logs. ``progress`` is told the step count reached,
        counted from ``step``.

        Batches like the last one (``StepCache.repeat``: every batch of an epoch after
        the first, but a short last one) run in :meth:`_train_run`, which does per batch
        what a hand-written loop does. Measured on the guide MLP, the host's time from
        one step's sync to the next step's call: ~2 us more than a bare hand-written
        loop this way, ~9 us more through ``_train_call`` (on a 0.5 ms step).
        """
        cache, logs = self._step_cache, None
        batch = next(batches, None)
        try:
            while batch is not None and not self.stop_training:
                fn = None if self._overlap_steps else cache.repeat("train", (batch,))
                if fn is None:  # (the first batch, a short one, or overlapped steps)
                    logs, _ = self._train_call([batch], full, count=1)
                    step += 1
                    batch = next(batches, None)
                else:
                    logs, step, batch = self._train_run(fn, batch, batches, step)
        finally:
            if progress is not None:
                progress.step = step
        return logs

    def _train_run(self, fn, batch, batches, step):
        """Calls the settled compiled ``fn`` on ``batch`` and on the batches after it
        while they stay like it; returns ``(logs, step count, first batch not run)``."""
        cache = self._step_cache
        state = cache.state("train")
        # (once for the run, not per step: a settled function runs no Python of the step)
        previous = index_bounds.start_recording(True)
        try:
            while True:
                try:
                    logs = cache.call_repeat(fn, [batch])
                    mx.eval(state)
                except Exception as e:
                    self._note_batch(e, "train", batch)
                    raise
                step += 1
                batch = next(batches, None)
                if batch is None or self.stop_training \
                        or cache.repeat("train", (batch,)) is not fn:
                    return logs, step, batch
        finally:
            index_bounds.stop_recording(previous)

    def _logs_from(self, step_logs, parallel=None, also=None):
        """The logs of a step's dict as Python values (a device sync; ``also``: more
        arrays to evaluate in the same sync).

        As Keras: when its names are those of ``metrics``, the metrics' results
        (summed over processes when data-parallel); else the dict itself.
        """
        metrics = self.metrics
        if not isinstance(step_logs, dict) or set(step_logs) == {m.name for m in metrics}:
            if parallel is not None:  # (a collective; `also` is passed by one process only)
                return metrics_results(metrics, parallel)
            values = metric_arrays(metrics)
            mx.eval(values if also is None else [values, also])
            return metrics_logs(metrics, values)
        step_logs = result_arrays(step_logs)  # (a custom step may log a metric's variable)
        mx.eval(step_logs if also is None else [step_logs, also])
        return pythonify(step_logs)


def _describe(batch):
    """``x shapes [...], y shapes [...]`` of a data-adapter batch (for error notes)."""
    x, y, sw, idx = batch
    rows = int(idx.shape[0]) if idx is not None else int(x[0].shape[0])

    def shapes(arrays):
        return [(rows,) + tuple(a.shape[1:]) for a in arrays]

    text = f"x shapes {shapes(x)}"
    if y is not None:
        text += f", y shapes {shapes(y)}"
    if sw is not None:
        text += f", sample_weight shape {shapes([sw])[0]}"
    return text
