"""Layer: the base class of every layer and model, an ``mlx.nn.Module``.

Because a layer *is* an ``nn.Module``, its weights are entries of the module
dict: ``parameters()``, ``trainable_parameters()``, ``nn.value_and_grad`` and
``mlx.optimizers`` see them with no copying. Keras' view of the same weights
(``weights``, ``get_weights``, ``trainable``) is kept in ``WeightSpec``
records beside them.

Calling a layer on symbolic tensors builds it from the input shapes, infers
the outputs by a lazy trace (``engine/trace.py``) and records a ``Node``;
calling it on arrays builds it if needed and runs ``call``.
"""

import inspect

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from .. import backend
from ..utils import tree
from . import call_context
from .input_spec import check_input_spec
from .keras_tensor import KerasTensor
from .node import Node


class WeightSpec:
    """Keras' view of one weight: its name, where it lives, whether it trains.

    ``storage_perm`` is the transpose from Keras' layout (the shape given to
    ``add_weight``) to the layout stored for MLX (e.g. conv kernels
    ``(kh, kw, in, out)`` are stored ``(out, kh, kw, in)``).
    """

    def __init__(self, name, key, trainable, regularizer=None, constraint=None,
                 storage_perm=None, auto_named=False):
        self.name = name
        self.key = key
        self.trainable = trainable
        self.regularizer = regularizer
        self.constraint = constraint
        self.storage_perm = storage_perm
        self.auto_named = auto_named

    def to_keras(self, value):
        if self.storage_perm is None:
            return value
        return mx.transpose(value, np.argsort(self.storage_perm).tolist())

    def from_keras(self, value):
        if self.storage_perm is None:
            return value
        return mx.transpose(value, list(self.storage_perm))


def _holds_state(value):
    """True for containers holding arrays or modules (they belong in the module dict)."""
    if isinstance(value, (mx.array, nn.Module)):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_state(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_state(v) for v in value.values())
    return False


_SIGNATURES = {}


def _call_flags(cls):
    """Which of ``training``/``mask``/``**kwargs`` a class's ``call`` accepts (cached)."""
    if cls not in _SIGNATURES:
        params = inspect.signature(cls.call).parameters
        _SIGNATURES[cls] = (
            "training" in params,
            "mask" in params,
            any(p.kind == p.VAR_KEYWORD for p in params.values()),
        )
    return _SIGNATURES[cls]


