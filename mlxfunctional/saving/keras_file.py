"""Keras 3's ``.keras`` files: a zip of ``config.json``, ``metadata.json`` and
``model.weights.h5``.

Read with the same promises as our own format: the archive is opened through
``safe_io`` (a bounded regular file, members read by fixed names after the
size and compression checks), the JSON is bounded in size and depth, class
names resolve only in our registry (a ``module`` field is never imported),
and the weight store is read through ``keras_store`` (hard links and plain
datasets only). Every problem found is listed in one ``ModelFileError``.

Written so that Keras 3 loads it: Keras' config dialect (``keras_dialect``),
its weight store (``keras_store``) and a ``metadata.json`` naming the Keras
version whose format we write (``KERAS_VERSION``). The optimizer's state goes to
``optimizer/vars`` as Keras keeps it (``keras_optimizer``).
"""

import contextlib
import datetime
import io
import json
import os
import warnings
import zipfile

import numpy as np

from ..version import __version__
from . import atomic, keras_store, safe_io
from .errors import ModelFileError, Problems
from .h5_checks import corrupt_as, h5py_module
from .keras_dialect import DialectError, from_keras, to_keras
from .keras_optimizer import optimizer_vars, restore_optimizer_vars
from .safe_io import MAX_JSON_BYTES, ReadError, ZipReader, open_regular_file, parse_json

SUFFIX = ".keras"
KERAS_VERSION = "3.15.1"  # the Keras release whose .keras files we read and write
CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
_MEMBERS = (CONFIG, METADATA, WEIGHTS)


def is_keras_path(path):
    return os.fspath(path).lower().endswith(SUFFIX)


# -- reading -----------------------------------------------------------------
@contextlib.contextmanager
def _open_archive(path):
    """The ``.keras`` zip, opened once for the whole load, with one decompression
    budget for its members (``safe_io.Budget``)."""
    try:
        f = open_regular_file(path)
    except ReadError as e:
        raise ModelFileError(path, [str(e)]) from None
    with f:
        try:
            reader = ZipReader(f, "the .keras file", safe_io.Budget(os.fstat(f.fileno()).st_size))
        except ReadError as e:
            raise ModelFileError(path, [str(e)]) from None
        try:
            yield reader
        finally:
            reader.close()


def _read_json_members(reader, problems):
    problems.extend(f"the .keras file holds member {n!r} more than once."
                    for n in reader.duplicates())
    # assets/ holds files of layers we don't have (vocabularies of TF lookups).
    problems.extend(f"the .keras file has a member {n!r} mlxfunctional does not read."
                    for n in reader.names() if n not in _MEMBERS and not n.endswith("/"))
    parsed = {}
    for name in (CONFIG, METADATA):
        try:
            parsed[name] = parse_json(reader.read(name, MAX_JSON_BYTES), name)
        except ReadError as e:
            problems.add(str(e))
            continue
        if not isinstance(parsed[name], dict):
            problems.add(f"{name} does not hold a JSON object.")
    problems.raise_if_any()
    return parsed[CONFIG], parsed[METADATA]


def unknown_classes(config, custom_objects=None):
    """``["MultiHeadAttention (layer 'mha')", ...]``: every class a Keras config names
    that neither our registry, Keras' namespaces we mirror, ``custom_objects`` nor
    our ops know -- so one error lists them all."""
    from .. import registry
    from .keras_dialect import _snake_case, has_op
    from .serialization_lib import _namespaces

    known = set()
    for table in _namespaces().values():
        known.update(table)
    found = []

    def visit(value):
        if isinstance(value, list):
            for v in value:
                visit(v)
            return
        if not isinstance(value, dict):
            return
        name = value.get("class_name")
        if isinstance(name, str) and "config" in value and not name.startswith("__") \
                and name not in ("DTypePolicy", "FloatDTypePolicy"):
            module = str(value.get("module") or "")
            if module.startswith("keras.src.ops."):
                ok = has_op(_snake_case(name))
            else:
                ok = (name in known or name in (custom_objects or {})
                      or registry.get_registered_object(value.get("registered_name") or name,
                                                        custom_objects) is not None)
            if not ok:
                inner = value.get("config")
                label = inner.get("name") if isinstance(inner, dict) else None
                entry = f"{name} (layer {label!r})" if label else name
                if entry not in found:
                    found.append(entry)
        for v in value.values():
            visit(v)

    visit(config)
    return found


def load_keras_model(filepath, custom_objects=None, compile=True):
    """A model from a Keras 3 ``.keras`` file (see the module docstring)."""
    path = os.fspath(filepath)
    problems = Problems(path)
    with _open_archive(path) as reader:
        config, _ = _read_json_members(reader, problems)
        model, compiled = _rebuild(path, config, custom_objects, compile, problems)
        if WEIGHTS not in reader.names():
            if model.weights:
                problems.fail(f"the .keras file has no {WEIGHTS} but the model has weights.")
            return model
        # What the model needs may inflate, however well it compresses (weights and,
        # for a compiled model, optimizer slots of about the same size twice).
        reader.budget.expect(sum(int(np.prod(w.shape)) * 8 for w in model.weights) * 3)
        try:
            member = reader.open_member(WEIGHTS, safe_io.MAX_FILE_BYTES)
            member.verify()  # the zip's CRC: read in place, nothing else checks it
            member.file.seek(0)
        except ReadError as e:
            raise ModelFileError(path, [str(e)]) from None
        _load_store(path, member.file, model, with_optimizer=compiled)
    return model


