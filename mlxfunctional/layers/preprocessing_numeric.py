"""Numeric preprocessing layers that run inside the model (and its compiled
step): Normalization, Rescaling, Discretization, CategoryEncoding.

Their statistics (``adapt``) are computed on the host with numpy before
training, as in Keras; ``call`` is MLX ops only.
"""

import itertools
import math

import mlx.core as mx
import numpy as np

from .. import backend, registry
from ..engine import argument_validation as check
from ..engine.layer import Layer
from . import adapt_data, categorical


def _batches(data, steps=None):
    """``adapt_data.batches``, refusing data that yields nothing."""
    found = adapt_data.batches(data, steps)
    first = next(found, None)
    if first is None:
        raise ValueError("adapt() received an empty iterable: no batches to learn from.")
    return itertools.chain([first], found)


@registry.builtin
class Normalization(Layer):
    """Shifts and scales features to mean 0 and variance 1:
    ``(x - mean) / max(sqrt(variance), epsilon)`` (``invert``: ``mean + x * max(sqrt(variance), epsilon)``),
    with ``epsilon = keras.config.epsilon()`` (1e-7).

    Args:
        axis: int, tuple of ints or None: the axes that keep their own mean and
            variance (``-1``: one per feature); None: one scalar mean and variance.
        mean / variance: fixed statistics (scalars or arrays broadcast to the kept
            axes), given together; otherwise ``adapt`` learns them.
        invert: apply the inverse transformation (de-normalize).

    Without ``mean``/``variance`` the layer has Keras' three non-trainable
    weights, in order: ``mean`` and ``variance`` (the kept axes' shape) and
    ``count`` (an int scalar Keras 3 leaves at 0). ``adapt(data)`` takes an
    array or an iterable of batches (``x`` or ``(x, y)``) and combines the batch
    moments as Keras does.
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif check.is_integer(axis):
            axis = (int(axis),)
        else:
            axes = check.int_list(self, "axis", axis)
            axis = tuple(axes if isinstance(axes, list) else [axes])
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: mean and variance must be given together; "
                             f"received mean={mean!r}, variance={variance!r}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("Normalization: mean and variance must have the same shape; "
                                 f"received {np.shape(mean)} and {np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"Normalization: mean has rank {len(np.shape(mean))}, more "
                                 f"than the number of kept axes {self.axis}")
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.supports_masking = True

    def build(self, input_shape):
        ndim = len(input_shape)
        for a in self.axis:
            if not -ndim <= a < ndim:
                raise ValueError(f'Layer "{self.name}": axis {a} is out of range for inputs of '
                                 f"rank {ndim} (shape {tuple(input_shape)}).")
        self._keep = tuple(sorted(a % ndim for a in self.axis))
        if any(input_shape[a] is None for a in self._keep):
            raise ValueError(f'Layer "{self.name}": the kept axes {self.axis} need known sizes; '
                             f"received input shape {tuple(input_shape)}.")
        self._reduce = tuple(a for a in range(ndim) if a not in self._keep)
        self._build_shape = tuple(input_shape)
        self._broadcast = [input_shape[a] if a in self._keep else 1 for a in range(ndim)]
        shape = tuple(input_shape[a] for a in self._keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(shape=shape, name="mean", initializer="zeros",
                                              trainable=False)
            self.adapt_variance = self.add_weight(shape=shape, name="variance",
                                                  initializer="ones", trainable=False)
            self.count = self.add_weight(shape=(), name="count", dtype="int32",
                                         initializer="zeros", trainable=False)
        else:
            self._fixed_mean = self._broadcast_stat(self.input_mean)
            self._fixed_variance = self._broadcast_stat(self.input_variance)
        self.built = True

    def _broadcast_stat(self, value):
        """A given statistic, its trailing axes aligned with the last kept axes."""
        value = np.asarray(value, dtype=np.float32)
        expanded = [1] * len(self._broadcast)
        for i in range(1, value.ndim + 1):
            expanded[self._keep[-i]] = value.shape[-i]
        return mx.array(np.broadcast_to(value.reshape(expanded), self._broadcast))

    def adapt(self, data):
        """Learns ``mean`` and ``variance`` from ``data`` (an array or an iterable of batches)."""
        if self.input_mean is not None:
            raise ValueError(f'Layer "{self.name}" was given mean and variance; it cannot adapt.')
        batches = _batches(data)
        total_mean = total_var = None
        total_count = 0
        for batch in batches:
            if not self.built:
                self._maybe_build(tuple(batch.shape))
            self._check_adapt_shape(batch)
            batch = batch.astype(np.float64)
            count = math.prod(batch.shape[a] for a in self._reduce)
            mean, var = batch.mean(axis=self._reduce), batch.var(axis=self._reduce)
            if total_mean is None:
                total_mean, total_var, total_count = mean, var, count
                continue
            # Chan et al.'s combination of two sets' moments (what Keras does).
            total_count += count
            w = count / total_count
            new_mean = total_mean * (1 - w) + mean * w
            total_var = ((total_var + (total_mean - new_mean) ** 2) * (1 - w)
                         + (var + (mean - new_mean) ** 2) * w)
            total_mean = new_mean
        self.adapt_mean.assign(mx.array(total_mean.astype(np.float32)))
        self.adapt_variance.assign(mx.array(total_var.astype(np.float32)))

    def _check_adapt_shape(self, batch):
        if batch.ndim != len(self._build_shape) or any(
                batch.shape[a] != self._build_shape[a] for a in self._keep):
            raise ValueError(f'Layer "{self.name}" was built for inputs of shape '
                             f"{self._build_shape}; adapt() received a batch of shape "
                             f"{tuple(batch.shape)}.")

    def call(self, inputs):
        dtype = backend.mlx_dtype(self.compute_dtype)
        if self.input_mean is None:
            mean = self.adapt_mean.reshape(self._broadcast)
            variance = self.adapt_variance.reshape(self._broadcast)
        else:
            mean, variance = self._fixed_mean, self._fixed_variance
        scale = mx.maximum(mx.sqrt(variance), backend.epsilon()).astype(dtype)
        x = inputs.astype(dtype)
        if self.invert:
            return mean.astype(dtype) + x * scale
        return (x - mean.astype(dtype)) / scale

    def get_config(self):
        config = super().get_config()
        config.update(axis=list(self.axis), invert=self.invert,
                      mean=np.array(self.input_mean).tolist(),
                      variance=np.array(self.input_variance).tolist())
        return config


@registry.builtin
class Rescaling(Layer):
    """``x * scale + offset``, computed in the layer's float dtype (integer images
    such as uint8 come out as floats).

    Args:
        scale: a number, or a list broadcast against the last axes (per channel).
        offset: a number or list, likewise (``0.0``).
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _number_or_list(self, "scale", scale)
        self.offset = _number_or_list(self, "offset", offset)
        self.supports_masking = True

    def call(self, inputs):
        dtype = backend.mlx_dtype(self.compute_dtype)
        scale = mx.array(self.scale, dtype=dtype)
        offset = mx.array(self.offset, dtype=dtype)
        return inputs.astype(dtype) * scale + offset

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.scale, offset=self.offset)
        return config


