"""Core layers: Dense, Activation, Identity, Embedding, Lambda."""

import inspect

import mlx.core as mx

from .. import activations
from ..engine import argument_validation as check
from ..engine import index_bounds
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer, _is_plain
from .. import registry
from . import common


@registry.builtin
class Dense(Layer):
    """A densely-connected layer: ``activation(inputs @ kernel + bias)``.

    Args:
        units: size of the output's last dimension.
        activation: activation name or function (none by default).
        use_bias: whether to add a bias vector.
        kernel_initializer: ``"glorot_uniform"`` by default.
        bias_initializer: ``"zeros"`` by default.
        kernel_regularizer / bias_regularizer / activity_regularizer: regularizers.
        kernel_constraint / bias_constraint: constraints applied after updates.

    The kernel has Keras' layout ``(input_dim, units)``.
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.units = check.positive_int(self, "units", units)
        self.use_bias = use_bias
        common.set_objects(
            self, activation=activation, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f'Layer "{self.name}" needs a known last input dimension; received input '
                f"shape {tuple(input_shape)}."
            )
        self.kernel = common.add_weight(self, "kernel", (input_dim, self.units))
        if self.use_bias:
            self.bias = common.add_weight(self, "bias", (self.units,))
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True

    def call(self, inputs):
        if self.use_bias and inputs.ndim == 2:  # bias + inputs @ kernel in one op
            x = self.activation(mx.addmm(self["bias"], inputs, self["kernel"]))
            return common.add_activity_loss(self, x)
        return common.bias_activation(self, inputs @ self["kernel"])

    def get_config(self):
        config = super().get_config()
        config.update(common.config_values(self, "units", *common.KERNEL_BIAS_ARGS))
        return config


@registry.builtin
class Activation(Layer):
    """Applies an activation function to its input: ``activation(inputs)``.

    Args:
        activation: activation name (``"relu"``...) or function.
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        config = super().get_config()
        config.update(activation=activations.serialize(self.activation))
        return config


