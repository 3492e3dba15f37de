"""Training resumes exactly in a fresh process; saves are atomic.

- resume: fit 3 epochs == fit 2, save, load in a new Python process, fit 1
  more (default compiled train step, Adam so the optimizer state matters);
- atomic: processes that save a large model in a loop are killed with SIGKILL
  at random moments (and one exactly between writing the temporary file and
  renaming it); the file then loads as one complete model, old or new;
- a failed save leaves the previous file and no stray files.
"""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers
from mlxfunctional.saving import atomic

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(script, *args, **kwargs):
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
                            env=env, cwd=REPO, **kwargs)


def _model():
    keras.backend.clear_session()
    keras.utils.set_random_seed(7)
    inputs = keras.Input((12,), name="features")
    x = layers.Dense(16, activation="relu")(inputs)
    x = layers.Dense(16, activation="relu")(x)
    model = keras.Model(inputs, layers.Dense(3)(x), name="resume")
    # Few distinct ops and no metrics: on a fresh MLX cache each fused kernel of the
    # compiled step is JIT-compiled by g++ (about half a second each on 2 cores).
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


_RESUME = """
    import sys
    import numpy as np
    import mlxfunctional as keras

    path, data, out = sys.argv[1:4]
    d = np.load(data)
    model = keras.models.load_model(path)
    assert model.optimizer.iterations == 8, model.optimizer.iterations
    model.fit(d["x"], d["y"], batch_size=16, epochs=3, initial_epoch=2, shuffle=False,
              verbose=0)
    model.save_weights(out)
"""


def test_training_resumes_exactly_in_a_fresh_process(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 12)).astype("float32")
    y = rng.integers(0, 3, 64)
    np.savez(tmp_path / "data.npz", x=x, y=y)

    straight = _model()
    straight.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)

    first = _model()
    first.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    first.save(tmp_path / "epoch2.mlxf")
    proc = _python(_RESUME, tmp_path / "epoch2.mlxf", tmp_path / "data.npz",
                   tmp_path / "resumed.npz")
    assert proc.wait(timeout=120) == 0

    resumed = np.load(tmp_path / "resumed.npz")
    expected = dict(zip(["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias",
                         "dense_2/kernel", "dense_2/bias"], straight.get_weights()))
    assert sorted(resumed.files) == sorted(expected)
    for key, value in expected.items():
        assert np.array_equal(resumed[key], value), key  # bit for bit
    # and it did train after the save
    assert not np.array_equal(resumed["dense/kernel"], first.get_weights()[0])


_SAVER = """
    import os, sys
    import numpy as np
    import mlxfunctional as keras
    from mlxfunctional import layers

    path, mode = sys.argv[1], sys.argv[2]
    inputs = keras.Input((1024,))
    x = layers.Dense(1024, name="a")(inputs)
    x = layers.Dense(1024, name="b")(x)
    model = keras.Model(inputs, layers.Dense(16, name="c")(x), name="big")
    shapes = [w.shape for w in model.get_weights()]

    def fill(k):
        model.set_weights([np.full(s, k, np.float32) for s in shapes])

    fill(0)
    model.save(path)
    if mode == "pause":  # stop exactly between the synced temp file and the rename
        real_replace = os.replace
        def replace(src, dst):
            print("renaming", flush=True)
            import time; time.sleep(60)
            real_replace(src, dst)
        os.replace = replace
    print("ready", flush=True)
    k = 0
    while True:
        k += 1
        fill(k)
        model.save(path)
"""


def _check_complete(path):
    model = keras.models.load_model(path)  # raises on anything torn or mixed
    values = {float(v) for w in model.get_weights() for v in np.unique(w)}
    assert len(values) == 1, values  # every weight from the same save
    return values.pop()


def test_a_killed_save_leaves_the_previous_file_intact(tmp_path):
    rng = random.Random(0)
    runs = [("random", rng.uniform(0.05, 0.6)) for _ in range(3)] + [("pause", 0.0)]
    procs = []
    for i, (mode, delay) in enumerate(runs):
        path = tmp_path / f"model{i}.mlxf"
        procs.append((path, mode, delay, _python(_SAVER, path, mode, stdout=subprocess.PIPE,
                                                 text=True)))
    for path, mode, delay, proc in procs:
        assert proc.stdout.readline().strip() == "ready"
        if mode == "pause":
            assert proc.stdout.readline().strip() == "renaming"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    for path, mode, delay, proc in procs:
        value = _check_complete(path)
        if mode == "pause":
            assert value == 0.0  # the new file was complete on disk, yet never replaced it
            strays = [n for n in os.listdir(tmp_path) if n.startswith(f".{path.name}.")]
            assert len(strays) == 1  # the synced temporary file a killed save leaves


def test_a_failed_save_leaves_no_stray_files(tmp_path, monkeypatch):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(2)(inputs))
    model.save(tmp_path / "m.mlxf")
    model.save(str(tmp_path / "d") + "/")
    before = (tmp_path / "m.mlxf").read_bytes()
    listing = sorted(os.listdir(tmp_path)), sorted(os.listdir(tmp_path / "d"))

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        model.save(tmp_path / "m.mlxf")
    with pytest.raises(OSError, match="No space"):
        model.save(str(tmp_path / "d") + "/")
    with pytest.raises(OSError, match="No space"):
        model.save(str(tmp_path / "new_dir") + "/")  # a folder the save created goes too
    with pytest.raises(OSError, match="No space"):
        model.save_weights(tmp_path / "w.safetensors")
    assert (sorted(os.listdir(tmp_path)), sorted(os.listdir(tmp_path / "d"))) == listing
    assert (tmp_path / "m.mlxf").read_bytes() == before
