"""Small op layers behind Python operators on symbolic tensors.

``x * 2 + y`` becomes nodes of ``BinaryOp("multiply", constant=2)`` and
``BinaryOp("add")``. Each op is looked up by name in a fixed table, so a
saved graph holds the op's name, never code.
"""

import mlx.core as mx

from .. import backend, global_state
from .. import registry
from .index_bounds import IndexOutOfRangeError
from .keras_tensor import KerasTensor
from .layer import Layer

BINARY_OPS = {
    "add": mx.add, "subtract": mx.subtract, "multiply": mx.multiply,
    "divide": mx.divide, "floor_divide": mx.floor_divide, "mod": mx.remainder,
    "power": mx.power, "matmul": mx.matmul, "maximum": mx.maximum,
    "minimum": mx.minimum, "less": mx.less, "less_equal": mx.less_equal,
    "greater": mx.greater, "greater_equal": mx.greater_equal, "equal": mx.equal,
    "not_equal": mx.not_equal, "logical_and": mx.logical_and,
    "logical_or": mx.logical_or,
}
UNARY_OPS = {
    "negative": mx.negative, "abs": mx.abs, "logical_not": mx.logical_not,
    "exp": mx.exp, "log": mx.log, "sqrt": mx.sqrt, "square": mx.square,
    "sin": mx.sin, "cos": mx.cos, "tanh": mx.tanh, "sigmoid": mx.sigmoid,
    "relu": lambda x: mx.maximum(x, 0), "floor": mx.floor, "ceil": mx.ceil,
    "round": mx.round, "sign": mx.sign, "reciprocal": mx.reciprocal,
}
TENSOR_METHODS = {"reshape", "transpose", "astype", "flatten", "squeeze", "swapaxes",
                  "sum", "mean", "max", "min", "prod"}


def _plain_constant(value):
    """Constants are kept as plain numbers or nested lists (serializable)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain_constant(v) for v in value]
    raise TypeError(f"Cannot use {type(value).__name__} as a constant in a layer graph.")


@registry.builtin
class BinaryOp(Layer):
    """``a <op> b`` on tensors; with ``constant`` the other operand is that constant.

    Args:
        op: one of ``BINARY_OPS``.
        constant: the non-tensor operand, if any.
        constant_first: True when the constant is the left operand (``2 - x``).
    """

    def __init__(self, op, constant=None, constant_first=False, **kwargs):
        if op not in BINARY_OPS:
            raise ValueError(f"Unknown binary op {op!r}. Known: {sorted(BINARY_OPS)}")
        kwargs.setdefault("name", backend.unique_name(op))
        super().__init__(**kwargs)
        self.op = op
        self.constant = _plain_constant(constant)
        self.constant_first = constant_first

    def call(self, inputs):
        fn = BINARY_OPS[self.op]
        if self.constant is None:
            a, b = inputs
            return fn(a, b)
        c = self.constant if not isinstance(self.constant, list) else mx.array(self.constant)
        return fn(c, inputs) if self.constant_first else fn(inputs, c)

    def get_config(self):
        config = super().get_config()
        config.update(op=self.op, constant=self.constant, constant_first=self.constant_first)
        return config


@registry.builtin
class UnaryOp(Layer):
    """``op(x)`` for an op in ``UNARY_OPS``."""

    def __init__(self, op, **kwargs):
        if op not in UNARY_OPS:
            raise ValueError(f"Unknown unary op {op!r}. Known: {sorted(UNARY_OPS)}")
        kwargs.setdefault("name", backend.unique_name(op))
        super().__init__(**kwargs)
        self.op = op

    def call(self, inputs):
        return UNARY_OPS[self.op](inputs)

    def get_config(self):
        return {**super().get_config(), "op": self.op}


def _encode_key(key):
    if isinstance(key, tuple):
        return [_encode_key(k) for k in key]
    if isinstance(key, slice):
        return {"slice": [key.start, key.stop, key.step]}
    if key is None:
        return {"newaxis": True}
    if key is Ellipsis:
        return {"ellipsis": True}
    if isinstance(key, int):
        return key
    raise TypeError(
        f"Unsupported index {key!r} on a symbolic tensor: use ints, slices, None and ..."
    )


def _decode_key(key):
    if isinstance(key, list):
        return tuple(_decode_key(k) for k in key)
    if isinstance(key, dict):
        if "slice" in key:
            return slice(*key["slice"])
        return None if "newaxis" in key else Ellipsis
    return key


@registry.builtin
class GetItem(Layer):
    """``x[key]`` with ints, slices, ``None`` and ``...`` (kept as plain data)."""

    def __init__(self, key, **kwargs):
        kwargs.setdefault("name", backend.unique_name("get_item"))
        super().__init__(**kwargs)
        self.key = _encode_key(key) if not isinstance(key, (list, dict)) else key

    def call(self, inputs):
        key = _decode_key(self.key)
        if not global_state.tracing:  # (placeholders' sizes are not the data's)
            _check_key(key, inputs.shape, f'GetItem "{self.name}"')
        return inputs[key]

    def get_config(self):
        return {**super().get_config(), "key": self.key}


def _check_key(key, shape, where):
    """Raises unless every int in ``key`` is in range for its axis of ``shape``: MLX
    does not check (``x[-11]`` on 10 elements crashes the process), and a key read
    from a model file is anyone's."""
    key = key if isinstance(key, tuple) else (key,)
    for k in key:
        if not (k is None or k is Ellipsis or isinstance(k, (int, slice))):
            raise TypeError(f"{where}: unsupported index {k!r}: use ints, slices, None and ...")
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    if used > len(shape):
        raise IndexOutOfRangeError(f"{where}: too many indices ({used}) for a tensor of rank "
                                   f"{len(shape)}.")
    axis = 0
    for k in key:
        if k is Ellipsis:
            axis += len(shape) - used
        elif isinstance(k, int):
            dim = shape[axis]
            if not -dim <= k < dim:
                raise IndexOutOfRangeError(
                    f"{where}: index {k} is out of range for axis {axis} of size {dim}; "
                    f"valid indices are {-dim} to {dim - 1}.", k, -dim, dim - 1)
            axis += 1
        elif k is not None:
            axis += 1


