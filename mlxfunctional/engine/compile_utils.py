"""What ``compile()`` was given, matched to the model's outputs.

``CompiledLoss`` holds one loss (or none) and one weight per output and
computes ``total = sum(weight_i * loss_i)``; ``CompiledMetrics`` holds the
metric objects per output and the trackers that log ``loss`` and, with
several outputs, ``<output>_loss``. Names follow what Keras logs.
"""

import mlx.core as mx

from .. import losses as losses_mod
from .. import metrics as metrics_mod
from ..metrics_base import result_arrays
from . import target_checks


def _per_output(value, output_names, what):
    """A single value for every output, a list in output order, or a dict by name."""
    if isinstance(value, dict):
        unknown = [k for k in value if k not in output_names]
        if unknown:
            raise ValueError(
                f"{what} has keys {unknown} that match no output; the model's outputs are "
                f"{output_names}."
            )
        return [value.get(name) for name in output_names]
    if isinstance(value, (list, tuple)) and len(output_names) > 1:
        if len(value) != len(output_names):
            raise ValueError(
                f"{what} has {len(value)} entries but the model has {len(output_names)} "
                f"outputs {output_names}."
            )
        return list(value)
    return [value] * len(output_names)


class CompiledLoss:
    """Losses and loss weights per output.

    Args:
        loss: a loss (name, function or object) for every output, a list in
            output order, or a dict keyed by output name.
        loss_weights: scalars in the same forms (1.0 by default).
        output_names: the model's output names.
    """

    def __init__(self, loss, loss_weights, output_names):
        self.output_names = list(output_names)
        raw = _per_output(loss, self.output_names, "loss")
        self.losses = [losses_mod.get_loss(l) for l in raw]
        if all(l is None for l in self.losses) and loss is not None:
            raise ValueError("compile(loss=...) gave no loss for any output.")
        if loss_weights is None:
            self.weights = [1.0] * len(self.output_names)
        elif isinstance(loss_weights, (list, tuple)) and len(self.output_names) == 1:
            self.weights = [float(loss_weights[0])]
        else:
            self.weights = [1.0 if w is None else float(w)
                            for w in _per_output(loss_weights, self.output_names, "loss_weights")]
        self.raw = raw

    @property
    def active(self):
        return [i for i, l in enumerate(self.losses) if l is not None]

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Returns ``(total, [per-output loss, ...])`` for the outputs that have a loss.

        Each output's targets are first checked against its predictions and its
        loss (``target_checks.py``: Python on shapes, run when a compiled step
        is traced); an error a loss raises on them is re-raised naming the
        loss, the output and both shapes.
        """
        total = None
        per_output = []
        for i in self.active:
            loss, name = self.losses[i], self.output_names[i]
            target_checks.check(loss, name, y_true[i], y_pred[i])
            try:
                value = loss(y_true[i], y_pred[i], sample_weight=sample_weight)
            except ValueError as e:
                raise target_checks.explain(e, loss, name, y_true[i], y_pred[i]) from e
            per_output.append(value)
            # (no kernels for the common weight 1 of a single output)
            weighted = value if self.weights[i] == 1.0 else self.weights[i] * value
            total = weighted if total is None else total + weighted
        return (mx.array(0.0) if total is None else total), per_output


class CompiledMetrics:
    """Metric objects per output, plus the loss trackers.

    Args:
        metrics: metrics applied without sample weights (list for every output,
            list of lists, or dict by output name).
        weighted_metrics: the same, applied with ``sample_weight``.
        compiled_loss: the ``CompiledLoss`` (its losses decide what "accuracy" means).
        output_names / output_shapes: the model's outputs.
    """

    def __init__(self, metrics, weighted_metrics, compiled_loss, output_names, output_shapes):
        multi = len(output_names) > 1
        self.loss_tracker = metrics_mod.Mean(name="loss")
        self.output_loss_trackers = []
        if multi:
            self.output_loss_trackers = [
                metrics_mod.Mean(name=f"{output_names[i]}_loss") for i in compiled_loss.active]
        self.per_output = [[] for _ in output_names]  # (metric, weighted) pairs
        for group, weighted in ((metrics, False), (weighted_metrics, True)):
            if group is None:
                continue
            specs = _per_output(group, list(output_names), "metrics") \
                if isinstance(group, dict) or (multi and _is_nested_list(group)) \
                else [group] * len(output_names)
            for i, spec in enumerate(specs):
                for m in ([] if spec is None else spec if isinstance(spec, (list, tuple)) else [spec]):
                    metric = self._resolve(m, compiled_loss.raw[i], output_shapes[i])
                    if multi:
                        metric.name = f"{output_names[i]}_{metric.name}"
                    self.per_output[i].append((metric, weighted))

    @staticmethod
    def _resolve(m, loss, output_shape):
        # "accuracy" means the accuracy that fits the loss and the output shape.
        return metrics_mod.get_metric(m, y_pred_shape=output_shape or (None, None), loss=loss)

    @property
    def metrics(self):
        """Every metric in the order Keras logs them: loss, output losses, then the rest."""
        out = [self.loss_tracker] + self.output_loss_trackers
        for pairs in self.per_output:
            out.extend(m for m, _ in pairs)
        return out

    @property
    def variables(self):
        """The metric states, for the compiled step to capture."""
        return [m.variables for m in self.metrics]

    def update_output_losses(self, output_losses, batch_size):
        """Tracks each output's loss (models with several outputs; as Keras' compiled loss)."""
        for tracker, value in zip(self.output_loss_trackers, output_losses):
            tracker.update_state(value, sample_weight=batch_size)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Updates the metrics of every output (flat lists in output order)."""
        for i, pairs in enumerate(self.per_output):
            for metric, weighted in pairs:
                metric.update_state(y_true[i], y_pred[i],
                                    sample_weight=sample_weight if weighted else None)

    def reset(self):
        for m in self.metrics:
            m.reset_state()


