"""``keras.ops.nn.ctc_loss`` and ``ctc_decode`` (connectionist temporal classification).

``ctc_loss`` is the forward (alpha) recursion in log space over the label
sequence with blanks between and around the labels, one step per time step:
the time axis is static, so the loop unrolls into MLX ops that trace inside
compiled steps and keep gradients. Labels are user data, so they select
log-probabilities by comparison with the class indices, never by a gather.
"""

import mlx.core as mx
import numpy as np

from .. import backend
from .dtypes import convert_to_tensor
from .operation import keras_op
from .._ctc import ctc_negative_log_likelihood

__all__ = ["ctc_decode", "ctc_loss"]

def _float_logits(x):
    x = convert_to_tensor(x)
    if not backend.is_float_dtype(x.dtype) or x.dtype in (mx.float16, mx.bfloat16):
        x = x.astype(mx.float32)  # Keras computes CTC in (at least) float32
    return x


@keras_op
def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """-log P(target | output) per sample: the sum over all alignments of ``output``'s
    first ``output_length`` steps that collapse (merge repeats, drop blanks) to
    ``target``'s first ``target_length`` labels.

    Args:
        target: integer labels ``(batch, max_label_length)``.
        output: logits ``(batch, max_length, num_classes)`` (log-softmaxed here).
        target_length / output_length: ``(batch,)`` valid lengths.
        mask_index: the blank class.
    """
    output = _float_logits(output)
    target = convert_to_tensor(target).astype(mx.int32)
    target_length = convert_to_tensor(target_length).astype(mx.int32)
    output_length = convert_to_tensor(output_length).astype(mx.int32)
    if output.ndim != 3 or target.ndim != 2 or target.shape[0] != output.shape[0]:
        raise ValueError("ctc_loss: expected target (batch, max_label_length) and output "
                         f"(batch, max_length, num_classes). Received: target.shape="
                         f"{tuple(target.shape)}, output.shape={tuple(output.shape)}")
    return ctc_negative_log_likelihood(target, output, target_length, output_length,
                                       mask_index)


def _greedy(inputs, sequence_lengths, merge_repeated, mask_index):
    batch, steps, _ = inputs.shape
    if batch == 0 or steps == 0:  # MLX's argmax refuses empty inputs
        return (mx.zeros((1, batch, steps), dtype=mx.int32),
                mx.zeros((batch, 1), dtype=inputs.dtype))
    best = mx.argmax(inputs, axis=-1).astype(mx.int32)
    scores = mx.max(inputs, axis=-1)
    past_end = mx.arange(steps) >= mx.expand_dims(sequence_lengths, 1)
    best = mx.where(past_end, mask_index, best)
    scores = mx.where(past_end, 0, scores)
    if merge_repeated:
        repeat = mx.concatenate([mx.zeros((batch, 1), dtype=mx.bool_),
                                 best[:, 1:] == best[:, :-1]], axis=1)
        best = mx.where(repeat, mask_index, best)
    dropped = best == mask_index
    # Move the kept labels to the front, in order, and pad with -1: sort the
    # positions with dropped ones pushed past the end. (The argsort's indices are
    # in range by construction, so the gather is safe.)
    order = mx.argsort(mx.where(dropped, steps, mx.arange(steps)), axis=-1)
    decoded = mx.take_along_axis(mx.where(dropped, -1, best), order, axis=-1)
    return mx.expand_dims(decoded, 0), -mx.sum(scores, axis=1, keepdims=True)


