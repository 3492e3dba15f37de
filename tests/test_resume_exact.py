"""Exact resume with shuffling and Dropout (engine/resume_state.py).

- A training script (shuffle=True, a Dropout layer, ModelCheckpoint every epoch)
  is killed with SIGKILL after a checkpoint; a new process continues from the
  last checkpoint with ``initial_epoch``; its final weights equal, bit for bit,
  those of the same script run without interruption. The same checkpoint with
  its stored training state removed does not resume exactly (the state is what
  makes it exact).
- In-process: what is stored, when it is put back (never at load time), the
  warning for a state of another epoch, mid-epoch checkpoints, bad states as
  ``ModelFileError``, and the data-parallel shuffle order (a function of the
  seed and the epoch only).
"""

import glob
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import warnings
import zipfile

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import callbacks, layers
from mlxfunctional.engine.data_adapter import ArrayBatches
from mlxfunctional.saving import ModelFileError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCHS = 6

_SCRIPT = """
    import os, sys, time
    import numpy as np
    import mlxfunctional as keras
    from mlxfunctional import callbacks, layers

    mode, out = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6)).astype("float32")
    y = rng.integers(0, 3, 40)


    class Pause(callbacks.Callback):
        # Time between checkpoints to kill the run in (draws no random numbers).
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(float(os.environ.get("PAUSE", "0")))


    if mode == "resume":
        path = sys.argv[3]
        model = keras.models.load_model(path)
        initial_epoch = int(sys.argv[4])
    else:
        keras.utils.set_random_seed(7)
        inputs = keras.Input((6,))
        h = layers.Dropout(0.5)(layers.Dense(8, activation="relu")(inputs))
        model = keras.Model(inputs, layers.Dense(3)(h))
        model.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        initial_epoch = 0
    checkpoint = callbacks.ModelCheckpoint(os.path.join(out, "ckpt-{epoch:02d}.mlxf"))
    model.fit(x, y, batch_size=8, epochs=EPOCHS, initial_epoch=initial_epoch, verbose=0,
              callbacks=[checkpoint, Pause()])  # shuffle=True: fit's default
    np.savez(os.path.join(out, "final.npz"), *model.get_weights())
""".replace("EPOCHS", str(EPOCHS))


def _run(mode, out, *args, pause=0.0):
    env = dict(os.environ, PYTHONPATH=REPO, PAUSE=str(pause))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(_SCRIPT), mode, str(out),
                             *map(str, args)], env=env, cwd=REPO, stderr=subprocess.PIPE,
                            text=True)


def _finish(proc):
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err


def _final(out):
    with np.load(out / "final.npz") as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


def _without_resume_state(src, dst):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "metadata.json":
                meta = json.loads(data)
                del meta["resume"]
                data = json.dumps(meta).encode()
            zout.writestr(name, data)


def test_a_killed_run_resumed_from_its_checkpoint_ends_bit_for_bit_as_an_uninterrupted_one(
        tmp_path):
    straight_dir, killed_dir = tmp_path / "straight", tmp_path / "killed"
    straight_dir.mkdir(), killed_dir.mkdir()
    straight = _run("train", straight_dir)
    killed = _run("train", killed_dir, pause=1.0)
    _finish(straight)
    deadline = time.monotonic() + 300
    while not (killed_dir / "ckpt-02.mlxf").exists():
        assert killed.poll() is None and time.monotonic() < deadline, killed.stderr.read()
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=30)
    assert killed.returncode == -signal.SIGKILL
    assert not (killed_dir / "final.npz").exists()

    # The last complete checkpoint (a save cut short leaves only a hidden temp file).
    last = max(int(re.fullmatch(r"ckpt-(\d+)\.mlxf", os.path.basename(p)).group(1))
               for p in glob.glob(str(killed_dir / "ckpt-*.mlxf")))
    assert 2 <= last < EPOCHS
    checkpoint = killed_dir / f"ckpt-{last:02d}.mlxf"
    with zipfile.ZipFile(checkpoint) as zf:
        stored = json.loads(zf.read("metadata.json"))["resume"]
    assert stored["epoch"] == last and stored["iterations"] == 5 * last
    _without_resume_state(checkpoint, tmp_path / "stateless.mlxf")

    resumed_dir, stateless_dir = tmp_path / "resumed", tmp_path / "stateless"
    resumed_dir.mkdir(), stateless_dir.mkdir()
    resumed = _run("resume", resumed_dir, checkpoint, last)
    stateless = _run("resume", stateless_dir, tmp_path / "stateless.mlxf", last)
    _finish(resumed), _finish(stateless)

    expected = _final(straight_dir)
    got = _final(resumed_dir)
    assert len(got) == len(expected) == 4
    for a, b in zip(got, expected):
        assert np.array_equal(a, b)  # bit for bit
    # The stored shuffle/Dropout state is what makes it exact: without it the same
    # weights and optimizer state end elsewhere.
    assert not all(np.array_equal(a, b) for a, b in zip(_final(stateless_dir), expected))


