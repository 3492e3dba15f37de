"""tf.keras 2's HDF5 files: whole models (``model.save("m.h5")``) and weights
(``model.save_weights("w.h5")``).

A whole-model file keeps the architecture as JSON in the root attribute
``model_config``, the compile settings in ``training_config`` and the
weights in the group ``model_weights``, laid out as a weights-only file:
the attribute ``layer_names`` lists the layers, each layer's group lists
``weight_names`` and holds the arrays (in Keras' weight order, which is
ours). The config is tf.keras 2's dialect: a call is a list of
``[layer, node, tensor, kwargs]`` entries, an ``Input`` has a
``batch_input_shape``, and a few arguments Keras 3 dropped
(``Embedding(input_length)``, ``LSTM(implementation)``...) appear.

Read with the promises of the other formats: the file is checked as a
bounded regular file before HDF5 opens it, the JSON is bounded, every weight
is reached through hard links only and must be stored in the file
(``applications.keras_h5``'s checks), classes resolve in our registry only
(``Lambda`` bytecode is refused by the deserializer). The optimizer's saved
state is not read (a loaded model starts a fresh optimizer, with a warning).
"""

import os
import warnings

from .errors import ModelFileError, Problems
from .h5_checks import corrupt_as, h5py_module, read_group
from .keras_dialect import DialectError, from_keras
from .safe_io import MAX_JSON_BYTES, ReadError, open_regular_file, parse_json

SUFFIXES = (".h5", ".hdf5", ".keras.h5")
# tf.keras 2 arguments Keras 3 no longer has; they change nothing we compute.
_DROPPED = {"Embedding": ("input_length",),
            "LSTM": ("implementation", "time_major"), "GRU": ("implementation", "time_major"),
            "SimpleRNN": ("time_major",), "LSTMCell": ("implementation",),
            "GRUCell": ("implementation",)}


def is_legacy_path(path):
    lower = os.fspath(path).lower()
    return lower.endswith((".h5", ".hdf5")) and not lower.endswith(".weights.h5")


def is_legacy_file(path):
    """Whether an HDF5 weights file is tf.keras 2's (``layer_names``) rather than Keras
    3's store (``layers/.../vars``); both may be named ``.weights.h5``."""
    with _open(os.fspath(path)) as f, corrupt_as(ModelFileError, path, "the HDF5 file"):
        return "layer_names" in f.attrs or "model_weights" in f


def _open(path):
    try:
        open_regular_file(path).close()  # a bounded regular file (no FIFO, no device)
    except ReadError as e:
        raise ModelFileError(path, [str(e)]) from None
    try:
        return h5py_module().File(path, "r")
    except OSError as e:
        raise ModelFileError(path, [f"not a readable HDF5 file ({e})."]) from None


def _json_attr(f, name, path):
    value = f.attrs.get(name)
    if value is None:
        return None
    data = value if isinstance(value, bytes) else str(value).encode("utf-8")
    if len(data) > MAX_JSON_BYTES:
        raise ModelFileError(path, [f"the {name} attribute is over {MAX_JSON_BYTES:,} bytes."])
    try:
        return parse_json(data, name)
    except ReadError as e:
        raise ModelFileError(path, [str(e)]) from None


# -- the tf.keras 2 config dialect -------------------------------------------------
def _node(node, owner):
    """``[[layer, node, tensor, kwargs], ...]`` -> ``{"args", "kwargs"}``."""
    if not isinstance(node, list) or not node:
        raise DialectError(f"layer {owner!r}: an inbound node is not a non-empty list.")
    tensors, kwargs = [], {}
    for entry in node:
        if not isinstance(entry, list) or len(entry) not in (3, 4):
            raise DialectError(f"layer {owner!r}: inbound entry {entry!r} is not "
                               "[layer, node, tensor(, kwargs)].")
        tensors.append({"__tensor__": list(entry[:3])})
        if len(entry) == 4 and isinstance(entry[3], dict):
            kwargs = dict(entry[3])
    return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": kwargs}


def _layer(entry):
    entry = dict(entry)
    config = dict(entry.get("config") or {})
    name = entry.get("class_name")
    if "batch_input_shape" in config:
        shape = config.pop("batch_input_shape")
        if name == "InputLayer":
            config["batch_shape"] = shape
        else:  # the first layer of a Sequential carries its input shape
            entry["batch_shape"] = shape
    for key in _DROPPED.get(name, ()):
        config.pop(key, None)
    if name in ("Bidirectional", "TimeDistributed", "RNN") and isinstance(config.get("layer"),
                                                                           dict):
        config["layer"] = _layer(config["layer"])
    if isinstance(config.get("dtype"), dict) and config["dtype"].get("class_name") == "Policy":
        config["dtype"] = config["dtype"]["config"]["name"]
    entry["config"] = config
    if isinstance(entry.get("inbound_nodes"), list):
        entry["inbound_nodes"] = [n if isinstance(n, dict) else _node(n, config.get("name"))
                                  for n in entry["inbound_nodes"]]
    return entry


def from_tf2(model_config):
    """tf.keras 2's ``model_config`` -> our dialect."""
    config = dict(model_config)
    if config.get("class_name") == "Model":
        config["class_name"] = "Functional"
    inner = dict(config.get("config") or {})
    layers = [_layer(e) for e in inner.get("layers", [])]
    if config.get("class_name") == "Sequential" and layers and "batch_shape" in layers[0]:
        shape = layers[0].pop("batch_shape")
        layers.insert(0, {"class_name": "InputLayer",
                          "config": {"batch_shape": shape, "dtype": "float32",
                                     "name": f"{inner.get('name', 'sequential')}_input"}})
    for entry in layers:
        entry.pop("batch_shape", None)
    inner["layers"] = layers
    config["config"] = inner
    return from_keras(config)


