"""The distributions MLX samples directly: normal, uniform, truncated normal,
integers, categorical, dropout masks and permutations (``keras.random``).

Each function takes Keras' arguments and defaults. ``seed`` is an int (the same
numbers at every call), a ``SeedGenerator`` (new numbers at every call) or
``None`` (MLX's global random state, seeded by ``keras.utils.set_random_seed``).
Floats are drawn in float32 and cast, so every float dtype MLX has is served.
"""

import mlx.core as mx

from .. import backend
from .seed_generator import draw_key


def _shape(shape, fn):
    try:
        return tuple(int(d) for d in shape)
    except TypeError:
        raise ValueError(f"keras.random.{fn}: `shape` must be a tuple of ints. "
                         f"Received: shape={shape!r}") from None


def _float_dtype(dtype, fn):
    dtype = backend.standardize_dtype(dtype)
    if not backend.is_float_dtype(dtype):
        raise ValueError(f"keras.random.{fn} draws floats; `dtype` must be a float dtype. "
                         f"Received: dtype={dtype}" + (" (use keras.random.randint for "
                                                       "integers)" if fn == "uniform" else ""))
    return backend.mlx_dtype(dtype)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of the normal distribution N(mean, stddev**2).

    Args:
        shape: shape of the result.
        mean, stddev: the distribution's mean and standard deviation.
        dtype: a float dtype (``keras.config.floatx()`` by default).
        seed: int, ``SeedGenerator`` or None (see the module docstring).
    """
    dtype = _float_dtype(dtype, "normal")
    x = mx.random.normal(_shape(shape, "normal"), key=draw_key(seed))
    return (x * stddev + mean).astype(dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of the uniform distribution on ``[minval, maxval)``.

    Args:
        shape: shape of the result.
        minval, maxval: the bounds (the upper one excluded).
        dtype: a float dtype (``floatx()`` by default); integers come from ``randint``.
        seed: int, ``SeedGenerator`` or None.
    """
    dtype = _float_dtype(dtype, "uniform")
    x = mx.random.uniform(shape=_shape(shape, "uniform"), key=draw_key(seed))
    return (minval + x * (maxval - minval)).astype(dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of N(mean, stddev**2) cut at two standard deviations from the mean.

    Args:
        shape: shape of the result.
        mean, stddev: mean and standard deviation before truncation.
        dtype: a float dtype (``floatx()`` by default).
        seed: int, ``SeedGenerator`` or None.
    """
    dtype = _float_dtype(dtype, "truncated_normal")
    x = mx.random.truncated_normal(-2.0, 2.0, _shape(shape, "truncated_normal"),
                                   key=draw_key(seed))
    return (x * stddev + mean).astype(dtype)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from ``[minval, maxval)``.

    Args:
        shape: shape of the result.
        minval, maxval: the bounds (the upper one excluded).
        dtype: an integer dtype (``"int32"``).
        seed: int, ``SeedGenerator`` or None.
    """
    name = backend.standardize_dtype(dtype)
    if not name.startswith(("int", "uint")):
        raise ValueError(f"keras.random.randint draws integers; `dtype` must be an integer "
                         f"dtype. Received: dtype={name}")
    x = mx.random.randint(minval, maxval, _shape(shape, "randint"), key=draw_key(seed))
    return x.astype(backend.mlx_dtype(name))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Class indices drawn from the categorical distributions of ``logits``.

    Args:
        logits: ``(batch, num_classes)`` unnormalized log-probabilities.
        num_samples: samples per row.
        dtype: integer dtype of the result (``"int32"``).
        seed: int, ``SeedGenerator`` or None.

    Returns:
        ``(batch, num_samples)`` indices.
    """
    logits = mx.array(logits) if not isinstance(logits, mx.array) else logits
    if logits.ndim != 2:
        raise ValueError(f"keras.random.categorical: `logits` must have shape (batch_size, "
                         f"num_classes). Received: logits.shape={tuple(logits.shape)}")
    x = mx.random.categorical(logits.astype(mx.float32), axis=-1,
                              num_samples=int(num_samples), key=draw_key(seed))
    return x.astype(backend.mlx_dtype(dtype))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zeroes a fraction ``rate`` of ``inputs`` and scales the rest by ``1 / (1 - rate)``.

    Args:
        inputs: the array.
        rate: fraction dropped, in [0, 1).
        noise_shape: shape of the keep mask, broadcast over ``inputs``; ``None``
            entries take the input's size.
        seed: int, ``SeedGenerator`` or None.
    """
    inputs = mx.array(inputs) if not isinstance(inputs, mx.array) else inputs
    if not 0 <= float(rate) < 1:
        raise ValueError(f"keras.random.dropout: `rate` must be in [0, 1). Received: "
                         f"rate={rate}")
    if noise_shape is None:
        noise_shape = inputs.shape
    elif len(noise_shape) != inputs.ndim:
        raise ValueError(f"keras.random.dropout: `noise_shape` {tuple(noise_shape)} must have "
                         f"one entry per input dimension; inputs have shape "
                         f"{tuple(inputs.shape)}.")
    else:
        noise_shape = [d if n is None else int(n) for n, d in zip(noise_shape, inputs.shape)]
    keep_prob = 1.0 - float(rate)
    keep = mx.random.bernoulli(keep_prob, tuple(noise_shape), key=draw_key(seed))
    return mx.where(keep, inputs / mx.array(keep_prob, inputs.dtype), mx.zeros_like(inputs))


def shuffle(x, axis=0, seed=None):
    """``x`` with its entries along ``axis`` in a random order.

    Args:
        x: the array.
        axis: the axis to permute.
        seed: int, ``SeedGenerator`` or None.
    """
    x = mx.array(x) if not isinstance(x, mx.array) else x
    return mx.random.permutation(x, axis=axis, key=draw_key(seed))
