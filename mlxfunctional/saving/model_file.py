"""Whole-model files: ``model.save(path)`` and ``models.load_model(path)``.

Format version 1. A ``.mlxf`` file is a zip archive; a model *directory*
holds the same members as plain files:

- ``config.json``: ``{"class_name", "config"}`` (``serialize_layer(model)``,
  the architecture) and ``"compile_config"`` (what ``compile()`` was given,
  as data; null when not compiled);
- ``weights.npz``: every weight in Keras' layout, keyed ``layer/weight``
  (see ``weight_map.py``);
- ``optimizer.npz``: the optimizer state (``step``, ``learning_rate``,
  ``slots/...``), present when the model is compiled;
- ``metadata.json``: ``format``, ``format_version`` (1), the
  mlxfunctional/MLX/numpy versions, ``saved_at`` (UTC), per member its byte
  count and SHA-256, and -- for a model trained by ``fit`` -- ``resume``.

``resume`` (optional; files without it load as before, and readers that
predate it ignore it) is where the training run stood at the end of its last
epoch (``engine/resume_state.py``): ``{"epoch": k, "iterations": n,
"shuffle_seed": s, "random_state": [[hi, lo], ...]}`` -- epochs done,
optimizer steps done, the seed of the shuffle orders (null without
shuffling) and ``mx.random.state`` of each data-parallel rank (one pair for
a single process). It is written only when the weights are those of that
point (not by a mid-epoch ``ModelCheckpoint``). ``load_model`` checks it and
keeps it on the model without applying it: predicting or evaluating a loaded
model never touches the global random state. It is put back by
``fit(initial_epoch=k)`` with ``k`` equal to the stored ``epoch`` (as
``ModelCheckpoint``'s ``{epoch}`` counts) while the optimizer has taken
exactly ``iterations`` steps; the run then continues bit for bit as if it
had never stopped.

Loading rebuilds the model from ``config.json`` through the registry only
(built-ins, registered classes, ``custom_objects``), fills the weights by
key, re-compiles and restores the optimizer state, and reports every
problem found in one ``ModelFileError``. See ``safe_io.py`` for the bounds
on what is read; nothing in a file is ever imported, called or used as a path.
"""

import datetime
import hashlib
import json
import os
import zipfile

import mlx.core as mx
import numpy as np

from ..distribute import is_chief
from . import atomic
from .arrays import decode_npz, encode_npz, zip_info
from .compile_config import compile_config, compile_from_config
from .keras_file import is_keras_path, load_keras_model, save_keras_model
from .keras_legacy import is_legacy_path, load_legacy_model
from .errors import ModelFileError, Problems
from .optimizer_state import optimizer_arrays, restore_optimizer
from . import safe_io
from .safe_io import ReadError, ZipReader, open_regular_file, parse_json, read_regular_file
from ..engine.resume_state import ResumeState, for_save as resume_config
from ..engine.functional import Functional
from ..engine.model import Model
from ..engine.sequential import Sequential
from ..engine.serialization import deserialize_layer, serialize_layer
from ..version import __version__
from .weight_map import assign_weights, read_weights

FORMAT = "mlxfunctional.model"
FORMAT_VERSION = 1
SUFFIX = ".mlxf"
CONFIG, METADATA, WEIGHTS, OPTIMIZER = "config.json", "metadata.json", "weights.npz", \
    "optimizer.npz"
MEMBERS = (CONFIG, WEIGHTS, OPTIMIZER, METADATA)  # also the order they are written in

_FORMS = ("a path ending in '.mlxf' (one zip file), or a directory (an existing one, or a "
          "path ending in '/') for the same files unzipped")


# -- where ---------------------------------------------------------------------
def _is_dir_form(path):
    return path.endswith(("/", os.sep)) or os.path.isdir(path)


def is_model_path(path):
    """True for what ``model.save`` writes: a ``.mlxf`` file or a model directory."""
    return path.lower().endswith(SUFFIX) or _is_dir_form(path)