# -- loading ---------------------------------------------------------------------------
def load_legacy_model(filepath, custom_objects=None, compile=True):
    """A model from a tf.keras 2 whole-model ``.h5`` file."""
    from ..engine.model import Model
    from ..engine.serialization import deserialize_layer
    from .compile_config import compile_from_config
    from .keras_file import unknown_classes

    path = os.fspath(filepath)
    problems = Problems(path)
    with _open(path) as f, corrupt_as(ModelFileError, path, "the HDF5 file"):
        model_config = _json_attr(f, "model_config", path)
        if model_config is None:
            problems.fail("this HDF5 file has no 'model_config': it holds weights only "
                          "(load them with model.load_weights) or is not a Keras file.")
        unknown = unknown_classes(model_config, custom_objects)
        if unknown:
            problems.fail("the model config names classes mlxfunctional does not have "
                          "(nothing was imported): " + ", ".join(unknown) + ".")
        try:
            ours = from_tf2(model_config)
            model = deserialize_layer({"class_name": ours["class_name"],
                                       "config": ours["config"]}, custom_objects)
        except Exception as e:  # anything a from_config may raise on bad data: one error
            problems.fail(f"the model config cannot be rebuilt: {type(e).__name__}: {e}")
        if not isinstance(model, Model):
            problems.fail(f"the config describes a {type(model).__name__}, not a model.")
        group = f.get("model_weights")
        if group is None and model.weights:
            problems.fail("the file has no 'model_weights' group.")
        if group is not None:
            _assign(model, _read_group(group, path), path, by_name=True)
        training = _json_attr(f, "training_config", path) if compile else None
    if training:
        _compile(model, training, custom_objects, path, compile_from_config)
    return model


def _tf2_metrics(value):
    """tf.keras 2 keeps metrics per output (``[[...]]`` for one output) and wraps
    functions as ``MeanMetricWrapper(fn=...)``: back to what ``compile`` was given."""
    if isinstance(value, list):
        if len(value) == 1 and isinstance(value[0], list):
            value = value[0]
        return [_tf2_metrics(v) for v in value]
    if isinstance(value, dict) and value.get("class_name") == "MeanMetricWrapper":
        config = value.get("config") or {}
        return config.get("name") if config.get("name") == "accuracy" else config.get("fn")
    return value


def _compile(model, training, custom_objects, path, compile_from_config):
    optimizer = dict(training.get("optimizer_config") or {})
    if str(optimizer.get("class_name", "")).startswith("Custom>"):  # tf.keras 2.11+'s
        optimizer["class_name"] = optimizer["class_name"][len("Custom>"):]  # new optimizers
    config = {"optimizer": optimizer, "loss": training.get("loss"),
              "metrics": _tf2_metrics(training.get("metrics")),
              "weighted_metrics": _tf2_metrics(training.get("weighted_metrics")),
              "loss_weights": training.get("loss_weights"),
              "run_eagerly": False, "jit_compile": True, "steps_per_execution": 1}
    try:
        compile_from_config(model, from_keras(config), custom_objects)
    except Exception as e:
        warnings.warn(f"{path!r}: loaded uncompiled; its training_config cannot be restored "
                      f"({type(e).__name__}: {e}).", stacklevel=3)
        return
    warnings.warn(f"{path!r}: compiled as saved; tf.keras 2's optimizer state is not read, "
                  "so training continues with a fresh optimizer state.", stacklevel=3)


def load_legacy_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Weights from a tf.keras 2 ``.h5`` (weights-only, or a whole model's).

    Args:
        by_name: match layers by name (layers not in the file keep their
            weights); otherwise in order, layers with weights against the file's.
        skip_mismatch: with ``by_name``, skip layers whose arrays don't fit (a
            warning names them) instead of failing.
    """
    path = os.fspath(filepath)
    with _open(path) as f, corrupt_as(ModelFileError, path, "the HDF5 file"):
        group = f["model_weights"] if "model_weights" in f else f
        stored = _read_group(group, path)
    _assign(model, stored, path, by_name, skip_mismatch)


def _read_group(group, path):
    try:
        return read_group(group, repr(path))
    except ModelFileError:
        raise
    except ValueError as e:
        raise ModelFileError(path, [str(e)]) from None


def _assign(model, stored, path, by_name, skip_mismatch=False):
    layers = [layer for layer in model.layers if layer.weights]  # (a nested model: one)
    problems, updates, skipped = [], [], []
    if by_name:
        pairs = [(l, stored[l.name]) for l in layers if l.name in stored]
    else:
        if len(stored) != len(layers):
            raise ModelFileError(path, [f"the file has weights for {len(stored)} layers, the "
                                        f"model has {len(layers)} layers with weights (pass "
                                        "by_name=True to match by name)."])
        pairs = list(zip(layers, stored.values()))
    for layer, arrays in pairs:
        expected = [tuple(w.shape) for w in layer.get_weights()]
        got = [tuple(a.shape) for a in arrays]
        if expected != got:
            (skipped if skip_mismatch else problems).append(
                f"layer {layer.name!r}: expected weights of shapes {expected}, the file holds "
                f"{got}.")
            continue
        updates.append((layer, arrays))
    if problems:
        raise ModelFileError(path, problems)
    if skipped:
        warnings.warn(f"{path!r}: skipped " + " ".join(skipped), stacklevel=3)
    for layer, arrays in updates:
        layer.set_weights(arrays)
