"""BackupAndRestore: a training process killed with SIGKILL continues, in a new
process, to the same weights bit for bit as a run that was never interrupted.

The child script trains with shuffling and Dropout; a callback after the backup
kills its own process (``os.kill(os.getpid(), SIGKILL)``) at a known batch or
epoch, so the backup on disk is the one written just before. Running the same
script again (the same ``fit`` call, the same callbacks) finds the backup and
continues; its final weights are compared with those of the script run once
without any kill and without BackupAndRestore.

In-process: what the backup holds, double_checkpoint's fallback to the previous
backup, delete_checkpoint, and the argument checks.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import callbacks, layers
from mlxfunctional.saving import ModelFileError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCHS = 4  # 40 samples, batch 8: 5 batches per epoch, 20 in all

_SCRIPT = """
    import json, os, signal, sys
    import numpy as np
    import mlxfunctional as keras
    from mlxfunctional import callbacks, layers

    out, backup, save_freq, kill = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    save_freq = save_freq if save_freq in ("epoch", "none") else int(save_freq)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6)).astype("float32")
    y = rng.integers(0, 3, 40)
    keras.utils.set_random_seed(7)
    inputs = keras.Input((6,))
    h = layers.Dropout(0.5)(layers.Dense(8, activation="relu")(inputs))
    model = keras.Model(inputs, layers.Dense(3)(h))
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))


    class Kill(callbacks.Callback):
        # Kills this process after global batch `at` (1-based), or when epoch `at`
        # (0-based) begins: no exception, no clean-up, as a crash.
        def __init__(self, at):
            super().__init__()
            self.kind, self.at = at.split(":")[0], int(at.split(":")[1])
            self.batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1
            if self.kind == "batch" and self.batches == self.at:
                os.kill(os.getpid(), signal.SIGKILL)

        def on_epoch_begin(self, epoch, logs=None):
            if self.kind == "epoch" and epoch == self.at:
                os.kill(os.getpid(), signal.SIGKILL)


    class Seen(callbacks.Callback):
        # The batch indices this run trained on, per epoch.
        def on_train_batch_begin(self, batch, logs=None):
            seen.append([self.epoch, batch])

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch


    seen = []
    cbs = [Seen()]
    if save_freq != "none":
        cbs.insert(0, callbacks.BackupAndRestore(backup, save_freq=save_freq))
    if kill != "none":
        cbs.append(Kill(kill))
    history = model.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=cbs)
    np.savez(os.path.join(out, "final.npz"), *model.get_weights())
    with open(os.path.join(out, "run.json"), "w") as f:
        json.dump({"epochs": history.epoch, "seen": seen}, f)
