"""The train, test and predict steps, each one ``mx.compile``d function.

A compiled function must see every array it reads or writes as a captured
input/output, or MLX bakes it in as a constant: so each step captures the
model state (weights and statistics), the optimizer state, the metric
states and ``mx.random.state`` (without it Dropout's mask would freeze).
``steps_per_execution=N`` runs N steps inside one compiled call. Under
data parallelism (``distribute.py``) the gradients are combined across
processes inside the same compiled call.
"""

import mlx.core as mx
import mlx.nn as nn

from .. import distribute
from .. import tree
from . import global_batch
from .data_adapter import take


def _total(values):
    return sum(values[1:], values[0]) if values else mx.array(0.0)


def _batch_size(x):
    return tree.flatten(x)[0].shape[0]


class Steps:
    """Builds and caches the step functions of a compiled model.

    Args:
        model: the model (its ``compiled_loss``/``compiled_metrics``/``optimizer``).
        jit: compile with ``mx.compile`` (False runs the same steps eagerly).
        steps_per_execution: steps per train call.
    """

    def __init__(self, model, jit=True, steps_per_execution=1):
        self.model = model
        self.jit = jit
        self.steps_per_execution = int(steps_per_execution)
        self._compiled = {}  # (mode, parallel) -> (function, usual rows, feature shapes)
        self.parallel = None  # a distribute.DataParallel while fit() runs data-parallel
        self._train_state = None
        # On a GPU, building the next step's graph overlaps the current step's
        # compute (async_eval, at most one step ahead). On the CPU the same
        # cores do both: measured 75k vs 79k samples/s for the MLP, so sync.
        self.overlap = mx.default_device() == mx.gpu
        self._in_flight = None

    # -- the math of one step -------------------------------------------------
    def _forward_loss(self, x, y, sw, training):
        model = self.model
        y_pred = model._flat_outputs(model(model._pack_inputs(x), training=training))
        loss, output_losses = model.compiled_loss(y, y_pred, sw)
        regularization = model.losses
        if regularization:
            loss = loss + _total([mx.sum(r) for r in regularization])
        return loss, output_losses, y_pred

    def _train_one(self, x, y, sw, whole=False):
        """One step. ``whole``: data-parallel, every process has this (tiny) batch whole."""
        model = self.model

        def loss_fn(x, y, sw):
            loss, output_losses, y_pred = self._forward_loss(x, y, sw, True)
            return loss, output_losses, y_pred

        rows = _batch_size(x)
        if self.parallel is None or whole:
            (loss, output_losses, y_pred), grads = nn.value_and_grad(model, loss_fn)(x, y, sw)
        else:
            with global_batch.shard(self.parallel, rows):  # (what is not a mean over rows)
                (loss, output_losses, y_pred), grads = nn.value_and_grad(model, loss_fn)(x, y, sw)
        if self.parallel is not None:  # (equal rows everywhere for a whole batch: the mean)
            grads = self.parallel.combine_gradients(grads, rows)
        model.optimizer.update(model, grads)
        model._apply_constraints()
        if not whole or self.parallel.rank == 0:  # a whole batch counts once in the metrics
            model.compiled_metrics.update(loss, output_losses, y, y_pred, sw, rows)

    def _test_one(self, x, y, sw):
        loss, output_losses, y_pred = self._forward_loss(x, y, sw, False)
        self.model.compiled_metrics.update(loss, output_losses, y, y_pred, sw, _batch_size(x))

    # -- compiled functions ---------------------------------------------------
    def set_parallel(self, parallel):
        """Runs the steps data-parallel over ``parallel`` (None: one process). Compiled
        functions are kept per ``parallel`` (a DataParallel lives as long as its group)."""
        self.parallel = parallel

    def state(self, train=True):
        model = self.model
        parts = [model.state, model.compiled_metrics.variables, mx.random.state]
        if train:
            parts.insert(1, model.optimizer.state)
        return parts

    def _compile(self, fn, state):
        return mx.compile(fn, inputs=state, outputs=state) if self.jit else fn

    def _pick(self, mode, fn, batches, state):
        """The compiled ``fn`` for the usual batch size; ``fn`` itself for a short batch.

        A new input shape makes MLX trace again and, on the CPU, JIT-compile new
        kernels (seconds the first time). A short last batch differs from the
        others only in its number of rows: it runs uncompiled (milliseconds).
        """
        rows, features = _signature(batches)
        key = (mode, self.parallel)  # a step traced data-parallel holds its collectives
        if key not in self._compiled:
            self._compiled[key] = (self._compile(fn, state), rows, features)
        compiled, usual_rows, usual_features = self._compiled[key]
        if self.jit and features == usual_features and rows != usual_rows:
            return fn
        return compiled

    def train(self, batches):
        """Runs one call on a list of at most N batches from ``*Batches.batches()``."""
        if self._train_state is None:
            model = self.model
            model.optimizer.init(model.trainable_parameters())
            # The containers never change (only the arrays inside them), so the
            # list is built once.
            self._train_state = self.state(True)
        if any(isinstance(b, distribute.WholeBatch) for b in batches):
            self._train_run(batches)  # rare (a batch smaller than the group): uncompiled
        else:
            self._pick("train", self._train_run, batches, self._train_state)(batches)
        if not self.overlap:
            mx.eval(self._train_state)
            return
        mx.async_eval(self._train_state)
        if self._in_flight is not None:
            mx.eval(self._in_flight)  # bound the queue to one step
        self._in_flight = self.model.compiled_metrics.loss_tracker.variables["total"]

    def _train_run(self, batches):
        for batch in batches:
            self._train_one(*take(batch), whole=isinstance(batch, distribute.WholeBatch))

    def test(self, batch):
        self._pick("test", self._test_run, [batch], self.state(False))(batch)
        mx.eval(self.model.compiled_metrics.variables)

    def _test_run(self, batch):
        self._test_one(*take(batch))

    def predict(self, batch):
        state = [self.model.state, mx.random.state]
        return self._pick("predict", self._predict_run, [batch], state)(batch)

    def _predict_run(self, batch):
        model = self.model
        x = take(batch)[0]
        return model._flat_outputs(model(model._pack_inputs(x), training=False))


def _signature(batches):
    """(rows of each batch, the set of other input dimensions) of a list of batches.

    A short tail of ``steps_per_execution`` (fewer batches) counts as a row change.
    """
    rows, features = [], set()
    for x, _, _, idx in batches:
        rows.append(int(idx.shape[0]) if idx is not None else int(x[0].shape[0]))
        features.add(tuple(tuple(a.shape[1:]) for a in x))
    return tuple(rows), features
