"""Keras 3 ``.keras`` and ``.weights.h5`` files, against files and numbers made by Keras.

The fixtures in ``weights/keras/`` were written by Keras 3.15.1 (JAX backend)
with ``weights/make_keras_fixtures.py``, together with Keras' predictions on
fixed inputs and, for the compiled MLP, the weights Keras reached after one
more training step from the saved Adam state. Keras itself is not needed
here; the same script's ``check`` mode loads our written files in Keras.
"""

import io
import json
import os
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional.saving import ModelFileError

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "weights", "keras")
READABLE = ["mnist_mlp_adam", "toy_resnet", "tickets", "nested_shared", "rnn_masked", "conv_bn",
            "attention"]


def fixture(name):
    data = np.load(os.path.join(FIXTURES, f"{name}.npz"))
    xs = [data[k] for k in sorted(k for k in data if k.startswith("x"))]
    ys = [data[k] for k in sorted(k for k in data if k.startswith("y"))]
    return os.path.join(FIXTURES, f"{name}.keras"), xs, ys, data


def predict(model, xs):
    out = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    return [np.asarray(y) for y in (out if isinstance(out, list) else [out])]


@pytest.mark.parametrize("name", READABLE)
def test_keras_files_load_and_predict_what_keras_predicted(name):
    path, xs, ys, _ = fixture(name)
    model = keras.models.load_model(path)
    got = predict(model, xs)
    assert len(got) == len(ys)
    for mine, theirs in zip(got, ys):
        np.testing.assert_allclose(mine, theirs, atol=1e-5, rtol=0)


def test_parameter_counts_are_keras_numbers():
    # The counts Keras printed when it wrote the fixtures (make_keras_fixtures.py's output).
    expected = {"mnist_mlp_adam": 55_050, "toy_resnet": 223_242, "tickets": 240_097,
                "nested_shared": 67, "rnn_masked": 1_423, "conv_bn": 395, "attention": 1_154}
    for name, count in expected.items():
        assert keras.models.load_model(fixture(name)[0]).count_params() == count, name


def test_training_resumes_from_keras_adam_state():
    path, _, _, data = fixture("mnist_mlp_adam")
    model = keras.models.load_model(path)
    assert type(model.optimizer).__name__ == "Adam"
    assert int(model.optimizer.iterations) == 3  # 96 samples, batch 32, one epoch
    model.train_on_batch(data["train_x"], data["train_y"])
    after = [data[f"after_step_{i}"] for i in range(len(model.get_weights()))]
    for mine, theirs in zip(model.get_weights(), after):
        np.testing.assert_allclose(mine, theirs, atol=1e-5, rtol=0)
    # A fresh Adam at the same weights takes a different step: the state mattered.
    fresh = keras.models.load_model(path, compile=False)
    fresh.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    fresh.train_on_batch(data["train_x"], data["train_y"])
    assert max(np.abs(a - b).max() for a, b in zip(fresh.get_weights(), after)) > 1e-5


@pytest.mark.parametrize("name", READABLE)
def test_written_keras_files_reload_identically(tmp_path, name):
    path, xs, _, _ = fixture(name)
    model = keras.models.load_model(path)
    model.save(tmp_path / "again.keras")
    again = keras.models.load_model(tmp_path / "again.keras")
    for a, b in zip(predict(model, xs), predict(again, xs)):
        np.testing.assert_array_equal(a, b)
    with zipfile.ZipFile(tmp_path / "again.keras") as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        metadata = json.loads(zf.read("metadata.json"))
        config = json.loads(zf.read("config.json"))
    assert metadata["keras_version"] == "3.15.1"
    # Keras' dialect: every graph edge is a __keras_tensor__ with its shape and dtype,
    # every object names its Keras module.
    edges, objects = [], []

    def walk(value):
        if isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            if "__tensor__" in value or value.get("class_name") == "__keras_tensor__":
                edges.append(value)
            elif "class_name" in value:
                objects.append(value)
            for v in value.values():
                walk(v)

    walk(config)
    assert all(set(e.get("config", {})) == {"shape", "dtype", "keras_history"} for e in edges)
    assert bool(edges) == (config["class_name"] == "Functional")
    assert all(str(o.get("module")).startswith("keras") for o in objects), \
        [o["class_name"] for o in objects if not str(o.get("module")).startswith("keras")]


