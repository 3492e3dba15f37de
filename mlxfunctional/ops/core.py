"""Keras' core ops: dtypes and casts, shapes, gradients, plus (re-exported)
control flow (``control_flow.py``) and bounds-safe slicing and scattering
(``core_indexing.py``)."""

import builtins
import inspect

import mlx.core as mx
import numpy as np

from .. import backend, tree
from ..engine.keras_tensor import KerasTensor
from .control_flow import *  # noqa: F401,F403
from .control_flow import __all__ as _control_flow_all
from .core_indexing import *  # noqa: F401,F403
from .core_indexing import __all__ as _indexing_all
from .dtypes import convert_to_tensor
from .operation import keras_op

__all__ = sorted(_control_flow_all + _indexing_all + [
    "cast", "convert_to_numpy", "convert_to_tensor", "custom_gradient", "dtype",
    "is_tensor", "saturate_cast", "shape", "stop_gradient", "unstack"])


@keras_op
def cast(x, dtype):
    """``x`` as ``dtype`` (floats to ints truncate toward zero)."""
    return convert_to_tensor(x).astype(backend.mlx_dtype(dtype))


def _limits(dtype):
    """(lowest, highest) value of a dtype name, as exact Python numbers."""
    if dtype == "bool":
        return 0, 1
    if dtype == "bfloat16":  # numpy has no bfloat16; MLX knows its range
        info = mx.finfo(mx.bfloat16)
        return float(info.min), float(info.max)
    np_dtype = np.dtype(dtype)
    if np_dtype.kind in "iu":
        return int(np.iinfo(np_dtype).min), int(np.iinfo(np_dtype).max)
    return float(np.finfo(np_dtype).min), float(np.finfo(np_dtype).max)


@keras_op
def saturate_cast(x, dtype):
    """``x`` clipped to the range of ``dtype``, then cast (no wrap-around:
    ``saturate_cast([-1., 256.], "uint8")`` is ``[0, 255]``)."""
    x = convert_to_tensor(x)
    dtype = backend.standardize_dtype(dtype)
    source = backend.standardize_dtype(x.dtype)
    in_low, in_high = _limits(source)
    out_low, out_high = _limits(dtype)
    # The bounds are written in x's dtype; rounding there can push them just past
    # the target's range (float32(2**31 - 1) == 2**31), so step back toward zero.
    carrier = np.float32 if source == "bfloat16" else (
        np.int64 if source == "bool" else np.dtype(source).type)
    low = carrier(max(in_low, out_low))
    high = carrier(min(in_high, out_high))
    # (compared as Python numbers, exactly; numpy would round the int bound first)
    if low.item() < out_low:
        low = np.nextafter(low, carrier(0))
    if high.item() > out_high:
        high = np.nextafter(high, carrier(0))
    if source != "bool":
        x = mx.clip(x, mx.array(low, x.dtype), mx.array(high, x.dtype))
    return x.astype(backend.mlx_dtype(dtype))


def convert_to_numpy(x):
    """``x`` as a numpy array (bfloat16, which numpy lacks, comes back as float32)."""
    if isinstance(x, KerasTensor):
        raise ValueError("convert_to_numpy: a symbolic tensor has no value yet; call the "
                         "model on data and convert its outputs instead.")
    if isinstance(x, mx.array):
        if x.dtype == mx.bfloat16:
            x = x.astype(mx.float32)
        return np.array(x)
    return np.asarray(x)


def is_tensor(x):
    """True for an ``mx.array`` (this backend's tensor), False for anything else."""
    return isinstance(x, mx.array)


def shape(x):
    """``x``'s shape as a tuple of ints (``None`` for unknown symbolic dims)."""
    if isinstance(x, KerasTensor):
        return tuple(x.shape)
    if hasattr(x, "shape"):
        return tuple(x.shape)
    return tuple(convert_to_tensor(x).shape)


def dtype(x):
    """``x``'s dtype as Keras' name (``"float32"``)."""
    if not hasattr(x, "dtype"):
        x = convert_to_tensor(x)
    return backend.standardize_dtype(x.dtype)


@keras_op
def stop_gradient(variable):
    """``variable``'s value, treated as a constant by differentiation."""
    return mx.stop_gradient(convert_to_tensor(variable))


@keras_op
def unstack(x, num=None, axis=0):
    """The slices of ``x`` along ``axis``, as a list."""
    x = convert_to_tensor(x)
    axis = axis % x.ndim if x.ndim else 0
    if num is not None and num != x.shape[axis]:
        raise ValueError(f"unstack: `num`={num} but axis {axis} of the input has size "
                         f"{x.shape[axis]}.")
    lead = (builtins.slice(None),) * axis
    return [x[lead + (i,)] for i in range(x.shape[axis])]


def custom_gradient(f):
    """Decorator: ``f(*args)`` returns ``(output, grad_fn)``; the result computes
    ``output`` and differentiates through ``grad_fn`` (on ``mx.custom_function``).

    ``grad_fn(upstream)`` (JAX/TensorFlow style) or ``grad_fn(*args, upstream=...)``
    (Keras' torch style) returns one gradient per positional argument. The
    forward runs again inside the backward pass to rebuild ``grad_fn``'s
    closure (MLX's vjp receives the inputs, not Python state).
    """

    @mx.custom_function
    def forward(*args):
        return f(*args)[0]

    @forward.vjp
    def backward(primals, cotangent, outputs):
        # (MLX passes a lone input, and a lone output's cotangent, unwrapped.)
        primals = (primals,) if isinstance(primals, mx.array) else tuple(primals)
        _, grad_fn = f(*primals)
        if _wants_args(grad_fn):
            grads = grad_fn(*primals, upstream=cotangent)
        else:
            grads = grad_fn(cotangent)
        if not isinstance(grads, (list, tuple)):
            grads = (grads,)
        grads = tuple(convert_to_tensor(g) for g in tree.flatten(list(grads)))
        if len(grads) != len(primals):
            raise ValueError(f"custom_gradient: the gradient function of {f.__name__} "
                             f"returned {len(grads)} gradients for {len(primals)} inputs.")
        return grads if len(grads) > 1 else grads[0]

    def wrapper(*args):
        return forward(*(convert_to_tensor(a) for a in args))

    wrapper.__name__ = getattr(f, "__name__", "custom_gradient")
    wrapper.__doc__ = f.__doc__
    return wrapper


def _wants_args(grad_fn):
    """True for Keras' torch-style ``grad_fn(*args, upstream)`` (upstream keyword-only
    without a default)."""
    try:
        params = inspect.signature(grad_fn).parameters
    except (TypeError, ValueError):
        return False
    up = params.get("upstream")
    return (up is not None and up.kind is inspect.Parameter.KEYWORD_ONLY
            and up.default is inspect.Parameter.empty)