def _save_form(path):
    if _is_dir_form(path):
        return "dir"
    if path.lower().endswith(SUFFIX):
        return "zip"
    suffix = os.path.splitext(path)[1] or "(none)"
    raise ValueError(
        f"model.save() writes mlxfunctional model files: {_FORMS}. Received {path!r} "
        f"(suffix {suffix}); Keras' .keras is written too. For the weights "
        "alone use model.save_weights('....npz' or '....safetensors') "
        "(ModelCheckpoint: save_weights_only=True).")


# -- saving --------------------------------------------------------------------
def _json_default(value):
    if isinstance(value, np.generic):  # numpy scalars in a config
        return value.item()
    raise TypeError(f"{value!r} ({type(value).__name__}) is not plain data")


def _json_bytes(value, what):
    try:
        return json.dumps(value, indent=1, default=_json_default).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise ValueError(f"Cannot save the model: its {what} is not plain data ({e}).") from e


def model_members(model):
    """``{member name: bytes}`` of a saved model, built in memory (so a model that
    cannot be saved fails before any file is touched)."""
    if not _is_functional(model):
        raise NotImplementedError(
            f'Model "{model.name}" is a subclassed model: its architecture is Python code, '
            "which a model file never holds. Save its weights with save_weights() and "
            "rebuild it in code, or write it with the functional API.")
    config = serialize_layer(model)
    compile_cfg = compile_config(model)
    config["compile_config"] = compile_cfg
    members = {CONFIG: _json_bytes(config, "config")}
    members[WEIGHTS] = encode_npz(read_weights(model))
    if compile_cfg is not None:
        optimizer = model.optimizer
        if "slots" not in optimizer.state:  # compiled but never trained: the slots the
            optimizer.init(model.trainable_parameters())  # first step would create
        members[OPTIMIZER] = encode_npz(optimizer_arrays(model))
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mlxfunctional_version": __version__,
        "mlx_version": mx.__version__,
        "numpy_version": np.__version__,
        "saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds").replace("+00:00", "Z"),
        "members": {name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                    for name, data in members.items()},
    }
    resume = resume_config(model) if compile_cfg is not None else None
    if resume is not None:
        metadata["resume"] = resume
    members[METADATA] = _json_bytes(metadata, "metadata")
    return {name: members[name] for name in MEMBERS if name in members}


def _is_functional(model):
    return isinstance(model, (Functional, Sequential))


def save_model(model, filepath, overwrite=True):
    """Writes ``model`` to ``filepath`` (``.mlxf`` file or directory), atomically.

    In a data-parallel job only rank 0 writes (every rank holds the same weights).
    """
    path = os.fspath(filepath)
    if is_keras_path(path):
        if is_chief():
            save_keras_model(model, path, overwrite=overwrite)
        return
    form = _save_form(path)  # (a bad path fails on every rank, not on rank 0 alone)
    if not is_chief():
        return
    target = path.rstrip("/" + os.sep) or path
    if not overwrite and os.path.exists(os.path.join(target, METADATA) if form == "dir"
                                        else target):
        raise FileExistsError(f"{path!r} exists and overwrite=False.")
    members = model_members(model)
    if form == "zip":
        _write_zip(target, members)
    else:
        _write_dir(target, members)


def _write_zip(path, members):
    with atomic.atomic_writer(path) as f:
        with zipfile.ZipFile(f, "w", allowZip64=True) as zf:
            for name, data in members.items():
                # JSON compresses well; weights (random floats) do not: stored.
                zf.writestr(zip_info(name, zipfile.ZIP_DEFLATED if name.endswith(".json")
                                     else zipfile.ZIP_STORED), data)


def _write_dir(path, members):
    # Each file is replaced atomically and metadata.json (with every member's
    # checksum) goes last, so a save cut short is detected on load as members
    # that do not match their checksums, never read as a silent mix.
    created = not os.path.isdir(path)
    os.makedirs(path, exist_ok=True)
    try:
        for name, data in members.items():
            if name == METADATA and OPTIMIZER not in members:
                try:  # an optimizer state of an earlier save, gone before the new metadata
                    os.unlink(os.path.join(path, OPTIMIZER))
                except FileNotFoundError:
                    pass
            atomic.write_bytes(os.path.join(path, name), data)
    except BaseException:
        if created:  # leave nothing behind when the folder was ours
            for name in members:
                try:
                    os.unlink(os.path.join(path, name))
                except OSError:
                    pass
            try:
                os.rmdir(path)
            except OSError:
                pass
        raise


