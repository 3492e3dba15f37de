"""ReversibleEmbedding: an Embedding that can also map vectors back to logits over
the vocabulary (the tied input/output embedding of language models)."""


import mlx.core as mx

from .. import backend
from ..engine import argument_validation as check
from .. import registry
from .core import Embedding


@registry.builtin
class ReversibleEmbedding(Embedding):
    """``embeddings[ids]`` forwards; ``inputs @ embeddings^T`` with ``reverse=True``.

    Args:
        input_dim, output_dim, embeddings_initializer, embeddings_regularizer,
            embeddings_constraint, mask_zero: as Embedding.
        tie_weights: reverse with the transposed ``embeddings`` (True) or with a
            separate ``reverse_embeddings`` weight ``(output_dim, input_dim)``.
        reverse_dtype: dtype the reverse matmul runs in (None: the inputs').
        logit_soft_cap: if set, reverse logits become ``cap * tanh(logits / cap)``.

    Call: ``layer(ids)`` -> ``(..., output_dim)`` (masked where ``ids == 0`` with
    ``mask_zero``); ``layer(vectors, reverse=True)`` -> ``(..., input_dim)`` logits.
    """

    def __init__(self, input_dim, output_dim, tie_weights=True, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 reverse_dtype=None, logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer,
                         embeddings_constraint=embeddings_constraint, mask_zero=mask_zero,
                         **kwargs)
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = None if reverse_dtype is None else \
            backend.standardize_dtype(reverse_dtype)
        self.logit_soft_cap = None if logit_soft_cap is None else \
            check.real(self, "logit_soft_cap", logit_soft_cap)
        self._reverse_call = False

    def build(self, input_shape=None):
        if self.built:
            return
        super().build(input_shape)
        if not self.tie_weights:
            # Keras gives it the embeddings' initializer only (no regularizer, no constraint).
            self.reverse_embeddings = self.add_weight(
                shape=(self.output_dim, self.input_dim), name="reverse_embeddings",
                initializer=self.embeddings_initializer)
        self.built = True

    def call(self, inputs, reverse=False):
        # Read by compute_mask, which the engine calls right after call: a reverse
        # call makes logits, which carry no mask.
        object.__setattr__(self, "_reverse_call", bool(reverse))
        if not reverse:
            return super().call(inputs)
        kernel = self["embeddings"].T if self.tie_weights else self["reverse_embeddings"]
        if self.reverse_dtype is not None:
            dtype = backend.mlx_dtype(self.reverse_dtype)
            inputs, kernel = inputs.astype(dtype), kernel.astype(dtype)
        logits = inputs @ kernel
        if self.logit_soft_cap is not None:
            logits = self.logit_soft_cap * mx.tanh(logits / self.logit_soft_cap)
        return logits

    def compute_mask(self, inputs, mask=None):
        if self._reverse_call:
            return None
        return super().compute_mask(inputs, mask)

    def get_config(self):
        config = super().get_config()
        config.update(tie_weights=self.tie_weights, reverse_dtype=self.reverse_dtype,
                      logit_soft_cap=self.logit_soft_cap)
        return config
