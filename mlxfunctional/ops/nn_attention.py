"""``keras.ops.nn.dot_product_attention`` on ``mx.fast.scaled_dot_product_attention``.

Keras' layout is ``(batch, seq, heads, dim)``, MLX's ``(batch, heads, seq,
dim)``: the op transposes in and out. Grouped-query attention (fewer key/value
heads than query heads) is MLX's too.
"""

import math

import mlx.core as mx

from .. import backend, global_state
from .dtypes import convert_to_tensor, result_type
from .operation import keras_op

__all__ = ["dot_product_attention"]


def _scores_mask(bias, mask, is_causal, q_len, kv_len, dtype):
    """One additive mask (or None) for the scores: bias, and a large negative number
    where ``mask`` is False or a key lies after its query (``is_causal``)."""
    keep = None if mask is None else convert_to_tensor(mask).astype(mx.bool_)
    if is_causal:
        # Keras aligns the causal mask top-left (query i sees keys 0..i); MLX's
        # "causal" string aligns it bottom-right, so it is spelled out here.
        causal = mx.arange(q_len)[:, None] >= mx.arange(kv_len)[None, :]
        keep = causal if keep is None else keep & causal
    additive = None if bias is None else convert_to_tensor(bias).astype(dtype)
    if keep is not None:
        # Keras' fill (-0.7 * the dtype's max): a fully masked row then averages the values.
        fill = -0.7 * float(mx.finfo(dtype).max)
        additive = mx.where(keep, 0 if additive is None else additive, fill).astype(dtype)
    return additive


@keras_op
def dot_product_attention(query, key, value, bias=None, mask=None, scale=None,
                          is_causal=False, flash_attention=None, attn_logits_soft_cap=None):
    """softmax(scale * Q K^T + bias, masked) V per head.

    Args:
        query: ``(batch, q_len, heads, dim)``; key, value: ``(batch, kv_len, kv_heads,
            dim)`` with ``heads`` a multiple of ``kv_heads``.
        bias: added to the scores, broadcastable to ``(batch, heads, q_len, kv_len)``.
        mask: boolean, True where a query may see a key, broadcastable likewise.
        scale: the scores' factor (default ``1 / sqrt(dim)``).
        is_causal: query i sees keys 0..i only.
        flash_attention: None/True use MLX's fused kernel; False composes the
            attention from matmuls and a softmax (the same numbers).
        attn_logits_soft_cap: scores become ``cap * tanh(scores / cap)`` before the
            bias and mask (Keras allows it on TPU only; here it is composed).
    """
    query, key, value = (convert_to_tensor(t) for t in (query, key, value))
    if query.ndim != 4 or key.ndim != 4 or value.ndim != 4:
        raise ValueError("dot_product_attention: only 4D inputs (batch, seq, heads, dim) are "
                         f"supported. Received: query.shape={tuple(query.shape)}, key.shape="
                         f"{tuple(key.shape)}, value.shape={tuple(value.shape)}")
    heads, kv_heads = query.shape[2], key.shape[2]
    if key.shape[:3] != value.shape[:3] or kv_heads == 0 or heads % kv_heads \
            or query.shape[-1] != key.shape[-1] or query.shape[0] != key.shape[0]:
        raise ValueError("dot_product_attention: expected key and value (batch, kv_len, "
                         "kv_heads, dim) with kv_heads dividing the query's heads and the "
                         f"query's dim. Received: query.shape={tuple(query.shape)}, "
                         f"key.shape={tuple(key.shape)}, value.shape={tuple(value.shape)}")
    dtype = backend.mlx_dtype(result_type(query.dtype, key.dtype, value.dtype))
    if not mx.issubdtype(dtype, mx.floating):
        dtype = backend.mlx_dtype(backend.floatx())
    q, k, v = (mx.swapaxes(t.astype(dtype), 1, 2) for t in (query, key, value))
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    additive = _scores_mask(bias, mask, is_causal, q.shape[2], k.shape[2], dtype)

    if flash_attention is None:  # keras.config.disable_flash_attention() says False
        flash_attention = global_state.flash_attention
    if attn_logits_soft_cap is None and flash_attention is not False:
        out = mx.fast.scaled_dot_product_attention(q, k, v, scale=scale, mask=additive)
        return mx.swapaxes(out, 1, 2)

    # The soft cap acts on the scores before the mask, which the fused kernel cannot
    # express: compose the attention (also the flash_attention=False path).
    group = heads // kv_heads
    if group > 1:
        k, v = mx.repeat(k, group, axis=1), mx.repeat(v, group, axis=1)
    scores = (q.astype(mx.float32) * scale) @ mx.swapaxes(k.astype(mx.float32), 2, 3)
    if attn_logits_soft_cap is not None:
        cap = float(attn_logits_soft_cap)
        scores = cap * mx.tanh(scores / cap)
    if additive is not None:
        scores = scores + additive.astype(mx.float32)
    probs = mx.softmax(scores, axis=-1).astype(dtype)
    return mx.swapaxes(probs @ v, 1, 2)
