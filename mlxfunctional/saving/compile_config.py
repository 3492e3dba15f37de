"""What ``compile()`` was given, as plain data, and back.

Saved: the optimizer's config (``optimizers.serialize``: class name and
arguments, including the current learning rate), the losses and metrics as
the user wrote them -- strings stay strings (so ``"accuracy"`` keeps meaning
"the accuracy that fits the loss"), objects become ``{"class_name",
"config"}``, functions their registered names -- and the plain options
(``loss_weights``, ``run_eagerly``...). Nothing is code: on load every name
resolves through the registry and ``custom_objects`` like a layer class.

A compile setting that cannot be written as data (a lambda loss, a raw
``mlx.optimizers`` optimizer without ``get_config``) makes ``save`` warn and
write the model without its training configuration.
"""

import json
import warnings

from .. import losses, metrics, optimizers
from ..optimizer_base import Optimizer
from .. import registry

_OPTIONS = ("run_eagerly", "jit_compile", "steps_per_execution")


class NotSerializable(ValueError):
    pass


def _encode(value, serialize, what):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_encode(v, serialize, what) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value) and \
            "class_name" not in value:
        return {k: _encode(v, serialize, what) for k, v in value.items()}
    if isinstance(value, dict):  # already a {"class_name", "config"} config
        return value
    try:
        return serialize(value)
    except (ValueError, TypeError, NotImplementedError) as e:
        raise NotSerializable(f"the {what} {value!r} cannot be saved as data ({e})") from None


def compile_config(model):
    """The model's compile settings as JSON-ready data, or None (not compiled, or not
    expressible as data: then a warning says the file will load uncompiled)."""
    raw = getattr(model, "_compile_config", None)
    if raw is None or getattr(model, "compiled_loss", None) is None:
        return None
    try:
        if not isinstance(model.optimizer, Optimizer):
            raise NotSerializable(
                f"the optimizer {type(model.optimizer).__name__} is not an "
                "mlxfunctional optimizer and has no config")
        config = {
            "optimizer": optimizers.serialize(model.optimizer),
            "loss": _encode(raw["loss"], losses.serialize, "loss"),
            "metrics": _encode(raw["metrics"], metrics.serialize, "metric"),
            "weighted_metrics": _encode(raw["weighted_metrics"], metrics.serialize, "metric"),
            "loss_weights": _encode(raw["loss_weights"], _refuse, "loss weight"),
        }
        config.update({k: raw[k] for k in _OPTIONS})
        json.dumps(config, allow_nan=True)
    except (NotSerializable, TypeError, ValueError) as e:
        warnings.warn(f'Model "{model.name}" is saved without its compile() settings and '
                      f"optimizer state: {e}. The loaded model will need compile() again.",
                      stacklevel=3)
        return None
    return config


def _refuse(value):
    raise ValueError("not a number")


def _decode(value, deserialize, output_names, custom_objects):
    if isinstance(value, list):
        return [_decode(v, deserialize, output_names, custom_objects) for v in value]
    if isinstance(value, dict):
        if "class_name" in value and "class_name" not in output_names:
            return deserialize(value, custom_objects)
        return {k: _decode(v, deserialize, output_names, custom_objects)
                for k, v in value.items()}
    return value


def compile_from_config(model, config, custom_objects=None):
    """Compiles ``model`` as ``config`` (from :func:`compile_config`) says."""
    if not isinstance(config, dict) or not isinstance(config.get("optimizer"), (dict, str)):
        raise ValueError("compile_config must be a dict with an optimizer config.")
    names = set(model._training_output_names())
    for key in _OPTIONS:
        value = config.get(key)
        if key == "steps_per_execution":
            if type(value) is not int or value < 1:
                raise ValueError(f"compile_config[{key!r}] must be a positive int; got {value!r}.")
        elif not isinstance(value, bool):
            raise ValueError(f"compile_config[{key!r}] must be true or false; got {value!r}.")
    with registry.custom_object_scope(custom_objects or {}):
        optimizer = optimizers.deserialize(config["optimizer"], custom_objects)
        loss = _decode(config.get("loss"), losses.deserialize, names, custom_objects)
        metric_list = _decode(config.get("metrics"), metrics.deserialize, names, custom_objects)
        weighted = _decode(config.get("weighted_metrics"), metrics.deserialize, names,
                           custom_objects)
        model.compile(optimizer=optimizer, loss=loss, metrics=metric_list,
                      loss_weights=config.get("loss_weights"), weighted_metrics=weighted,
                      **{k: config[k] for k in _OPTIONS})
