"""``keras.Variable``: a weight as Keras code sees it, and still an ``mx.array``.

A layer's weights live in its ``nn.Module`` dict as plain arrays, so MLX
(``parameters()``, ``nn.value_and_grad``, ``mlx.optimizers``, ``mx.compile``)
sees ordinary parameters and rebinds them as it always does. Keras code gets a
``Variable`` instead: an ``mx.array`` subclass holding the weight's value at the
moment it was read, plus a reference to where the weight lives (its owner
layer and ``WeightSpec``). Being an array, it goes into every ``mx`` function
(``mx.matmul(x, self.w)``) and gradients flow through it; being a handle, it
writes back with ``assign``.

MLX has no protocol by which a non-array could stand in for an array, hence
the subclass. A handle kept across an update made elsewhere (an optimizer
step) still holds the value it was read with when passed to an ``mx``
function or to numpy; ``.value``, ``.numpy()`` and the Python operators read
the current value, as Keras' do. ``assign`` rebinds the handle in place, so
the handle it was called on shows the new value everywhere.

Variable paths follow Keras 3: ``"<scopes>/<layer>/<weight>"``, where the
scopes are the ``keras.name_scope`` blocks and the layers being built or called
when the weight was created (``"sequential/dense/kernel"``); :class:`layer_scope`
puts a layer on that stack.
"""

import mlx.core as mx
import numpy as np
from mlx.utils import tree_flatten, tree_unflatten

from .. import backend, global_state


# -- scopes ----------------------------------------------------------------------
class _LayerScope(str):
    """A layer's entry in the scope stack: its name (what paths join), knowing its layer."""


class layer_scope:
    """``with layer_scope(layer):`` makes ``layer`` the innermost scope of the weights
    created inside, on the stack ``keras.name_scope`` blocks share (``scopes.py``).
    Entering the scope of the layer that is already innermost adds nothing (a
    layer's ``build`` creating weights with ``add_weight``).

    (A class rather than a generator: every layer call enters one.)
    """

    __slots__ = ("layer", "pushed")

    def __init__(self, layer):
        self.layer = layer
        self.pushed = False

    def __enter__(self):
        stack = global_state.name_scopes
        layer = self.layer
        if not stack or getattr(stack[-1], "layer", None) is not layer:
            entry = layer.__dict__.get("_scope_entry")
            if entry is None or entry != layer.name:  # (made once per name)
                entry = _LayerScope(layer.name)
                entry.layer = layer
                object.__setattr__(layer, "_scope_entry", entry)
            stack.append(entry)
            self.pushed = True
        return self

    def __exit__(self, *exc):
        if self.pushed:
            global_state.name_scopes.pop()


def current_path(layer=None):
    """The scope path of weights created now (by ``layer``, when given): the open
    ``keras.name_scope`` blocks and layers being built or called, outermost first."""
    stack = global_state.name_scopes
    names = list(stack)
    if layer is not None and not (stack and getattr(stack[-1], "layer", None) is layer):
        names.append(layer.name)
    return "/".join(names)


