"""``keras.ops.nn.ctc_loss`` and ``ctc_decode`` (connectionist temporal classification).

``ctc_loss`` is the forward (alpha) recursion in log space over the label
sequence with blanks between and around the labels, one step per time step:
the time axis is static, so the loop unrolls into MLX ops that trace inside
compiled steps and keep gradients. Labels are user data, so they select
log-probabilities by comparison with the class indices, never by a gather.
"""

import mlx.core as mx

from .. import backend
from .dtypes import convert_to_tensor
from .operation import keras_op

__all__ = ["ctc_decode", "ctc_loss"]

# log(0) stand-in: finite, so logaddexp of two impossible paths has a gradient (0), not NaN.
_LOG_ZERO = -1e30


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
    batch, steps, num_classes = output.shape
    labels = target.shape[1]
    log_probs = output - mx.logsumexp(output, axis=-1, keepdims=True)

    # The extended sequence: blank, l1, blank, l2, ..., lL, blank (2L + 1 states).
    states = 2 * labels + 1
    blanks = mx.full((batch, labels + 1), mask_index, dtype=mx.int32)
    extended = mx.concatenate([mx.stack([blanks[:, :-1], target], axis=2).reshape(batch, -1),
                               blanks[:, -1:]], axis=1)
    # Emission log-probability of each state at each step: (batch, steps, states).
    is_class = mx.expand_dims(extended, -1) == mx.arange(num_classes)
    emit = mx.matmul(log_probs, mx.swapaxes(is_class.astype(log_probs.dtype), 1, 2))
    # A state may be entered from two states back when it is a label differing from
    # the label before it (skipping the blank between).
    skip_ok = mx.concatenate([
        mx.zeros((batch, 2), dtype=mx.bool_),
        (extended[:, 2:] != mask_index) & (extended[:, 2:] != extended[:, :-2])], axis=1)
    neg = mx.full((batch, 1), _LOG_ZERO, dtype=log_probs.dtype)

    state = mx.arange(states)
    alpha = mx.where(state < 2, emit[:, 0], _LOG_ZERO)
    for t in range(1, steps):
        stay = alpha
        step = mx.concatenate([neg, alpha[:, :-1]], axis=1)
        skip = mx.where(skip_ok, mx.concatenate([neg, neg, alpha[:, :-2]], axis=1), _LOG_ZERO)
        new = mx.logaddexp(mx.logaddexp(stay, step), skip) + emit[:, t]
        alpha = mx.where(mx.expand_dims(t < output_length, 1), new, alpha)

    # End in the last label or the blank after it: states 2 * length - 1 and 2 * length.
    last = mx.expand_dims(2 * target_length, 1)
    final = mx.where((state == last) | (state == last - 1), alpha, _LOG_ZERO)
    return -mx.logsumexp(final, axis=1)


def _greedy(inputs, sequence_lengths, merge_repeated, mask_index):
    batch, steps, _ = inputs.shape
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


@keras_op
def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """Decodes ``(batch, max_length, num_classes)`` scores into label sequences.

    ``"greedy"``: the best class at each step, repeats merged (``merge_repeated``),
    blanks (``mask_index``) dropped, the labels moved to the front and padded with
    -1. Returns ``(decoded (1, batch, max_length), scores (batch, 1))``, the score
    being minus the sum of the chosen steps' values, as Keras.
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
        # Keras' beam search keeps, per step, the best beams over a deduplicated set of
        # prefixes (jnp.unique with a fixed size); MLX has no such primitive, and an
        # eager numpy port is not written yet.
        raise NotImplementedError("ctc_decode(strategy='beam_search') is not implemented on "
                                  "MLX; use strategy='greedy'.")
    raise ValueError(f"ctc_decode: invalid strategy {strategy!r}. Supported values are "
                     "'greedy' and 'beam_search'.")
