"""Layer: the base class of every layer and model, an ``mlx.nn.Module``.

Because a layer *is* an ``nn.Module``, its weights are entries of the module
dict: ``parameters()``, ``trainable_parameters()``, ``nn.value_and_grad`` and
``mlx.optimizers`` see them with no copying. Keras' view of the same weights
(``weights``, ``get_weights``, ``trainable``) is kept in ``WeightSpec``
records beside them; reading a weight attribute (``self.kernel``) gives a
``Variable``, an ``mx.array`` that can also ``assign``.

Calling a layer on symbolic tensors builds it from the input shapes, infers
the outputs by a lazy trace (``engine/trace.py``) and records a ``Node``;
calling it on arrays builds it if needed and runs ``call``.
"""

import inspect

import mlx.core as mx
import mlx.nn as nn

from .. import backend, dtype_policies, global_state
from .. import tree
from ..random.seed_generator import SeedGenerator
from . import autocast, call_context, eager_mask
from . import input_standardization
from .argument_masks import argument_masks, mask_arguments
from .input_spec import check_input_spec
from .keras_tensor import KerasTensor
from .node import Node
from .trace import trace_call
from .variables import Variable, layer_scope
from .weights import WeightTracking


def _holds_state(value):
    """True for containers holding arrays or modules (they belong in the module dict)."""
    if isinstance(value, (mx.array, nn.Module)):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_state(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_state(v) for v in value.values())
    return False


_SIGNATURES = global_state.call_flags


