"""The string hashes of ``fingerprint.py`` as MLX ops on integer arrays, so that
Hashing and HashedCrossing of integer features run inside a compiled step.

TensorFlow hashes an integer as its decimal text (``tf.strings.as_string``).
``decimal_text`` writes that text as bytes in a ``(..., 24)`` uint64 array
(zero padded) with its length; the hashes then run the short-input branches
of FarmHash ``Fingerprint64`` (1 to 20 bytes) and SipHash-2-4 (at most three
8-byte blocks) on every element at once, choosing each element's branch by
its length with ``mx.where``. Every step is uint64 arithmetic, which wraps
modulo 2**64 as the C++ does. Tested against ``fingerprint.py`` (itself tested
against published vectors). A leaf module.
"""

import mlx.core as mx
import numpy as np

_WIDTH = 24  # bytes kept per element: 20 characters at most, room for 8-byte reads


def _u64(value):
    return mx.array(np.uint64(value))


K0, K1, K2 = _u64(0xC3A5C85C97CB3127), _u64(0xB492B66FBE98F273), _u64(0x9AE16A3B2F90404F)
_KMUL = _u64(0xC6A4A7935BD1E995)


def _rotate(v, shift):
    return (v >> shift) | (v << (64 - shift))


def _shift_mix(v):
    return v ^ (v >> 47)


def _hash_len16(u, v, mul):
    a = (u ^ v) * mul
    a = a ^ (a >> 47)
    b = (v ^ a) * mul
    b = b ^ (b >> 47)
    return b * mul


def decimal_text(x):
    """``(bytes, length)``: the decimal text of int64 ``x`` as uint64 bytes ``(..., 24)``
    and its length (uint64), as ``str(int(x))`` writes it."""
    x = x.astype(mx.int64)
    negative = x < 0
    as_u = x.astype(mx.uint64)
    magnitude = mx.where(negative, _u64(0) - as_u, as_u)  # also right for -2**63
    digits, count = [], mx.zeros(x.shape, dtype=mx.uint64)
    for _ in range(20):  # least significant first
        digits.append(magnitude % 10)
        count = count + (magnitude > 0).astype(mx.uint64)
        magnitude = magnitude // 10
    digits = mx.stack(digits, axis=-1)
    count = mx.maximum(count, 1)  # "0" has one digit
    length = count + negative.astype(mx.uint64)
    position = mx.arange(_WIDTH, dtype=mx.int32)
    # Byte p is the sign, or digit (length - 1 - p) counted from the least significant.
    which = (length.astype(mx.int32)[..., None] - 1 - position)
    digit = mx.take_along_axis(digits, mx.clip(which, 0, 19), axis=-1)
    text = mx.where(negative[..., None] & (position == 0), 45, digit + 48)
    text = mx.where(position < length.astype(mx.int32)[..., None], text, 0)
    return text.astype(mx.uint64), length


def _fetch(text, offset, size):
    """Little-endian ``size``-byte words of ``text`` at per-element ``offset``."""
    index = offset.astype(mx.int32)[..., None] + mx.arange(size, dtype=mx.int32)
    data = mx.take_along_axis(text, mx.clip(index, 0, _WIDTH - 1), axis=-1)
    shifts = mx.arange(size, dtype=mx.uint64) * 8
    return mx.sum(data << shifts, axis=-1).astype(mx.uint64)


def fingerprint64_of_integers(x):
    """FarmHash ``Fingerprint64`` of each integer's decimal text (uint64)."""
    text, n = decimal_text(x)
    zero = mx.zeros(n.shape, dtype=mx.uint64)
    mul = K2 + n * 2
    # 1 to 3 bytes
    a, b, c = (_fetch(text, o, 1) for o in (zero, n >> 1, n - 1))
    y = (a + (b << 8)) & 0xFFFFFFFF
    z = (n + (c << 2)) & 0xFFFFFFFF
    tiny = _shift_mix((y * K2) ^ (z * K0)) * K2
    # 4 to 7 bytes
    short = _hash_len16(n + (_fetch(text, zero, 4) << 3), _fetch(text, n - 4, 4), mul)
    # 8 to 16 bytes
    a8 = _fetch(text, zero, 8) + K2
    b8 = _fetch(text, n - 8, 8)
    medium = _hash_len16(_rotate(b8, 37) * mul + a8, (_rotate(a8, 25) + b8) * mul, mul)
    # 17 to 20 bytes (the 17-to-32 branch)
    a17 = _fetch(text, zero, 8) * K1
    b17 = _fetch(text, zero + 8, 8)
    c17 = _fetch(text, n - 8, 8) * mul
    d17 = _fetch(text, n - 16, 8) * K2
    long = _hash_len16(_rotate(a17 + b17, 43) + _rotate(c17, 30) + d17,
                       a17 + _rotate(b17 + K2, 18) + c17, mul)
    return mx.where(n <= 3, tiny, mx.where(n <= 7, short, mx.where(n <= 16, medium, long)))


def _sip_round(v0, v1, v2, v3):
    v0 = v0 + v1
    v1 = _rotate(v1, 64 - 13) ^ v0
    v0 = _rotate(v0, 64 - 32)
    v2 = v2 + v3
    v3 = _rotate(v3, 64 - 16) ^ v2
    v0 = v0 + v3
    v3 = _rotate(v3, 64 - 21) ^ v0
    v2 = v2 + v1
    v1 = _rotate(v1, 64 - 17) ^ v2
    v2 = _rotate(v2, 64 - 32)
    return v0, v1, v2, v3


def siphash24_of_integers(key, x):
    """SipHash-2-4 under ``key = (k0, k1)`` of each integer's decimal text (uint64)."""
    text, n = decimal_text(x)
    k0, k1 = _u64(key[0]), _u64(key[1])
    shape = n.shape
    v = [mx.broadcast_to(k0 ^ _u64(0x736F6D6570736575), shape),
         mx.broadcast_to(k1 ^ _u64(0x646F72616E646F6D), shape),
         mx.broadcast_to(k0 ^ _u64(0x6C7967656E657261), shape),
         mx.broadcast_to(k1 ^ _u64(0x7465646279746573), shape)]
    blocks = n // 8
    for j in range(3):  # 20 characters make at most two whole blocks
        m = _fetch(text, mx.full(shape, 8 * j, dtype=mx.uint64), 8)
        w = list(v)
        w[3] = w[3] ^ m
        w = _sip_round(*_sip_round(*w))
        w = [w[0] ^ m, w[1], w[2], w[3]]
        active = blocks > j
        v = [mx.where(active, new, old) for new, old in zip(w, v)]
    last = _fetch(text, blocks * 8, 8) | ((n & 0xFF) << 56)  # bytes past the end are 0
    v[3] = v[3] ^ last
    v = list(_sip_round(*_sip_round(*v)))
    v[0] = v[0] ^ last
    v[2] = v[2] ^ 0xFF
    for _ in range(4):
        v = list(_sip_round(*v))
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def fingerprint_cat64(first, second):
    """``fingerprint.fingerprint_cat64`` on uint64 arrays."""
    result = first ^ _KMUL
    result = result ^ (_shift_mix(second * _KMUL) * _KMUL)
    result = result * _KMUL
    result = _shift_mix(result) * _KMUL
    return _shift_mix(result)
