"""The distributions MLX has no sampler for, composed from normals and uniforms:
gamma (Marsaglia and Tsang's squeeze method), beta (a ratio of gammas) and
binomial (a sum of Bernoulli trials) (``keras.random``).

The rejection step of the gamma sampler runs a fixed number of rounds on every
element at once instead of a data-dependent loop, so it traces into a compiled
step like any MLX code; see ``_ROUNDS``.
"""

import math

import mlx.core as mx

from .. import backend
from .distributions import _float_dtype, _shape
from .seed_generator import draw_key, split_key

# Each round accepts a candidate with probability above 0.95 for every alpha (Marsaglia
# and Tsang 2000, Table 1): all of 10 rounds fail with probability below 1e-13; such an
# element then takes the mode-like value d (documented bias far below sampling noise).
_ROUNDS = 10


def _gamma(key, shape, alpha):
    """Gamma(alpha, 1) samples of ``shape`` (float32); ``alpha`` broadcasts to ``shape``."""
    k_normal, k_uniform, k_boost = split_key(key, 3)
    alpha = mx.broadcast_to(mx.array(alpha, dtype=mx.float32), shape)
    # alpha < 1: sample Gamma(alpha + 1) and multiply by U ** (1 / alpha).
    boosted = alpha < 1
    a = mx.where(boosted, alpha + 1, alpha)
    d = a - 1.0 / 3.0
    c = 1.0 / mx.sqrt(9.0 * d)
    x = mx.random.normal((_ROUNDS,) + shape, key=k_normal)
    u = mx.random.uniform(shape=(_ROUNDS,) + shape, key=k_uniform)
    v = (1 + c * x) ** 3
    positive = v > 0
    log_v = mx.log(mx.where(positive, v, 1.0))
    accept = positive & (mx.log(u) < 0.5 * x * x + d - d * v + d * log_v)
    first = mx.argmax(accept.astype(mx.int32), axis=0)  # the first accepted round
    candidate = mx.take_along_axis(d * v, first[None], axis=0)[0]
    sample = mx.where(mx.any(accept, axis=0), candidate, d)
    boost = mx.random.uniform(shape=shape, key=k_boost) ** (1.0 / alpha)
    return mx.where(boosted, sample * boost, sample)


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples of the Gamma(alpha, 1) distribution (mean ``alpha``).

    Args:
        shape: shape of the result.
        alpha: the shape parameter (> 0), a number or an array broadcastable to ``shape``.
        dtype: a float dtype (``floatx()`` by default).
        seed: int, ``SeedGenerator`` or None.
    """
    dtype = _float_dtype(dtype, "gamma")
    return _gamma(draw_key(seed), _shape(shape, "gamma"), alpha).astype(dtype)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples of the Beta(alpha, beta) distribution: ``X / (X + Y)`` for independent
    ``X ~ Gamma(alpha)``, ``Y ~ Gamma(beta)``.

    Args:
        shape: shape of the result.
        alpha, beta: the two shape parameters (> 0), numbers or broadcastable arrays.
        dtype: a float dtype (``floatx()`` by default).
        seed: int, ``SeedGenerator`` or None.
    """
    dtype = _float_dtype(dtype, "beta")
    shape = _shape(shape, "beta")
    key_x, key_y = split_key(draw_key(seed), 2)
    x = _gamma(key_x, shape, alpha)
    y = _gamma(key_y, shape, beta)
    return (x / (x + y)).astype(dtype)


# Bernoulli trials drawn per chunk: bounds the memory at _CHUNK * size floats.
_CHUNK_ELEMENTS = 1 << 22


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples of the Binomial(counts, probabilities) distribution: successes in
    ``counts`` trials of probability ``probabilities``.

    The sampler counts successful Bernoulli trials, exact at any ``counts`` with a
    cost that grows with the largest count; that count must be known on the host
    (a number, or an array already computed), as it fixes the number of trials.

    Args:
        shape: shape of the result.
        counts: number of trials, a number or an array broadcastable to ``shape``.
        probabilities: success probability, a number or a broadcastable array.
        dtype: dtype of the counts returned, a float dtype (``floatx()`` by default).
        seed: int, ``SeedGenerator`` or None.
    """
    dtype = _float_dtype(dtype, "binomial")
    shape = _shape(shape, "binomial")
    counts = mx.broadcast_to(mx.array(counts, dtype=mx.float32), shape)
    probabilities = mx.broadcast_to(mx.array(probabilities, dtype=mx.float32), shape)
    most = int(mx.max(counts).item()) if counts.size else 0
    size = max(1, math.prod(shape))
    chunk = max(1, min(most, _CHUNK_ELEMENTS // size))
    key = draw_key(seed)
    successes = mx.zeros(shape, dtype=mx.float32)
    for start in range(0, most, chunk):
        n = min(chunk, most - start)
        key, sub = split_key(key, 2)
        u = mx.random.uniform(shape=(n,) + shape, key=sub)
        trial = mx.arange(start, start + n, dtype=mx.float32).reshape((n,) + (1,) * len(shape))
        hit = (u < probabilities) & (trial < counts)
        successes = successes + mx.sum(hit, axis=0).astype(mx.float32)
    return successes.astype(dtype)