def test_written_store_is_keras_layout(tmp_path):
    path, _, _, _ = fixture("mnist_mlp_adam")
    keras.models.load_model(path).save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf, \
            h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as ours, \
            zipfile.ZipFile(path) as kz, \
            h5py.File(io.BytesIO(kz.read("model.weights.h5")), "r") as theirs:
        def datasets(f):
            out = {}
            f.visititems(lambda n, o: out.__setitem__(n, o.shape)
                         if isinstance(o, h5py.Dataset) else None)
            return out
        # Same paths and shapes as Keras wrote (layers, then optimizer/vars).
        assert datasets(ours) == datasets(theirs)
        assert ours["layers/dense_1/vars"].attrs["name"] == "dense_2"


def test_keras_weights_h5_round_trip_and_mismatch(tmp_path):
    path, xs, ys, _ = fixture("toy_resnet")
    model = keras.models.load_model(path)
    model.save_weights(tmp_path / "w.weights.h5")
    other = keras.models.load_model(path)
    other.set_weights([np.zeros_like(w) for w in other.get_weights()])
    other.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_allclose(predict(other, xs)[0], ys[0], atol=1e-5, rtol=0)
    small = keras.Sequential([keras.Input((784,)), keras.layers.Dense(3)])
    with pytest.raises(ModelFileError, match="expected 2 arrays|expects shape"):
        small.load_weights(tmp_path / "w.weights.h5")


def test_keras_checkpoint_paths(tmp_path):
    path, xs, _, data = fixture("mnist_mlp_adam")
    model = keras.models.load_model(path)
    model.fit(data["train_x"], data["train_y"], epochs=1, verbose=0, callbacks=[
        keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras")),
        keras.callbacks.ModelCheckpoint(str(tmp_path / "best.weights.h5"),
                                        save_weights_only=True)])
    reloaded = keras.models.load_model(tmp_path / "best.keras")
    np.testing.assert_array_equal(predict(reloaded, xs)[0], predict(model, xs)[0])
    assert int(reloaded.optimizer.iterations) == int(model.optimizer.iterations)


def test_unknown_classes_are_listed_in_one_error(tmp_path):
    def unknown(config):
        layers = config["config"]["layers"]
        layers[1].update(class_name="NotAKerasLayer", registered_name="my>NotAKerasLayer")
        layers[2]["config"]["kernel_initializer"]["class_name"] = "MyInitializer"
        return config

    bad = rewrite(fixture("mnist_mlp_adam")[0], tmp_path / "unknown.keras", config=unknown)
    with pytest.raises(ModelFileError, match="NotAKerasLayer .layer 'dense_1'.*MyInitializer") \
            as info:
        keras.models.load_model(bad)
    assert "nothing was imported" in str(info.value)


