"""The context managers Keras exports at the top level: ``name_scope`` and ``device``."""

import contextlib

import mlx.core as mx

from . import global_state


class name_scope:
    """``with keras.name_scope("block1"):`` groups what is created inside under a name.

    As in Keras, the paths of the variables created in the block start with it
    (``block1/dense/kernel``); layers being built or called are scopes on the same
    stack (``engine/variables.py``).

    Args:
        name: the scope's name (a non-empty string).
    """

    def __init__(self, name, **kwargs):
        if not isinstance(name, str) or not name:
            raise ValueError(f"name_scope: `name` must be a non-empty string. Received: "
                             f"name={name!r}")
        self.name = name

    def __enter__(self):
        global_state.name_scopes.append(self.name)
        return self

    def __exit__(self, *exc):
        global_state.name_scopes.pop()
        return False


def current_path():
    """The names of the open ``name_scope`` blocks joined by ``/`` (``""`` outside)."""
    return "/".join(global_state.name_scopes)


@contextlib.contextmanager
def device(device_name):
    """``with keras.device("cpu"):`` runs the MLX ops of the block on that device.

    Args:
        device_name: ``"cpu"`` or ``"gpu"`` (Metal on a Mac, CUDA on Linux), with an
            optional index (``"gpu:0"``; MLX has one device of each kind). ``"cuda"``
            and ``"mps"`` name the GPU too.
    """
    if not isinstance(device_name, str):
        raise ValueError(f"device: `device_name` must be a string such as 'cpu' or 'gpu:0'. "
                         f"Received: {device_name!r}")
    kind, _, index = device_name.lower().partition(":")
    kinds = {"cpu": mx.cpu, "gpu": mx.gpu, "cuda": mx.gpu, "mps": mx.gpu}
    if kind not in kinds or index not in ("", "0"):
        raise ValueError(f"device: unknown device {device_name!r}. Expected 'cpu' or 'gpu' "
                         "(MLX has one device of each kind: index 0).")
    target = mx.Device(kinds[kind], 0)
    if not mx.is_available(target):
        raise ValueError(f"device: {device_name!r} is not available in this MLX build "
                         f"(devices: cpu{', gpu' if mx.is_available(mx.gpu) else ''}).")
    with mx.stream(target):
        yield
