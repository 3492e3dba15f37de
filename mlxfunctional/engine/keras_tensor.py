"""Symbolic tensors: the edges of the layer graph.

A ``KerasTensor`` holds a shape (``None`` for unknown dimensions), a dtype and
its history: the layer, node and output index that made it. Python operators
on it (``x * 2 + y``, ``x[:, 0]``, ``x.reshape(...)``) add nodes of small,
serializable op layers (see ``engine/tensor_ops.py``), so such graphs save
without storing code.
"""

from .. import backend


class KerasTensor(backend.SymbolicTensor):
    """A symbolic tensor: what ``Input()`` and layer calls on symbolic inputs return.

    Args:
        shape: tuple of ints or ``None``, batch dimension included.
        dtype: dtype name, e.g. ``"float32"``.
        name: a readable name (the input layer's name for inputs).
        mask_shape: shape of the mask that travels with this tensor, if any.
    """

    # Make numpy defer to our reflected operators (np_array * keras_tensor).
    __array_priority__ = 1000

    def __init__(self, shape, dtype="float32", name=None, mask_shape=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = backend.standardize_dtype(dtype)
        self.name = name
        self._mask_shape = mask_shape
        self._keras_history = None  # (layer, node_index, tensor_index)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def _keras_mask(self):
        """Keras' attribute: the mask this tensor carries, as a symbolic bool tensor
        (a ``KerasMask`` node, made once), or None when it carries none."""
        if self._mask_shape is None:
            return None
        if "_mask_tensor" not in self.__dict__:
            from .tensor_ops import KerasMask

            self._mask_tensor = KerasMask()(self)
        return self._mask_tensor

    @property
    def node(self):
        layer, node_index, _ = self._keras_history
        return layer._inbound_nodes[node_index]

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    # Identity semantics: `==` builds a graph node, so hashing must not use it.
    __hash__ = object.__hash__

    def __bool__(self):
        raise TypeError(
            f"A symbolic tensor ({self.name}, shape {self.shape}) has no value: it "
            "cannot be used as a Python bool. Use it only as input to layers, or "
            "run the model on arrays."
        )

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"A symbolic tensor ({self.name}, shape {self.shape}) cannot be converted "
            "to a numpy or MLX array: it has no value until the model runs. "
            "Call the model on arrays instead."
        )

    def __iter__(self):
        if self.shape and self.shape[0] is not None:
            return iter(self[i] for i in range(self.shape[0]))
        raise TypeError(f"Cannot iterate over a symbolic tensor with shape {self.shape}.")

    def __len__(self):
        if not self.shape or self.shape[0] is None:
            raise TypeError(f"len() of a symbolic tensor with unknown first dim {self.shape}.")
        return self.shape[0]

    # Operators and methods; the op layers live in tensor_ops.
    def _binary(self, op, other, reverse=False):
        from .tensor_ops import binary_op

        return binary_op(op, other, self) if reverse else binary_op(op, self, other)

    def __add__(self, o): return self._binary("add", o)
    def __radd__(self, o): return self._binary("add", o, True)
    def __sub__(self, o): return self._binary("subtract", o)
    def __rsub__(self, o): return self._binary("subtract", o, True)
    def __mul__(self, o): return self._binary("multiply", o)
    def __rmul__(self, o): return self._binary("multiply", o, True)
    def __truediv__(self, o): return self._binary("divide", o)
    def __rtruediv__(self, o): return self._binary("divide", o, True)
    def __floordiv__(self, o): return self._binary("floor_divide", o)
    def __rfloordiv__(self, o): return self._binary("floor_divide", o, True)
    def __mod__(self, o): return self._binary("mod", o)
    def __rmod__(self, o): return self._binary("mod", o, True)
    def __pow__(self, o): return self._binary("power", o)
    def __rpow__(self, o): return self._binary("power", o, True)
    def __matmul__(self, o): return self._binary("matmul", o)
    def __rmatmul__(self, o): return self._binary("matmul", o, True)
    def __lt__(self, o): return self._binary("less", o)
    def __le__(self, o): return self._binary("less_equal", o)
    def __gt__(self, o): return self._binary("greater", o)
    def __ge__(self, o): return self._binary("greater_equal", o)
    def __eq__(self, o): return self._binary("equal", o)
    def __ne__(self, o): return self._binary("not_equal", o)
    def __and__(self, o): return self._binary("logical_and", o)
    def __rand__(self, o): return self._binary("logical_and", o, True)
    def __or__(self, o): return self._binary("logical_or", o)
    def __ror__(self, o): return self._binary("logical_or", o, True)

    def _unary(self, op):
        from .tensor_ops import unary_op

        return unary_op(op, self)

    def __neg__(self): return self._unary("negative")
    def __pos__(self): return self
    def __abs__(self): return self._unary("abs")
    def __invert__(self): return self._unary("logical_not")

    def __getitem__(self, key):
        from .tensor_ops import GetItem

        return GetItem(key)(self)

    def _method(self, method, *args, **kwargs):
        from .tensor_ops import TensorMethod

        return TensorMethod(method, list(args), kwargs)(self)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = tuple(shape[0])
        return self._method("reshape", list(shape))

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = tuple(axes[0])
        return self._method("transpose", list(axes)) if axes else self._method("transpose")

    @property
    def T(self):
        return self._method("transpose")

    def astype(self, dtype):
        return self._method("astype", backend.standardize_dtype(dtype))

    def flatten(self, start_axis=0, end_axis=-1):
        return self._method("flatten", start_axis, end_axis)

    def squeeze(self, axis=None):
        return self._method("squeeze", axis)

    def swapaxes(self, axis1, axis2):
        return self._method("swapaxes", axis1, axis2)

    def sum(self, axis=None, keepdims=False):
        return self._method("sum", axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return self._method("mean", axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return self._method("max", axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return self._method("min", axis, keepdims)

    def prod(self, axis=None, keepdims=False):
        return self._method("prod", axis, keepdims)


is_keras_tensor = backend.is_keras_tensor