# -- hostile files ------------------------------------------------------------
def rewrite(src, dst, config=None, weights=None):
    with zipfile.ZipFile(src) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    if config is not None:
        members["config.json"] = json.dumps(config(json.loads(members["config.json"]))).encode()
    if weights is not None:
        members["model.weights.h5"] = weights
    with zipfile.ZipFile(dst, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    return dst


def test_lambda_bytecode_made_by_keras_is_refused():
    with pytest.raises(ModelFileError, match="bytecode"):
        keras.models.load_model(os.path.join(FIXTURES, "lambda_bytecode.keras"))


def test_module_fields_never_import(tmp_path):
    # Keras' CVE payloads: a layer naming os.system, a config calling get_file.
    marker = tmp_path / "ran"

    def os_system(config):
        config["config"]["layers"][1].update(module="os", class_name="system",
                                             registered_name="system")
        config["config"]["layers"][1]["config"] = {"command": f"touch {marker}"}
        return config

    def get_file(config):
        config["config"]["layers"][1]["config"]["kernel_initializer"] = {
            "module": "keras.utils", "class_name": "get_file", "registered_name": None,
            "config": {"origin": "http://127.0.0.1:9/x", "fname": str(marker)}}
        return config

    src = fixture("mnist_mlp_adam")[0]
    for name, edit in (("system", os_system), ("get_file", get_file)):
        with pytest.raises(ModelFileError, match="does not have|never imported"):
            keras.models.load_model(rewrite(src, tmp_path / f"{name}.keras", config=edit))
    assert not marker.exists()
    # A module of the attacker's, importable in the loading process, is still never imported.
    (tmp_path / "evil_mod.py").write_text(f"open({str(marker)!r}, 'w').close()\n"
                                          "class Thing: pass\n")

    def evil(config):
        config["config"]["layers"][1].update(module="evil_mod", class_name="Thing",
                                             registered_name=None)
        return config

    bad = rewrite(src, tmp_path / "evil.keras", config=evil)
    probe = subprocess.run([sys.executable, "-c", (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
        "import mlxfunctional as k\n"
        f"try:\n k.models.load_model({str(bad)!r})\nexcept Exception as e: print(e)\n"
        "print('evil_mod' in sys.modules)")], capture_output=True, text=True, check=True)
    assert probe.stdout.strip().endswith("False") and "Thing" in probe.stdout
    assert not marker.exists()


def test_external_hdf5_links_and_datasets_are_refused(tmp_path):
    src = fixture("mnist_mlp_adam")[0]
    outside = tmp_path / "outside.h5"
    with h5py.File(outside, "w") as f:
        f["secret"] = np.ones((784, 64), "float32")
    with zipfile.ZipFile(src) as zf:
        original = zf.read("model.weights.h5")

    def edited(change):
        buffer = io.BytesIO(original)
        with h5py.File(buffer, "r+") as f:
            change(f)
        return buffer.getvalue()

    def external_link(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = h5py.ExternalLink(str(outside), "secret")

    def external_storage(f):
        del f["layers/dense/vars/1"]
        raw = tmp_path / "raw.bin"
        np.ones(64, "float32").tofile(raw)
        f.create_dataset("layers/dense/vars/1", shape=(64,), dtype="float32",
                         external=[(str(raw), 0, 256)])

    for name, change in (("link", external_link), ("storage", external_storage)):
        bad = rewrite(src, tmp_path / f"{name}.keras", weights=edited(change))
        with pytest.raises(ModelFileError, match="refused"):
            keras.models.load_model(bad)


def test_wrong_shapes_and_junk_are_one_error(tmp_path):
    src = fixture("mnist_mlp_adam")[0]
    with zipfile.ZipFile(src) as zf:
        original = zf.read("model.weights.h5")
    buffer = io.BytesIO(original)
    with h5py.File(buffer, "r+") as f:
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = np.zeros((3, 3), "float32")
        del f["layers/dense_2/vars/1"]
    bad = rewrite(src, tmp_path / "shapes.keras", weights=buffer.getvalue())
    with pytest.raises(ModelFileError) as info:
        keras.models.load_model(bad)
    message = str(info.value)
    assert "'dense_1'" in message and "(3, 3)" in message and "'predictions'" in message
    junk = rewrite(src, tmp_path / "junk.keras", weights=b"not hdf5")
    with pytest.raises(ModelFileError, match="HDF5"):
        keras.models.load_model(junk)
    (tmp_path / "notzip.keras").write_bytes(b"PK\x03\x04junk")
    with pytest.raises(ModelFileError, match="zip"):
        keras.models.load_model(tmp_path / "notzip.keras")


def test_mlxf_convert_both_ways_and_summary(tmp_path):
    path, xs, ys, _ = fixture("toy_resnet")

    def mlxf(*args):
        return subprocess.run([sys.executable, "-m", "mlxfunctional.cli", *args],
                              capture_output=True, text=True, timeout=300)

    assert mlxf("convert", path, str(tmp_path / "r.mlxf")).returncode == 0
    assert mlxf("convert", str(tmp_path / "r.mlxf"), str(tmp_path / "r.keras")).returncode == 0
    for name in ("r.mlxf", "r.keras"):
        got = predict(keras.models.load_model(tmp_path / name), xs)[0]
        np.testing.assert_allclose(got, ys[0], atol=1e-5, rtol=0)
    summary = mlxf("summary", str(tmp_path / "r.keras"))
    assert summary.returncode == 0 and "Total params: 223,242" in summary.stdout
    refused = mlxf("convert", str(tmp_path / "r.keras"), str(tmp_path / "r.txt"))
    assert refused.returncode == 1 and "r.txt" in refused.stderr
    (tmp_path / "junk.keras").write_bytes(b"PK\x03\x04junk")
    junk = mlxf("convert", str(tmp_path / "junk.keras"), str(tmp_path / "a.mlxf"))
    assert junk.returncode == 3 and "zip" in junk.stderr
    (tmp_path / "junk.keras").unlink()
    assert sorted(os.listdir(tmp_path)) == ["r.keras", "r.mlxf"]


# -- tf.keras 2 .h5 files (made by tf-keras 2.21 with the same script) ----------------
TF2 = ["mnist_mlp_adam", "toy_resnet", "tickets", "rnn_masked", "conv_bn"]


def tf2_fixture(name):
    data = np.load(os.path.join(FIXTURES, f"{name}.tf2.npz"))
    xs = [data[k] for k in sorted(k for k in data if k.startswith("x"))]
    ys = [data[k] for k in sorted(k for k in data if k.startswith("y"))]
    return os.path.join(FIXTURES, f"{name}.tf2"), xs, ys


@pytest.mark.parametrize("name", TF2)
def test_tf_keras_2_h5_models_and_weights(name):
    stem, xs, ys = tf2_fixture(name)
    compiled = name in ("mnist_mlp_adam", "conv_bn")
    with pytest.warns(UserWarning, match="optimizer state") if compiled else _no_warning():
        model = keras.models.load_model(stem + ".h5")
    for mine, theirs in zip(predict(model, xs), ys):
        np.testing.assert_allclose(mine, theirs, atol=1e-5, rtol=0)
    for by_name in (False, True):  # topological order, then Keras' by_name
        model.set_weights([np.zeros_like(w) for w in model.get_weights()])
        model.load_weights(stem + "_weights.h5", by_name=by_name)
        for mine, theirs in zip(predict(model, xs), ys):
            np.testing.assert_allclose(mine, theirs, atol=1e-5, rtol=0)


class _no_warning:
    def __enter__(self):
        import warnings
        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)


def test_tf_keras_2_compile_config_is_restored():
    stem, _, _ = tf2_fixture("mnist_mlp_adam")
    with pytest.warns(UserWarning, match="fresh optimizer state"):
        model = keras.models.load_model(stem + ".h5")
    assert type(model.optimizer).__name__ == "Adam"
    assert abs(float(model.optimizer.learning_rate) - 1e-3) < 1e-9
    logs = model.evaluate(np.zeros((4, 784), "float32"), np.zeros(4, "int64"), verbose=0,
                          return_dict=True)
    assert set(logs) == {"loss", "accuracy"}


def test_tf_keras_2_weights_mismatch_and_skip(tmp_path):
    stem, _, _ = tf2_fixture("toy_resnet")
    other = keras.models.load_model(fixture("mnist_mlp_adam")[0])
    with pytest.raises(ModelFileError, match="by_name=True"):
        other.load_weights(stem + "_weights.h5")
    mlp_stem, _, _ = tf2_fixture("mnist_mlp_adam")
    renamed = keras.Sequential([keras.Input((784,)), keras.layers.Dense(64, name="dense_1"),
                                keras.layers.Dense(7, name="dense_2")])
    before = renamed.get_weights()
    with pytest.raises(ModelFileError, match="dense_2"):
        renamed.load_weights(mlp_stem + "_weights.h5", by_name=True)
    with pytest.warns(UserWarning, match="dense_2"):
        renamed.load_weights(mlp_stem + "_weights.h5", by_name=True, skip_mismatch=True)
    after = renamed.get_weights()
    assert not np.array_equal(after[0], before[0]) and np.array_equal(after[2], before[2])


def test_tf_keras_2_external_link_refused(tmp_path):
    stem, _, _ = tf2_fixture("mnist_mlp_adam")
    import shutil
    bad = tmp_path / "linked.h5"
    shutil.copy(stem + ".h5", bad)
    outside = tmp_path / "outside.h5"
    with h5py.File(outside, "w") as f:
        f["secret"] = np.ones((784, 64), "float32")
    with h5py.File(bad, "r+") as f:
        group = f["model_weights/dense_1/dense_1"]
        del group["kernel:0"]
        group["kernel:0"] = h5py.ExternalLink(str(outside), "secret")
    with pytest.raises(ModelFileError, match="refused"):
        keras.models.load_model(bad)