class _NoScope:
    """A context that does nothing (one shared instance: no object per call)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NO_SCOPE = _NoScope()


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


class Layer(WeightTracking, nn.Module):
    """Base layer class (``keras.layers.Layer``).

    Args:
        trainable: whether the layer's weights are updated by training.
        name: the layer's name; by default the snake_case class name made unique
            in the session (``dense``, ``dense_1``...).
        dtype: the dtype of the layer's weights and computations (``"float32"``), or a
            dtype policy (``"mixed_bfloat16"``: compute in bfloat16, float32 weights);
            by default the global policy (``keras.mixed_precision``), else ``floatx()``.
        input_shape / batch_size / batch_input_shape / input_dim: Keras 2 style
            declaration of the input, honoured by ``Sequential``.

    Subclasses implement ``call(inputs, training=None, mask=None, **kwargs)``
    and usually ``build(input_shape)``, creating weights with ``add_weight``.
    """

    # Models leave the casting of inputs to the layers inside them (engine/autocast.py).
    _convert_input_args = True

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        # State that must exist before a subclass assigns its first attribute.
        object.__setattr__(obj, "_weight_specs", [])
        object.__setattr__(obj, "_weight_keys", {})  # dict key -> WeightSpec
        object.__setattr__(obj, "_shared_weights", {})  # attribute -> another layer's Variable
        object.__setattr__(obj, "_inbound_nodes", [])
        object.__setattr__(obj, "_init_args", (args, kwargs))
        object.__setattr__(obj, "_no_grad", set())
        object.__setattr__(obj, "_mlx_modules", None)  # (see _plain_modules)
        object.__setattr__(obj, "_first_call", True)  # (see _call_and_mask)
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
        self._dtype_policy = dtype_policies.get(dtype)
        # Under a global policy, or given one that computes in another dtype than
        # floatx, a layer casts its float inputs to its compute dtype, as Keras does;
        # otherwise it takes its inputs as they come (the dtype rule of
        # engine/input_standardization.py). Decided by the policy, not by whether
        # `dtype` was passed: a reloaded layer (whose config always names its dtype)
        # must behave as the one that was saved.
        self._autocast_inputs = (global_state.dtype_policy is not None
                                 or self._dtype_policy.compute_dtype != backend.floatx())
        self._dtype = self._dtype_policy.variable_dtype
        self.built = False
        self.input_spec = None
        self.supports_masking = False
        self._activity_losses = []  # added in call, in forward pass _losses_pass
        self._losses_pass = 0
        self._call_pass = 0  # the forward pass of the layer's last call
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
        """Where an attribute lives decides what a compiled step captures (it captures
        the module dict, ``model.state``; anything else is a constant to ``mx.compile``):

        - an ``mx.array`` is a dict entry: under a public name a parameter (trained,
          saved), under a ``_private`` name state only (captured and updated by compiled
          steps, never trained nor saved): keys, counters;
        - a ``SeedGenerator``, under any name, is a dict entry (its key is private);
        - a module or a public container of modules/arrays is a child in the dict; a
          private container (a model's ``_layers`` list) is bookkeeping, kept outside;
        - anything else is a plain attribute.
        """
        if self._shared_weights:
            self._shared_weights.pop(key, None)
        if isinstance(value, mx.array):
            if isinstance(value, Variable) and value._owner is not None \
                    and value._owner is not self:
                return self._share_weight(key, value)
            value = self._adopt_weight(key, value)
        private_bookkeeping = key.startswith("_") and not isinstance(value, (mx.array,
                                                                             SeedGenerator))
        if _holds_state(value) and not private_bookkeeping:
            if key in self.__dict__:
                del self.__dict__[key]
            self[key] = value
            object.__setattr__(self, "_mlx_modules", None)  # (a module may have come)
        else:
            dict.pop(self, key, None)  # (Sequential.pop() is Keras' own method)
            object.__setattr__(self, key, value)

    def __missing__(self, key):
        # ``self["kernel"]`` is how built-in layers read a weight in ``call``: the stored
        # array itself. (``self.kernel`` gives a ``Variable`` handle, and making one is a
        # copy kernel in every compiled step.) A weight tied to another layer's is not
        # in this dict; its owner's stored array is read instead.
        shared = self.__dict__.get("_shared_weights", {}).get(key)
        if shared is None:
            raise KeyError(key)
        if shared._owner is not None and shared._spec is not None:
            return dict.__getitem__(shared._owner, shared._spec.key)
        return shared.value

    def __getattr__(self, key):
        # Only reached for entries of the module dict (and missing attributes).
        value = dict.get(self, key)
        if value is None:
            if key in self._shared_weights:
                return self._shared_weights[key]._current()
            return super().__getattr__(key)
        spec = self._weight_keys.get(key)
        if spec is None:
            return value
        handle = spec.handle  # (inlined: built-in layers read their weights in every call)
        if handle is not None and handle[0] is value:
            return handle[1]
        return self._weight_view(key, value)

    @property
    def name(self):
        return self._name

    @name.setter
    def name(self, value):
        self._name = value

    @property
    def dtype(self):
        """The dtype of the layer's weights (its policy's ``variable_dtype``)."""
        return self._dtype

    @property
    def dtype_policy(self):
        return self._dtype_policy

    @property
    def compute_dtype(self):
        """The dtype the layer computes in (its inputs are cast to it)."""
        return self._dtype_policy.compute_dtype

    @property
    def variable_dtype(self):
        return self._dtype_policy.variable_dtype

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

    # -- building -----------------------------------------------------------
    def build(self, input_shape):
        """Creates the layer's weights; ``input_shape`` is a tuple with ``None``s."""
        self.built = True

    def _maybe_build(self, input_shape):
        if self.built:
            return
        try:
            with layer_scope(self):
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
        spec = KerasTensor(input_shape, self.dtype) if _is_shape(input_shape) else \
            [KerasTensor(s, self.dtype) for s in input_shape]
        self._maybe_build(input_shape)
        return tree.map_structure(lambda t: t.shape, trace_call(self, (spec,), {}))

    def _functional_graph(self):
        """The Functional whose graph this layer runs: a functional model itself, the
        one a Sequential holds (None until its input is known), None for any other
        layer. Summaries, plots and clones read (nested) models' graphs through it."""
        return None

    # -- calling ------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if any(isinstance(t, KerasTensor) for t in tree.flatten((args, kwargs))):
            return self._symbolic_call(args, kwargs)
        if args:
            args = (input_standardization.convert_numpy(
                args[0], f'The input of layer "{self.name}"'),) + tuple(args[1:])
        first = args[0] if args else next(iter(kwargs.values()), None)
        if not self.built:
            self._maybe_build(tree.map_structure(lambda a: tuple(a.shape), first))
        check_input_spec(self, self.input_spec, first)
        if mask_arguments(type(self)):
            kwargs = {**kwargs, **argument_masks(self, args, kwargs, eager_mask.mask_of)}
        outputs, mask = self._call_and_mask(args, kwargs, eager_mask.mask_of(first))
        return eager_mask.with_mask(outputs, mask)

    def _symbolic_call(self, args, kwargs):
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
        elif not has_mask and "mask" in kwargs and not has_kwargs:
            mask = kwargs.pop("mask")  # as Keras: a call without `mask` never sees one
        args, kwargs = autocast.cast_inputs(self, args, kwargs)
        # Sublayers built by the first call (a subclassed model's) are in this layer's
        # scope ("model/dense/kernel"); later calls build nothing, and skip the scope.
        scope = layer_scope(self) if self._first_call else _NO_SCOPE
        with call_context.call_scope(training) as forward_pass, \
                autocast.compute_dtype_weights(self), scope:
            self._call_pass = forward_pass
            modules = self._plain_modules()
            if modules:
                _set_training_mode(modules, bool(training))
            outputs = self.call(*args, **kwargs)
        if self._first_call:
            object.__setattr__(self, "_first_call", False)
        out_mask = None
        if compute_mask:
            first = args[0] if args else next(iter(kwargs.values()), None)
            out_mask = self.compute_mask(first, mask)
        return outputs, out_mask

    def _plain_modules(self):
        """The ``nn.Module``s this layer holds that are not layers (cached).

        MLX modules read their mode from ``module.training``, not from a call
        argument, so each call sets it from its ``training`` flag: an
        ``nn.Dropout`` in a layer must not drop in ``predict``.
        """
        if self._mlx_modules is None:
            self._mlx_modules = [m for m in self._sublayers() if not isinstance(m, Layer)]
        return self._mlx_modules

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
        policy = self._dtype_policy
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": policy.name if policy.is_mixed else self.dtype}
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


def _set_training_mode(modules, training):
    for module in modules:
        if module.training != training:  # (train() walks the module's whole tree)
            module.train(training)


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


def _with_context(error, where):
    """Re-raises ``error`` as the same type with the layer context prepended once."""
    message = str(error)
    if message.startswith("Exception encountered"):
        return error
    cls = type(error) if type(error) in (ValueError, TypeError, IndexError) else ValueError
    return cls(f"Exception encountered {where}:\n{message}")
