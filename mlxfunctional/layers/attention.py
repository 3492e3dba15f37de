"""Attention (Luong-style dot product) and AdditiveAttention (Bahdanau-style).

Both are called on a list ``[query, value]`` or ``[query, value, key]``
(``key`` defaults to ``value``) of shapes ``(B, Tq, dim)``, ``(B, Tv, dim)``
and return ``(B, Tq, dim)``: ``softmax(scores) @ value``. A mask list
``[query_mask, value_mask]`` (from the inputs' masks in a graph) hides padded
values (their scores lose 1e9 before the softmax) and zeroes the outputs of
padded queries; the output carries the query's mask.

The attention is composed from matmuls and a softmax, not MLX's fused kernel:
these layers return the distribution on request, learn a scale applied before the
softmax, and offset masked scores by -1e9 (a fully masked row keeps the softmax of
its raw scores, where the fused kernel's fill would average the values).
"""

import mlx.core as mx

from ..engine import argument_validation as check
from ..engine.layer import Layer
from .. import registry
from .attention_common import causal_mask
from .regularization import Dropout

_SCORE_MODES = ("dot", "concat")


@registry.builtin
class Attention(Layer):
    """Dot-product attention: ``scores = query @ key^T`` (times ``scale`` if used).

    Args:
        use_scale: learn a scalar ``scale`` multiplying the scores.
        score_mode: ``"dot"`` (query-key dot products) or ``"concat"``
            (``concat_score_weight * sum(tanh(scale * (query + key)))``).
        dropout: dropout rate on the attention distribution.
        seed: seed of the dropout.

    Call arguments: ``inputs`` (list), ``mask`` (list), ``training``,
    ``return_attention_scores`` (also return the ``(B, Tq, Tv)`` distribution),
    ``use_causal_mask``. Weights: ``scale`` ``()`` with ``use_scale``, then
    ``concat_score_weight`` ``()`` in concat mode.
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = bool(use_scale)
        if score_mode not in _SCORE_MODES:
            raise ValueError("Invalid value for argument score_mode. Expected one of "
                             f"{{'dot', 'concat'}}. Received: score_mode={score_mode}")
        self.score_mode = score_mode
        self.dropout = check.rate(self, "dropout", dropout)
        self.seed = check.seed(self, seed)
        if self.dropout > 0:
            self.dropout_layer = Dropout(self.dropout, seed=self.seed, name=f"{self.name}_dropout")
        self.supports_masking = True

    def build(self, input_shape):
        _validate(self, input_shape)
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(name="concat_score_weight", shape=(),
                                                       initializer="ones")
        self.built = True

    def _scores(self, query, key):
        if self.score_mode == "dot":
            scores = query @ mx.swapaxes(key, -2, -1)
            return scores * self["scale"] if self.use_scale else scores
        pairs = mx.expand_dims(query, -2) + mx.expand_dims(key, -3)  # (B, Tq, Tv, dim)
        if self.use_scale:
            pairs = self["scale"] * pairs
        return self["concat_score_weight"] * mx.sum(mx.tanh(pairs), axis=-1)

    def call(self, inputs, mask=None, training=None, return_attention_scores=False,
             use_causal_mask=False):
        _validate(self, inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask = mask[0] if mask else None
        value_mask = mask[1] if mask else None
        scores = self._scores(query, key)
        keep = None if value_mask is None else mx.expand_dims(value_mask.astype(mx.bool_), -2)
        if use_causal_mask:
            band = causal_mask(scores.shape[-2], scores.shape[-1])
            keep = band if keep is None else keep & band
        if keep is not None:
            # Keras subtracts a large number (not a -inf fill): a fully masked row
            # keeps the softmax of its raw scores.
            big = 65504.0 if scores.dtype == mx.float16 else 1.0e9
            scores = mx.where(keep, scores, scores - big)
        weights = mx.softmax(scores, axis=-1, precise=True)
        dropped = weights
        if self.dropout > 0:
            dropped = self.dropout_layer(weights, training=training)
        output = dropped @ value
        if query_mask is not None:
            output = mx.where(mx.expand_dims(query_mask.astype(mx.bool_), -1), output, 0)
        if return_attention_scores:
            return output, weights
        return output

    def compute_mask(self, inputs, mask=None):
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def get_config(self):
        config = super().get_config()
        config.update(use_scale=self.use_scale, score_mode=self.score_mode,
                      dropout=self.dropout, seed=self.seed)
        return config


@registry.builtin
class AdditiveAttention(Attention):
    """Additive attention: ``scores = sum(scale * tanh(query + key), axis=-1)``.

    Args:
        use_scale: learn a ``scale`` vector ``(dim,)`` (glorot-uniform), True by default.
        dropout: dropout rate on the attention distribution.
        seed: seed of the dropout.

    Call arguments as Attention. Weight: ``scale`` ``(dim,)`` with ``use_scale``.
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        kwargs.pop("score_mode", None)
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        _validate(self, input_shape)
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(input_shape[0][-1],),
                                         initializer="glorot_uniform")
        self.built = True

    def _scores(self, query, key):
        pairs = mx.tanh(mx.expand_dims(query, -2) + mx.expand_dims(key, -3))  # (B, Tq, Tv, dim)
        if self.use_scale:
            pairs = self["scale"] * pairs
        return mx.sum(pairs, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config


def _validate(layer, inputs, mask=None):
    name = type(layer).__name__
    if not isinstance(inputs, (list, tuple)):
        raise ValueError(f"{name} layer must be called on a list of inputs, namely [query, "
                         f"value] or [query, value, key]. Received: inputs={inputs}.")
    if len(inputs) < 2 or len(inputs) > 3:
        raise ValueError(f"{name} layer accepts inputs list of length 2 or 3, namely [query, "
                         f"value] or [query, value, key]. Received length: {len(inputs)}.")
    if mask is not None:
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"{name} layer mask must be a list, namely [query_mask, "
                             f"value_mask]. Received: mask={mask}.")
        if len(mask) < 2 or len(mask) > 3:
            raise ValueError(f"{name} layer accepts mask list of length 2 or 3. "
                             f"Received: inputs={inputs}, mask={mask}.")