def metrics_results(metrics, parallel=None):
    """``{name: value}`` of ``metrics`` as Python floats (this synchronizes with the device).

    With ``parallel`` (a ``distribute.DataParallel``) the states are first summed
    over its processes, so every process gets the values of the whole data.
    """
    if parallel is None:
        values = metric_arrays(metrics)
    else:
        values = _results_of_summed_states(metrics, parallel)
    mx.eval(values)
    return metrics_logs(metrics, values)


def metric_arrays(metrics):
    """The results of ``metrics`` as lazy arrays (to evaluate with other arrays)."""
    return [result_arrays(m.result()) for m in metrics]


def metrics_logs(metrics, values):
    """``{name: value}`` of evaluated ``values`` (from :func:`metric_arrays`)."""
    out = {}
    for m, v in zip(metrics, values):
        out.update(pythonify(v) if isinstance(v, dict) else {m.name: pythonify(v)})
    return out


def pythonify(value):
    """A logged value as Python: a float for a scalar, nested lists for an array."""
    if isinstance(value, dict):
        return {k: pythonify(v) for k, v in value.items()}
    if isinstance(value, mx.array):
        return float(value.item()) if value.size == 1 else value.tolist()
    return value


def _results_of_summed_states(metrics, parallel):
    """Each metric's result computed from its states summed over processes; the
    local states are put back (the dicts are rebound in place, never replaced)."""
    local = [dict(m.variables) for m in metrics]
    try:
        for m, summed in zip(metrics, parallel.all_sum(local)):
            m.variables.update(summed)
        return [result_arrays(m.result()) for m in metrics]  # lazy: summed states
    finally:
        for m, state in zip(metrics, local):
            m.variables.update(state)


def _is_nested_list(group):
    return isinstance(group, (list, tuple)) and any(isinstance(g, (list, tuple)) or g is None
                                                   for g in group)