class Layer(nn.Module):
    """Base layer class (``keras.layers.Layer``).

    Args:
        trainable: whether the layer's weights are updated by training.
        name: the layer's name; by default the snake_case class name made unique
            in the session (``dense``, ``dense_1``...).
        dtype: the dtype of the layer's weights (``"float32"``).
        input_shape / batch_size / batch_input_shape / input_dim: Keras 2 style
            declaration of the input, honoured by ``Sequential``.

    Subclasses implement ``call(inputs, training=None, mask=None, **kwargs)``
    and usually ``build(input_shape)``, creating weights with ``add_weight``.
    """

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        # State that must exist before a subclass assigns its first attribute.
        object.__setattr__(obj, "_weight_specs", [])
        object.__setattr__(obj, "_inbound_nodes", [])
        object.__setattr__(obj, "_init_args", (args, kwargs))
        object.__setattr__(obj, "_no_grad", set())
        return obj

    def __init__(self, trainable=True, name=None, dtype=None, input_shape=None,
                 batch_size=None, batch_input_shape=None, input_dim=None, **kwargs):
        if kwargs:
            raise TypeError(
                f"Unrecognized keyword argument(s) passed to {type(self).__name__}: "
                f"{sorted(kwargs)}"
            )
        no_grad = self._no_grad
        super().__init__()
        object.__setattr__(self, "_no_grad", no_grad)
        self._name = name or backend.unique_name(backend.to_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self._dtype = backend.standardize_dtype(dtype)
        self.built = False
        self.input_spec = None
        self.supports_masking = False
        self._activity_losses = []
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + tuple(input_shape)
        else:
            self._batch_input_shape = None

    # -- attributes ---------------------------------------------------------
    def __setattr__(self, key, value):
        if isinstance(value, mx.array):
            self._adopt_weight(key, value)
        # Private containers (e.g. a model's layer list) are bookkeeping, not children.
        if _holds_state(value) and not (key.startswith("_") and not isinstance(value, mx.array)):
            if key in self.__dict__:
                del self.__dict__[key]
            self[key] = value
        else:
            dict.pop(self, key, None)  # (Sequential.pop() is Keras' own method)
            object.__setattr__(self, key, value)

    def _adopt_weight(self, key, value):
        """``self.w = self.add_weight(...)``: the weight moves to the attribute's name."""
        for spec in self._weight_specs:
            if spec.key != key and dict.get(self, spec.key) is value:
                del self[spec.key]
                if spec.key in self._no_grad:
                    self._no_grad.discard(spec.key)
                    self._no_grad.add(key)
                spec.key = key
                if spec.auto_named:
                    spec.name = key
                return

    @property
    def name(self):
        return self._name

    @name.setter
    def name(self, value):
        self._name = value

    @property
    def dtype(self):
        return self._dtype

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        self._trainable = value
        for spec in self._weight_specs:
            if value and spec.trainable:
                self._no_grad.discard(spec.key)
            else:
                self._no_grad.add(spec.key)
        for child in self._sublayers():
            if isinstance(child, Layer):
                child.trainable = value
            else:
                child.freeze() if not value else child.unfreeze()

    # -- weights ------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   regularizer=None, constraint=None, name=None, storage_perm=None):
        """Creates a weight and returns it (an ``mx.array``, lazily initialized).

        Args:
            shape: shape in Keras' layout (``()`` for a scalar).
            initializer: name, object or callable ``f(shape, dtype)``; by default
                ``"glorot_uniform"`` for floats and ``"zeros"`` otherwise.
            dtype: weight dtype (the layer's dtype by default).
            trainable: False for statistics such as BatchNormalization's moving mean.
            regularizer: adds ``regularizer(weight)`` to ``layer.losses``.
            constraint: applied to the weight after each optimizer update.
            name: the weight's name (``kernel``, ``bias``...); when omitted, the
                attribute the weight is assigned to names it.
            storage_perm: transpose from Keras' layout to the stored MLX layout.
        """
        from .. import constraints, initializers, regularizers

        dtype = backend.standardize_dtype(dtype or self.dtype)
        shape = tuple(int(d) for d in (shape or ()))
        if initializer is None:
            initializer = "glorot_uniform" if backend.is_float_dtype(dtype) else "zeros"
        init = initializers.get(initializer)
        value = init(shape, dtype=dtype)
        if not isinstance(value, mx.array):
            value = mx.array(value, dtype=backend.mlx_dtype(dtype))
        value = value.astype(backend.mlx_dtype(dtype))
        auto = name is None
        existing = {s.name for s in self._weight_specs}
        if auto:
            name = "variable"
            i = 0
            while name in existing or name in self:
                i += 1
                name = f"variable_{i}"
        elif name in existing:
            raise ValueError(f'Layer "{self.name}" already has a weight named "{name}".')
        spec = WeightSpec(name, name, bool(trainable), regularizers.get(regularizer),
                          constraints.get(constraint), storage_perm, auto)
        if storage_perm is not None:
            value = spec.from_keras(value)
        self._weight_specs.append(spec)
        self[name] = value
        if not (trainable and self._trainable):
            self._no_grad.add(name)
        return value

    def _sublayers(self):
        """Layers and raw ``nn.Module``s held by this layer, in assignment order."""
        found, seen = [], set()

        def visit(v):
            if isinstance(v, nn.Module):
                if id(v) not in seen:
                    seen.add(id(v))
                    found.append(v)
            elif isinstance(v, (list, tuple)):
                for x in v:
                    visit(x)
            elif isinstance(v, dict):
                for x in v.values():
                    visit(x)

        for k, v in self.items():
            if not k.startswith("_"):
                visit(v)
        return found

    def _weight_entries(self, trainable=None):
        """``(owner, spec_or_key)`` for every weight, in Keras' order, without duplicates.

        Own trainable weights, own non-trainable weights, then sublayers'.
        ``trainable`` selects: True (trainable only), False (non-trainable), None (all).
        """
        out, seen = [], set()
        self._collect(out, seen, trainable, self._trainable)
        return out

    def _collect(self, out, seen, want, parent_trainable):
        live = parent_trainable and self._trainable
        own = sorted(self._weight_specs, key=lambda s: not s.trainable)
        for spec in own:
            is_trainable = live and spec.trainable
            if want is None or want == is_trainable:
                value = self[spec.key]
                if id(value) not in seen:
                    seen.add(id(value))
                    out.append((self, spec))
        for child in self._sublayers():
            if isinstance(child, Layer):
                child._collect(out, seen, want, live)
            else:
                flat = dict(_flat_params(child.parameters()))
                trainable_keys = {k for k, _ in _flat_params(child.trainable_parameters())}
                for key, value in flat.items():
                    is_trainable = live and key in trainable_keys
                    if (want is None or want == is_trainable) and id(value) not in seen:
                        seen.add(id(value))
                        out.append((child, key))

    @staticmethod
    def _read(owner, entry):
        if isinstance(entry, WeightSpec):
            return owner[entry.key]
        return dict(_flat_params(owner.parameters()))[entry]

    @property
    def weights(self):
        """Every weight (``mx.array``): trainable first, then non-trainable, then sublayers'."""
        return [self._read(o, e) for o, e in self._weight_entries()]

    @property
    def trainable_weights(self):
        return [self._read(o, e) for o, e in self._weight_entries(True)]

    @property
    def non_trainable_weights(self):
        return [self._read(o, e) for o, e in self._weight_entries(False)]

    @property
    def variables(self):
        return self.weights

    def count_params(self):
        """Number of scalars in the layer's weights."""
        if not self.built:
            raise ValueError(
                f'You tried to call count_params() on layer "{self.name}", but the layer '
                "isn't built. Call it on an input (or call build()) first."
            )
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    def get_weights(self):
        """Weights as numpy arrays, in Keras' layouts and order."""
        out = []
        for owner, entry in self._weight_entries():
            value = self._read(owner, entry)
            if isinstance(entry, WeightSpec):
                value = entry.to_keras(value)
            out.append(np.array(value))
        return out

    def set_weights(self, weights):
        """Sets weights from numpy arrays in Keras' layouts and order (as ``get_weights``)."""
        entries = self._weight_entries()
        weights = list(weights)
        if len(weights) != len(entries):
            raise ValueError(
                f'Layer "{self.name}" expects {len(entries)} weight arrays, but received '
                f"{len(weights)}. Expected: {self._describe(entries)}"
            )
        updates = []
        for i, ((owner, entry), w) in enumerate(zip(entries, weights)):
            current = self._read(owner, entry)
            spec = entry if isinstance(entry, WeightSpec) else None
            expected = tuple(spec.to_keras(current).shape) if spec else tuple(current.shape)
            w = np.asarray(w)
            if tuple(w.shape) != expected:
                name = spec.name if spec else entry
                raise ValueError(
                    f'Layer "{self.name}" weight {i} ({getattr(owner, "name", "")}/{name}): '
                    f"expected shape {expected}, received {tuple(w.shape)}."
                )
            value = mx.array(w).astype(current.dtype)
            updates.append((owner, entry, spec.from_keras(value) if spec else value))
        for owner, entry, value in updates:
            if isinstance(entry, WeightSpec):
                owner[entry.key] = value
            else:
                owner.update(_unflatten({entry: value}), strict=False)

    def _describe(self, entries):
        return [
            f"{getattr(o, 'name', type(o).__name__)}/{e.name if isinstance(e, WeightSpec) else e}"
            for o, e in entries
        ]

    @property
    def losses(self):
        """Regularization losses of the current weights plus losses added in ``call``."""
        out = []
        for owner, entry in self._weight_entries():
            if isinstance(entry, WeightSpec) and entry.regularizer is not None:
                out.append(entry.regularizer(owner[entry.key]))
        for layer in [self] + [c for c in self._all_sublayers()]:
            out.extend(layer._activity_losses)
        return out

    def _all_sublayers(self):
        out = []
        for child in self._sublayers():
            if isinstance(child, Layer):
                out.append(child)
                out.extend(child._all_sublayers())
        return out

    def add_loss(self, loss):
        """Adds a loss computed in ``call`` (kept until the next call of the layer)."""
        self._activity_losses.append(loss)

    # -- building -----------------------------------------------------------
    def build(self, input_shape):
        """Creates the layer's weights; ``input_shape`` is a tuple with ``None``s."""
        self.built = True

    def _maybe_build(self, input_shape):
        if self.built:
            return
        try:
            self.build(input_shape)
        except Exception as e:
            raise _with_context(e, f'while building layer "{self.name}" '
                                   f"({type(self).__name__}) for input shape {input_shape}") from e
        self.built = True

    def call(self, inputs, *args, **kwargs):
        return inputs

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs: passed through when ``supports_masking``, else None."""
        if not self.supports_masking:
            return None
        return mask

    def compute_output_shape(self, input_shape):
        """Output shape for an input shape, by lazy trace (nothing is computed)."""
        from .trace import trace_call

        spec = KerasTensor(input_shape, self.dtype) if _is_shape(input_shape) else \
            [KerasTensor(s, self.dtype) for s in input_shape]
        self._maybe_build(input_shape)
        return tree.map_structure(lambda t: t.shape, trace_call(self, (spec,), {}))

    # -- calling ------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if any(isinstance(t, KerasTensor) for t in tree.flatten((args, kwargs))):
            return self._symbolic_call(args, kwargs)
        if args:
            args = (tree.map_structure(_to_array, args[0]),) + tuple(args[1:])
        first = args[0] if args else next(iter(kwargs.values()), None)
        if not self.built:
            self._maybe_build(tree.map_structure(lambda a: tuple(a.shape), first))
        check_input_spec(self, self.input_spec, first)
        outputs, _ = self._call_and_mask(args, kwargs, None, compute_mask=False)
        return outputs

    def _symbolic_call(self, args, kwargs):
        from .trace import trace_call

        first = args[0] if args else next(iter(kwargs.values()))
        shapes = tree.map_structure(lambda t: t.shape if isinstance(t, KerasTensor) else None, first)
        self._maybe_build(shapes)
        check_input_spec(self, self.input_spec, first)
        try:
            outputs = trace_call(self, args, kwargs)
        except Exception as e:
            raise _with_context(
                e, f'when calling layer "{self.name}" ({type(self).__name__}) on inputs with '
                   f"shape {shapes}") from e
        Node(self, args, kwargs, outputs)
        return outputs

    def _call_and_mask(self, args, kwargs, mask, compute_mask=True):
        """Runs ``call`` with ``training`` and ``mask`` injected where it accepts them.

        Returns ``(outputs, output_mask)``.
        """
        has_training, has_mask, has_kwargs = _call_flags(type(self))
        kwargs = dict(kwargs)
        training = kwargs.get("training")
        if training is None:
            training = call_context.training()
        if has_training:
            kwargs["training"] = training
        elif "training" in kwargs and not has_kwargs:
            kwargs.pop("training")
        if has_mask and mask is not None and kwargs.get("mask") is None:
            kwargs["mask"] = mask
        self._activity_losses = []
        with call_context.training_scope(training):
            outputs = self.call(*args, **kwargs)
        out_mask = None
        if compute_mask and (mask is not None or not self.supports_masking):
            first = args[0] if args else next(iter(kwargs.values()), None)
            out_mask = self.compute_mask(first, mask)
        return outputs, out_mask

    # -- graph ----------------------------------------------------------------
    def _node_attribute(self, index, attr, what):
        if not self._inbound_nodes:
            raise ValueError(
                f'Layer "{self.name}" has never been called and thus has no defined {what}.'
            )
        if not 0 <= index < len(self._inbound_nodes) and not -len(self._inbound_nodes) <= index < 0:
            raise ValueError(
                f'Asked for the {what} of node {index} of layer "{self.name}", but the layer '
                f"has only {len(self._inbound_nodes)} node(s)."
            )
        node = self._inbound_nodes[index]
        values = getattr(node, attr)
        return values[0] if len(values) == 1 else list(values)

    def _single_node(self, what, method):
        if len(self._inbound_nodes) > 1:
            raise ValueError(
                f'Layer "{self.name}" has {len(self._inbound_nodes)} inbound nodes (it is '
                f"shared: called {len(self._inbound_nodes)} times), so its {what} is "
                f"ambiguous. Use layer.{method}(node_index) with node_index in "
                f"0..{len(self._inbound_nodes) - 1}."
            )

    @property
    def input(self):
        self._single_node("input", "get_input_at")
        return self.get_input_at(0)

    @property
    def output(self):
        self._single_node("output", "get_output_at")
        return self.get_output_at(0)

    def get_input_at(self, node_index):
        return self._node_attribute(node_index, "input_tensors", "input")

    def get_output_at(self, node_index):
        return self._node_attribute(node_index, "output_tensors", "output")

    @property
    def input_shape(self):
        return tree.map_structure(lambda t: t.shape, self.input)

    @property
    def output_shape(self):
        return tree.map_structure(lambda t: t.shape, self.output)

    # -- config -------------------------------------------------------------
    def get_config(self):
        """The constructor arguments as plain data (never code)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        cls = type(self)
        if cls.__init__ is not Layer.__init__ and cls.get_config is Layer.get_config:
            config.update(self._auto_config())
        return config

    def _auto_config(self):
        """Captured ``__init__`` arguments of a custom layer that has no get_config."""
        args, kwargs = self._init_args
        try:
            bound = inspect.signature(type(self).__init__).bind(self, *args, **kwargs)
        except TypeError:
            bound = None
        captured = {}
        if bound is not None:
            for k, v in list(bound.arguments.items())[1:]:
                param = inspect.signature(type(self).__init__).parameters[k]
                if param.kind == param.VAR_KEYWORD:
                    captured.update(v)
                elif param.kind != param.VAR_POSITIONAL:
                    captured[k] = v
        if bound is None or not all(_is_plain(v) for v in captured.values()):
            raise NotImplementedError(
                f"Layer {type(self).__name__} has constructor arguments that are not plain "
                "data; it must implement get_config() to be serialized."
            )
        return captured

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    # nn.Module's dict equality would compare weights; layers compare by identity.
    __eq__ = object.__eq__
    __hash__ = object.__hash__


def _is_plain(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return True
    if isinstance(v, (list, tuple)):
        return all(_is_plain(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _is_plain(x) for k, x in v.items())
    return False


def _is_shape(s):
    return isinstance(s, (list, tuple)) and all(d is None or isinstance(d, int) for d in s)


def _to_array(x):
    if isinstance(x, np.ndarray):
        if x.dtype == np.float64:
            x = x.astype(np.float32)
        return mx.array(x)
    return x


def _flat_params(params):
    from mlx.utils import tree_flatten

    return tree_flatten(params)


def _unflatten(flat):
    from mlx.utils import tree_unflatten

    return tree_unflatten(list(flat.items()))


def _with_context(error, where):
    """Re-raises ``error`` as the same type with the layer context prepended once."""
    message = str(error)
    if message.startswith("Exception encountered"):
        return error
    cls = type(error) if type(error) in (ValueError, TypeError, IndexError) else ValueError
    return cls(f"Exception encountered {where}:\n{message}")