# -- loading -------------------------------------------------------------------
def _limit(name):
    # Read at call time: the limits in safe_io may be raised by the user.
    return safe_io.MAX_JSON_BYTES if name.endswith(".json") else safe_io.MAX_FILE_BYTES


class _ZipSource:
    def __init__(self, path):
        self.file = open_regular_file(path)
        try:
            self.reader = ZipReader(self.file, "the model file")
        except BaseException:
            self.file.close()
            raise

    def names(self):
        return self.reader.names()

    def problems(self):
        out = [f"the model file holds member {n!r} more than once."
               for n in self.reader.duplicates()]
        out += [f"the model file has an unexpected member {n!r}."
                for n in self.reader.names() if n not in MEMBERS]
        return out

    def read(self, name):
        return self.reader.read(name, _limit(name))

    def close(self):
        self.reader.close()
        self.file.close()


class _DirSource:
    def __init__(self, path):
        self.path = path

    def names(self):
        return [n for n in MEMBERS if os.path.lexists(os.path.join(self.path, n))]

    def problems(self):
        return []

    def read(self, name):
        # A fixed name inside the folder, never through a symlink.
        return read_regular_file(os.path.join(self.path, name), _limit(name),
                                 follow_symlinks=False)

    def close(self):
        pass


def _open_source(path):
    if os.path.isdir(path):
        return _DirSource(path)
    if path.endswith(("/", os.sep)):
        raise ModelFileError(path, f"the model folder {path!r} does not exist.")
    if not path.lower().endswith(SUFFIX):
        suffix = os.path.splitext(path)[1]
        extra = ""
        raise ModelFileError(path, f"load_model() reads mlxfunctional model files: {_FORMS}."
                                   + extra)
    try:
        return _ZipSource(path)
    except ReadError as e:
        raise ModelFileError(path, str(e)) from None


def _read_members(source, problems):
    """Reads and checks the members; returns ``(config, metadata, {name: bytes})``."""
    problems.extend(source.problems())
    raw = {}
    for name in MEMBERS:
        if name == OPTIMIZER and name not in source.names():
            continue  # optional; whether it must be there is checked below
        try:
            raw[name] = source.read(name)
        except ReadError as e:
            problems.add(str(e))
    metadata = config = None
    for name in (METADATA, CONFIG):
        if name in raw:
            try:
                value = parse_json(raw[name], name)
            except ReadError as e:
                problems.add(str(e))
                continue
            if not isinstance(value, dict):
                problems.add(f"{name} does not hold a JSON object.")
                continue
            metadata, config = (value, config) if name == METADATA else (metadata, value)
    if metadata is not None:
        _check_metadata(metadata, raw, set(source.names()), problems)
    if config is not None:
        _check_config(config, raw, problems)
    return config, metadata, raw


def _check_metadata(metadata, raw, present, problems):
    version = metadata.get("format_version")
    if metadata.get("format") != FORMAT:
        problems.add(f"metadata.json names format {metadata.get('format')!r}, not {FORMAT!r}.")
    if type(version) is not int or version != FORMAT_VERSION:
        problems.fail(f"unknown format version {version!r}: this mlxfunctional reads format "
                      f"version {FORMAT_VERSION}" + (" (the file is newer: upgrade "
                      "mlxfunctional)." if type(version) is int and version > 1 else "."))
    listed = metadata.get("members")
    if not isinstance(listed, dict):
        problems.add("metadata.json has no 'members' table of sizes and checksums.")
        return
    for name, data in raw.items():
        if name == METADATA:
            continue
        entry = listed.get(name)
        if not isinstance(entry, dict):
            problems.add(f"{name} is not listed in metadata.json.")
        elif entry.get("bytes") != len(data) or \
                entry.get("sha256") != hashlib.sha256(data).hexdigest():
            problems.add(f"{name} does not match its size/SHA-256 in metadata.json (altered, "
                         "or written by a save that did not finish).")
    for name in listed:
        if name in MEMBERS and name not in present:
            problems.add(f"{name} is listed in metadata.json but missing.")


