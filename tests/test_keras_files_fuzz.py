"""Fuzz: mutated Keras files (``.keras`` zips and tf.keras 2 ``.h5`` files).

The same watchdog as ``test_saving_fuzz.py``: each load either succeeds or
raises ``ModelFileError`` -- no other exception, no hang, no code run, no
other file opened. Mutations: truncation, flipped bytes and lying zip headers
of the whole file; inside a ``.keras``, mutated ``config.json`` (Keras' CVE
payloads: modules and functions outside the registry, ``__lambda__``
bytecode, random values and deleted keys) and flipped or truncated bytes of
``model.weights.h5``; for ``.h5``, flipped and truncated bytes.
"""

import encodings.ascii  # noqa: F401  (h5py decodes attributes with it: not the loader's import)
import io
import json
import os
import random
import warnings
import zipfile

import h5py
import numpy as np

import mlxfunctional as keras
from test_saving_fuzz import (_SENTINEL, _WATCH, _flip, _load, _mutate_config, _patch_sizes,
                              _truncate)

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "weights", "keras")


def _quiet_load(path):
    # (a warning makes Python open the warning's source file: not the loader's doing)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras.models.load_model(path)


def _rezip(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _store_case(rng, data):
    """A weight store with a dataset replaced by a wrong shape, dtype or a link."""
    buffer = io.BytesIO(data)
    with h5py.File(buffer, "r+") as f:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        name = rng.choice(names)
        del f[name]
        f[name] = rng.choice([np.zeros((3, 3), "float32"), np.array(["x"], dtype="S1"),
                              np.zeros((0,), "float32"),
                              h5py.SoftLink("/" + rng.choice(names)),
                              h5py.ExternalLink("/etc/hostname", "x")])
    return buffer.getvalue()


def _run(path, files):
    """Writes each mutated file to ``path`` and loads it under the watchdog; returns
    ``(outcomes, failures)`` (a failure: anything but a load or a ModelFileError)."""
    outcomes, failures = {"ok": 0, "error": 0}, []
    for i, data in enumerate(files):
        path.write_bytes(data)
        outcome = _load(path, _quiet_load)
        if outcome in outcomes:
            outcomes[outcome] += 1
        else:
            failures.append((i, outcome))
    return outcomes, failures


def test_fuzzed_keras_files_load_or_raise_model_file_error(tmp_path):
    source = os.path.join(FIXTURES, "mnist_mlp_adam.keras")
    keras.models.load_model(source)  # warm up lazy imports
    base = open(source, "rb").read()
    with zipfile.ZipFile(source) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    weights = members["model.weights.h5"]
    rng = random.Random(4321)

    def case(kind):
        if kind == 0:
            return _truncate(rng, base)
        if kind == 1:
            return _flip(rng, base)
        if kind == 2:
            return _patch_sizes(rng, base)
        if kind == 3:
            return _rezip({**members, "config.json": _mutate_config(rng, config)})
        mutated = rng.choice([_flip, _truncate])(rng, weights) if kind == 4 else \
            _store_case(rng, weights)
        return _rezip({**members, "model.weights.h5": mutated})

    outcomes, failures = _run(tmp_path / "case.keras", (case(i % 6) for i in range(180)))
    assert failures == []
    assert _WATCH["events"] == []
    assert not os.path.exists(_SENTINEL)
    assert outcomes["error"] > 120, outcomes


def test_fuzzed_tf_keras_2_h5_files_load_or_raise_model_file_error(tmp_path):
    source = os.path.join(FIXTURES, "mnist_mlp_adam.tf2.h5")
    base = open(source, "rb").read()
    rng = random.Random(99)
    files = ((_truncate if i % 2 else _flip)(rng, base) for i in range(80))
    outcomes, failures = _run(tmp_path / "case.h5", files)
    assert failures == []
    assert _WATCH["events"] == []
    assert outcomes["error"] > 30, outcomes
