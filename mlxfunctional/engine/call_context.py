"""The ``training`` flag in effect, inherited by nested layer calls.

A model called with ``training=True`` runs its sublayers in training mode
unless a sublayer's call says otherwise, as in Keras.
"""

import contextlib

from .. import global_state

_STACK = global_state.training_stack  # innermost last


def training():
    """The innermost explicit ``training`` value, or None (inference)."""
    return _STACK[-1]


@contextlib.contextmanager
def training_scope(value):
    _STACK.append(value if value is not None else _STACK[-1])
    try:
        yield
    finally:
        _STACK.pop()
