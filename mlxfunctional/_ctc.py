"""The CTC forward (alpha) recursion on MLX arrays: a leaf module shared by
``ops.ctc_loss`` and the ``CTC`` loss (which must not import the ops package).

The recursion runs in log space over the label sequence with blanks between
and around the labels, one step per time step: the time axis is static, so
the loop unrolls into MLX ops that trace inside compiled steps and keep
gradients. Labels are user data, so they select log-probabilities by
comparison with the class indices, never by a gather.
"""

import mlx.core as mx

# log(0) stand-in: finite, so logaddexp of two impossible paths has a gradient (0), not NaN.
_LOG_ZERO = -1e30


def ctc_negative_log_likelihood(target, output, target_length, output_length, mask_index=0):
    """-log P(target | output) per sample.

    Args:
        target: int32 labels ``(batch, max_label_length)``.
        output: float logits ``(batch, max_length, num_classes)`` (log-softmaxed here).
        target_length, output_length: int32 ``(batch,)`` valid lengths.
        mask_index: the blank class.
    """
    batch, steps, num_classes = output.shape
    labels = target.shape[1]
    if batch == 0 or steps == 0:  # MLX reductions refuse empty inputs
        return mx.zeros((batch,), dtype=output.dtype)
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
    # Label states are told by position (odd), not by value: a label equal to the blank
    # inside the first target_length labels then stays a state of its own, as in Keras
    # (optax's recursion), instead of merging with the blanks around it.
    is_label_state = mx.arange(2, states) % 2 == 1
    skip_ok = mx.concatenate([
        mx.zeros((batch, 2), dtype=mx.bool_),
        is_label_state & (extended[:, 2:] != extended[:, :-2])], axis=1)
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