def _check_config(config, raw, problems):
    if not isinstance(config.get("class_name"), str) or not isinstance(config.get("config"),
                                                                       dict):
        problems.add("config.json lacks the model's 'class_name' and 'config'.")
    compiled = config.get("compile_config") is not None
    if compiled and OPTIMIZER not in raw:
        problems.add("the model was saved compiled but optimizer.npz is missing.")
    if not compiled and OPTIMIZER in raw:
        problems.add("optimizer.npz is present but config.json has no compile_config.")


def _rebuild(config, custom_objects, problems):
    try:
        model = deserialize_layer({"class_name": config["class_name"],
                                   "config": config["config"]}, custom_objects)
    except Exception as e:  # anything a from_config may raise on bad data: one error type
        problems.fail(f"config.json cannot be rebuilt into a model: {type(e).__name__}: {e}")
    if not isinstance(model, Model):
        problems.fail(f"config.json describes a {type(model).__name__}, not a model.")
    return model


def _read_checked(path, problems):
    """``(config, metadata, {member: bytes})`` of a model file whose members all
    check out."""
    source = _open_source(path)
    try:
        config, metadata, raw = _read_members(source, problems)
    finally:
        source.close()
    problems.raise_if_any()
    return config, metadata, raw


def _resume_state(metadata, problems):
    """The ``ResumeState`` of metadata.json's optional ``resume`` (None without one)."""
    if metadata.get("resume") is None:
        return None
    try:
        return ResumeState.from_config(metadata["resume"])
    except ValueError as e:
        problems.add(f"metadata.json's 'resume' (the training state) is invalid: {e}.")
        return None


def read_model_weights(filepath):
    """``{key: Stored}``: a model file's ``weights.npz``, after the checks ``load_model``
    makes (sizes, SHA-256s, format version); the architecture is not rebuilt.

    ``model.load_weights("m.mlxf")`` and ``applications`` (pretrained weights
    cached as model files) read weights this way.
    """
    path = os.fspath(filepath)
    problems = Problems(path)
    _, _, raw = _read_checked(path, problems)
    try:
        stored, found = decode_npz(raw.pop(WEIGHTS), WEIGHTS)
    except ReadError as e:
        problems.fail(str(e))
    problems.extend(found)
    problems.raise_if_any()
    return stored


def load_model(filepath, custom_objects=None, compile=True):
    """Loads a model saved by ``model.save()``: architecture, weights, compile settings,
    optimizer state and the training state ``fit(initial_epoch=...)`` resumes from (see
    the module docstring). Raises ``ModelFileError`` listing every problem found."""
    path = os.fspath(filepath)
    if is_keras_path(path):
        return load_keras_model(path, custom_objects, compile)
    if is_legacy_path(path):
        return load_legacy_model(path, custom_objects, compile)
    problems = Problems(path)
    config, metadata, raw = _read_checked(path, problems)
    resume = _resume_state(metadata, problems)
    model = _rebuild(config, custom_objects, problems)
    arrays = {}
    for name in (WEIGHTS, OPTIMIZER):
        if name in raw:
            try:
                arrays[name], found = decode_npz(raw.pop(name), name)
                problems.extend(found)
            except ReadError as e:
                problems.add(str(e))
    if WEIGHTS in arrays:
        try:
            found, _ = assign_weights(model, arrays[WEIGHTS], WEIGHTS)
        except ValueError as e:  # e.g. two weights of the rebuilt model share a key
            found = [str(e)]
        problems.extend(found)
    if compile and config.get("compile_config") is not None and OPTIMIZER in arrays:
        try:
            compile_from_config(model, config["compile_config"], custom_objects)
            problems.extend(restore_optimizer(model, arrays[OPTIMIZER], OPTIMIZER))
        except Exception as e:  # a bad or unknown loss/metric/optimizer: as a bad config
            problems.add(f"config.json's compile_config cannot be restored: "
                         f"{type(e).__name__}: {e}")
    problems.raise_if_any()
    # Kept, not applied: fit(initial_epoch=...) decides (engine/resume_state.py).
    model._resume_state = resume
    return model
