"""``model.save_weights(path)`` / ``model.load_weights(path)``: weights alone.

``.npz`` or ``.safetensors``, keyed like a model file's ``weights.npz``
(``layer/weight``, Keras' layout; see ``weight_map.py``), written atomically.
Loading matches by key: strict by default (missing and extra keys are
errors), ``skip_mismatch=True`` skips weights whose shape or dtype differ,
and every problem is listed in one ``ModelFileError``.

A ``.npz`` written by ``mlx.nn.Module.save_weights`` (MLX parameter paths
such as ``dense.kernel``, MLX's layout) -- as ModelCheckpoint wrote before
this module existed -- is recognized by its keys and loaded the MLX way.
"""

import contextlib
import os
import warnings

import mlx.nn as nn
from mlx.utils import tree_flatten

from ..distribute import is_chief
from . import atomic, safetensors
from .arrays import index_npz, write_npz
from .errors import ModelFileError, Problems
from .keras_file import is_keras_weights_path, load_keras_weights, save_keras_weights
from .keras_legacy import is_legacy_file, is_legacy_path, load_legacy_weights
from .model_file import is_model_path, open_model_weights, weight_bytes
from .name_checks import check_names
from .safe_io import Budget, ReadError, open_regular_file
from .value_checks import warn_non_finite
from .weight_map import assign_weights, read_weights, weight_refs

SUFFIXES = (".npz", ".safetensors")


def _suffix(path, action):
    lower = path.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix):
            return suffix
    hint = " A whole model (architecture, weights, optimizer) goes to model.save('....mlxf')." \
        if action == "save" else ""
    raise ValueError(f"{action}_weights() handles '.npz', '.safetensors' and Keras 3's "
                     f"'.weights.h5' files; received {path!r}.{hint}")


def save_weights(model, filepath, overwrite=True):
    """Writes every weight of ``model`` to ``filepath`` (``.npz``/``.safetensors``).

    In a data-parallel job only rank 0 writes (every rank holds the same weights).
    """
    path = os.fspath(filepath)
    if is_keras_weights_path(path):
        if is_chief():
            if not overwrite and os.path.exists(path):
                raise FileExistsError(f"{path!r} exists and overwrite=False.")
            save_keras_weights(model, path)
        return
    suffix = _suffix(path, "save")
    if not is_chief():
        return
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} exists and overwrite=False.")
    check_names(model, "save the weights of")
    arrays = read_weights(model)  # (lazy reads of the model's own arrays: no copy)
    with atomic.atomic_writer(path) as f:
        if suffix == ".npz":
            write_npz(f, arrays)
        else:
            safetensors.write(f, arrays, {"format": "mlxfunctional.weights",
                                          "format_version": "1"})


@contextlib.contextmanager
def open_weights_file(filepath, expected_bytes=0):
    """``with open_weights_file(path) as stored:`` ``{key: array}`` of a weights file
    (``.npz``/``.safetensors``) or of a model file's weights (``.mlxf`` or model
    directory), each array read from the file when it is used (``.to_mlx()``,
    ``.load()``) inside the block: a file is never held in memory whole.
    ``expected_bytes``: the bytes of the weights the caller's model needs (the
    decompression budget of ``safe_io.Budget``). Raises ``ModelFileError``."""
    path = os.fspath(filepath)
    if is_model_path(path):
        with open_model_weights(path, expected_bytes) as stored:
            yield stored
        return
    suffix = _suffix(path, "load")
    problems = Problems(path)
    name = os.path.basename(path)
    try:
        f = open_regular_file(path)
    except ReadError as e:
        problems.fail(str(e))
    with f:
        try:
            if suffix == ".npz":
                budget = Budget(os.fstat(f.fileno()).st_size, expected_bytes)
                stored, found = index_npz(f, name, budget)
            else:
                stored, found = safetensors.index(f, name)
        except ReadError as e:
            problems.fail(str(e))
        problems.extend(found)
        problems.raise_if_any()
        yield stored


def read_weights_file(filepath):
    """``{key: Stored}`` from a weights file (``.npz``/``.safetensors``) or the weights of
    a model file (``.mlxf`` or model directory), every array read. Raises
    ``ModelFileError``."""
    path = os.fspath(filepath)
    with open_weights_file(path) as lazy:
        stored, problems = {}, Problems(path)
        for key, member in lazy.items():
            try:
                stored[key] = member.load()
            except ReadError as e:
                problems.add(str(e))
        problems.raise_if_any()
    return stored


def load_weights(model, filepath, skip_mismatch=False, strict=True, by_name=False):
    """Fills ``model``'s weights from a file written by :func:`save_weights`, or from
    the weights of a model file written by ``model.save`` (``.mlxf`` or a directory).

    Args:
        filepath: a ``.npz``, ``.safetensors`` or ``.mlxf`` file, or a model directory.
        skip_mismatch: skip (with a warning) weights whose shape or dtype differ
            instead of failing.
        strict: missing or extra keys are errors (False: ignored).

    Raises ``ModelFileError`` listing every problem; nothing is assigned then.
    """
    path = os.fspath(filepath)
    if is_keras_weights_path(path) or is_legacy_path(path):
        if is_legacy_file(path):
            load_legacy_weights(model, path, by_name=by_name, skip_mismatch=skip_mismatch)
        else:
            load_keras_weights(model, path, skip_mismatch)
        warn_non_finite(model, path, stacklevel=4)
        return
    try:
        refs = weight_refs(model)
    except ValueError as e:
        raise ModelFileError(path, str(e)) from None
    # The new values are read one at a time, all of them before any is assigned: the
    # memory this needs is the model's size once more (plus one array), not the file's
    # bytes on top of that.
    with open_weights_file(path, weight_bytes(refs)) as stored:
        if _is_mlx_file(model, stored, refs):
            _load_mlx_layout(model, stored, strict, path)
            warn_non_finite(model, path, stacklevel=4)
            return
        found, skipped = assign_weights(model, stored, os.path.basename(path), strict=strict,
                                        skip_mismatch=skip_mismatch, refs=refs)
    if found:
        raise ModelFileError(path, found)
    if skipped:
        warnings.warn(f"load_weights({path!r}) skipped {len(skipped)} weight(s): "
                      + " ".join(skipped), stacklevel=3)
    warn_non_finite(model, path, stacklevel=4)


def _is_mlx_file(model, stored, ours):
    # A file of mlx.nn's Module.save_weights: MLX parameter paths, none of Keras' keys.
    if not stored:
        return False
    mlx_keys = {k for k, _ in tree_flatten(model.parameters())}
    return not any(k in ours for k in stored) and all(k in mlx_keys for k in stored)


def _load_mlx_layout(model, stored, strict, path):
    try:
        nn.Module.load_weights(model, [(k, s.to_mlx()) for k, s in stored.items()],
                               strict=strict)
    except ReadError as e:
        raise ModelFileError(path, str(e)) from None
    except ValueError as e:
        raise ModelFileError(path, f"as an MLX weights file: {e}") from None
