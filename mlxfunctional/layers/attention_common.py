"""What the projected attention layers (MultiHeadAttention, GroupQueryAttention) share:
the boolean mask built from the inputs' masks, Keras' masked softmax, the einsum
equations of attention over arbitrary axes, and the dot-product attention itself.

Masks are True where a query may see a key. Two paths compute attention, as in
Keras 3 (and with its numbers):

- fused: ``mx.fast.scaled_dot_product_attention`` when no dropout is configured,
  the scores are not returned and the projected tensors are 4-D. A fully masked
  query row then averages the values (the masked logits are filled with
  ``-0.7 * max``), as Keras' ``dot_product_attention`` does (and as our
  ``ops.nn.dot_product_attention``, which the layers cannot import: ``ops``
  imports ``layers``);
- composed: einsum scores, masked softmax (masked logits ``-1e9``, then the
  masked probabilities set to 0, so a fully masked row gives 0), dropout on the
  probabilities, einsum with the values. The fused kernel cannot return the
  probabilities nor drop them out, hence this path for ``dropout > 0`` and
  ``return_attention_scores=True``.
"""

import string

import mlx.core as mx

from .. import global_state


def large_negative(dtype):
    """The logit Keras gives masked positions before a softmax (-1e9; -3e4 in float16)."""
    return -3e4 if dtype == mx.float16 else -1e9


def causal_mask(q_len, kv_len):
    """``(1, T, S)``: query i sees keys 0..i (aligned top-left, as Keras)."""
    return (mx.arange(q_len)[:, None] >= mx.arange(kv_len)[None, :])[None]


def sliding_window_mask(q_len, kv_len, window):
    """``(1, T, S)``: query i sees keys within ``window - 1`` positions of i."""
    return (mx.abs(mx.arange(q_len)[:, None] - mx.arange(kv_len)[None, :]) < window)[None]


def combine_masks(query, value, query_mask=None, value_mask=None, key_mask=None,
                  attention_mask=None, use_causal_mask=False, sliding_window=None):
    """One boolean ``(B, T, S)``-broadcastable mask, or None: the query's padding
    ``(B, T, 1)``, the value's and key's ``(B, 1, S)``, the causal and sliding-window
    bands ``(1, T, S)`` and ``attention_mask``, all ANDed (Keras' rules)."""
    parts = []
    if query_mask is not None:
        parts.append(mx.expand_dims(query_mask.astype(mx.bool_), -1))
    for m in (value_mask, key_mask):
        if m is not None:
            parts.append(mx.expand_dims(m.astype(mx.bool_), -2))
    if use_causal_mask:
        parts.append(causal_mask(query.shape[1], value.shape[1]))
    if sliding_window is not None:
        parts.append(sliding_window_mask(query.shape[1], value.shape[1], sliding_window))
    if attention_mask is not None:
        if not isinstance(attention_mask, mx.array):
            attention_mask = mx.array(attention_mask)
        parts.append(attention_mask.astype(mx.bool_))
    if not parts:
        return None
    mask = parts[0]
    for p in parts[1:]:
        mask = mask & p
    return mask


def masked_softmax(scores, mask, axes):
    """Keras' Softmax layer with a mask: masked logits -> -1e9, softmax over ``axes``,
    masked probabilities -> 0 (a fully masked row stays 0)."""
    if mask is not None:
        scores = mx.where(mask, scores, large_negative(scores.dtype))
    probs = mx.softmax(scores, axis=list(axes), precise=True)
    if mask is not None:
        probs = mx.where(mask, probs, 0.0).astype(scores.dtype)
    return probs


def attention_equations(rank, attention_axes):
    """``(dot, combine, scores_rank)`` einsum equations for projected tensors of
    ``rank`` ``(batch, <other dims>, <attention dims>, heads, channels)``.

    Every axis but the attention axes and the channels is a batch axis of the
    product (heads included): ``dot`` maps (key, query) to scores ``(<batch
    axes>, <query attention axes>, <key attention axes>)``, ``combine`` maps
    (probabilities, value) back to the query's layout.
    """
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch = [i for i in range(rank) if i not in attention_axes and i != rank - 1]
    source, extra = "", rank
    for i in range(rank):
        if i in attention_axes:
            source += letters[extra]
            extra += 1
        else:
            source += target[i]
    product = "".join([target[i] for i in batch] + [target[i] for i in attention_axes]
                      + [source[i] for i in attention_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


def expand_mask(mask, scores_rank, n_attention_axes):
    """Inserts axes into ``mask`` (before its query/key attention axes) until it has
    the scores' rank: a ``(B, T, S)`` mask broadcasts over the heads."""
    if mask is None:
        return None
    while mask.ndim < scores_rank:
        mask = mx.expand_dims(mask, -2 * n_attention_axes - 1)
    return mask


def fused_attention(query, key, value, mask, scale, causal, flash_attention=None):
    """``(B, T, heads, dim)`` attention through MLX's fused kernel (its layout is
    ``(B, heads, T, dim)``); grouped key/value heads are passed as they are."""
    dtype = query.dtype
    additive = None
    if causal:
        # MLX's "causal" aligns bottom-right; Keras aligns top-left: spelled out.
        mask = causal_mask(query.shape[1], key.shape[1])
    if mask is not None:
        mask = expand_mask(mask, 4, 1)
        additive = mx.where(mask, 0.0, -0.7 * float(mx.finfo(dtype).max)).astype(dtype)
    q, k, v = (mx.swapaxes(t, 1, 2) for t in (query, key, value))
    if flash_attention is None:
        flash_attention = global_state.flash_attention
    if flash_attention is False:  # keras.config.disable_flash_attention(): composed
        group = q.shape[1] // k.shape[1]
        if group > 1:
            k, v = mx.repeat(k, group, axis=1), mx.repeat(v, group, axis=1)
        scores = (q * scale) @ mx.swapaxes(k, 2, 3)
        if additive is not None:
            scores = scores + additive
        out = mx.softmax(scores, axis=-1, precise=True) @ v
    else:
        out = mx.fast.scaled_dot_product_attention(q, k, v, scale=scale, mask=additive)
    return mx.swapaxes(out, 1, 2)


def attend(query, key, value, mask, scale, *, attention_axes=(1,), dropout=None,
           training=None, return_scores=False, causal_only=False, flash_attention=None):
    """Dot-product attention of projected ``(B, ..., heads, dim)`` tensors.

    Args:
        mask: boolean, broadcastable to the scores once expanded (or None).
        scale: the factor of the query (``1 / sqrt(key_dim)``).
        dropout: a Dropout layer for the probabilities, or None (no dropout).
        return_scores: also return the probabilities (before dropout).
        causal_only: the only mask is the causal one (``mask`` is then None).

    Returns ``(output, probabilities or None)``.
    """
    rank = query.ndim
    if dropout is None and not return_scores and rank == 4 and tuple(attention_axes) == (1,):
        return fused_attention(query, key, value, mask, scale, causal_only, flash_attention), None
    if causal_only:  # the composed path needs it spelled out
        mask = causal_mask(query.shape[1], key.shape[1])
    dot, combine, scores_rank = attention_equations(rank, tuple(attention_axes))
    scores = mx.einsum(dot, key, query * mx.array(scale, dtype=query.dtype))
    n = len(attention_axes)
    probs = masked_softmax(scores, expand_mask(mask, scores_rank, n),
                           tuple(range(scores_rank - n, scores_rank)))
    dropped = probs if dropout is None else dropout(probs, training=training)
    return mx.einsum(combine, dropped, value), (probs if return_scores else None)
