"""compile / fit / evaluate / predict: Keras' training loops around the model's steps.

The steps themselves are the model's (``step_methods.py``); this module runs
them: batches from the data adapter, one compiled call per step (or per
``steps_per_execution`` steps) through the model's ``StepCache``, callbacks
and logs. The host loop does as little as possible per step: batches are lazy
gathers of arrays already on the device, and metric values are read (a
device sync) only when the progress bar or a callback needs them.
"""

import contextlib
import time

import mlx.core as mx
import numpy as np

from .. import distribute as distribute_lib
from .. import tree
from . import argument_checks, data_adapter, index_bounds, resume_state
from .on_batch import OnBatchCalls
from .step import StepCache
from .step_calls import FullRows, StepCalls, overlaps_host_work
from .step_methods import StepMethods
from .loop_helpers import (_capped_epochs, _due, _numpy_ready, _one_ahead, _sharded,
                           _verbosity, cbs_need_batch_logs)

# How often per-batch logs are refreshed for the progress bar (seconds).
_LOG_INTERVAL = 0.1

# Whether predict reads batch i + 1 (numpy rows to MLX) while MLX computes batch i.
# None: when steps overlap host work (step_calls.overlaps_host_work: on a GPU, or on the
# CPU with a core left to the host). Measured with the guide's MLP on 2 cores
# (bench/input_path.py): with OpenBLAS on both, predict on numpy at 0.80x of MLX input
# with it and 0.83x without (no gain); with one BLAS thread, 1.04x with it, 0.93x without.
READ_AHEAD = None


