"""save_weights / load_weights: .npz and .safetensors, by key, strict by default."""

import json
import os

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers
from mlxfunctional.saving import ModelFileError, safetensors


def small_model(units=3, name="m"):
    inputs = keras.Input((4,), name="x")
    h = layers.Dense(5, name="hidden")(inputs)
    h = layers.BatchNormalization(name="bn")(h)
    return keras.Model(inputs, layers.Dense(units, name="out")(h), name=name)


def _randomize(model, seed):
    rng = np.random.default_rng(seed)
    # (positive values: BatchNormalization's moving variance among them)
    model.set_weights([np.abs(rng.normal(size=w.shape)).astype(w.dtype)
                       for w in model.get_weights()])


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_round_trip(tmp_path, suffix):
    a, b = small_model(), small_model()
    _randomize(a, 0)
    path = tmp_path / f"w{suffix}"
    a.save_weights(path)
    assert b.load_weights(path) is b
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        assert np.array_equal(wa, wb)
    x = np.ones((2, 4), "float32")
    assert np.array_equal(np.array(a(x)), np.array(b(x)))
    assert os.listdir(tmp_path) == [f"w{suffix}"]  # no temporary files left


def test_files_are_keyed_in_keras_layout(tmp_path):
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, layers.Conv2D(4, 3, name="conv")(inputs))
    model.save_weights(tmp_path / "w.npz")
    model.save_weights(tmp_path / "w.safetensors")
    npz = np.load(tmp_path / "w.npz")
    assert sorted(npz.files) == ["conv/bias", "conv/kernel"]
    assert npz["conv/kernel"].shape == (3, 3, 3, 4)  # (kh, kw, in, out), as Keras
    raw = (tmp_path / "w.safetensors").read_bytes()
    header = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])
    assert header["conv/kernel"]["shape"] == [3, 3, 3, 4]
    assert header["__metadata__"]["format"] == "mlxfunctional.weights"
    assert np.array_equal(npz["conv/kernel"], model.get_weights()[0])


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_strict_errors_list_every_problem(tmp_path, suffix):
    path = tmp_path / f"w{suffix}"
    small_model(units=3).save_weights(path)
    other = keras.Model(*_other_graph())  # "out" has 7 units, "extra" is new, "bn" is gone
    before = other.get_weights()
    with pytest.raises(ModelFileError) as info:
        other.load_weights(path)
    text = str(info.value)
    assert "problems found" in text
    assert "lacks 2 weight(s)" in text and "'extra/kernel'" in text
    assert "4 weight(s) the model does not have" in text and "'bn/gamma'" in text
    assert "'out/kernel' has shape (5, 3)" in text and "(5, 7) in the model" in text
    assert len(info.value.problems) == 4  # missing, extra, out/kernel, out/bias
    for w0, w1 in zip(before, other.get_weights()):
        assert np.array_equal(w0, w1)  # nothing assigned on error


def _other_graph():
    inputs = keras.Input((4,), name="x")
    h = layers.Dense(5, name="hidden")(inputs)
    h = layers.Dense(5, name="extra")(h)
    return inputs, layers.Dense(7, name="out")(h)


def test_skip_mismatch_and_non_strict(tmp_path):
    path = tmp_path / "w.npz"
    source = small_model(units=3)
    _randomize(source, 1)
    source.save_weights(path)
    target = keras.Model(*_other_graph())
    with pytest.raises(ModelFileError, match="lacks"):
        target.load_weights(path, skip_mismatch=True)  # still strict about keys
    out_before = target.get_layer("out").get_weights()
    with pytest.warns(UserWarning, match="skipped 2 weight"):
        target.load_weights(path, skip_mismatch=True, strict=False)
    assert np.array_equal(target.get_layer("hidden").get_weights()[0],
                          source.get_layer("hidden").get_weights()[0])
    for w0, w1 in zip(out_before, target.get_layer("out").get_weights()):
        assert np.array_equal(w0, w1)


def test_dtype_mismatch_is_reported(tmp_path):
    path = tmp_path / "w.npz"
    model = small_model()
    arrays = {k: v for k, v in np.load(_saved(model, path)).items()}
    arrays["hidden/bias"] = arrays["hidden/bias"].astype(np.float64)
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError, match="'hidden/bias' has dtype float64.*float32"):
        model.load_weights(path)


def _saved(model, path):
    model.save_weights(path)
    return path


def test_bfloat16_weights(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.Dense(3, dtype="bfloat16", bias_initializer="ones",
                                             name="d")(inputs))
    for suffix in (".npz", ".safetensors"):
        model.save_weights(tmp_path / f"w{suffix}")
        inputs = keras.Input((4,))
        other = keras.Model(inputs, layers.Dense(3, dtype="bfloat16", name="d")(inputs))
        other.load_weights(tmp_path / f"w{suffix}")
        for a, b in zip(model.weights, other.weights):
            assert a.dtype == b.dtype == mx.bfloat16 and mx.array_equal(a, b).item()
    assert np.load(tmp_path / "w.npz")["d/kernel"].dtype == np.float32


def test_mlx_module_weight_files_still_load(tmp_path):
    """A .npz from mlx.nn.Module.save_weights (as ModelCheckpoint wrote before)."""
    model = small_model()
    _randomize(model, 3)
    nn.Module.save_weights(model, str(tmp_path / "mlx.npz"))
    other = small_model()
    other.load_weights(tmp_path / "mlx.npz")
    for a, b in zip(model.get_weights(), other.get_weights()):
        assert np.array_equal(a, b)
    # and MLX's own form: a list of (parameter path, array) pairs
    third = small_model()
    pairs = [(k, mx.array(v)) for k, v in np.load(tmp_path / "mlx.npz").items()]
    assert third.load_weights(pairs) is third
    assert np.array_equal(third.get_weights()[0], model.get_weights()[0])


def test_suffixes_and_unreadable_files(tmp_path):
    model = small_model()
    for name in ("w.h5", "w.mlxf"):  # (.mlxf is read, never written; .weights.h5 is Keras')
        with pytest.raises(ValueError, match=r"\.npz.*\.safetensors.*\.weights\.h5"):
            model.save_weights(tmp_path / name)
    assert os.listdir(tmp_path) == []
    with pytest.raises(ModelFileError, match="does not exist"):
        model.load_weights(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 nothing")
    with pytest.raises(ModelFileError, match="not a readable zip"):
        model.load_weights(tmp_path / "junk.npz")
    (tmp_path / "junk.safetensors").write_bytes(b"\xff" * 16)
    with pytest.raises(ModelFileError, match="header"):
        model.load_weights(tmp_path / "junk.safetensors")


def test_npz_with_object_arrays_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, **{"hidden/kernel": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(ModelFileError, match="'hidden/kernel' has dtype '\\|O'"):
        small_model().load_weights(path)


def test_safetensors_header_checks():
    good = safetensors.encode({"a": np.zeros((2, 3), np.float32)})
    arrays, problems = safetensors.decode(good, "f")
    assert problems == [] and arrays["a"].shape == (2, 3)
    header = {"a": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 24]},
              "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
              "c": {"dtype": "OBJ", "shape": [1], "data_offsets": [0, 8]},
              "d": {"dtype": "F32", "shape": [2], "data_offsets": [8, 10 ** 12]},
              "e": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}
    text = json.dumps(header).encode()
    data = len(text).to_bytes(8, "little") + text + bytes(24)
    arrays, problems = safetensors.decode(data, "f")
    assert sorted(arrays) == ["b", "e"]
    assert len(problems) == 4  # a: size, c: dtype, d: offsets, b/e overlap
    assert any("overlap" in p for p in problems)
