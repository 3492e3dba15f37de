"""``keras.config``: the process-wide settings Keras code reads and sets.

The values live in ``global_state`` (``floatx``, ``epsilon``, ``interactive_logging``,
``dtype_policy``); this module is the public door to them.
"""

from . import global_state
from .backend import (backend, epsilon, floatx, image_data_format, set_epsilon, set_floatx,
                      set_image_data_format)
from .dtype_policies import dtype_policy, set_dtype_policy


def enable_interactive_logging():
    """Progress bars and messages print to the terminal (the default)."""
    global_state.interactive_logging = True


def disable_interactive_logging():
    """Progress bars and messages go to the ``mlxfunctional`` Python logger instead
    (at INFO level, final lines only), for jobs whose output is a log file."""
    global_state.interactive_logging = False


def is_interactive_logging_enabled():
    return global_state.interactive_logging


def enable_unsafe_deserialization():
    """Refused: there is nothing unsafe to enable.

    In Keras this lets ``load_model`` rebuild ``Lambda`` layers from pickled bytecode.
    A model file of this package holds data only (JSON and arrays); loading resolves
    class names through the registry and never runs code from a file, so no switch can
    make it. Register the class (``keras.saving.register_keras_serializable``) or pass
    it in ``custom_objects`` instead.
    """
    raise ValueError(
        "enable_unsafe_deserialization() is not available: mlxfunctional model files never "
        "hold code (no pickled functions or Lambda bytecode), so there is no unsafe mode to "
        "enable. Register custom classes with keras.saving.register_keras_serializable() or "
        "pass them in custom_objects.")


def set_backend(name):
    """Accepts ``"mlx"``, the only backend; any other name is an error."""
    if name != "mlx":
        raise ValueError(f"mlxfunctional runs only on MLX; cannot set the backend to {name!r}.")


def is_nnx_enabled():
    """False: Flax NNX is a JAX feature."""
    return False


__all__ = [
    "backend", "disable_interactive_logging", "dtype_policy", "enable_interactive_logging",
    "enable_unsafe_deserialization", "epsilon", "floatx", "image_data_format",
    "is_interactive_logging_enabled", "is_nnx_enabled", "set_backend", "set_dtype_policy",
    "set_epsilon", "set_floatx", "set_image_data_format",
]