class Trainer(OnBatchCalls, StepCalls, StepMethods):
    """Mixin that gives ``Model`` Keras' training and inference loops."""

    # -- compile -------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=False, jit_compile=True,
                steps_per_execution=1, auto_scale_loss=True):
        """Configures the model for training (Keras' arguments and string names).

        ``steps_per_execution``: training steps per compiled call (also settable
        later as ``model.steps_per_execution``).
        ``auto_scale_loss``: under the "mixed_float16" policy, wrap the optimizer in a
        ``LossScaleOptimizer`` (dynamic loss scaling), as Keras does.
        """
        from .. import optimizers
        from .compile_utils import CompiledLoss, CompiledMetrics

        self.optimizer = optimizers.get(optimizer)
        if auto_scale_loss and getattr(self.dtype_policy, "name", None) == "mixed_float16" \
                and isinstance(self.optimizer, optimizers.Optimizer) \
                and not isinstance(self.optimizer, optimizers.LossScaleOptimizer):
            self.optimizer = optimizers.LossScaleOptimizer(self.optimizer,
                                                           name="loss_scale_optimizer")
        names = self._training_output_names()
        self.compiled_loss = CompiledLoss(loss, loss_weights, names)
        self.compiled_metrics = CompiledMetrics(metrics, weighted_metrics, self.compiled_loss,
                                                names, self._training_output_shapes())
        self._step_cache = StepCache(jit=jit_compile and not run_eagerly)
        self.steps_per_execution = argument_checks.count(
            steps_per_execution, "steps_per_execution", "compile", optional=False)
        self._compile_config = {
            "optimizer": optimizer if isinstance(optimizer, str) else None,
            "loss": loss, "metrics": metrics, "loss_weights": loss_weights,
            "weighted_metrics": weighted_metrics, "run_eagerly": run_eagerly,
            "jit_compile": jit_compile, "steps_per_execution": steps_per_execution,
        }
        self.stop_training = False

    def _is_compiled(self):
        return getattr(self, "compiled_loss", None) is not None

    def _require_compiled(self, what):
        if not self._is_compiled():
            raise RuntimeError(f"You must call compile() on the model before {what}().")

    # -- structure helpers (Functional overrides the names/shapes) -------------
    def _training_output_names(self):
        names = getattr(self, "output_names", None)
        return list(names) if names else ["output_1"]

    def _training_output_shapes(self):
        outputs = getattr(self, "_outputs", None)
        return [t.shape for t in outputs] if outputs else [None]

    def _training_input_names(self):
        names = getattr(self, "input_names", None)
        return list(names) if names else ["input_1"]

    def _apply_constraints(self):
        for owner, entry in self._weight_entries(True):
            constraint = getattr(entry, "constraint", None)
            if constraint is not None:
                value = entry.to_keras(owner[entry.key])
                owner[entry.key] = entry.from_keras(constraint(value))

    # -- data ------------------------------------------------------------------
    def _flat_inputs(self, x):
        """``x`` as a flat list in input order: by input name, or nested like the
        model's own ``inputs`` (a dict model's keys, which may differ from the names)."""
        return data_adapter.match_structure(x, self._training_input_names(), "inputs", self.name,
                                            structure=getattr(self, "_inputs_struct", None))

    def _flat_xy(self, x, y, sample_weight):
        x = self._flat_inputs(x)
        y = data_adapter.match_structure(y, self._training_output_names(), "outputs", self.name)
        return x, y, sample_weight

    def _batches(self, x, y, sample_weight, batch_size, shuffle, steps, class_weight=None):
        if data_adapter.is_iterable_data(x):
            if y is not None:
                raise ValueError("When x is a generator or iterable of batches, y must be None "
                                 "(each batch carries its targets).")

            x_names, y_names = self._data_names()

            def standardize(bx, by, bsw):
                fx, fy, fsw = self._flat_xy(bx, by, bsw)
                fx = [data_adapter.as_array(a, where=data_adapter.where("x", "input", n))
                      for a, n in zip(fx, x_names)]
                fy = None if fy is None else [
                    data_adapter.as_array(a, where=data_adapter.where("y", "output", n))
                    for a, n in zip(fy, y_names)]
                if class_weight is not None and fy is not None:
                    fsw = data_adapter.class_weight_to_sample_weight(np.array(fy[0]), class_weight)
                fsw = None if fsw is None else data_adapter.as_array(fsw).astype(mx.float32)
                return fx, fy, fsw

            return data_adapter.IterableBatches(x, standardize, steps)
        if isinstance(x, tuple) and len(x) == 3 and y is None:
            x, y, sample_weight = x
        fx, fy, sw = self._flat_xy(x, y, sample_weight)
        return self._array_batches(fx, fy, sw, batch_size, shuffle, steps, class_weight)

    def _array_batches(self, fx, fy, sw, batch_size, shuffle, steps, class_weight=None):
        if class_weight is not None:
            if fy is None or len(fy) != 1:
                raise ValueError("class_weight needs a single output with targets.")
            cw = data_adapter.class_weight_to_sample_weight(np.array(fy[0]), class_weight)
            sw = cw if sw is None else np.asarray(sw, dtype=np.float32) * cw
        return data_adapter.ArrayBatches(fx, fy, sw, batch_size, shuffle, steps,
                                         names=self._data_names())

    def _data_names(self):
        """``(input names, output names)``, for data errors to say which array."""
        return self._training_input_names(), self._training_output_names()

    # -- fit -------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, distribute=None):
        """Trains the model; returns a ``History`` (Keras' arguments and semantics).

        ``distribute``: data parallelism over MLX's distributed runtime. By default
        it is on when the script was started by ``mlx.launch`` in a group of several
        processes, ``batch_size`` then being the global batch (see ``distribute.py``);
        ``False`` trains each process on its own.
        """
        from ..callbacks import CallbackList

        self._require_compiled("fit")
        (batch_size, epochs, verbose, validation_split, initial_epoch, steps_per_epoch,
         validation_steps, validation_batch_size, validation_freq) = \
            argument_checks.fit_arguments(
                batch_size, epochs, verbose, validation_split, initial_epoch, steps_per_epoch,
                validation_steps, validation_batch_size, validation_freq)
        argument_checks.require_x(x, "fit")
        parallel = distribute_lib.resolve(distribute)
        batch_size = batch_size or 32
        if validation_split and validation_data is None:
            if data_adapter.is_iterable_data(x):
                raise ValueError("validation_split needs array inputs, not a generator.")
            fx, fy, sw = self._flat_xy(x, y, sample_weight)
            (fx, fy, sw), validation_data = data_adapter.split_validation(fx, fy, sw, validation_split)
            train = self._array_batches(fx, fy, sw, batch_size, shuffle, steps_per_epoch, class_weight)
        else:
            train = self._batches(x, y, sample_weight, batch_size, shuffle, steps_per_epoch,
                                  class_weight)
        argument_checks.require_samples(train, "fit")
        val = None
        if validation_data is not None:
            val = self._validation_batches(validation_data, validation_batch_size or batch_size,
                                           validation_steps)
            argument_checks.require_samples(val, "fit", "validation_data's x")
        verbose = _verbosity(verbose, parallel)
        with self._data_parallel(parallel, "fit"), self._step_call("train"):
            if parallel is not None:
                parallel.broadcast_model(self, self.optimizer)
            skip = resume_state.begin(self, train, initial_epoch, parallel)  # seed, resume
            cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                               model=self, verbose=verbose, epochs=epochs,
                               steps=train.steps_per_epoch)
            per_batch_logs = cbs_need_batch_logs(cbs)
            if parallel is not None:  # callback lists may differ (e.g. some on rank 0 only)
                per_batch_logs = parallel.any(per_batch_logs)
            self.stop_training = False
            self._initial_epoch = None
            progress = self._fit_progress = resume_state.Progress(train, parallel)
            cbs.on_train_begin()
            if self._initial_epoch is not None:  # a callback (BackupAndRestore) restored
                initial_epoch, self._initial_epoch = self._initial_epoch, None  # a backup
                skip = resume_state.begin(self, train, initial_epoch, parallel)
            logs = {}
            for epoch in range(initial_epoch, _capped_epochs(epochs)):
                self.reset_metrics()
                index_bounds.reset()
                cbs.on_epoch_begin(epoch)
                if skip is not None:
                    skip.epoch_begins()  # the key this epoch's shuffle order is drawn from
                progress.epoch_begins(epoch)
                logs = self._run_epoch(train, cbs, per_batch_logs, parallel, skip, progress)
                index_bounds.warn_if_counted(f"Epoch {epoch + 1}")  # (one sync per epoch)
                skip = None
                if parallel is not None:
                    parallel.average_state(self)
                if val is not None and _due(epoch, validation_freq):
                    with index_bounds.saved():  # (its own count; the epoch's is read)
                        val_logs = self._evaluate_batches(val, cbs, parallel,
                                                          f"Epoch {epoch + 1}, validation")
                    logs.update({f"val_{k}": v for k, v in val_logs.items()})
                resume_state.record(self, epoch + 1, train, parallel)  # (before checkpoints)
                cbs.on_epoch_end(epoch, logs)
                if parallel is not None:  # a callback on one rank only must not strand the rest
                    self.stop_training = parallel.any(self.stop_training)
                if self.stop_training:
                    break
            finalize = getattr(self.optimizer, "finalize_variable_values", None)
            if finalize is not None:  # EMA weights (use_ema=True); absent on raw mlx optimizers
                finalize(self)
            cbs.on_train_end(logs)
            self._fit_progress = None
        return self.history

    @contextlib.contextmanager
    def _data_parallel(self, parallel, what):
        """Runs the block data-parallel over ``parallel`` (None: as one process), then
        puts back how the steps ran before (a ``predict(distribute=False)`` inside a
        callback must not turn the rest of ``fit`` into independent training)."""
        previous = self._parallel
        self._parallel = parallel
        try:
            if parallel is None:
                yield
            else:
                with parallel.running(what):
                    yield
        finally:
            self._parallel = previous

    def _run_epoch(self, data, cbs, per_batch_logs, parallel=None, skip=None, progress=None):
        """One pass over ``data``; returns the epoch's logs (the only forced sync).

        ``skip`` (a ``resume_state.Skip``): the epoch is resumed mid-way, its first
        ``skip.steps`` batches are drawn (in the same order) but not trained on.
        ``progress`` (a ``resume_state.Progress``) is told the batches done.

        Data-parallel, each process trains on its shard of every batch; the values
        logged per batch are summed over processes when a callback acts on every
        batch (a collective, so every process does it), else -- for the progress
        bar of rank 0 -- they are rank 0's own until the epoch's end. In the first
        case ``stop_training`` is also agreed on after every batch, so a callback
        that stops on one rank stops every rank after the same batch.
        """
        n = self.steps_per_execution
        full = FullRows(data, parallel)
        hooks = cbs.has_batch_hooks("train")
        batch_parallel = parallel if per_batch_logs else None
        # Data-parallel without per-batch callbacks, nothing can ask to stop during the
        # epoch but on_epoch_begin on some rank: the epoch's end decides for all.
        may_stop_mid_epoch = parallel is None or batch_parallel is not None
        logs, last, step_logs = {}, 0.0, None
        pending, step = [], 0
        batches = iter(_sharded(data.batches(), parallel, "train"))
        if skip is not None:
            for _ in range(skip.steps):
                if next(batches, None) is None:
                    break
                step += 1
            skip.skipped()  # the key after the batches already trained
            if progress is not None:
                progress.step = step
        if n == 1 and parallel is None and not hooks and not per_batch_logs:
            # (nothing looks into single batches: StepCalls._train_quietly)
            return self._logs_from(self._train_quietly(batches, full, progress, step))
        for batch in batches:
            pending.append(batch)
            if len(pending) < n:
                continue
            if hooks:
                cbs.on_train_batch_begin(step)
            # Reading metric values syncs with the device: only when a callback acts on
            # every batch (then on every rank, even one without callbacks: the values
            # are summed over ranks), else at most every _LOG_INTERVAL seconds. On one
            # process they are read in the step's own sync.
            want = per_batch_logs or (hooks and time.monotonic() - last >= _LOG_INTERVAL)
            step_logs, read = self._train_call(pending, full, read_logs=want and parallel is None)
            step += len(pending)
            pending = []
            if progress is not None:
                progress.step = step
            if parallel is not None:
                parallel.step_done()
            if want:
                logs = read if read is not None else self._logs_from(step_logs, batch_parallel)
                last = time.monotonic()
            if hooks:
                cbs.on_train_batch_end(step - 1, logs)
            if batch_parallel is not None:  # a callback may have asked on one rank only
                self.stop_training = batch_parallel.any(self.stop_training)
            if self.stop_training and may_stop_mid_epoch:
                break
        if pending:
            if hooks:
                cbs.on_train_batch_begin(step)
            want = per_batch_logs or hooks
            step_logs, read = self._train_call(pending, full, read_logs=want and parallel is None)
            step += len(pending)
            if progress is not None:
                progress.step = step
            if want:
                logs = read if read is not None else self._logs_from(step_logs, batch_parallel)
            if hooks:
                cbs.on_train_batch_end(step - 1, logs)
        return self._logs_from(step_logs, parallel)

    def _validation_batches(self, validation_data, batch_size, steps):
        if data_adapter.is_iterable_data(validation_data):
            return self._batches(validation_data, None, None, batch_size, False, steps)
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be (x_val, y_val) or "
                             "(x_val, y_val, val_sample_weight), or a generator of batches.")
        vx, vy, vsw = (tuple(validation_data) + (None,))[:3]
        return self._batches(vx, vy, vsw, batch_size, False, steps)

    # -- evaluate ----------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, distribute=None):
        """Loss and metrics on the data: a scalar, a list in ``metrics_names`` order, or a dict.

        Data-parallel under ``mlx.launch`` (see ``fit``): each process evaluates its
        shard of every batch and all return the metrics of the whole data.
        """
        from ..callbacks import CallbackList

        self._require_compiled("evaluate")
        batch_size, verbose, steps = argument_checks.inference_arguments(
            "evaluate", batch_size, verbose, steps)
        argument_checks.require_x(x, "evaluate")
        parallel = distribute_lib.resolve(distribute)
        data = self._batches(x, y, sample_weight, batch_size or 32, False, steps)
        argument_checks.require_samples(data, "evaluate")
        verbose = _verbosity(verbose, parallel)
        cbs = CallbackList(callbacks, add_history=False, add_progbar=verbose != 0, model=self,
                           verbose=verbose, epochs=1, steps=data.steps_per_epoch)
        with self._data_parallel(parallel, "evaluate"), self._step_call("test"):
            logs = self._evaluate_batches(data, cbs, parallel)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def _evaluate_batches(self, data, cbs, parallel=None, during="evaluate"):
        """One pass over ``data`` in test mode; returns the logs. Out-of-range
        indices counted since the caller's fresh tally are reported once at the
        end, as ``during``'s.

        ``on_test_batch_end`` gets the running loss and metrics, as in Keras, read
        by the rule of ``_run_epoch``: after every batch when a callback other than
        the loggers acts on test batches, else at most every ``_LOG_INTERVAL``.
        """
        self._bind_steps("test")
        self.reset_metrics()
        hooks = cbs is not None and cbs.has_batch_hooks("test")
        per_batch_logs = cbs is not None and cbs_need_batch_logs(cbs, "test")
        if parallel is not None and cbs is not None:  # (as in fit: every rank agrees)
            per_batch_logs = parallel.any(per_batch_logs)
        batch_parallel = parallel if per_batch_logs else None
        if cbs is not None:
            cbs.on_test_begin()
        full, step_logs, logs, last = FullRows(data, parallel), None, {}, 0.0
        for step, batch in enumerate(_sharded(data.batches(), parallel, "test")):
            if hooks:
                cbs.on_test_batch_begin(step)
            if batch is not None:  # (None: this process's shard of a tiny batch is empty)
                step_logs = self._run_step("test", [batch], full)
                mx.eval(self._step_cache.state("test"))
            if parallel is not None:
                parallel.step_done()
            if per_batch_logs or (hooks and time.monotonic() - last >= _LOG_INTERVAL):
                logs, last = self._logs_from(step_logs, batch_parallel), time.monotonic()
            if hooks:
                cbs.on_test_batch_end(step, logs)
        logs = self._logs_from(step_logs, parallel)
        index_bounds.warn_if_counted(during)
        if cbs is not None:
            cbs.on_test_end(logs)
        return logs

    # -- predict -----------------------------------------------------------------
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None,
                distribute=None):
        """Outputs as numpy arrays, batch by batch, in the model's output structure.

        Data-parallel under ``mlx.launch`` (see ``fit``): each process predicts its
        shard of every batch and every process returns all rows, in order.
        """
        from ..callbacks import CallbackList

        batch_size, verbose, steps = argument_checks.inference_arguments(
            "predict", batch_size, verbose, steps)
        argument_checks.require_x(x, "predict")
        parallel = distribute_lib.resolve(distribute)
        if data_adapter.is_iterable_data(x):
            x_names = self._training_input_names()

            def standardize(bx, by, bsw):
                fx = self._flat_inputs(bx)
                return [data_adapter.as_array(a, where=data_adapter.where("x", "input", n))
                        for a, n in zip(fx, x_names)], None, None

            data = data_adapter.IterableBatches(x, standardize, steps)
        else:
            fx = self._flat_inputs(x)
            data = data_adapter.ArrayBatches(fx, batch_size=batch_size or 32, steps=steps,
                                             names=self._data_names())
            argument_checks.require_samples(data, "predict")
        verbose = _verbosity(verbose, parallel)
        cbs = CallbackList(callbacks, add_history=False, add_progbar=verbose != 0, model=self,
                           verbose=verbose, epochs=1, steps=data.steps_per_epoch)
        cbs.on_predict_begin()
        chunks, struct, full = [], None, FullRows(data, parallel)
        hooks = cbs.has_batch_hooks("predict")
        read_ahead = READ_AHEAD if READ_AHEAD is not None else overlaps_host_work()
        with self._data_parallel(parallel, "predict"), self._step_call("predict"):
            for step, (batch, ahead) in enumerate(_one_ahead(data.batches())):
                if hooks:
                    cbs.on_predict_batch_begin(step)
                outputs, struct = self._predict_batch(batch, parallel, full,
                                                      ahead if read_ahead else None)
                index_bounds.raise_if_counted(  # (synced anyway)
                    f"predict, batch {step + 1}",
                    replay=lambda: self.predict_step(self._step_data(batch)))
                chunks.append(outputs)
                if hooks:  # as Keras: the batch's outputs in the model's output structure
                    batch_outputs = tree.pack_sequence_as(struct, outputs)
                    cbs.on_predict_batch_end(step, {"outputs": batch_outputs})
        cbs.on_predict_end()
        if not chunks:
            raise ValueError("predict() received no data.")
        flat = [np.concatenate(parts) for parts in zip(*chunks)]
        return tree.pack_sequence_as(struct, flat)

    def _predict_batch(self, batch, parallel, full, ahead=None):
        """One batch's outputs as a flat list of numpy arrays, and their structure;
        data-parallel, every shard's rows gathered in order. ``ahead()`` reads the
        next batch: called while this one computes, so the host converts batch
        i + 1 (numpy rows to MLX) as MLX computes batch i."""
        if parallel is not None:
            local, rows = parallel.shard(batch)
            if rows >= parallel.size:
                out = self._run_step("predict", [local], full)[0]
                flat = _numpy_ready(out)
                parallel.step_done()
                return parallel.gather_rows(flat, rows), out
        # (a batch smaller than the group: every process does it all)
        out = self._run_step("predict", [batch], full)[0]
        flat = _numpy_ready(out)
        if ahead is not None:
            mx.async_eval(flat)
            ahead()
        mx.eval(flat)
        return [np.array(o) for o in flat], out
