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
point (not by a mid-epoch ``ModelCheckpoint``). A ``BackupAndRestore`` backup
taken mid-epoch adds ``"step"`` (batches of epoch ``epoch`` done) and
``"epoch_random_state"`` (the keys that epoch started from);
``restore_training_state`` puts such a file back into a model. ``load_model`` checks it and
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

Arrays stream (``streams.py``): a save writes each array straight into its
member, hashing on the way, and a load checks each ``.npz`` member's size and
SHA-256 in one pass over it, then reads its arrays one at a time into the
model. Peak memory beyond the model: about one array to save; the model's size
once more (plus one array) to load, because every value is read before any is
assigned. A stored ``.npz`` member is read in place in the ``.mlxf``; its
bytes are read twice (hash, then arrays), so a file changed between the two
reads is caught only by the zip CRC of each array.
"""

import contextlib
import datetime
import hashlib
import json
import math
import os
import zipfile

import mlx.core as mx
import numpy as np

from ..distribute import is_chief
from . import atomic, folder_swap
from .arrays import index_npz, zip_info
from .compile_config import compile_config, compile_from_config
from .keras_file import is_keras_path, load_keras_model, save_keras_model
from .keras_legacy import is_legacy_path, load_legacy_model
from .errors import ModelFileError, Problems
from .name_checks import check_names
from .value_checks import warn_non_finite
from .optimizer_state import optimizer_arrays, restore_optimizer
from .members import Member
from .model_sources import DirSource, ZipSource
from .safe_io import ReadError, parse_json
from ..engine.resume_state import ResumeState, for_save as resume_config
from ..engine.functional import Functional
from ..engine.model import Model
from ..engine.sequential import Sequential
from ..engine.serialization import deserialize_layer, serialize_layer
from ..version import __version__
from .weight_map import assign_weights, compare_stored, read_weights, weight_refs

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
    """``{member name: Member}`` of a saved model, in the order they are written.

    The JSON and the arrays to write are gathered first, so a model that cannot be
    saved fails before any file is touched; the arrays are the model's own (lazy
    reads, no copy) and are written one at a time.
    """
    if not _is_functional(model):
        raise NotImplementedError(
            f'Model "{model.name}" is a subclassed model: its architecture is Python code, '
            "which a model file never holds. Save its weights with save_weights() and "
            "rebuild it in code, or write it with the functional API.")
    check_names(model)  # (a name a load would choke on is refused now)
    config = serialize_layer(model)
    compile_cfg = compile_config(model)
    config["compile_config"] = compile_cfg
    members = {CONFIG: Member(_json_bytes(config, "config"))}
    members[WEIGHTS] = Member(arrays=read_weights(model))
    if compile_cfg is not None:
        optimizer = model.optimizer
        if "slots" not in optimizer.state:  # compiled but never trained: the slots the
            optimizer.init(model.trainable_parameters())  # first step would create
        members[OPTIMIZER] = Member(arrays=optimizer_arrays(model))
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mlxfunctional_version": __version__,
        "mlx_version": mx.__version__,
        "numpy_version": np.__version__,
        "saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds").replace("+00:00", "Z"),
    }
    resume = resume_config(model) if compile_cfg is not None else None
    if resume is not None:
        metadata["resume"] = resume
    written = dict(members)

    def make_metadata():  # called after every other member is written
        metadata["members"] = {name: {"bytes": m.digest[0], "sha256": m.digest[1]}
                               for name, m in written.items()}
        return _json_bytes(metadata, "metadata")

    _json_bytes(metadata, "metadata")  # (fails now, not mid-save, if it cannot be written)
    members[METADATA] = Member(make=make_metadata)
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
    if not overwrite and (os.path.exists(target) if form == "zip" else (
            os.path.exists(os.path.join(target, METADATA))
            or os.path.isdir(folder_swap.old_path(os.path.abspath(target))))):
        raise FileExistsError(f"{path!r} exists and overwrite=False.")
    members = model_members(model)
    try:
        if form == "zip":
            _write_zip(target, members)
        else:
            folder_swap.check_replaceable(target, MEMBERS)
            folder_swap.replace_folder(target, lambda folder: _write_dir(folder, members))
    except OSError as e:  # about a temporary file, the parent folder...: name the target
        raise atomic.naming_target(e, path) from e


def _write_zip(path, members):
    with atomic.atomic_writer(path) as f:
        with zipfile.ZipFile(f, "w", allowZip64=True) as zf:
            for name, member in members.items():
                # JSON compresses well; weights (random floats) do not: stored.
                info = zip_info(name, zipfile.ZIP_DEFLATED if name.endswith(".json")
                                else zipfile.ZIP_STORED)
                info.file_size = member.size_hint
                with zf.open(info, "w") as dest:
                    member.write_to(dest)


def _write_dir(folder, members):
    # Into a new, empty folder that replaces the target whole once complete
    # (folder_swap.py): each file is streamed in and synced before the switch.
    for name, member in members.items():
        with open(os.path.join(folder, name), "xb") as f:
            member.write_to(f)
            f.flush()
            os.fsync(f.fileno())


# -- loading -------------------------------------------------------------------
def _open_source(path):
    if os.path.isdir(path):
        return DirSource(path, MEMBERS)
    if path.endswith(("/", os.sep)):
        raise ModelFileError(path, f"the model folder {path!r} does not exist.")
    if not path.lower().endswith(SUFFIX):
        raise ModelFileError(path, f"load_model() reads mlxfunctional model files: {_FORMS}, "
                                   "and Keras' .keras and .h5 files.")
    try:
        return ZipSource(path, MEMBERS)
    except ReadError as e:
        raise ModelFileError(path, str(e)) from None


def _read_members(source, problems):
    """Reads the JSON members, opens the ``.npz`` ones and checks every member's size
    and SHA-256 (the ``.npz`` ones in one streaming pass each, nothing kept);
    returns ``(config, metadata, {name: MemberFile})``."""
    problems.extend(source.problems())
    raw, opened, digests = {}, {}, {}
    for name in MEMBERS:
        if name == OPTIMIZER and name not in source.names():
            continue  # optional; whether it must be there is checked below
        try:
            if name.endswith(".json"):
                raw[name] = source.read(name)
                digests[name] = (len(raw[name]), hashlib.sha256(raw[name]).hexdigest())
            else:
                opened[name] = source.open(name)
                digests[name] = opened[name].verify()
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
        _check_metadata(metadata, digests, set(source.names()), problems)
    if config is not None:
        _check_config(config, digests, problems)
    return config, metadata, opened


def _check_metadata(metadata, digests, present, problems):
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
    for name, (nbytes, sha256) in digests.items():
        if name == METADATA:
            continue
        entry = listed.get(name)
        if not isinstance(entry, dict):
            problems.add(f"{name} is not listed in metadata.json.")
        elif entry.get("bytes") != nbytes or entry.get("sha256") != sha256:
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


@contextlib.contextmanager
def _checked_source(path, problems, expected_bytes=0):
    """``(source, config, metadata, {name: MemberFile})`` of a model file whose members
    all check out; the source stays open (arrays are read from it) until the block ends,
    a model folder's parent under folder_swap's shared lock.
    ``expected_bytes``: the arrays the caller's model needs (see ``safe_io.Budget``)."""
    with folder_swap.reading(path) if _is_dir_form(path) or not os.path.lexists(path) \
            else contextlib.nullcontext(path) as readable:
        source = _open_source(readable)
        try:
            source.budget.expect(expected_bytes)
            config, metadata, opened = _read_members(source, problems)
            problems.raise_if_any()
            yield source, config, metadata, opened
        finally:
            source.close()


