"""Every augmentation layer inside one model: it traces into the compiled training
step (no host sync, no Python loop over images), each layer's key advances at
every step, a seeded run repeats bit for bit, and the model file round-trips in a
fresh process with identical predictions."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

import mlxfunctional as keras
from mlxfunctional import layers as L

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def augmentations():
    """One of each, all seeded, in an order that keeps values in [0, 255]."""
    return [
        L.RandomFlip(seed=1), L.RandomRotation(0.1, seed=2), L.RandomZoom(0.1, seed=3),
        L.RandomTranslation(0.1, 0.1, seed=4), L.RandomShear(0.1, 0.1, seed=5),
        L.RandomContrast(0.2, seed=6), L.RandomBrightness(0.1, seed=7),
        L.RandomGrayscale(0.2, seed=8), L.RandomHue(0.1, seed=9),
        L.RandomSaturation(0.4, seed=10), L.RandomInvert(0.1, seed=11),
        L.Solarization(0.1, 0.9, seed=12), L.RandomPosterization(6, seed=13),
        L.AutoContrast(), L.RandomSharpness(0.4, seed=14), L.Equalization(),
        L.RandomGaussianBlur(0.5, seed=15),
        L.RandomColorJitter(brightness_factor=0.1, contrast_factor=0.1, seed=16),
        L.RandomColorDegeneration(0.3, seed=17), L.RandomErasing(0.5, seed=18),
        L.MixUp(seed=19), L.CutMix(seed=20),
        L.Pipeline([L.RandomFlip("vertical", seed=21)]),
        L.RandomCrop(8, 8, seed=24),
    ]


def policies():
    # Every candidate operation is in the compiled graph: the smallest settings
    # keep the first (C++) compilation of the step short.
    return [L.RandAugment(num_ops=1, factor=0.2, seed=22),
            L.AugMix(num_chains=1, chain_depth=1, all_ops=False, seed=23)]


def _keys(model):
    """The keys of every generator in the model (sub-layers' included)."""
    keys = {}
    for layer in model.layers:
        subs = [layer] + [v for k, v in layer.items()
                          if isinstance(v, L.Layer)] + list(getattr(layer, "pipeline_layers", []))
        for sub in subs:
            if "generator" in sub:
                keys[f"{layer.name}/{sub.name}"] = np.array(sub.generator.state)
    return keys


def build(chain=augmentations):
    inputs = keras.Input(shape=(10, 10, 3))
    x = inputs
    for layer in chain():
        x = layer(x)
    x = L.Conv2D(4, 3, activation="relu")(x / 255.0)
    outputs = L.Dense(2, activation="softmax")(L.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def _run(x, y, chain=augmentations):
    keras.backend.clear_session()
    keras.utils.set_random_seed(5)
    model = build(chain)
    keys_before = _keys(model)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    return model, keys_before, _keys(model)


def _data():
    rng = np.random.RandomState(0)
    x = (rng.rand(8, 10, 10, 3) * 255).astype("float32")
    return x, (np.arange(8) % 2).astype("int32")


def test_all_augmentations_train_compiled_repeat_and_round_trip(tmp_path):
    x, y = _data()
    model, before, after = _run(x, y)
    assert model.layers[-5].output.shape == (None, 8, 8, 3)  # RandomCrop's symbolic shape
    assert len(before) == 23  # every random layer and sub-layer holds a key...
    moved = [name for name in before if not np.array_equal(before[name], after[name])]
    assert sorted(moved) == sorted(before), sorted(set(before) - set(moved))  # ...advanced

    again, _, _ = _run(x, y)
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        assert np.array_equal(a, b)

    expected = model.predict(x, verbose=0)
    path = str(tmp_path / "all.mlxf")
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out.npy"
    configs = tmp_path / "configs.json"
    script = textwrap.dedent(f"""
        import json, numpy as np, mlxfunctional as keras
        model = keras.models.load_model({path!r})
        np.save({str(out)!r}, model.predict(np.load({str(tmp_path / 'x.npy')!r}), verbose=0))
        with open({str(configs)!r}, "w") as f:
            json.dump([l.get_config() for l in model.layers], f)
    """)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=str(tmp_path),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert np.array_equal(np.load(out), expected)
    with open(configs) as f:
        assert json.load(f) == json.loads(json.dumps([l.get_config() for l in model.layers]))


def test_rand_augment_and_augmix_train_compiled_and_draw_at_every_step():
    x, y = _data()
    model, before, after = _run(x, y, chain=policies)
    assert len(before) == 2 + 9 + 5  # the policies and their random operations
    assert all(not np.array_equal(before[k], after[k]) for k in ("rand_augment/rand_augment",
                                                                "aug_mix/aug_mix"))
    again = model.get_weights()
    model2, _, _ = _run(x, y, chain=policies)
    for a, b in zip(again, model2.get_weights(), strict=True):
        assert np.array_equal(a, b)
    config = json.loads(json.dumps(model.get_config()))
    clone = keras.Model.from_config(config)
    assert np.array_equal(clone.predict(x, verbose=0), clone.predict(x, verbose=0))


def test_perspective_elastic_and_clahe_train_compiled():
    x, y = _data()
    model, before, after = _run(
        x, y, chain=lambda: [L.RandomPerspective(0.5, scale=0.3, seed=30),
                             L.RandomElasticTransform(0.5, scale=0.5, seed=31),
                             L.ContrastLimitedAdaptiveHistogramEqualization(
                                 tile_grid_size=(2, 2))])
    assert len(before) == 2
    assert all(not np.array_equal(before[k], after[k]) for k in before)
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0).history["loss"]
    assert all(np.isfinite(history))


def test_policy_and_warp_layers_round_trip_through_a_model_file_in_a_fresh_process(tmp_path):
    inputs = keras.Input(shape=(10, 10, 3))
    x = inputs
    for layer in policies() + [L.RandomPerspective(0.5, seed=30),
                               L.RandomElasticTransform(0.5, seed=31),
                               L.ContrastLimitedAdaptiveHistogramEqualization(
                                   tile_grid_size=(2, 2)),
                               L.MaxNumBoundingBoxes(3)]:
        x = layer(x)
    model = keras.Model(inputs, L.GlobalAveragePooling2D()(x))
    x_data, _ = _data()
    expected = model.predict(x_data, verbose=0)
    path = str(tmp_path / "policies.mlxf")
    model.save(path)
    np.save(tmp_path / "x.npy", x_data)
    out = tmp_path / "out.npy"
    configs = tmp_path / "configs.json"
    script = textwrap.dedent(f"""
        import json, numpy as np, mlxfunctional as keras
        model = keras.models.load_model({path!r})
        np.save({str(out)!r}, model.predict(np.load({str(tmp_path / 'x.npy')!r}), verbose=0))
        with open({str(configs)!r}, "w") as f:
            json.dump([l.get_config() for l in model.layers], f)
    """)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=str(tmp_path),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert np.array_equal(np.load(out), expected)
    with open(configs) as f:
        assert json.load(f) == json.loads(json.dumps([l.get_config() for l in model.layers]))
