"""MultiHeadAttention (Vaswani et al., 2017) with Keras 3's weights and masks.

Weights, in Keras' order: ``query/kernel`` ``(d_model, num_heads, key_dim)``,
``query/bias`` ``(num_heads, key_dim)``, the same for ``key`` and ``value``
(``value_dim``), then ``attention_output/kernel`` ``(num_heads, value_dim,
d_out)`` and ``attention_output/bias`` ``(d_out,)``: four EinsumDense sublayers.
"""

import math


from .. import global_state, regularizers
from ..engine import argument_validation as check
from ..engine.layer import Layer
from .. import registry
from . import attention_common as attn
from . import common
from .einsum_dense import EinsumDense
from .regularization import Dropout

# The arguments handed to every projection sublayer.
SUBLAYER_ARGS = ("kernel_initializer", "bias_initializer", "kernel_regularizer",
                 "bias_regularizer", "activity_regularizer", "kernel_constraint",
                 "bias_constraint")


def projection_equation(free_dims, bound_dims, output_dims):
    """``(equation, bias_axes)`` of a projection: the input's last ``bound_dims``
    axes contracted with the kernel's first ones, ``output_dims`` axes produced."""
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    free = "".join(next(letters) for _ in range(free_dims))
    bound = "".join(next(letters) for _ in range(bound_dims))
    out = "".join(next(letters) for _ in range(output_dims))
    return f"{free}{bound},{bound}{out}->{free}{out}", out


def sublayer_kwargs(layer):
    """Each projection gets its own copy of the initializers (as Keras: a seeded
    initializer object is not shared) and the layer's regularizers and constraints."""
    kwargs = {name: getattr(layer, name) for name in SUBLAYER_ARGS}
    for name in ("kernel_initializer", "bias_initializer"):
        init = kwargs[name]
        kwargs[name] = init.clone() if hasattr(init, "clone") else init
    kwargs["dtype"] = layer.dtype_policy
    return kwargs


def set_projection_options(layer, seed, flash_attention, activity_regularizer, **objects):
    """The options MultiHeadAttention and GroupQueryAttention share: the seed, flash
    attention (refused with dropout, as Keras does), the projections' initializers,
    regularizers and constraints."""
    layer.seed = check.seed(layer, seed)
    layer._flash_attention = flash_attention if flash_attention is not None \
        else global_state.flash_attention
    if layer._flash_attention and layer.dropout > 0:
        raise ValueError("Dropout is not supported when flash attention is enabled. "
                         "Please set dropout to 0.0 to use flash attention.")
    common.set_objects(layer, activity_regularizer=None, **objects)
    # Keras hands the activity regularizer to the projections; the layer itself adds no
    # loss of its own (its `activity_regularizer` attribute stays None).
    layer._projection_activity_regularizer = regularizers.get(activity_regularizer)
    layer.supports_masking = True
    layer._projections_built = False


def optional_positive_int(owner, name, value):
    return None if value is None else check.positive_int(owner, name, value)