@registry.builtin
class Identity(Layer):
    """Returns its inputs unchanged (a placeholder layer); masks pass through."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs


@registry.builtin
class Embedding(Layer):
    """Turns integer ids into dense vectors: ``embeddings[inputs]``.

    Args:
        input_dim: vocabulary size (largest id + 1).
        output_dim: size of each vector.
        embeddings_initializer: ``"uniform"`` (U[-0.05, 0.05)) by default.
        embeddings_regularizer / activity_regularizer: regularizers.
        embeddings_constraint: constraint applied after updates.
        mask_zero: whether id 0 is padding; the output then carries the mask
            ``inputs != 0`` (so id 0 cannot be a real token).
        weights: optional initial value of the ``(input_dim, output_dim)`` table.
        input_length: accepted for Keras 2 code and ignored.

    The weight ``embeddings`` has shape ``(input_dim, output_dim)``. Inputs are
    integer arrays of any shape; float ids are truncated to integers. An id
    outside ``[0, input_dim)`` raises ``IndexOutOfRangeError`` in an eager call;
    inside a step of fit/evaluate/predict or ``mx.compile`` its vector is zeros.
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, activity_regularizer=None, **kwargs):
        kwargs.pop("input_length", None)
        super().__init__(**kwargs)
        self.input_dim = check.positive_int(self, "input_dim", input_dim)
        self.output_dim = check.positive_int(self, "output_dim", output_dim)
        common.set_objects(self, embeddings_initializer=embeddings_initializer,
                           embeddings_regularizer=embeddings_regularizer,
                           activity_regularizer=activity_regularizer,
                           embeddings_constraint=embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        # The engine asks compute_mask of a layer that does not support masking
        # on every call; that is what a layer creating a mask needs.
        self.supports_masking = False
        if weights is not None:
            self.build(None)
            self.set_weights(weights if isinstance(weights, (list, tuple)) else [weights])

    def build(self, input_shape=None):
        if self.built:
            return
        self.embeddings = common.add_weight(self, "embeddings", (self.input_dim, self.output_dim))
        self.built = True

    def call(self, inputs):
        # An id outside [0, input_dim) raises in an eager call; inside fit/evaluate
        # or mx.compile its vector is zeros (see engine/index_bounds.py).
        ids, valid = index_bounds.bounded(inputs, self.input_dim, f'Embedding "{self.name}"',
                                          what="id", outcome="its vector is zeros")
        outputs = mx.take(self["embeddings"], ids, axis=0)
        if valid is not None:
            outputs = mx.where(valid[..., None], outputs, 0)
        return common.add_activity_loss(self, outputs)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return inputs != 0

    def get_config(self):
        config = super().get_config()
        config.update(common.config_values(
            self, "input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer",
            "activity_regularizer", "embeddings_constraint", "mask_zero"))
        return config


def _registered_name(layer, what, fn):
    """The name ``fn`` is registered under; a ValueError when it has none."""
    name = registry.get_registered_name(fn)
    if registry.get_registered_object(name) is not fn:
        label = getattr(fn, "__name__", type(fn).__name__)
        raise ValueError(
            f'Layer "{layer.name}" (Lambda) cannot be serialized: its {what} {label!r} is not '
            "registered, and mlxfunctional never saves Python code in a config. Define it as "
            "a named function decorated with @mlxfunctional.saving.register_serializable() "
            "so that the config stores its registered name (or subclass Layer instead)."
        )
    return name


def _resolve_function(value, what):
    """A registered name (or Keras 3 ``{"class_name": "function"}`` dict) -> the function."""
    if value is None or callable(value):
        return value
    if isinstance(value, dict):
        if value.get("class_name") == "__lambda__":
            raise ValueError(
                f"This Lambda config stores the {what} as Python bytecode; mlxfunctional "
                "never runs code from a config. Register the function with "
                "@mlxfunctional.saving.register_serializable() and save the model again."
            )
        value = value.get("registered_name") or value.get("config")
    if not isinstance(value, str):
        raise ValueError(f"Cannot read the Lambda {what} from {value!r}: expected a registered name.")
    fn = registry.get_registered_object(value)
    if fn is None or isinstance(fn, type) or not callable(fn):
        raise registry.unknown_object_error(value, "function")
    return fn


@registry.builtin
class Lambda(Layer):
    """Wraps a Python function as a layer: ``function(inputs, **arguments)``.

    Args:
        function: the function; it also receives ``mask=``/``training=`` when
            its signature names them.
        output_shape: accepted for Keras compatibility; the output shape is
            always inferred by tracing ``function``.
        mask: None (no output mask) or a function ``mask(inputs, input_mask)``.
        arguments: extra keyword arguments for ``function`` (plain data).

    The config holds no code: only the function's registered name
    (``@mlxfunctional.saving.register_serializable()``); an unregistered
    function makes ``get_config()`` raise.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda expects a callable `function`. Received: {function!r}")
        if mask is not None and not callable(mask):
            raise TypeError(f"Lambda `mask` must be None or a function. Received: {mask!r}")
        self.function = function
        self.output_shape_arg = output_shape
        self.mask = mask
        # Kept off the module dict: an array among the arguments is a constant,
        # not a weight to train.
        object.__setattr__(self, "arguments", dict(arguments or {}))
        params = _parameters(function)
        self._fn_expects_mask = "mask" in params
        self._fn_expects_training = "training" in params
        # Not "supporting" masks makes the engine ask compute_mask on every
        # call, which a mask function that builds a mask from the inputs needs.
        self.supports_masking = False

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask:
            kwargs["mask"] = mask
        if self._fn_expects_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        return self.mask(inputs, mask) if self.mask is not None else None

    def get_config(self):
        config = super().get_config()
        output_shape = self.output_shape_arg
        if callable(output_shape):
            output_shape = _registered_name(self, "output_shape function", output_shape)
        elif output_shape is not None:
            output_shape = list(output_shape)
        if not _is_plain(self.arguments):
            raise ValueError(
                f'Layer "{self.name}" (Lambda) cannot be serialized: its `arguments` hold '
                "values that are not plain data (numbers, strings, lists, dicts)."
            )
        config.update(
            function=_registered_name(self, "function", self.function),
            output_shape=output_shape,
            mask=None if self.mask is None else _registered_name(self, "mask function", self.mask),
            arguments=dict(self.arguments),
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        with registry.custom_object_scope(custom_objects or {}):
            config["function"] = _resolve_function(config["function"], "function")
            config["mask"] = _resolve_function(config.get("mask"), "mask function")
            shape = config.get("output_shape")
            if isinstance(shape, (str, dict)):
                config["output_shape"] = _resolve_function(shape, "output_shape function")
        return cls(**config)


def _parameters(fn):
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):  # some builtins have no signature
        return {}
