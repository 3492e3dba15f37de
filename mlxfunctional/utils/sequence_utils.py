"""``pad_sequences``: a list of variable-length sequences as one rectangular array."""

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pads (or cuts) each sequence to ``maxlen`` steps, as Keras' ``pad_sequences``.

    Sequences longer than ``maxlen`` lose steps at the start (``truncating="pre"``)
    or the end (``"post"``); shorter ones get ``value`` before (``padding="pre"``)
    or after (``"post"``) them. A step may itself be an array: every non-empty
    sequence's steps must then share the first one's shape.

    Args:
        sequences: a list (or any sized iterable) of sequences.
        maxlen: steps per row; default the longest sequence's length.
        dtype: dtype of the result; use ``object`` (or a numpy string dtype) for
            strings.
        padding: ``"pre"`` or ``"post"``.
        truncating: ``"pre"`` or ``"post"``.
        value: the padding value.

    Returns:
        A numpy array of shape ``(len(sequences), maxlen) + step_shape``.
    """
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: padding must be "pre" or "post". Received: {padding!r}')
    if truncating not in ("pre", "post"):
        raise ValueError('pad_sequences: truncating must be "pre" or "post". '
                         f"Received: {truncating!r}")
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: `sequences` must be a list of sequences. "
                         f"Received: {type(sequences).__name__}")
    lengths, step_shape = [], None
    for i, seq in enumerate(sequences):
        try:
            lengths.append(len(seq))
        except TypeError as e:
            raise ValueError(f"pad_sequences: `sequences` must be a list of sequences; item "
                             f"{i} is {seq!r}, which has no length.") from e
        if step_shape is None and len(seq):
            step_shape = np.asarray(seq).shape[1:]
    step_shape = step_shape or ()
    maxlen = max(lengths, default=0) if maxlen is None else int(maxlen)
    if maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be >= 0. Received: {maxlen}")
    string_dtype = dtype is not object and (np.issubdtype(dtype, np.str_)
                                            or np.issubdtype(dtype, np.bytes_))
    if isinstance(value, str) and dtype is not object and not string_dtype:
        raise ValueError(f"pad_sequences: a string `value` ({value!r}) needs dtype=object "
                         f"(or a numpy string dtype). Received: dtype={dtype!r}")
    out = np.full((len(lengths), maxlen) + step_shape, value, dtype=dtype)
    for i, seq in enumerate(sequences):
        n = min(len(seq), maxlen)
        if n == 0:
            continue
        kept = seq[len(seq) - n:] if truncating == "pre" else seq[:n]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != step_shape:
            raise ValueError(f"pad_sequences: the steps of sequence {i} have shape "
                             f"{kept.shape[1:]}; the first sequence's have {step_shape}.")
        if padding == "post":
            out[i, :n] = kept
        else:
            out[i, maxlen - n:] = kept
    return out