# -- the Variable --------------------------------------------------------------
class Variable(mx.array):
    """A weight: ``keras.Variable(initializer, shape=None, dtype=None, trainable=True, name=None)``.

    Standalone, it holds its own value; set as a layer attribute, it becomes
    one of the layer's weights. ``add_weight``, ``layer.weights`` and reading a
    weight attribute (``self.kernel``) return Variables that view the layer's
    stored weight.

    Args:
        initializer: an initial value (array, numpy array, number, nested list)
            or an initializer (name, object or callable ``f(shape, dtype)``).
        shape: the shape; required with an initializer, checked with a value.
        dtype: the dtype; by default the value's, or ``floatx()`` with an initializer.
        trainable: whether training updates it.
        name: its name (``"variable"``, ``"variable_1"``... by default).
    """

    _key = None  # (views of a layer's weight set only what differs)
    _path = None

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, autocast=True,
                 aggregation="none", synchronization="auto", name=None, **kwargs):
        from .. import initializers

        name = name or backend.unique_name("variable")
        if not isinstance(name, str) or "/" in name:
            raise ValueError(f"Argument `name` of Variable must be a string without '/'. "
                             f"Received: name={name!r}")
        if isinstance(initializer, str) or callable(initializer) and not _is_value(initializer):
            if shape is None:
                raise ValueError(
                    f'Variable "{name}": when created from an initializer, the `shape` '
                    f"argument is required. Received: initializer={initializer!r}, shape=None.")
            dtype = backend.standardize_dtype(dtype)
            value = initializers.get(initializer)(tuple(int(d) for d in shape), dtype=dtype)
        else:
            value = initializer.value if isinstance(initializer, Variable) else initializer
            dtype = backend.standardize_dtype(dtype) if dtype is not None else None
        value = _as_array(value, f'Variable "{name}"')
        if dtype is not None:
            value = value.astype(backend.mlx_dtype(dtype))
        if shape is not None and tuple(value.shape) != tuple(int(d) for d in shape):
            raise ValueError(f'Variable "{name}": the initial value has shape '
                             f"{tuple(value.shape)}, but shape={tuple(shape)} was given.")
        super().__init__(value)
        self._owner = None  # standalone: the value is the array itself
        self._spec = None
        self._key = None
        self._keras_layout = False
        self._name = name
        self._path = "/".join(p for p in (current_path(), name) if p)
        self._trainable = bool(trainable)
        self._autocast = bool(autocast)
        self._aggregation = aggregation or "none"
        self._synchronization = synchronization or "none"

    @classmethod
    def _view(cls, owner, spec, value, keras_layout=False, key=None, path=None):
        """A handle on the weight ``spec`` of layer ``owner`` (or on parameter ``key``
        of a raw ``nn.Module``), holding ``value``: the stored array, or with
        ``keras_layout`` the stored array transposed to Keras' layout."""
        view = cls.__new__(cls)
        mx.array.__init__(view, value)
        view._owner = owner
        view._spec = spec
        view._keras_layout = keras_layout
        if key is not None:
            view._key = key
            view._path = path
        return view

    # -- what it is -------------------------------------------------------------
    @property
    def name(self):
        if self._spec is not None:
            return self._spec.name
        return self._key if self._owner is not None else self._name

    @property
    def path(self):
        """``"dense/kernel"``: the scopes it was created in, then its name."""
        if self._spec is not None:
            return "/".join(p for p in (self._spec.scope, self._spec.name) if p)
        return self._path

    @property
    def trainable(self):
        """Whether training updates it (False also while its layer is frozen)."""
        if self._spec is not None:
            return self._spec.trainable and self._owner._trainable
        if self._owner is not None:
            return self._key in dict(tree_flatten(self._owner.trainable_parameters()))
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        if self._spec is not None:
            self._owner._set_weight_trainable(self._spec, bool(value))
        elif self._owner is not None:
            (self._owner.unfreeze if value else self._owner.freeze)(keys=[self._key])
        else:
            self._trainable = bool(value)

    @property
    def aggregation(self):
        return getattr(self, "_aggregation", "none")

    @property
    def synchronization(self):
        return getattr(self, "_synchronization", "none")

    @property
    def regularizer(self):
        return self._spec.regularizer if self._spec is not None else None

    @property
    def constraint(self):
        return self._spec.constraint if self._spec is not None else None

    # -- reading ----------------------------------------------------------------
    @property
    def value(self):
        """The current value, a plain ``mx.array``."""
        if self._owner is None:
            return mx.array(self)
        if self._spec is None:
            return dict(tree_flatten(self._owner.parameters()))[self._key]
        stored = dict.__getitem__(self._owner, self._spec.key)
        return self._spec.to_keras(stored) if self._keras_layout else stored

    def _current(self):
        """The handle on this weight's current value (this one when unchanged)."""
        if self._spec is not None and self._keras_layout:
            return self._spec.variable(self._owner, dict.__getitem__(self._owner, self._spec.key))
        if self._owner is None:
            return self
        return Variable._view(self._owner, self._spec, self.value, self._keras_layout,
                              self._key, self._path)

    def numpy(self):
        """The current value as a numpy array."""
        return np.array(self.value)

    # -- writing ----------------------------------------------------------------
    def assign(self, value):
        """Sets the value; ``value`` must have the variable's shape (it is cast to
        its dtype). Returns the variable."""
        value = _as_array(value.value if isinstance(value, Variable) else value,
                          f'Variable "{self.path}".assign()')
        if tuple(value.shape) != tuple(self.shape):
            raise ValueError(
                f'Variable "{self.path}".assign(): the value must have the variable\'s shape '
                f"{tuple(self.shape)}; received shape {tuple(value.shape)}.")
        value = value.astype(self.dtype)
        if self._spec is not None:
            stored = self._spec.from_keras(value) if self._keras_layout else value
            dict.__setitem__(self._owner, self._spec.key, stored)
            if self._keras_layout:
                self._spec.handle = (stored, self)  # later reads give this handle
        elif self._owner is not None:
            self._owner.update(tree_unflatten([(self._key, value)]), strict=False)
        mx.array.__setitem__(self, Ellipsis, value)  # this handle shows the new value
        return self

    def assign_add(self, value):
        """``assign(value + delta)``."""
        return self.assign(self.value + _operand(value))

    def assign_sub(self, value):
        """``assign(value - delta)``."""
        return self.assign(self.value - _operand(value))

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={tuple(self.shape)}, "
                f"dtype={backend.standardize_dtype(self.dtype)}, value={self.numpy()}>")

    __hash__ = mx.array.__hash__


def _is_value(x):
    return isinstance(x, (mx.array, np.ndarray, np.generic, int, float, bool, list, tuple))


def _as_array(value, where):
    if isinstance(value, mx.array):
        return mx.array(value)  # (a plain array: never store a handle)
    try:
        array = np.asarray(value)
    except Exception as e:
        raise TypeError(f"{where}: expected an array or number; received "
                        f"{type(value).__name__}.") from e
    if array.dtype.kind not in "biufc":
        raise TypeError(f"{where}: expected an array or number; received "
                        f"{type(value).__name__} of dtype {array.dtype}.")
    if array.dtype == np.float64:
        array = array.astype(backend.floatx())
    elif array.dtype == np.int64:
        array = array.astype(np.int32)
    return mx.array(array)


def _operand(x):
    if isinstance(x, Variable):
        return x.value
    if isinstance(x, (list, np.ndarray)):  # (mx operators take numbers and arrays only)
        return _as_array(x, "Variable operand")
    return x


def _reading_current(name):
    """``Variable.<name>``: the ``mx.array`` operator applied to the current values."""
    method = getattr(mx.array, name)

    def operator(self, *args):
        return method(self.value, *(_operand(a) for a in args))

    operator.__name__ = name
    return operator


# Python operators read the current value (a handle kept across an optimizer step
# computes with the new weights), as Keras' Variable operators do.
for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__",
              "__rmod__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__neg__",
              "__abs__", "__invert__", "__and__", "__rand__", "__or__", "__ror__", "__xor__",
              "__rxor__", "__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__",
              "__getitem__", "__bool__", "__int__", "__float__"):
    if hasattr(mx.array, _name):
        setattr(Variable, _name, _reading_current(_name))
del _name