""".replace("EPOCHS", str(EPOCHS))


def _run(out, backup, save_freq, kill):
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(_SCRIPT), str(out),
                           str(backup), str(save_freq), kill],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=600)


def _final(out):
    with np.load(os.path.join(out, "final.npz")) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


def _resume_of(path):
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("metadata.json"))["resume"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    result = _run(out, out / "unused", "none", "none")
    assert result.returncode == 0, result.stderr[-3000:]
    return _final(out)


@pytest.mark.parametrize("save_freq, kill, point", [
    # Backups after global batches 3, 6, 9...; killed after batch 8: the backup of
    # batch 6 is epoch 1 (0-based) with 1 batch done in it.
    (3, "batch:8", {"epoch": 1, "step": 1, "iterations": 6}),
    # Killed as epoch 2 begins: the backup of the end of epoch 1 (2 epochs done).
    ("epoch", "epoch:2", {"epoch": 2, "step": 0, "iterations": 10}),
])
def test_killed_run_resumes_to_the_same_weights(tmp_path, uninterrupted, save_freq, kill,
                                                point):
    out, backup = tmp_path / "run", tmp_path / "backup"
    out.mkdir()
    killed = _run(out, backup, save_freq, kill)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert not (out / "final.npz").exists()
    assert sorted(os.listdir(backup)) == ["latest.mlxf"]  # no temporary file left
    resume = _resume_of(backup / "latest.mlxf")
    assert {k: resume.get(k, 0) for k in point} == point
    assert ("epoch_random_state" in resume) == (point["step"] > 0)

    resumed = _run(out, backup, save_freq, "none")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    run = json.load(open(out / "run.json"))
    # The resumed run starts at the backup's epoch and batch, and does the rest.
    assert run["epochs"] == list(range(point["epoch"], EPOCHS))
    assert run["seen"][0] == [point["epoch"], point["step"]]
    assert len(run["seen"]) == 5 * EPOCHS - point["iterations"]
    for got, want in zip(_final(out), uninterrupted, strict=True):
        np.testing.assert_array_equal(got, want)
    assert not backup.exists()  # delete_checkpoint=True: removed once fit ended


def test_a_resumed_run_killed_again_in_the_same_epoch(tmp_path, uninterrupted):
    # The second backup is taken inside the epoch the run resumed in: its record of
    # that epoch's starting key must be the interrupted run's, not the resumed one's.
    out, backup = tmp_path / "run", tmp_path / "backup"
    out.mkdir()
    assert _run(out, backup, 3, "batch:8").returncode == -signal.SIGKILL
    # Resumed at global batch 7; its 3rd batch is global batch 9, just backed up.
    assert _run(out, backup, 3, "batch:3").returncode == -signal.SIGKILL
    resume = _resume_of(backup / "latest.mlxf")
    assert (resume["epoch"], resume["step"], resume["iterations"]) == (1, 4, 9)
    resumed = _run(out, backup, 3, "none")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.load(open(out / "run.json"))["seen"][0] == [1, 4]
    for got, want in zip(_final(out), uninterrupted, strict=True):
        np.testing.assert_array_equal(got, want)


def test_resuming_mid_epoch_from_the_epoch_start_is_not_exact(tmp_path, uninterrupted):
    # The control: the same backup with its mid-epoch part removed (what Keras 3 does:
    # restart the interrupted epoch from its first batch with the backed-up weights)
    # does not reach the uninterrupted weights -- the batch/random-state part is what
    # makes the resume exact.
    out, backup = tmp_path / "run", tmp_path / "backup"
    out.mkdir()
    assert _run(out, backup, 3, "batch:8").returncode == -signal.SIGKILL
    path = backup / "latest.mlxf"
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    metadata = json.loads(members["metadata.json"])
    metadata["resume"].pop("step")
    metadata["resume"].pop("epoch_random_state")
    members["metadata.json"] = json.dumps(metadata).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    # (metadata.json carries the other members' checksums, not its own)
    resumed = _run(out, backup, 3, "none")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.load(open(out / "run.json"))["seen"][0] == [1, 0]
    assert any(not np.array_equal(a, b) for a, b in zip(_final(out), uninterrupted))


# ---- in-process --------------------------------------------------------------------------


def _data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(24, 4)).astype("float32"), rng.normal(size=(24, 2)).astype("float32")


def _model():
    keras.backend.clear_session()  # the same layer names as the backed-up model
    keras.utils.set_random_seed(3)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.Dense(2)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    return model


class Stop(callbacks.Callback):
    """Raises after global batch `at` (an interruption inside the process)."""

    def __init__(self, at):
        super().__init__()
        self.at, self.batches = at, 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.batches == self.at:
            raise KeyboardInterrupt


def test_backup_holds_the_weights_and_optimizer_state(tmp_path):
    x, y = _data()
    model = _model()
    backup = callbacks.BackupAndRestore(tmp_path, save_freq=2, delete_checkpoint=False)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[backup])
    # The last backup: after global batch 6 = the end of epoch 1 (3 batches each).
    loaded = keras.models.load_model(tmp_path / "latest.mlxf")
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(loaded.optimizer.iterations) == 6
    assert _resume_of(tmp_path / "latest.mlxf")["step"] == 3


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    x, y = _data()
    model = _model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(tmp_path, save_freq="epoch",
                                                        double_checkpoint=True), Stop(7)])
    assert sorted(os.listdir(tmp_path)) == ["latest.mlxf", "previous.mlxf"]
    assert _resume_of(tmp_path / "previous.mlxf")["epoch"] == 1
    assert _resume_of(tmp_path / "latest.mlxf")["epoch"] == 2
    (tmp_path / "latest.mlxf").write_bytes(b"not a zip")  # a damaged backup
    model = _model()
    with pytest.warns(UserWarning, match="restored the previous one"):
        history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                            callbacks=[callbacks.BackupAndRestore(tmp_path,
                                                                  double_checkpoint=True)])
    assert history.epoch == [1, 2]
    # Without double_checkpoint a damaged backup is an error, not a silent restart.
    assert not tmp_path.exists()  # (that run ended: its backups were removed)
    model = _model()
    tmp_path.mkdir()
    (tmp_path / "latest.mlxf").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError):
        model.fit(x, y, batch_size=8, epochs=3, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(tmp_path)])


def test_delete_checkpoint_false_keeps_it_and_other_files_stay(tmp_path):
    x, y = _data()
    (tmp_path / "notes.txt").write_text("mine")
    _model().fit(x, y, batch_size=8, epochs=1, verbose=0,
                 callbacks=[callbacks.BackupAndRestore(tmp_path)])
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]  # only our files removed
    _model().fit(x, y, batch_size=8, epochs=1, verbose=0,
                 callbacks=[callbacks.BackupAndRestore(tmp_path / "b", delete_checkpoint=False)])
    assert os.listdir(tmp_path / "b") == ["latest.mlxf"]
    # A finished run's backup (1 epoch done) makes the next fit(epochs=1) do nothing more.
    history = _model().fit(x, y, batch_size=8, epochs=1, verbose=0,
                           callbacks=[callbacks.BackupAndRestore(tmp_path / "b")])
    assert history.epoch == []


def test_arguments(tmp_path):
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        callbacks.BackupAndRestore("")
    for bad in ("batch", 0, -2, 1.5, True):
        with pytest.raises(ValueError, match="save_freq"):
            callbacks.BackupAndRestore(tmp_path, save_freq=bad)
    x, y = _data()
    _model().fit(x, y, epochs=1, verbose=0,
                 callbacks=[callbacks.BackupAndRestore(tmp_path / "n", save_freq=False)])
    assert not (tmp_path / "n").exists()  # save_freq=False: never writes


def test_mid_epoch_resume_state_round_trip_and_bad_forms():
    from mlxfunctional.engine.resume_state import ResumeState

    state = ResumeState(2, 13, None, ((1, 2),), 3, ((5, 6),))
    assert ResumeState.from_config(json.loads(json.dumps(state.get_config()))) == state
    end = ResumeState(2, 10, 7, ((1, 2),))
    assert set(end.get_config()) == {"epoch", "iterations", "shuffle_seed", "random_state"}
    base = state.get_config()
    for change, message in (
            ({"step": 0}, "step must be > 0"),
            ({"step": -1}, "step must be an integer"),
            ({"epoch_random_state": [[1, 2], [3, 4]]}, "as many ranks"),
            ({"epoch_random_state": [[1]]}, r"epoch_random_state\[0\]"),
            ({"extra": 1}, "exactly the keys")):
        with pytest.raises(ValueError, match=message):
            ResumeState.from_config({**base, **change})
    bad = dict(base)
    bad.pop("epoch_random_state")  # step without the epoch's keys
    with pytest.raises(ValueError, match="exactly the keys"):
        ResumeState.from_config(bad)


def test_a_backup_with_a_bad_mid_epoch_state_is_refused_whole(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[
        callbacks.BackupAndRestore(tmp_path, save_freq=2, delete_checkpoint=False)])
    path = tmp_path / "latest.mlxf"
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    metadata = json.loads(members["metadata.json"])
    metadata["resume"]["step"] = "2"
    members["metadata.json"] = json.dumps(metadata).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    fresh = _model()
    before = fresh.get_weights()
    with pytest.raises(ModelFileError, match="'resume'.*step must be an integer"):
        fresh.fit(x, y, batch_size=8, epochs=2, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(tmp_path)])
    for a, b in zip(fresh.get_weights(), before):  # nothing was assigned
        np.testing.assert_array_equal(a, b)