# -- in-process ---------------------------------------------------------------
def _data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(40, 6)).astype("float32"), rng.integers(0, 3, 40)


def _model(seed=7):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6,))
    h = layers.Dropout(0.5)(layers.Dense(8, activation="relu")(inputs))
    model = keras.Model(inputs, layers.Dense(3)(h))
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _equal(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))


def _key():
    return np.array(mx.random.state[0]).tolist()


def test_fit_continues_in_process_and_set_random_seed_fixes_a_whole_run():
    x, y = _data()
    straight = _model()
    straight.fit(x, y, batch_size=8, epochs=3, verbose=0)
    again = _model()
    again.fit(x, y, batch_size=8, epochs=3, verbose=0)
    assert _equal(straight, again)
    initial = _model().get_weights()
    other_seed = _model(seed=8)
    other_seed.set_weights(initial)
    other_seed.fit(x, y, batch_size=8, epochs=3, verbose=0)  # same start, other randomness
    assert not _equal(straight, other_seed)

    split = _model()
    split.fit(x, y, batch_size=8, epochs=2, verbose=0)
    mx.random.seed(12345)  # whatever happened in between is undone by the resume
    split.fit(x, y, batch_size=8, epochs=3, initial_epoch=2, verbose=0)
    assert _equal(straight, split)


def test_loading_puts_nothing_back_and_only_the_matching_initial_epoch_does(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    model.save(tmp_path / "m.mlxf")
    with zipfile.ZipFile(tmp_path / "m.mlxf") as zf:
        stored = json.loads(zf.read("metadata.json"))["resume"]
    assert stored["epoch"] == 2 and stored["iterations"] == 10
    assert stored["shuffle_seed"] is None  # one process: the orders come from the state
    assert len(stored["random_state"]) == 1

    loaded = keras.models.load_model(tmp_path / "m.mlxf")
    after_load = _key()
    assert after_load != stored["random_state"][0]  # loading does not put it back
    loaded.predict(x, verbose=0)
    loaded.evaluate(x, y, verbose=0)
    assert _key() == after_load  # nor do predict and evaluate

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded.fit(x, y, batch_size=8, epochs=3, initial_epoch=2, verbose=0)
    reference = keras.models.load_model(tmp_path / "m.mlxf")
    with pytest.warns(UserWarning, match=r"recorded after epoch 2 and 10 optimizer steps"):
        reference.fit(x, y, batch_size=8, epochs=4, initial_epoch=3, verbose=0)
    # initial_epoch=0 (fine-tuning a loaded model from scratch): no warning, no resume
    fresh = keras.models.load_model(tmp_path / "m.mlxf")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fresh.fit(x, y, batch_size=8, epochs=1, verbose=0)


def test_a_mid_epoch_checkpoint_stores_no_resume_state(tmp_path):
    x, y = _data()
    model = _model()
    every_3 = callbacks.ModelCheckpoint(str(tmp_path / "b{batch}.mlxf"), save_freq=3)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[every_3])
    with zipfile.ZipFile(tmp_path / "b3.mlxf") as zf:
        assert "resume" not in json.loads(zf.read("metadata.json"))
    model.save(tmp_path / "end.mlxf")  # after the epoch: the weights of the recorded point
    with zipfile.ZipFile(tmp_path / "end.mlxf") as zf:
        assert json.loads(zf.read("metadata.json"))["resume"]["epoch"] == 1
    model.train_on_batch(x[:8], y[:8])  # trained past it: no longer stored
    model.save(tmp_path / "later.mlxf")
    with zipfile.ZipFile(tmp_path / "later.mlxf") as zf:
        assert "resume" not in json.loads(zf.read("metadata.json"))