def _rebuild(path, config, custom_objects, compile, problems):
    """``(model, compiled)`` from a Keras config; one ``ModelFileError`` otherwise."""
    from ..engine.model import Model
    from ..engine.serialization import deserialize_layer
    from .compile_config import compile_from_config

    unknown = unknown_classes(config, custom_objects)
    if unknown:
        problems.fail("config.json names classes mlxfunctional does not have (nothing was "
                      "imported): " + ", ".join(unknown) + ". Pass custom_objects={name: "
                      "class} for your own classes.")
    try:
        ours = from_keras(config)
        model = deserialize_layer({"class_name": ours.get("class_name"),
                                   "config": ours.get("config")}, custom_objects)
    except DialectError as e:
        problems.fail(f"config.json: {e}")
    except Exception as e:  # anything a from_config may raise on bad data: one error type
        problems.fail(f"config.json cannot be rebuilt into a model: {type(e).__name__}: {e}")
    if not isinstance(model, Model):
        problems.fail(f"config.json describes a {type(model).__name__}, not a model.")
    compile_cfg = ours.get("compile_config") if compile else None
    if not compile_cfg:
        return model, False
    try:
        compile_from_config(model, compile_cfg, custom_objects)
    except Exception as e:  # an unknown loss/metric/optimizer: the model loads uncompiled
        warnings.warn(f"{path!r}: the model is loaded uncompiled; its compile_config "
                      f"cannot be restored ({type(e).__name__}: {e}).", stacklevel=4)
        return model, False
    return model, True


@contextlib.contextmanager
def _open_store(path, fileobj, what):
    """An HDF5 weight store opened from ``fileobj`` as a ``StoreReader``; what HDF5
    raises on a damaged file becomes a ``ModelFileError`` naming ``what``."""
    try:
        h5 = h5py_module().File(fileobj, "r")
    except OSError as e:
        raise ModelFileError(path, [f"{what} is not a readable HDF5 file ({e})."]) from None
    with h5, corrupt_as(ModelFileError, path, what):
        yield keras_store.StoreReader(h5, path)


def _load_store(path, fileobj, model, with_optimizer):
    with _open_store(path, fileobj, WEIGHTS) as reader:
        keras_store.load_weights(reader, model)
        arrays = reader.vars("optimizer") if with_optimizer else []
        if arrays:  # (Keras writes none for an optimizer that never ran)
            problems = restore_optimizer_vars(model, arrays, path)
            if problems:
                raise ModelFileError(path, problems)


# -- writing -----------------------------------------------------------------
def _tensor_specs(model):
    """``(model name, layer name, node, index) -> (shape, dtype)`` over the tensors of
    ``model`` and the models nested in it, counting each layer's nodes inside its
    model as the config does."""
    specs = {}

    def collect(graph):
        for layer in graph.layers:
            mine = [n for n in layer._inbound_nodes if id(n) in graph._node_ids]
            for i, node in enumerate(mine):
                for j, t in enumerate(node.output_tensors):
                    specs[(graph.name, layer.name, i, j)] = (list(t.shape), str(t.dtype))
            if hasattr(layer, "_node_ids"):
                collect(layer)

    collect(model)
    return lambda *key: specs[key]


def keras_config(model):
    """``model``'s config in Keras 3's dialect (with its compile config)."""
    from ..engine.serialization import serialize_layer
    from .compile_config import compile_config
    from .serialization_lib import serialize_keras_object

    config = serialize_keras_object(model) if hasattr(model, "_node_ids") else \
        serialize_layer(model)
    config = to_keras(config, _tensor_specs(model) if hasattr(model, "_node_ids") else None)
    compile_cfg = compile_config(model)
    if compile_cfg is not None:
        config["compile_config"] = to_keras(compile_cfg, None)
    return config


def _store_bytes(model, with_optimizer=False):
    """The bytes of a Keras 3 weight store holding ``model``'s weights (and, when
    asked and mapped, its optimizer's state)."""
    buffer = io.BytesIO()
    with h5py_module().File(buffer, "w") as h5:
        keras_store.write_weights(h5, model)
        optimizer = optimizer_vars(model) if with_optimizer else None
        if optimizer is not None:
            keras_store.write_vars(h5, "optimizer", optimizer, model.optimizer.name)
    return buffer.getvalue()


def save_keras_model(model, filepath, overwrite=True):
    """Writes ``model`` as a Keras 3 ``.keras`` file, atomically."""
    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} exists and overwrite=False.")
    config = keras_config(model)
    weights = _store_bytes(model, with_optimizer="compile_config" in config)
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "mlxfunctional_version": __version__}
    members = {METADATA: json.dumps(metadata).encode(), CONFIG: json.dumps(config).encode(),
               WEIGHTS: weights}
    with atomic.atomic_writer(path) as f:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:  # (as Keras writes it)
            for name, data in members.items():
                zf.writestr(name, data)


# -- weights alone (model.save_weights("x.weights.h5")) ------------------------
WEIGHTS_SUFFIX = ".weights.h5"


def is_keras_weights_path(path):
    return os.fspath(path).lower().endswith(WEIGHTS_SUFFIX)


def save_keras_weights(model, filepath):
    """Writes ``model``'s weights as Keras 3's ``save_weights`` does, atomically."""
    atomic.write_bytes(os.fspath(filepath), _store_bytes(model))


def load_keras_weights(model, filepath, skip_mismatch=False):
    """Fills ``model``'s weights from a Keras 3 ``.weights.h5`` file (or a model's
    ``model.weights.h5``); layers whose arrays don't fit are skipped with a warning
    under ``skip_mismatch``, else every problem is one ``ModelFileError``."""
    path = os.fspath(filepath)
    try:
        f = open_regular_file(path)  # (a bounded regular file; read in place by HDF5)
    except ReadError as e:
        raise ModelFileError(path, [str(e)]) from None
    with f, _open_store(path, f, "the weights file") as reader:
        keras_store.load_weights(reader, model, skip_mismatch)
