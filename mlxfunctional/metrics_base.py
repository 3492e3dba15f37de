"""The metric base class and the reducing metrics ``Sum``, ``Mean`` and
``MeanMetricWrapper`` (Keras 3 semantics).

A metric's whole state is the dict ``metric.variables`` (name -> mx.array).
``update_state`` and ``reset_state`` rebind its *entries*
(``self.variables["total"] = ...``) and never replace the dict itself, so a
compiled step that captures ``[metric.variables]`` as inputs and outputs of
``mx.compile`` sees every update. Nothing here evaluates an array.
"""

import mlx.core as mx

from mlxfunctional import backend, initializers, registry
from mlxfunctional.engine import index_bounds
from mlxfunctional.loss_functions import _array, divide_no_nan, squeeze_or_expand_to_same_rank
from mlxfunctional.metric_functions import get_function


class MetricVariable:
    """A handle on one entry of ``metric.variables``, for Keras-style code:
    ``self.tp = self.add_variable(...)`` then ``self.tp.assign(self.tp + x)``.

    Reading it gives the entry's current array (``.value``); the ``assign*``
    methods rebind the entry, so compiled steps still see the change.
    """

    def __init__(self, store, name):
        self._store, self.name = store, name

    @property
    def value(self):
        return self._store[self.name]

    shape = property(lambda self: self.value.shape)
    dtype = property(lambda self: self.value.dtype)

    def assign(self, value):
        current = self.value
        self._store[self.name] = mx.broadcast_to(_array(value, current.dtype), current.shape)

    def assign_add(self, value):
        self.assign(self.value + value)

    def assign_sub(self, value):
        self.assign(self.value - value)

    def __getitem__(self, index):
        return self.value[index]

    def __array__(self, dtype=None):
        import numpy as np  # only at the edge, for printing/inspection
        return np.array(self.value, dtype=dtype)

    def numpy(self):
        return self.__array__()

    def __float__(self):
        return float(self.value.item())

    def __repr__(self):
        return f"<MetricVariable {self.name} shape={self.shape} dtype={self.dtype}>"


def _binary(op, reflected=False):
    def method(self, other):
        other = other.value if isinstance(other, MetricVariable) else other
        return op(other, self.value) if reflected else op(self.value, other)
    return method


for _name, _op in (("add", mx.add), ("sub", mx.subtract), ("mul", mx.multiply),
                   ("truediv", mx.divide)):
    setattr(MetricVariable, f"__{_name}__", _binary(_op))
    setattr(MetricVariable, f"__r{_name}__", _binary(_op, reflected=True))
MetricVariable.__neg__ = lambda self: -self.value


def result_arrays(value):
    """A ``result()`` as MLX arrays: Keras code may return a variable itself
    (``return self.true_positives``), which must leave a step as its array.
    Dicts of results are mapped; anything else is returned as it is."""
    if isinstance(value, MetricVariable):
        return value.value
    if isinstance(value, dict):
        return {k: result_arrays(v) for k, v in value.items()}
    return value


class Metric:
    """Base class: subclasses create state with ``add_variable`` in
    ``__init__`` and implement ``update_state(...)`` and ``result()``.

    ``metric(*args)`` updates the state and returns ``result()``.

    Args:
        name: defaults to the snake_case class name.
        dtype: dtype of the state and result; ``backend.floatx()`` when None.
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or backend.to_snake_case(type(self).__name__)
        self._dtype = backend.standardize_dtype(dtype or backend.floatx())
        self.variables = {}  # the whole state; entries are rebound, the dict never is
        self._variable_specs = {}

    @property
    def dtype(self):
        return self._dtype

    def add_variable(self, shape=(), initializer="zeros", dtype=None, name=None):
        """Adds ``variables[name]`` (a fresh array) and returns a ``MetricVariable`` handle."""
        name = name or f"variable_{len(self.variables)}"
        if name in self.variables:
            raise ValueError(f"Metric {self.name!r} already has a variable named {name!r}.")
        spec = (tuple(shape), initializers.get(initializer),
                backend.standardize_dtype(dtype or self._dtype))
        self._variable_specs[name] = spec
        self.variables[name] = spec[1](spec[0], dtype=spec[2])
        return MetricVariable(self.variables, name)

    add_weight = add_variable

    def build(self, y_true_shape=None, y_pred_shape=None):
        """Creates state that depends on the data's shapes (most metrics have none).

        Call it before capturing ``variables`` in a compiled step.
        """

    def reset_state(self):
        """Puts every variable back to its initial value (in place)."""
        for name, (shape, init, dtype) in self._variable_specs.items():
            self.variables[name] = init(shape, dtype=dtype)

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state().")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result().")

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return result_arrays(self.result())

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype):
    """Keras' reduction of metric values to one (weighted) value per sample.

    Values are reduced over the axes the weight lacks, multiplied by the
    weight, then reduced to shape ``(batch,)``; the weight is reduced likewise.
    """
    values = _array(values, backend.mlx_dtype(dtype))
    if sample_weight is not None:
        sample_weight = _array(sample_weight, values.dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        w_ndim = sample_weight.ndim
        if values.ndim > w_ndim:
            values = reduce_fn(values, axis=list(range(w_ndim, values.ndim)))
        sample_weight = mx.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if w_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=list(range(1, w_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=list(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """Running (weighted) sum: total += sum(values * sample_weight).

    Args:
        name: "sum". dtype: state dtype.
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.add_variable((), name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = reduce_to_samplewise_values(values, sample_weight, mx.sum, self.dtype)
        self.variables["total"] = self.variables["total"] + mx.sum(values)

    def result(self):
        return self.variables["total"]


class Mean(Metric):
    """Running (weighted) mean: total / count, with
    total += sum(v_i * w_i) and count += sum(w_i) (the number of samples
    when unweighted). ``update_state(loss, sample_weight=batch_size)`` with a
    scalar and a Python number is the cheap path a trainer's loss tracker uses.

    Args:
        name: "mean". dtype: state dtype.
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.add_variable((), name="total")
        self.add_variable((), name="count")

    def update_state(self, values, sample_weight=None):
        state = self.variables
        if isinstance(sample_weight, (int, float)) and _array(values).ndim == 0:
            state["total"] = state["total"] + _array(values, state["total"].dtype) * sample_weight
            state["count"] = state["count"] + sample_weight
            return
        values, sample_weight = reduce_to_samplewise_values(
            values, sample_weight, mx.mean, self.dtype)
        state["total"] = state["total"] + mx.sum(values)
        if sample_weight is not None:
            count = mx.sum(sample_weight)
        else:
            count = values.shape[0] if values.ndim >= 1 else 1
        state["count"] = state["count"] + count

    def result(self):
        return divide_no_nan(self.variables["total"], self.variables["count"])


class MeanMetricWrapper(Mean):
    """Running mean of a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    A rank-1 ``y_true``/``y_pred`` pair is treated as ``(batch, 1)``, one
    value per element (Keras would average the pair into one value per batch).

    Args:
        fn: the function.
        name: defaults to ``fn.__name__``.
        dtype: state dtype.
        **kwargs: passed to ``fn``.
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _array(y_true), _array(y_pred)
        if y_true.ndim == 1 and y_pred.ndim == 1:
            y_true, y_pred = y_true[:, None], y_pred[:, None]
        with index_bounds.caller(f'metric "{self.name}"'):  # (names itself in label errors)
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        config = super().get_config()
        if type(self) is MeanMetricWrapper:  # subclasses fix fn; their kwargs are their args
            config["fn"] = registry.get_registered_name(self._fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("fn"), str):
            config["fn"] = get_function(config["fn"])
        return cls(**config)
