"""Plain-numpy forward passes written from Keras' documented semantics.

Independent of MLX and of mlxfunctional's layer code: used to check whole
models whose weights were set from Keras-layout arrays.
"""

import numpy as np


def relu(x):
    return np.maximum(x, 0)


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def conv2d(x, kernel, bias, padding="valid"):
    """Stride-1 2-D convolution, NHWC, kernel (kh, kw, in, out), TensorFlow padding."""
    kh, kw = kernel.shape[:2]
    if padding == "same":
        ph, pw = kh - 1, kw - 1
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    n, h, w, _ = x.shape
    oh, ow = h - kh + 1, w - kw + 1
    out = np.zeros((n, oh, ow, kernel.shape[3]), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nhwc,co->nhwo", x[:, i:i + oh, j:j + ow, :], kernel[i, j])
    return out + bias


def max_pool2d(x, size):
    """Non-overlapping max pooling with stride = size, 'valid' (remainder dropped)."""
    n, h, w, c = x.shape
    oh, ow = h // size, w // size
    x = x[:, :oh * size, :ow * size, :].reshape(n, oh, size, ow, size, c)
    return x.max(axis=(2, 4))


def dense(x, kernel, bias):
    return x @ kernel + bias