def _resume_state(metadata, problems):
    """The ``ResumeState`` of metadata.json's optional ``resume`` (None without one)."""
    if metadata.get("resume") is None:
        return None
    try:
        return ResumeState.from_config(metadata["resume"])
    except ValueError as e:
        problems.add(f"metadata.json's 'resume' (the training state) is invalid: {e}.")
        return None


@contextlib.contextmanager
def open_model_weights(filepath, expected_bytes=0):
    """``with open_model_weights(path) as stored:`` ``{key: NpyMember}``, the arrays of a
    model file's ``weights.npz`` after the checks ``load_model`` makes (sizes, SHA-256s,
    format version), each read when used inside the block; the architecture is not
    rebuilt. ``model.load_weights("m.mlxf")`` and ``applications`` (pretrained weights
    cached as model files) read weights this way.
    """
    path = os.fspath(filepath)
    problems = Problems(path)
    with _checked_source(path, problems, expected_bytes) as (source, _, _, opened):
        try:
            stored, found = index_npz(opened[WEIGHTS].file, WEIGHTS, source.budget)
        except ReadError as e:
            problems.fail(str(e))
        problems.extend(found)
        problems.raise_if_any()
        yield stored


def weight_bytes(refs):
    """Bytes of the arrays a file needs for these weights (bfloat16 is stored as float32)."""
    return sum(math.prod(r.shape) * (4 if r.dtype == mx.bfloat16 else r.dtype.size)
               for r in refs.values())