@registry.builtin
class MultiHeadAttention(Layer):
    """Multi-head attention: ``softmax(Q K^T / sqrt(key_dim)) V`` per head, projected back.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (``key_dim`` by default).
        dropout: dropout rate on the attention probabilities.
        use_bias: whether the projections have biases.
        output_shape: the output's trailing shape (an int or tuple); by default
            the query's last dimension.
        attention_axes: axes of the inputs attention runs over (default: all
            but the batch and the features).
        sliding_window: if set, query i sees keys within ``sliding_window - 1``.
        flash_attention: None (the fused kernel where it applies), True (demand
            it: dropout and returned scores are then refused) or False.
        kernel_initializer / bias_initializer / kernel_regularizer /
            bias_regularizer / activity_regularizer / kernel_constraint /
            bias_constraint: passed to the projections.
        use_gate: gate the attention output by ``sigmoid(query projection)``.
        seed: seed of the dropout.

    Call arguments: ``query`` ``(B, T, dim)``, ``value`` ``(B, S, dim)``,
    ``key`` (``value`` by default), ``attention_mask`` (boolean ``(B, T, S)``,
    True = may attend), ``return_attention_scores``, ``training``,
    ``use_causal_mask``; ``query_mask``/``value_mask``/``key_mask`` come from the
    inputs' masks (``Embedding(mask_zero=True)``) and combine with the rest by AND.
    The output carries the query's mask.
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = check.positive_int(self, "num_heads", num_heads)
        self.key_dim = check.positive_int(self, "key_dim", key_dim)
        self.value_dim = optional_positive_int(self, "value_dim", value_dim) or self.key_dim
        self.dropout = check.rate(self, "dropout", dropout)
        self.use_bias = bool(use_bias)
        self.use_gate = bool(use_gate)
        self._output_shape = None
        if output_shape is not None and (not isinstance(output_shape, (list, tuple))
                                         or len(output_shape)):
            dims = (output_shape,) if check.is_integer(output_shape) \
                else check.as_tuple(output_shape)
            if dims is None or not all(check.is_integer(d) and d > 0 for d in dims):
                raise ValueError("MultiHeadAttention: output_shape must be a positive integer or "
                                 "a tuple of positive integers; received "
                                 f"output_shape={output_shape!r}")
            self._output_shape = tuple(int(d) for d in dims)
        if attention_axes is not None:
            attention_axes = check.int_list(self, "attention_axes", attention_axes)
            attention_axes = tuple([attention_axes] if isinstance(attention_axes, int)
                                   else attention_axes)
        self.attention_axes = attention_axes
        self.sliding_window = optional_positive_int(self, "sliding_window", sliding_window)
        set_projection_options(
            self, seed, flash_attention, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)

    # Keras builds from (query, value, key) shapes; the engine builds a layer from its
    # first input only, so the projections are made at the first call (or by an
    # explicit build with all shapes).
    def build(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is not None:
            self._build_projections(query_shape, value_shape, key_shape)
        self.built = True

    def _build_projections(self, query_shape, value_shape, key_shape=None):
        if self._projections_built:
            return
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError("All dimensions of `value` and `key`, except the last one, must "
                             f"be equal. Received: value_shape={value_shape} and "
                             f"key_shape={key_shape}")
        kwargs = sublayer_kwargs(self)
        kwargs["activity_regularizer"] = self._projection_activity_regularizer
        bias = self.use_bias

        def projection(name, rank, heads_dim, input_shape, activation=None):
            equation, bias_axes = projection_equation(rank - 1, 1, 2)
            layer = EinsumDense(equation, output_shape=[None] * (rank - 2)
                                + [self.num_heads, heads_dim],
                                bias_axes=bias_axes if bias else None, name=name,
                                activation=activation, **kwargs)
            layer._maybe_build(input_shape)
            return layer

        # Assignment order is Keras' weight order: query, key, (gate), value, output.
        self.query_dense = projection("query", len(query_shape), self.key_dim, query_shape)
        self.key_dense = projection("key", len(key_shape), self.key_dim, key_shape)
        if self.use_gate:
            self.gate_dense = projection("gate", len(query_shape), self.value_dim, query_shape,
                                         activation="sigmoid")
        self.value_dense = projection("value", len(value_shape), self.value_dim, value_shape)
        rank = len(query_shape) + 1  # of the projected tensors
        if self.attention_axes is None:
            self._axes = tuple(range(1, rank - 2))
        else:
            self._axes = tuple(a if a >= 0 else rank - 1 + a for a in self.attention_axes)
        if self.dropout > 0:
            self.dropout_layer = Dropout(self.dropout, seed=self.seed, dtype=self.dtype_policy,
                                         name=f"{self.name}_dropout")
        out_dims = self._output_shape or (query_shape[-1],)
        equation, bias_axes = projection_equation(len(query_shape) - 1, 2, len(out_dims))
        self.output_dense = EinsumDense(
            equation, output_shape=[None] * (len(query_shape) - 2) + list(out_dims),
            bias_axes=bias_axes if bias else None, name="attention_output", **kwargs)
        self.output_dense._maybe_build(query_shape[:-1] + (self.num_heads, self.value_dim))
        self._projections_built = True

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        if key is None:
            key = value
        if self._flash_attention and return_attention_scores:
            raise ValueError("Returning attention scores is not supported when flash "
                             "attention is enabled. Please disable flash attention to access "
                             "attention scores.")
        self._build_projections(query.shape, value.shape, key.shape)
        # Causal alone goes to the fused kernel's causal flag, as in Keras.
        causal_only = use_causal_mask and self.sliding_window is None and all(
            m is None for m in (query_mask, value_mask, key_mask, attention_mask))
        mask = None if causal_only else attn.combine_masks(
            query, value, query_mask, value_mask, key_mask, attention_mask,
            use_causal_mask, self.sliding_window)
        gate = self.gate_dense(query) if self.use_gate else None
        q = self.query_dense(query)  # (B, T, heads, key_dim)
        k = self.key_dense(key)  # (B, S, heads, key_dim)
        v = self.value_dense(value)  # (B, S, heads, value_dim)
        out, scores = attn.attend(
            q, k, v, mask, 1.0 / math.sqrt(self.key_dim), attention_axes=self._axes,
            dropout=self.dropout_layer if self.dropout > 0 else None, training=training,
            return_scores=return_attention_scores, causal_only=causal_only,
            flash_attention=self._flash_attention)
        if gate is not None:
            out = out * gate
        out = self.output_dense(out)
        if return_attention_scores:
            return out, scores
        return out

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        if self._output_shape:
            return query_shape[:-1] + tuple(self._output_shape)
        return query_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads, key_dim=self.key_dim, value_dim=self.value_dim,
            dropout=self.dropout, use_bias=self.use_bias, use_gate=self.use_gate,
            output_shape=None if self._output_shape is None else list(self._output_shape),
            attention_axes=None if self.attention_axes is None else list(self.attention_axes),
            sliding_window=self.sliding_window)
        config.update(common.config_values(self, "kernel_initializer", "bias_initializer",
                                           "kernel_regularizer", "bias_regularizer"))
        config["activity_regularizer"] = regularizers.serialize(
            self._projection_activity_regularizer)
        config.update(common.config_values(self, "kernel_constraint", "bias_constraint"))
        config["seed"] = self.seed
        return config
