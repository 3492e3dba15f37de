"""``keras.ops.nn`` crossentropies, label encodings and PSNR.

The crossentropy math is :mod:`mlxfunctional.loss_functions`' (the
``keras.losses`` functions share it); the ops take Keras' op arguments
``(target, output, from_logits, axis)`` and check shapes as Keras does.
Labels are user data and MLX's gathers do not check bounds, so labels are
never used as gather indices: ``one_hot`` compares them with the class
indices, which also gives Keras' all-zeros row for a label out of range
(never an error). ``sparse_categorical_crossentropy`` checks its labels
(``engine/index_bounds.py``): an error eagerly, a NaN loss in a compiled step.
"""

import mlx.core as mx

from .. import backend, loss_functions
from .dtypes import convert_to_tensor, result_type
from .operation import keras_op

__all__ = [
    "binary_crossentropy", "categorical_crossentropy", "multi_hot", "one_hot", "psnr",
    "sparse_categorical_crossentropy",
]


def _float_pair(target, output):
    """Both as arrays of one float dtype (Keras' promotion, integers -> floatx)."""
    target, output = convert_to_tensor(target), convert_to_tensor(output)
    dtype = result_type(target.dtype, output.dtype, float)
    dtype = backend.mlx_dtype(dtype)
    return target.astype(dtype), output.astype(dtype)


def _same_shape(target, output, op):
    if target.shape != output.shape:
        raise ValueError(f"{op}: arguments `target` and `output` must have the same shape. "
                         f"Received: target.shape={tuple(target.shape)}, "
                         f"output.shape={tuple(output.shape)}")


@keras_op
def binary_crossentropy(target, output, from_logits=False):
    """-(t log p + (1 - t) log(1 - p)) per element, p = sigmoid(output) with ``from_logits``,
    else output clipped to [1e-7, 1 - 1e-7]."""
    target, output = _float_pair(target, output)
    _same_shape(target, output, "binary_crossentropy")
    return loss_functions.binary_crossentropy_elements(target, output, from_logits)


def _class_axis(output, axis, op):
    if output.ndim < 1:
        raise ValueError(f"{op}: `output` must be at least rank 1. Received: "
                         f"output.shape={tuple(output.shape)}")
    if isinstance(axis, bool) or not -output.ndim <= axis < output.ndim:
        raise ValueError(f"{op}: axis {axis!r} is out of bounds for an output of rank "
                         f"{output.ndim}.")
    return axis % output.ndim


@keras_op
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-sum(t log p, axis); p = softmax(output) with ``from_logits``, else output
    renormalized over ``axis`` and clipped to [1e-7, 1 - 1e-7]."""
    target, output = _float_pair(target, output)
    _same_shape(target, output, "categorical_crossentropy")
    axis = _class_axis(output, axis, "categorical_crossentropy")
    return loss_functions.categorical_crossentropy(target, output, from_logits=from_logits,
                                                   axis=axis)


@keras_op
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-log p[target] with integer labels ``target`` of shape output.shape[:-1] (or with a
    trailing 1); a label outside [0, num_classes) raises eagerly and gives NaN inside a
    compiled function (as Keras on JAX)."""
    output = convert_to_tensor(output)
    if not backend.is_float_dtype(output.dtype):
        output = output.astype(backend.mlx_dtype(backend.floatx()))
    target = convert_to_tensor(target).astype(mx.int32)
    axis = _class_axis(output, axis, "sparse_categorical_crossentropy")
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = mx.squeeze(target, -1)
    expected = tuple(output.shape[:axis]) + tuple(output.shape[axis + 1:])
    if tuple(target.shape) != expected:
        raise ValueError("sparse_categorical_crossentropy: `target` must have the shape of "
                         "`output` without its class axis. Received: target.shape="
                         f"{tuple(target.shape)}, output.shape={tuple(output.shape)}")
    return loss_functions.sparse_categorical_crossentropy(target, output,
                                                          from_logits=from_logits, axis=axis)


def _no_sparse(sparse, op):
    if sparse:
        raise ValueError(f"{op}: sparse=True is not supported: MLX has no sparse tensors. "
                         "Use sparse=False for a dense result.")


@keras_op
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """A new axis of ``num_classes`` at ``axis``: 1 where its index equals x, else 0
    (all zeros for x outside [0, num_classes))."""
    _no_sparse(sparse, "one_hot")
    x = convert_to_tensor(x)
    ndim = x.ndim + 1
    if not -ndim <= axis < ndim:
        raise ValueError(f"one_hot: axis {axis} is out of bounds for a result of rank {ndim}.")
    axis %= ndim
    shape = [num_classes if i == axis else 1 for i in range(ndim)]
    hot = mx.expand_dims(x, axis) == mx.arange(num_classes).reshape(shape)
    return hot.astype(backend.mlx_dtype(dtype or backend.floatx()))


@keras_op
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """1 for every class that occurs in a sample's labels (the last axis of a batch of
    label lists; a rank-1 input is one sample), else 0."""
    if num_classes is None and "num_tokens" in kwargs:  # Keras' older name
        num_classes = kwargs.pop("num_tokens")
    if kwargs:
        raise TypeError(f"multi_hot: unexpected arguments {sorted(kwargs)}.")
    if num_classes is None:
        raise ValueError("multi_hot: argument `num_classes` must be specified.")
    _no_sparse(sparse, "multi_hot")
    x = convert_to_tensor(inputs).astype(mx.int32)
    hot = one_hot(x, num_classes, axis=axis, dtype=dtype)
    return mx.max(hot, axis=1 if x.ndim > 1 else 0)


@keras_op
def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio 20 log10(max_val) - 10 log10(mean((x1 - x2)^2)), over all
    elements."""
    x1, x2 = _float_pair(x1, x2)
    if x1.shape != x2.shape:
        raise ValueError(f"psnr: input shapes {tuple(x1.shape)} and {tuple(x2.shape)} must "
                         "match.")
    mse = mx.mean(mx.square(x1 - x2))
    max_val = convert_to_tensor(max_val).astype(x2.dtype)
    return 20 * mx.log10(max_val) - 10 * mx.log10(mse)
