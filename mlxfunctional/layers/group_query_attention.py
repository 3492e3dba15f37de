"""GroupQueryAttention (Ainslie et al., 2023): fewer key/value heads than query heads.

Weights, in Keras' order: ``query/kernel`` ``(d_model, num_query_heads, head_dim)``
(+ bias ``(num_query_heads, head_dim)``), ``key`` and ``value`` with
``num_key_value_heads``, then ``attention_output/kernel`` ``(num_query_heads,
head_dim, d_model)`` (+ bias ``(d_model,)``). Each key/value head serves
``num_query_heads // num_key_value_heads`` query heads; the fused kernel takes the
grouped heads as they are, the composed path repeats them.
"""

import math

import mlx.core as mx

from .. import regularizers
from ..engine import argument_validation as check
from ..engine.layer import Layer
from .. import registry
from . import attention_common as attn
from . import common
from .einsum_dense import EinsumDense
from .multi_head_attention import optional_positive_int, set_projection_options, sublayer_kwargs
from .regularization import Dropout


@registry.builtin
class GroupQueryAttention(Layer):
    """Grouped-query attention: ``softmax(Q K^T / sqrt(head_dim)) V`` with shared K/V heads.

    Args:
        head_dim: size of each attention head.
        num_query_heads: number of query heads.
        num_key_value_heads: number of key/value heads (divides ``num_query_heads``;
            1 is multi-query attention).
        dropout: dropout rate on the attention probabilities.
        use_bias: whether the projections have biases.
        sliding_window: if set, query i sees keys within ``sliding_window - 1``.
        flash_attention: None, True (dropout and returned scores refused) or False.
        kernel_initializer / bias_initializer / kernel_regularizer /
            bias_regularizer / activity_regularizer / kernel_constraint /
            bias_constraint: passed to the projections.
        use_gate: gate the attention output by ``sigmoid(query projection)``.
        seed: seed of the dropout.

    Call arguments as MultiHeadAttention (``(B, T, dim)`` query, ``(B, S, dim)``
    value and key); scores returned have shape ``(B, num_query_heads, T, S)``.
    """

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0,
                 use_bias=True, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.head_dim = check.positive_int(self, "head_dim", head_dim)
        self.num_query_heads = check.positive_int(self, "num_query_heads", num_query_heads)
        self.num_key_value_heads = check.positive_int(self, "num_key_value_heads",
                                                      num_key_value_heads)
        if self.num_query_heads % self.num_key_value_heads:
            raise ValueError("`num_query_heads` must be divisible by `num_key_value_heads`.")
        self.num_repeats = self.num_query_heads // self.num_key_value_heads
        self.dropout = check.rate(self, "dropout", dropout)
        self.use_bias = bool(use_bias)
        self.use_gate = bool(use_gate)
        self.sliding_window = optional_positive_int(self, "sliding_window", sliding_window)
        set_projection_options(
            self, seed, flash_attention, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)

    def build(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is not None:
            self._build_projections(query_shape, value_shape, key_shape)
        self.built = True

    def _build_projections(self, query_shape, value_shape, key_shape=None):
        if self._projections_built:
            return
        key_shape = value_shape if key_shape is None else key_shape
        self.feature_dim = int(query_shape[-1])
        kwargs = sublayer_kwargs(self)
        kwargs["activity_regularizer"] = self._projection_activity_regularizer
        bias = self.use_bias

        def projection(name, equation, heads, bias_axes, shape, activation=None):
            layer = EinsumDense(equation, output_shape=(None, heads, self.head_dim),
                                bias_axes=bias_axes if bias else None, name=name,
                                activation=activation, **kwargs)
            layer._maybe_build(tuple(shape))
            return layer

        # b batch, q/k query/key length, m model dim, u query heads, v kv heads, h head dim.
        self.query_dense = projection("query", "bqm,muh->bquh", self.num_query_heads, "uh",
                                      query_shape)
        self.key_dense = projection("key", "bkm,mvh->bkvh", self.num_key_value_heads, "vh",
                                    key_shape)
        if self.use_gate:
            self.gate_dense = projection("gate", "bqm,muh->bquh", self.num_query_heads, "uh",
                                         query_shape, activation="sigmoid")
        self.value_dense = projection("value", "bkm,mvh->bkvh", self.num_key_value_heads, "vh",
                                      value_shape)
        if self.dropout > 0:
            self.dropout_layer = Dropout(self.dropout, seed=self.seed, dtype=self.dtype_policy,
                                         name=f"{self.name}_dropout")
        self.output_dense = EinsumDense("bquh,uhm->bqm", output_shape=(None, self.feature_dim),
                                        bias_axes="m" if bias else None,
                                        name="attention_output", **kwargs)
        self.output_dense._maybe_build((None, None, self.num_query_heads, self.head_dim))
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
        causal_only = use_causal_mask and self.sliding_window is None and all(
            m is None for m in (query_mask, value_mask, key_mask, attention_mask))
        mask = None if causal_only else attn.combine_masks(
            query, value, query_mask, value_mask, key_mask, attention_mask,
            use_causal_mask, self.sliding_window)
        gate = self.gate_dense(query) if self.use_gate else None
        q = self.query_dense(query)  # (B, T, query heads, head_dim)
        k = self.key_dense(key)  # (B, S, kv heads, head_dim)
        v = self.value_dense(value)
        dropout = self.dropout_layer if self.dropout > 0 else None
        if dropout is not None or return_attention_scores:
            # The composed path works head by head: each kv head serves num_repeats
            # consecutive query heads.
            k = mx.repeat(k, self.num_repeats, axis=2)
            v = mx.repeat(v, self.num_repeats, axis=2)
        out, scores = attn.attend(
            q, k, v, mask, 1.0 / math.sqrt(self.head_dim), dropout=dropout, training=training,
            return_scores=return_attention_scores, causal_only=causal_only,
            flash_attention=self._flash_attention)
        if gate is not None:
            out = out * gate
        out = self.output_dense(out)
        if return_attention_scores:
            return out, scores
        return out

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        return tuple(query_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            head_dim=self.head_dim, num_query_heads=self.num_query_heads,
            num_key_value_heads=self.num_key_value_heads, use_bias=self.use_bias,
            use_gate=self.use_gate, sliding_window=self.sliding_window, dropout=self.dropout)
        config.update(common.config_values(self, "kernel_initializer", "bias_initializer",
                                           "kernel_regularizer", "bias_regularizer"))
        config["activity_regularizer"] = regularizers.serialize(
            self._projection_activity_regularizer)
        config.update(common.config_values(self, "kernel_constraint", "bias_constraint"))
        config["seed"] = self.seed
        return config

# Keras 3 files name the class by its Python name, GroupedQueryAttention.
registry.register_builtin(GroupQueryAttention, "GroupedQueryAttention")
