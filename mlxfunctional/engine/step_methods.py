"""The model's steps: Keras' override points for what ``fit``/``evaluate``/``predict`` do.

``train_step(data)``, ``test_step(data)`` and ``predict_step(data)`` take one
batch as the data adapter yields it -- ``x``, ``(x, y)`` or
``(x, y, sample_weight)`` (``utils.unpack_x_y_sample_weight`` splits it) -- and
each mode runs as one ``mx.compile``d function per input signature
(``step.py`` says which state it captures). ``train_step``/``test_step``
return a dict of metric values: lazy MLX arrays are fine, the host reads them
only when it logs. When the dict's names are those of ``model.metrics``, the
logs are the metrics' results (reset at each epoch's start), as in Keras.

The MLX way to take gradients in a custom ``train_step``: ``nn.value_and_grad``
over the model (or a sub-model) and a loss function, then ``optimizer.update``::

    class VAE(keras.Model):
        def __init__(self, encoder, decoder):
            super().__init__()
            self.encoder, self.decoder = encoder, decoder
            self.loss_tracker = keras.metrics.Mean(name="loss")

        @property
        def metrics(self):
            return [self.loss_tracker]

        def train_step(self, data):
            x, _, _ = keras.utils.unpack_x_y_sample_weight(data)

            def loss_fn(x):
                mean, log_var, z = self.encoder(x, training=True)
                reconstruction = self.decoder(z, training=True)
                return vae_loss(x, reconstruction, mean, log_var)

            loss, grads = nn.value_and_grad(self, loss_fn)(x)
            self.optimizer.update(self, grads)
            self.loss_tracker.update_state(loss)
            return {"loss": self.loss_tracker.result()}

(``examples/vae.py`` is the whole program.) A second optimizer for a
sub-model is ``nn.value_and_grad(self.discriminator, d_loss)`` then
``self.d_optimizer.update(self.discriminator, grads)``.
"""

import contextlib

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as mlx_optimizers
from mlx.utils import tree_flatten

from ..distribute import WholeBatch
from .. import tree
from ..metrics_base import Metric, result_arrays
from .step_data import pack_x_y_sample_weight, unpack_x_y_sample_weight
from . import global_batch, index_bounds
from .data_adapter import match_structure, take


def _rows(x):
    return tree.flatten(x)[0].shape[0]


def _held(obj, kind):
    """Objects of ``kind`` among ``obj``'s attributes (also inside lists, tuples, dicts)."""
    found = []

    def visit(value):
        if isinstance(value, kind):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            for v in value:
                visit(v)
        elif isinstance(value, dict) and not isinstance(value, nn.Module):
            for v in value.values():
                visit(v)

    for name, value in vars(obj).items():
        if not name.startswith("_"):  # (private bookkeeping, e.g. the compile arguments)
            visit(value)
    return found


def _unique(objects):
    seen, out = set(), []
    for o in objects:
        if id(o) not in seen:
            seen.add(id(o))
            out.append(o)
    return out


