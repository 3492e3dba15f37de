"""NaN/inf weights and nonsense optimizer state in model files (issue 13, item 9).

Before the fix a file whose weights held NaN, or whose ``optimizer.npz`` said
``step=-5`` or ``learning_rate=NaN``, loaded silently, and the next ``fit`` turned
every weight into NaN. Now NaN/inf weights load with one warning naming the
layers, and such an optimizer state refuses the file. The files are made by
editing a really saved model folder (its checksums updated, as an attacker or a
buggy tool would), then checked against numpy.
"""

import hashlib
import io
import json
import warnings

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers
from mlxfunctional.saving import ModelFileError
from mlxfunctional.saving.value_checks import NonFiniteWeightsWarning


def _model():
    keras.utils.set_random_seed(9)
    inputs = keras.Input((3,), name="x")
    hidden = layers.Dense(4, name="hidden")(inputs)
    middle = layers.Dense(4, name="middle")(hidden)
    model = keras.Model(inputs, layers.Dense(2, name="out")(middle))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", run_eagerly=True)
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    model.fit(x, np.zeros((8, 2), "float32"), epochs=1, verbose=0)
    return model, x


def _edit_member(folder, member, edit):
    """Rewrites ``folder/member`` (an .npz) with ``edit(dict of arrays)`` and puts the
    new size and SHA-256 into metadata.json, so only the values are wrong."""
    with np.load(folder / member) as z:
        arrays = {k: z[k] for k in z.files}
    edit(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    (folder / member).write_bytes(data)
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["members"][member] = {"bytes": len(data),
                                   "sha256": hashlib.sha256(data).hexdigest()}
    (folder / "metadata.json").write_text(json.dumps(metadata))


def _saved(tmp_path):
    model, x = _model()
    folder = tmp_path / "m"
    model.save(str(folder) + "/")
    return model, x, folder


def test_the_edit_alone_keeps_the_file_loadable(tmp_path):
    model, x, folder = _saved(tmp_path)
    _edit_member(folder, "weights.npz", lambda a: None)
    _edit_member(folder, "optimizer.npz", lambda a: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for finite weights
        loaded = keras.models.load_model(folder)
    np.testing.assert_array_equal(np.asarray(loaded.predict(x, verbose=0)),
                                  np.asarray(model.predict(x, verbose=0)))


def test_nan_and_inf_weights_load_with_one_warning_naming_the_layers(tmp_path):
    model, x, folder = _saved(tmp_path)

    def poison(arrays):
        arrays["hidden/kernel"][1, 2] = np.nan
        arrays["out/bias"][0] = -np.inf

    _edit_member(folder, "weights.npz", poison)
    with pytest.warns(NonFiniteWeightsWarning) as record:
        loaded = keras.models.load_model(folder)
    assert len(record) == 1
    message = str(record[0].message)
    assert "2 layer(s)" in message and "'hidden' (kernel)" in message \
        and "'out' (bias)" in message and "'middle'" not in message
    assert str(folder) in message
    # The values are what the file holds (loaded, not altered).
    kernel = loaded.get_layer("hidden").get_weights()[0]
    assert np.isnan(kernel[1, 2]) and np.isneginf(loaded.get_layer("out").get_weights()[1][0])
    assert np.isnan(np.asarray(loaded.predict(x, verbose=0))).all(axis=1).any()


@pytest.mark.parametrize("suffix", [".npz", ".safetensors", ".mlxf"])
def test_load_weights_warns_too(tmp_path, suffix):
    model, _, _ = _saved(tmp_path)
    model.get_layer("middle").set_weights([np.full((4, 4), np.inf, "float32"),
                                           np.zeros(4, "float32")])
    path = tmp_path / f"w{suffix}"
    if suffix == ".mlxf":
        model.save(path)
    else:
        model.save_weights(path)
    fresh, _ = _model()
    with pytest.warns(NonFiniteWeightsWarning, match=r"1 layer\(s\): 'middle' \(kernel\)"):
        fresh.load_weights(path)
    assert np.isposinf(fresh.get_layer("middle").get_weights()[0]).all()


@pytest.mark.parametrize("key,value,message", [
    ("step", -5, r"step \(updates done so far\) is -5; it must be a whole number >= 0"),
    ("learning_rate", np.nan, r"learning rate is nan; it must be finite"),
    ("learning_rate", np.inf, r"learning rate is inf; it must be finite"),
    ("learning_rate", -np.inf, r"learning rate is -inf"),
])
def test_nonsense_optimizer_state_refuses_the_file(tmp_path, key, value, message):
    _, _, folder = _saved(tmp_path)

    def edit(arrays):
        arrays[key] = np.array(value, dtype=arrays[key].dtype)

    _edit_member(folder, "optimizer.npz", edit)
    with pytest.raises(ModelFileError, match=f"optimizer.npz: the optimizer's {message}") \
            as info:
        keras.models.load_model(folder)
    assert str(folder) in str(info.value)
    # compile=False does not restore the optimizer, so it does not read the state:
    # the model loads for inference.
    keras.models.load_model(folder, compile=False)


def test_what_the_refused_file_would_have_done(tmp_path):
    # The reason for refusing: restored anyway, a NaN learning rate turns every
    # weight into NaN at the first step (numpy: w - nan * update).
    model, x, _ = _saved(tmp_path)
    model.optimizer.learning_rate = float("nan")
    model.fit(x, np.zeros((8, 2), "float32"), epochs=1, verbose=0)
    assert all(np.isnan(w).all() for w in model.get_weights())


def test_a_valid_state_still_resumes(tmp_path):
    model, x, folder = _saved(tmp_path)
    loaded = keras.models.load_model(folder)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 1