def _number_or_list(owner, name, value):
    """A finite number, or a (nested) list of them, as float / list of floats."""
    if isinstance(value, (list, tuple, np.ndarray)):
        array = np.asarray(value)
        if array.dtype.kind not in "iuf" or not np.all(np.isfinite(array)):
            raise ValueError(f"{type(owner).__name__}: {name} must be a number or a list of "
                             f"numbers; received {name}={value!r}")
        return array.astype(float).tolist()
    return check.real(owner, name, value)


@registry.builtin
class Discretization(Layer):
    """Buckets continuous values by boundaries: ``i`` such that
    ``bin_boundaries[i-1] <= x < bin_boundaries[i]`` (``numpy.digitize``), then
    encoded as ``output_mode``.

    Args:
        bin_boundaries: sorted list of boundaries (``len + 1`` buckets).
        num_bins: the number of buckets ``adapt`` makes from quantiles of data
            (give this or ``bin_boundaries``).
        epsilon: error tolerance of the quantile summary (``0.01``).
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"`` or ``"count"``.
        sparse: only False.
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, dtype=None, name=None, **kwargs):
        super().__init__(dtype=dtype, name=name, **kwargs)
        self.output_mode = categorical.choice(self, "output_mode", output_mode,
                                              ("int", "one_hot", "multi_hot", "count"))
        if sparse:
            raise ValueError("Discretization: sparse=True is not supported (MLX has no sparse "
                             "arrays).")
        if num_bins is not None:
            num_bins = check.non_negative_int(self, "num_bins", num_bins)
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Discretization: give num_bins or bin_boundaries, not both; "
                             f"received num_bins={num_bins}, bin_boundaries={bin_boundaries}")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("Discretization: give either num_bins or bin_boundaries.")
        self.bin_boundaries = None if bin_boundaries is None else \
            [float(b) for b in bin_boundaries]
        self.num_bins = num_bins
        self.epsilon = check.non_negative_float(self, "epsilon", epsilon)
        self.sparse = False
        self._summary = np.zeros((2, 0), dtype=np.float32)

    def adapt(self, data, steps=None):
        """Learns ``num_bins - 1`` boundaries at quantiles of ``data`` (an array or an
        iterable of batches; ``steps`` limits the batches read)."""
        if self.num_bins is None:
            raise ValueError(f'Layer "{self.name}" was made with bin_boundaries; give num_bins '
                             "to adapt it.")
        self._summary = np.zeros((2, 0), dtype=np.float32)
        for batch in _batches(data, steps):
            summary = _summarize(batch.astype(np.float32), self.epsilon)
            self._summary = _merge(summary, self._summary, self.epsilon)
        self.bin_boundaries = _compress(self._summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(f'Layer "{self.name}" has no bin_boundaries: pass them or call '
                             "adapt() first.")
        boundaries = mx.array(self.bin_boundaries, dtype=mx.float32)
        x = inputs.astype(mx.float32)
        # numpy.digitize with right=False: the number of boundaries <= x (NaN: all).
        ids = mx.searchsorted(boundaries, x, side="right").astype(mx.int32)
        dtype = "int32" if self.output_mode == "int" else self.compute_dtype
        return categorical.encode(self, ids, self.output_mode, len(self.bin_boundaries) + 1,
                                  dtype)

    def get_config(self):
        config = super().get_config()
        config.update(bin_boundaries=self.bin_boundaries, num_bins=self.num_bins,
                      epsilon=self.epsilon, output_mode=self.output_mode, sparse=self.sparse)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        boundaries = config.get("bin_boundaries")
        if boundaries is not None and config.get("num_bins") is not None:
            config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = [float(b) for b in boundaries]  # an adapted layer
            return layer
        return cls(**config)


# Keras' approximate quantiles: a summary is (values, weights); summaries merge
# and are compressed back to about 1/epsilon points by interpolating the
# cumulative weights.
def _summarize(values, epsilon):
    values = np.sort(values.reshape(-1))
    step = max(values.size * epsilon, 1)
    kept = values[int(step - 1)::int(step)]
    return np.stack([kept, np.full_like(kept, step)])


def _merge(a, b, epsilon):
    merged = np.concatenate((a, b), axis=1)
    return _compress(merged[:, np.argsort(merged[0], kind="stable")], epsilon)


def _compress(summary, epsilon):
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    fractions = cumulative / cumulative[-1]
    values = np.interp(percents, fractions, summary[0])
    cumulative = np.interp(percents, fractions, cumulative)
    weights = cumulative - np.concatenate(([0.0], cumulative[:-1]))
    return np.stack((values, weights)).astype(np.float32)


@registry.builtin
class CategoryEncoding(Layer):
    """Encodes integer ids in ``[0, num_tokens)`` as one-hot, multi-hot or count vectors.

    Args:
        num_tokens: the number of ids (the output's last size).
        output_mode: ``"multi_hot"`` (``"binary"`` is its old name), ``"one_hot"``
            or ``"count"``.
        sparse: only False.

    ``call(inputs, count_weights=None)``: ``count_weights`` (``"count"`` only)
    weights each id's contribution. An id outside ``[0, num_tokens)`` raises
    when called eagerly and gives an all-zero row inside a compiled step.
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        self.output_mode = categorical.choice(self, "output_mode", output_mode,
                                              ("count", "one_hot", "multi_hot"))
        self.num_tokens = check.positive_int(self, "num_tokens", num_tokens)
        if sparse:
            raise ValueError("CategoryEncoding: sparse=True is not supported (MLX has no "
                             "sparse arrays).")
        self.sparse = False

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f'Layer "{self.name}": count_weights is only used with '
                             f'output_mode="count"; output_mode={self.output_mode!r}')
        return categorical.encode(self, inputs, self.output_mode, self.num_tokens,
                                  self.compute_dtype, count_weights=count_weights)

    def get_config(self):
        config = super().get_config()
        config.update(num_tokens=self.num_tokens, output_mode=self.output_mode,
                      sparse=self.sparse)
        return config