class StepMethods:
    """Mixin of ``Model``: the steps and the metrics they update."""

    # Set by the trainer while it runs data-parallel: the ``DataParallel``, and
    # whether the current batch is a ``WholeBatch`` (every process has all of it).
    _parallel = None
    _whole_batch = False

    # -- the steps -----------------------------------------------------------------
    def train_step(self, data):
        """One training step on a batch; returns ``{metric name: value}``.

        The default: forward pass, ``compute_loss``, gradients of the trainable
        weights with ``nn.value_and_grad``, ``optimizer.update``, weight
        constraints, then ``compute_metrics``. A model with no trainable weights
        runs the forward pass, loss and metrics only. Data-parallel, the loss is
        this process's share of the global batch's and the gradients are combined
        across processes (``distribute.py``).
        """
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        rows = _rows(x)

        # Keras' loss scaling: the gradient is taken of ``optimizer.scale_loss(loss)``
        # (loss_scale_factor, LossScaleOptimizer's dynamic scale); the optimizer
        # divides it out again. The loss tracked is the unscaled one.
        scale_loss = getattr(self.optimizer, "scale_loss", None)

        # (the batch is closed over, not passed: arguments of value_and_grad come out
        # as new arrays, which index_bounds.known_rows would not recognize)
        def forward():
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight, training=True)
            return (loss if scale_loss is None else scale_loss(loss)), loss, y_pred

        with self._global_batch(rows):
            if tree_flatten(self.trainable_parameters()):
                (_, loss, y_pred), grads = nn.value_and_grad(self, forward)()
            else:  # nothing to train (all frozen, or no weights): no gradient to take
                (_, loss, y_pred), grads = forward(), None
        if grads is not None:
            if self._parallel is not None:  # (a whole batch: equal rows, so the mean)
                grads = self._parallel.combine_gradients(grads, rows)
            self.optimizer.update(self, grads)
            self._apply_constraints()
        self._loss_tracker.update_state(loss, sample_weight=rows)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        """One evaluation step: forward pass (inference mode), loss, metrics."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._loss_tracker.update_state(loss, sample_weight=_rows(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        """The model's outputs on a batch, in inference mode."""
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss: the compiled losses (weighted per output) plus ``self.losses``
        (weight regularization and ``add_loss``). Also tracks each output's loss
        when the model has several. ``x`` is unused by default."""
        total = mx.array(0.0)
        compiled = getattr(self, "compiled_loss", None)
        if compiled is not None and compiled.active:
            if y is None:
                raise ValueError(
                    f'Model "{self.name}" was compiled with a loss but received no targets '
                    "`y`. Pass `y` to fit()/evaluate(), or compile without a loss.")
            y_pred = self._flat_outputs(y_pred)
            total, per_output = compiled(self._flat_targets(y), y_pred, sample_weight)
            self.compiled_metrics.update_output_losses(per_output, y_pred[0].shape[0])
        extra = self.losses
        if extra:
            total = total + sum((mx.sum(r) for r in extra[1:]), mx.sum(extra[0]))
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Updates the compiled metrics with the batch; returns ``get_metrics_result()``."""
        compiled = getattr(self, "compiled_metrics", None)
        if compiled is not None and y is not None:
            compiled.update_state(self._flat_targets(y), self._flat_outputs(y_pred),
                                  sample_weight)
        return self.get_metrics_result()

    # -- metrics -------------------------------------------------------------------
    @property
    def metrics(self):
        """The metrics the steps update: the loss trackers and compiled metrics, then
        metrics held as attributes. They are reset at each epoch's start and logged
        under their names. A subclass may override this to list its own trackers."""
        compiled = getattr(self, "compiled_metrics", None)
        out = list(compiled.metrics) if compiled is not None else []
        return _unique(out + _held(self, Metric))

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        """Puts every metric of ``metrics`` back to its initial state."""
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self):
        """``{name: result}`` of every metric in ``metrics`` (lazy MLX arrays)."""
        out = {}
        for m in self.metrics:
            result = result_arrays(m.result())
            out.update(result if isinstance(result, dict) else {m.name: result})
        return out

    @property
    def _loss_tracker(self):
        return self.compiled_metrics.loss_tracker

    # -- what a compiled step captures (the rule is in step.py's docstring) ----------
    def _step_optimizers(self):
        return _held(self, mlx_optimizers.Optimizer)

    def _step_metrics(self):
        if type(self).metrics is StepMethods.metrics:  # (it has the held ones already)
            return self.metrics
        return _unique(list(self.metrics) + _held(self, Metric))

    def _step_state(self, mode):
        """The containers a ``mode`` step captures, in a fixed order."""
        parts = [self]  # the module tree (a model is an nn.Module: a dict of its state)
        if mode == "train":
            parts += [opt.state for opt in self._step_optimizers()]
        if mode != "predict":
            parts += [m.variables for m in self._step_metrics()]
        parts.append(index_bounds.TALLY)  # out-of-range indices, counted without a sync
        parts.append(mx.random.state)
        return parts

    def _step_flags(self, mode):
        """Attributes a failed step must also put back: an optimizer creates its
        slots on its first update and then says so in ``_initialized``."""
        if mode != "train":
            return []
        return [(opt, "_initialized") for opt in self._step_optimizers()]

    # -- the functions the trainer compiles -------------------------------------------
    def _step_data(self, batch):
        x, y, sample_weight = take(batch)
        # (rows of a data set, which may vouch for its labels' range: index_bounds)
        if y is not None and self._step_cache is not None:
            index_bounds.known_rows(y, self._step_cache)
        return pack_x_y_sample_weight(self._pack_inputs(x), self._pack_targets(y),
                                      sample_weight)

    def _train_function(self, batches):
        logs = None
        for batch in batches:
            logs = self._whole_batch_step(batch) if self._whole_batch_of(batch) \
                else self.train_step(self._step_data(batch))
            index_bounds.batch_done()
        return self._unless_metric_results(logs)

    def _test_function(self, batches):
        logs = None
        for batch in batches:
            logs = self.test_step(self._step_data(batch))
            index_bounds.batch_done()
        return self._unless_metric_results(logs)

    def _unless_metric_results(self, logs):
        """None when ``logs`` are named as ``metrics`` are (the default steps), else
        ``logs``. The trainer then reads the metrics' results from their variables
        (``_logs_from``), so the step need not compute them: each result is a few
        kernels per step, which the compiled step would run for nothing."""
        if isinstance(logs, dict) and set(logs) == {m.name for m in self.metrics}:
            return None
        return logs

    def _predict_function(self, batches):
        return [self.predict_step(self._step_data(batch)) for batch in batches]

    # -- data parallelism ----------------------------------------------------------------
    def _global_batch(self, rows):
        """Losses inside are this process's share of the global batch's (see
        ``global_batch.py``); a no-op on one process or for a whole batch."""
        if self._parallel is None or self._whole_batch:
            return contextlib.nullcontext()
        return global_batch.shard(self._parallel, rows)

    @staticmethod
    def _whole_batch_of(batch):
        return isinstance(batch, WholeBatch)

    def _whole_batch_step(self, batch):
        """Every process steps on the whole (tiny) batch; rank 0 alone counts it in
        the metrics, so the others put their metric states back."""
        metrics = self._step_metrics() if self._parallel.rank != 0 else []
        kept = [dict(m.variables) for m in metrics]
        self._whole_batch = True
        try:
            logs = self.train_step(self._step_data(batch))
        finally:
            self._whole_batch = False
        for m, state in zip(metrics, kept):
            m.variables.update(state)
        return logs

    # -- structure helpers (Functional has the names; others use these defaults) -----------
    def _pack_inputs(self, x):
        struct = getattr(self, "_inputs_struct", None)
        if struct is None:
            return x[0] if len(x) == 1 else list(x)
        return tree.pack_sequence_as(struct, x)

    @staticmethod
    def _pack_targets(y):
        if y is None:
            return None
        return y[0] if len(y) == 1 else list(y)

    def _flat_targets(self, y):
        return match_structure(y, self._training_output_names(), "outputs", self.name)

    def _flat_outputs(self, y_pred):
        return tree.flatten(y_pred)

