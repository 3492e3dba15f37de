"""``keras.config``: the process-wide settings Keras code reads and sets.

The values live in ``global_state`` (``floatx``, ``epsilon``, ``interactive_logging``,
``dtype_policy``, ``flash_attention``, ``max_epochs``...); this module is the public
door to them.
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


def enable_flash_attention():
    """Attention ops and layers use MLX's fused kernel (``mx.fast.scaled_dot_product_attention``)
    wherever its semantics match (the default)."""
    global_state.flash_attention = None


def disable_flash_attention():
    """Attention is always composed of plain MLX ops (``dot_product_attention``'s
    ``flash_attention=None`` then means False)."""
    global_state.flash_attention = False


def is_flash_attention_enabled():
    """``False`` once disabled, else ``None`` (used where it applies), as Keras answers."""
    return global_state.flash_attention


def enable_traceback_filtering():
    """Accepted for Keras scripts. mlxfunctional never filters tracebacks (its errors
    name the layer and shapes instead), so the setting is only recorded."""
    global_state.traceback_filtering = True


def disable_traceback_filtering():
    """Accepted for Keras scripts; see ``enable_traceback_filtering``."""
    global_state.traceback_filtering = False


def is_traceback_filtering_enabled():
    return global_state.traceback_filtering


def set_max_epochs(max_epochs):
    """Caps the epochs of every ``fit`` (None: no cap), e.g. for a quick run of a long
    script; ``KERAS_MAX_EPOCHS`` sets it from the environment."""
    global_state.max_epochs = _positive_or_none(max_epochs, "max_epochs")


def max_epochs():
    return global_state.max_epochs


def set_max_steps_per_epoch(max_steps_per_epoch):
    """Caps the steps per epoch of every ``fit``, ``evaluate`` and ``predict`` (None: no
    cap); ``KERAS_MAX_STEPS_PER_EPOCH`` sets it from the environment."""
    global_state.max_steps_per_epoch = _positive_or_none(max_steps_per_epoch,
                                                         "max_steps_per_epoch")


def max_steps_per_epoch():
    return global_state.max_steps_per_epoch


def _positive_or_none(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int or None; received {value!r}.")
    return value


def set_backend(name):
    """Accepts ``"mlx"``, the only backend; any other name is an error."""
    if name != "mlx":
        raise ValueError(f"mlxfunctional runs only on MLX; cannot set the backend to {name!r}.")


def is_nnx_enabled():
    """False: Flax NNX is a JAX feature."""
    return False


__all__ = [
    "backend", "disable_flash_attention", "disable_interactive_logging",
    "disable_traceback_filtering", "dtype_policy", "enable_flash_attention",
    "enable_interactive_logging", "enable_traceback_filtering", "enable_unsafe_deserialization",
    "epsilon", "floatx", "image_data_format", "is_flash_attention_enabled",
    "is_interactive_logging_enabled", "is_nnx_enabled", "is_traceback_filtering_enabled",
    "max_epochs", "max_steps_per_epoch", "set_backend", "set_dtype_policy", "set_epsilon",
    "set_floatx", "set_image_data_format", "set_max_epochs", "set_max_steps_per_epoch",
]