def load_model(filepath, custom_objects=None, compile=True):
    """Loads a model saved by ``model.save()``: architecture, weights, compile settings,
    optimizer state and the training state ``fit(initial_epoch=...)`` resumes from (see
    the module docstring). Raises ``ModelFileError`` listing every problem found.

    The arrays are read one at a time, straight into the rebuilt model."""
    path = os.fspath(filepath)
    if is_keras_path(path):
        return load_keras_model(path, custom_objects, compile)
    if is_legacy_path(path):
        return load_legacy_model(path, custom_objects, compile)
    problems = Problems(path)
    with _checked_source(path, problems) as (source, config, metadata, opened):
        resume = _resume_state(metadata, problems)
        model = _rebuild(config, custom_objects, problems)
        try:
            refs = weight_refs(model)
        except ValueError as e:  # e.g. two weights of the rebuilt model share a key
            refs = None
            problems.add(str(e))
        else:  # (the arrays this model needs may inflate, whatever the file's size)
            source.budget.expect(weight_bytes(refs))
        arrays = {}
        for name in (WEIGHTS, OPTIMIZER):
            if name in opened:
                try:
                    arrays[name], found = index_npz(opened[name].file, name, source.budget)
                    problems.extend(found)
                except ReadError as e:
                    problems.add(str(e))
        if WEIGHTS in arrays and refs is not None:
            found, _ = assign_weights(model, arrays[WEIGHTS], WEIGHTS, refs=refs)
            problems.extend(found)
        if compile and config.get("compile_config") is not None and OPTIMIZER in arrays:
            try:
                compile_from_config(model, config["compile_config"], custom_objects)
                problems.extend(restore_optimizer(model, arrays[OPTIMIZER], OPTIMIZER,
                                                  source.budget))
            except ReadError as e:  # an array of optimizer.npz that cannot be read
                problems.add(str(e))
            except Exception as e:  # a bad or unknown loss/metric/optimizer: as a bad config
                problems.add(f"config.json's compile_config cannot be restored: "
                             f"{type(e).__name__}: {e}")
    problems.raise_if_any()
    warn_non_finite(model, path)  # (loaded all the same: one may want to look at them)
    # Kept, not applied: fit(initial_epoch=...) decides (engine/resume_state.py).
    model._resume_state = resume
    return model


def restore_training_state(model, filepath):
    """Puts a model file's weights, optimizer state and training state (``resume``) back
    into ``model`` -- the same architecture, compiled -- and returns that
    ``ResumeState`` (a file without one is refused). Everything is checked before
    anything is assigned; ``ModelFileError`` lists every problem.

    ``BackupAndRestore`` resumes the model a user passed to ``fit`` this way: the
    object stays the same, only its state is the file's.
    """
    path = os.fspath(filepath)
    problems = Problems(path)
    with _checked_source(path, problems) as (source, _, metadata, opened):
        resume = _resume_state(metadata, problems)
        if resume is None:
            problems.add("metadata.json holds no training state ('resume'): the file was "
                         "not written by BackupAndRestore or by a model trained with fit().")
        refs = weight_refs(model)
        source.budget.expect(weight_bytes(refs))
        arrays = {}
        for name in (WEIGHTS, OPTIMIZER):
            if name not in opened:
                problems.add(f"{name} is missing: the file holds no "
                             f"{'optimizer state' if name == OPTIMIZER else 'weights'}.")
                continue
            try:
                arrays[name], found = index_npz(opened[name].file, name, source.budget)
                problems.extend(found)
            except ReadError as e:
                problems.add(str(e))
        problems.raise_if_any()
        key_problems, mismatches, _ = compare_stored(
            {k: (r.shape, r.dtype) for k, r in refs.items()}, arrays[WEIGHTS], WEIGHTS)
        problems.extend(key_problems + mismatches)
        problems.raise_if_any()
        try:
            problems.extend(restore_optimizer(model, arrays[OPTIMIZER], OPTIMIZER,
                                              source.budget))
        except ReadError as e:
            problems.add(str(e))
        problems.raise_if_any()
        found, _ = assign_weights(model, arrays[WEIGHTS], WEIGHTS, refs=refs)
        problems.extend(found)  # (none: checked above)
    problems.raise_if_any()
    model._resume_state = resume
    return resume