@registry.builtin
class TensorMethod(Layer):
    """``x.method(*args, **kwargs)`` for a method in ``TENSOR_METHODS`` (reshape...)."""

    def __init__(self, method, args=(), kwargs=None, **layer_kwargs):
        if method not in TENSOR_METHODS:
            raise ValueError(f"Unknown tensor method {method!r}. Known: {sorted(TENSOR_METHODS)}")
        layer_kwargs.setdefault("name", backend.unique_name(method))
        super().__init__(**layer_kwargs)
        self.method = method
        self.args = tuple(_plain_constant(list(args)))
        self.kwargs = dict(kwargs or {})

    def call(self, inputs):
        args = list(self.args)
        if self.method == "astype":
            args = [backend.mlx_dtype(args[0])]
        return getattr(inputs, self.method)(*args, **self.kwargs)

    def get_config(self):
        return {**super().get_config(), "method": self.method, "args": list(self.args),
                "kwargs": self.kwargs}


@registry.builtin
class KerasMask(Layer):
    """The mask that travels with a tensor, as a tensor: what ``x._keras_mask`` returns.

    The mask reaches ``call`` as every layer's does; the node's own output has none.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("name", backend.unique_name("keras_mask"))
        super().__init__(**kwargs)

    def call(self, inputs, mask=None):
        if mask is None:
            raise ValueError(f'Layer "{self.name}" (KerasMask) received a tensor without a mask.')
        return mask

    def compute_mask(self, inputs, mask=None):
        return None


def binary_op(op, a, b):
    """Adds a BinaryOp node for ``a <op> b`` (one of them symbolic)."""
    if isinstance(a, KerasTensor) and isinstance(b, KerasTensor):
        return BinaryOp(op)([a, b])
    if isinstance(a, KerasTensor):
        return BinaryOp(op, constant=b)(a)
    return BinaryOp(op, constant=a, constant_first=True)(b)


def unary_op(op, x):
    return UnaryOp(op)(x)
