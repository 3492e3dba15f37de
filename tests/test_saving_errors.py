"""ModelFileError: one exception for bad files, listing every problem found."""

import hashlib
import io
import json
import os
import warnings
import zipfile

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers
from mlxfunctional.saving import ModelFileError


def _model(compiled=True):
    inputs = keras.Input((6,), name="x")
    h = layers.Dense(5, name="hidden")(inputs)
    model = keras.Model(inputs, layers.Dense(3, name="out")(h), name="small")
    if compiled:
        model.compile(optimizer="adam", loss="mse", run_eagerly=True)
        model.train_on_batch(np.ones((2, 6), "float32"), np.zeros((2, 3), "float32"))
    return model


def members_of(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def write_members(path, members, fix_metadata=True):
    """A model file from (name, bytes) pairs; metadata's checksums recomputed, as an
    attacker or a careless tool would."""
    items = list(members.items()) if isinstance(members, dict) else list(members)
    if fix_metadata:
        table = {n: {"bytes": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                 for n, d in items if n != "metadata.json"}
        items = [(n, _with_table(d, table) if n == "metadata.json" else d) for n, d in items]
    with zipfile.ZipFile(path, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": intended by some tests
        for name, data in items:
            zf.writestr(name, data)


def _with_table(data, table):
    try:
        meta = json.loads(data)
        meta["members"] = table
        return json.dumps(meta).encode()
    except (ValueError, TypeError, KeyError, RecursionError):  # (fuzzed metadata)
        return data


def npz_of(data):
    return dict(np.load(io.BytesIO(data)))


def npz_bytes(arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_archive_problems_are_listed_together(tmp_path):
    _model().save(tmp_path / "m.mlxf")
    members = members_of(tmp_path / "m.mlxf")
    items = [(n, d) for n, d in members.items() if n != "weights.npz"]
    items += [("config.json", members["config.json"]), ("notes.txt", b"hi")]
    write_members(tmp_path / "bad.mlxf", items)
    with pytest.raises(ModelFileError) as info:
        keras.models.load_model(tmp_path / "bad.mlxf")
    problems = info.value.problems
    assert any("'config.json' more than once" in p for p in problems)
    assert any("unexpected member 'notes.txt'" in p for p in problems)
    assert any("no member 'weights.npz'" in p for p in problems)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(f"Cannot load {str(tmp_path / 'bad.mlxf')!r}: ")


def test_weight_problems_are_listed_together(tmp_path):
    _model().save(tmp_path / "m.mlxf")
    members = members_of(tmp_path / "m.mlxf")
    weights = npz_of(members["weights.npz"])
    del weights["out/bias"]                                            # missing
    weights["ghost/kernel"] = np.zeros(3, np.float32)                  # extra
    weights["hidden/kernel"] = np.zeros((6, 4), np.float32)            # shape
    weights["hidden/bias"] = weights["hidden/bias"].astype(np.int32)   # dtype
    members["weights.npz"] = npz_bytes(weights)
    optimizer = npz_of(members["optimizer.npz"])
    del optimizer["slots/out/bias/velocity"]
    members["optimizer.npz"] = npz_bytes(optimizer)
    write_members(tmp_path / "bad.mlxf", members)
    with pytest.raises(ModelFileError) as info:
        keras.models.load_model(tmp_path / "bad.mlxf")
    text = str(info.value)
    assert "5 problems found" in text
    assert "lacks 1 weight(s) of the model: 'out/bias'" in text
    assert "1 weight(s) the model does not have: 'ghost/kernel'" in text
    assert "'hidden/kernel' has shape (6, 4) in weights.npz, (6, 5) in the model" in text
    assert "'hidden/bias' has dtype int32 in weights.npz, float32 in the model" in text
    assert "optimizer.npz lacks 1 value(s) of the optimizer: 'slots/out/bias/velocity'" in text


def test_unknown_format_version(tmp_path):
    _model().save(tmp_path / "m.mlxf")
    members = members_of(tmp_path / "m.mlxf")
    meta = json.loads(members["metadata.json"])
    for version, hint in ((2, "upgrade mlxfunctional"), ("1", "reads format version 1"),
                          (None, "reads format version 1")):
        meta["format_version"] = version
        members["metadata.json"] = json.dumps(meta).encode()
        write_members(tmp_path / "v.mlxf", members)
        with pytest.raises(ModelFileError, match=f"unknown format version {version!r}.*{hint}"):
            keras.models.load_model(tmp_path / "v.mlxf")


def test_altered_members_fail_their_checksums(tmp_path):
    _model().save(tmp_path / "m.mlxf")
    members = members_of(tmp_path / "m.mlxf")
    config = json.loads(members["config.json"])
    config["config"]["name"] = "renamed"
    members["config.json"] = json.dumps(config).encode()
    write_members(tmp_path / "bad.mlxf", members, fix_metadata=False)
    with pytest.raises(ModelFileError, match="config.json does not match its size/SHA-256"):
        keras.models.load_model(tmp_path / "bad.mlxf")


def test_corrupt_and_truncated_archives(tmp_path):
    _model().save(tmp_path / "m.mlxf")
    data = (tmp_path / "m.mlxf").read_bytes()
    (tmp_path / "t.mlxf").write_bytes(data[: data.index(b"weights.npz") + 100])
    with pytest.raises(ModelFileError, match="not a readable zip archive"):
        keras.models.load_model(tmp_path / "t.mlxf")
    # Cut after the (stored) weights.npz, the last zip directory left is the inner
    # archive's: it reads as a zip of arrays, which is not a model file.
    (tmp_path / "t.mlxf").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="no member 'config.json'"):
        keras.models.load_model(tmp_path / "t.mlxf")
    flipped = bytearray(data)
    start = data.index(b"weights.npz") + 200  # inside the stored weights
    flipped[start] ^= 0xFF
    (tmp_path / "f.mlxf").write_bytes(bytes(flipped))
    with pytest.raises(ModelFileError, match="weights.npz.*corrupt.*CRC"):
        keras.models.load_model(tmp_path / "f.mlxf")


def test_compiled_model_missing_its_optimizer_state(tmp_path):
    _model().save(tmp_path / "m.mlxf")
    members = members_of(tmp_path / "m.mlxf")
    del members["optimizer.npz"]
    write_members(tmp_path / "bad.mlxf", members)
    with pytest.raises(ModelFileError, match="saved compiled but optimizer.npz is missing"):
        keras.models.load_model(tmp_path / "bad.mlxf")
    # compile=False still needs a consistent file: the problem is about the file
    with pytest.raises(ModelFileError):
        keras.models.load_model(tmp_path / "bad.mlxf", compile=False)


def test_directory_members_must_be_regular_files(tmp_path):
    _model(compiled=False).save(str(tmp_path / "d") + "/")
    outside = tmp_path / "outside.npz"
    os.replace(tmp_path / "d" / "weights.npz", outside)
    os.symlink(outside, tmp_path / "d" / "weights.npz")
    with pytest.raises(ModelFileError, match="weights.npz.*(symbolic link|cannot be opened)"):
        keras.models.load_model(tmp_path / "d")
    os.unlink(tmp_path / "d" / "weights.npz")
    os.mkfifo(tmp_path / "d" / "weights.npz")  # would block a plain open() forever
    with pytest.raises(ModelFileError, match="weights.npz.*not a regular file"):
        keras.models.load_model(tmp_path / "d")
    os.unlink(tmp_path / "d" / "weights.npz")
    with pytest.raises(ModelFileError, match="weights.npz.*does not exist"):
        keras.models.load_model(tmp_path / "d")


def test_missing_file():
    with pytest.raises(ModelFileError, match="does not exist"):
        keras.models.load_model("/nonexistent/model.mlxf")
    with pytest.raises(ModelFileError, match="folder.*does not exist"):
        keras.models.load_model("/nonexistent/model/")


def test_zip_bombs_are_refused_before_decompressing(tmp_path, monkeypatch):
    from mlxfunctional.saving import safe_io

    _model(compiled=False).save(tmp_path / "m.mlxf")
    members = members_of(tmp_path / "m.mlxf")
    members["weights.npz"] = bytes(64 << 20)  # 64 MB of zeros: ~64 KB deflated
    path = tmp_path / "bomb.mlxf"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert path.stat().st_size < 1 << 20
    monkeypatch.setattr(safe_io, "MAX_FILE_BYTES", 16 << 20)
    with pytest.raises(ModelFileError, match="declares 67,1.*more than the 16,777,216-byte"):
        keras.models.load_model(path)
    # a header that claims more than deflate can produce is refused as such
    monkeypatch.setattr(safe_io, "MAX_FILE_BYTES", 8 << 30)
    data = bytearray(path.read_bytes())
    cd = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 1)
    assert data[cd + 46:cd + 57] == b"weights.npz"  # the second central directory entry
    data[cd + 24:cd + 28] = (2 ** 32 - 2).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="weights.npz.*not possible with deflate"):
        keras.models.load_model(path)