@pytest.mark.parametrize("bad, named", [
    ([], "must be an object"),
    ({"epoch": 1, "iterations": 5, "shuffle_seed": None}, "exactly the keys"),
    ({"epoch": -1, "iterations": 5, "shuffle_seed": None, "random_state": [[1, 2]]}, "epoch"),
    ({"epoch": True, "iterations": 5, "shuffle_seed": None, "random_state": [[1, 2]]},
     "epoch"),
    ({"epoch": 1, "iterations": 5.0, "shuffle_seed": None, "random_state": [[1, 2]]},
     "iterations"),
    ({"epoch": 1, "iterations": 5, "shuffle_seed": 2**32, "random_state": [[1, 2]]},
     "shuffle_seed"),
    ({"epoch": 1, "iterations": 5, "shuffle_seed": None, "random_state": [[1, 2**32]]},
     r"random_state\[0\]"),
    ({"epoch": 1, "iterations": 5, "shuffle_seed": None, "random_state": [[1, 2, 3]]},
     r"random_state\[0\]"),
    ({"epoch": 1, "iterations": 5, "shuffle_seed": None, "random_state": []}, "random_state"),
    ({"epoch": 1, "iterations": 5, "shuffle_seed": None,
      "random_state": [[1, 2]] * (2**16 + 1)}, "random_state"),
])
def test_a_bad_resume_state_is_a_model_file_error_naming_it(tmp_path, bad, named):
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "good.mlxf")
    with zipfile.ZipFile(tmp_path / "good.mlxf") as zin, \
            zipfile.ZipFile(tmp_path / "bad.mlxf", "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "metadata.json":
                meta = json.loads(data)
                meta["resume"] = bad
                data = json.dumps(meta).encode()
            zout.writestr(name, data)
    with pytest.raises(ModelFileError, match="metadata.json's 'resume'") as info:
        keras.models.load_model(tmp_path / "bad.mlxf")
    assert re.search(named, str(info.value))


def test_the_seeded_shuffle_order_depends_only_on_the_seed_and_the_epoch():
    # row i holds i, so the rows a batch took are its values (numpy data is gathered on
    # the host, MLX data in the step: both must follow the same order)
    x = np.arange(20, dtype=np.float32)[:, None]

    def orders(epochs, start=0, steps=None, seed=11, source=np.asarray):
        data = ArrayBatches([source(x)], batch_size=4, shuffle=True, steps=steps)
        data.seed, data.epoch = seed, start
        return [np.concatenate([np.array(bx[0] if idx is None else bx[0][idx])[:, 0]
                                for bx, _, _, idx in data.batches()]).astype(int)
                for _ in range(epochs)]

    first = orders(4)
    assert all(sorted(o.tolist()) == list(range(20)) for o in first)  # permutations
    assert len({tuple(o) for o in first}) == 4  # a new order each epoch
    assert all(np.array_equal(a, b) for a, b in zip(orders(2, start=2), first[2:]))  # resumed
    assert not np.array_equal(orders(1, seed=12)[0], first[0])
    # steps_per_epoch over two passes: pass p of epoch e is pass 2e+p, wherever it starts
    long = orders(2, steps=8)
    assert all(len(o) == 32 for o in long)
    assert np.array_equal(orders(1, start=1, steps=8)[0], long[1])
    assert all(np.array_equal(a, b) for a, b in zip(orders(4, source=mx.array), first))
    # and the global random state is not read: the same orders under any mx.random.seed
    mx.random.seed(0)
    a = orders(1)
    mx.random.seed(1)
    assert np.array_equal(a[0], orders(1)[0])