def _beam_search(inputs, sequence_lengths, beam_width, top_paths, mask_index):
    """Prefix beam search, eagerly in numpy: which prefixes survive depends on the
    values, and MLX has no fixed-size ``unique`` to express that inside a compiled
    trace (Keras on JAX uses ``jnp.unique(size=...)``)."""
    try:
        log_probs = np.array(inputs - mx.logsumexp(inputs, axis=-1, keepdims=True),
                             np.float64)
        lengths = np.array(sequence_lengths)
    except ValueError as e:  # a tracer: inside mx.compile, grad or vmap
        raise ValueError("ctc_decode(strategy='beam_search') runs eagerly only: the beams "
                         "it keeps depend on the values. Call it outside compiled or "
                         "transformed functions, or use strategy='greedy'.") from e
    batch, steps, num_classes = log_probs.shape
    if top_paths > beam_width:
        raise ValueError(f"ctc_decode: top_paths ({top_paths}) must not exceed beam_width "
                         f"({beam_width}).")
    decoded = np.full((top_paths, batch, steps), -1, np.int32)
    scores = np.full((batch, top_paths), -np.inf, np.float32)
    for b in range(batch):
        best = _prefix_beams(log_probs[b, :lengths[b]], beam_width, mask_index)[:top_paths]
        for i, (prefix, score) in enumerate(best):
            decoded[i, b, :len(prefix)] = prefix
            scores[b, i] = score
    return mx.array(decoded), mx.array(scores)


def _prefix_beams(log_probs, beam_width, blank):
    """[(labels, log P(labels))] best first. Each beam keeps the log-probabilities of its
    alignments ending in a blank and in its last label, which decide how a repeated
    label extends it (only after a blank) or merges into it."""
    beams = {(): (0.0, -np.inf)}
    for step in log_probs:
        grown = {}

        def add(prefix, blank_end, label_end):
            old_b, old_l = grown.get(prefix, (-np.inf, -np.inf))
            grown[prefix] = (np.logaddexp(old_b, blank_end), np.logaddexp(old_l, label_end))

        for prefix, (p_blank, p_label) in beams.items():
            add(prefix, np.logaddexp(p_blank, p_label) + step[blank], -np.inf)
            for c in range(len(step)):
                if c == blank:
                    continue
                if prefix and prefix[-1] == c:
                    add(prefix + (c,), -np.inf, p_blank + step[c])
                    add(prefix, -np.inf, p_label + step[c])
                else:
                    add(prefix + (c,), -np.inf, np.logaddexp(p_blank, p_label) + step[c])
        ranked = sorted(grown.items(), key=lambda kv: -np.logaddexp(*kv[1]))
        beams = dict(ranked[:beam_width])
    ranked = sorted(beams.items(), key=lambda kv: -np.logaddexp(*kv[1]))
    return [(list(prefix), float(np.logaddexp(*p))) for prefix, p in ranked]


@keras_op
def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """Decodes ``(batch, max_length, num_classes)`` scores into label sequences.

    ``"greedy"``: the best class at each step, repeats merged (``merge_repeated``),
    blanks (``mask_index``) dropped, the labels moved to the front and padded with
    -1. Returns ``(decoded (1, batch, max_length), scores (batch, 1))``, the score
    being minus the sum of the chosen steps' values, as Keras.

    ``"beam_search"`` (eager only): the ``top_paths`` most probable labelings found
    by a prefix beam search of ``beam_width`` beams over ``log_softmax(inputs)``;
    returns ``(decoded (top_paths, batch, max_length), log-probabilities (batch,
    top_paths))``. Repeats are always merged.
    """
    inputs = _float_logits(inputs)
    sequence_lengths = convert_to_tensor(sequence_lengths).astype(mx.int32)
    if inputs.ndim != 3:
        raise ValueError("ctc_decode: inputs must be (batch, max_length, num_classes). "
                         f"Received: inputs.shape={tuple(inputs.shape)}")
    if mask_index is None:
        mask_index = inputs.shape[-1] - 1
    if strategy == "greedy":
        return _greedy(inputs, sequence_lengths, merge_repeated, mask_index)
    if strategy == "beam_search":
        return _beam_search(inputs, sequence_lengths, beam_width, top_paths, mask_index)
    raise ValueError(f"ctc_decode: invalid strategy {strategy!r}. Supported values are "
                     "'greedy' and 'beam_search'.")
