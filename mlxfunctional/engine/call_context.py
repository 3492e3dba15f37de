"""The layer calls in progress: the ``training`` flag they pass down, and the
forward pass they belong to.

A model called with ``training=True`` runs its sublayers in training mode
unless a sublayer's call says otherwise, as in Keras. An outermost call (no
layer call in progress) starts a new forward pass: losses a layer adds in
``call`` belong to one pass, so a layer called twice in it (a shared layer)
keeps both calls' losses, and the next pass starts afresh (``weights.py``).
"""

import contextlib

from .. import global_state

_STACK = global_state.training_stack  # innermost last
_PASSES = global_state.forward_passes  # [number of outermost calls so far]


def training():
    """The innermost explicit ``training`` value, or None (inference)."""
    return _STACK[-1]


def forward_pass():
    """The id of the forward pass in progress (of the last one between calls)."""
    return _PASSES[0]


@contextlib.contextmanager
def call_scope(training):
    """One layer call: inherits ``training`` when it is None; an outermost call
    starts a new forward pass. Yields the pass's id."""
    if len(_STACK) == 1:
        _PASSES[0] += 1
    _STACK.append(training if training is not None else _STACK[-1])
    try:
        yield _PASSES[0]
    finally:
        _STACK.pop()
