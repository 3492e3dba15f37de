"""The TensorBoard callback's event files, read back by hand.

The files are parsed here as TFRecords (length, masked CRC-32C of the length,
data, masked CRC-32C of the data -- the CRCs computed by this file's own
CRC-32C, not the writer's) and each record decoded as a TensorBoard ``Event``
protobuf; the scalars must equal what ``History`` holds, the histograms the
weights' own statistics.
"""

import glob
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

# tensorboardX is in the test extra: missing, this module fails (it is not skipped).
from tensorboardX.proto.event_pb2 import Event  # noqa: E402

import mlxfunctional as keras  # noqa: E402
from mlxfunctional import callbacks, layers  # noqa: E402


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def _masked_crc(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_events(folder):
    """Every ``Event`` of the folder's event files, in order, CRCs checked."""
    files = sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*")))
    assert files, f"no event file in {folder}"
    events = []
    for path in files:
        data = open(path, "rb").read()
        pos = 0
        while pos < len(data):
            header = data[pos:pos + 8]
            (length,) = struct.unpack("<Q", header)
            (crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
            assert crc == _masked_crc(header)
            body = data[pos + 12:pos + 12 + length]
            (crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
            assert crc == _masked_crc(body)
            events.append(Event.FromString(body))
            pos += 16 + length
    return events


def scalars(folder):
    """``{tag: [(step, value), ...]}``."""
    out = {}
    for event in read_events(folder):
        for value in event.summary.value:
            if value.WhichOneof("value") == "simple_value":
                out.setdefault(value.tag, []).append((event.step, value.simple_value))
    return out


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = rng.integers(0, 3, 40)
    return x, y


def _model():
    keras.utils.set_random_seed(2)
    inputs = keras.Input((4,))
    h = layers.Dense(5, activation="relu", name="hidden")(inputs)
    model = keras.Model(inputs, layers.Dense(3, name="head")(h))
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def test_epoch_scalars_equal_history(tmp_path):
    x, y = _data()
    model = _model()
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, validation_data=(x, y),
                        callbacks=[callbacks.TensorBoard(str(tmp_path))]).history
    train = scalars(tmp_path / "train")
    val = scalars(tmp_path / "validation")
    f32 = lambda v: float(np.float32(v))  # noqa: E731 (simple_value is a float32)
    for name in ("loss", "accuracy"):
        assert train[f"epoch_{name}"] == [(e, f32(history[name][e])) for e in range(3)]
        assert val[f"epoch_{name}"] == [(e, f32(history[f"val_{name}"][e])) for e in range(3)]
    assert train["epoch_learning_rate"] == [(e, f32(0.01)) for e in range(3)]
    assert "epoch_val_loss" not in train
    # After each validation pass: its values at the optimizer's step count (5 per epoch).
    assert val["evaluation_loss_vs_iterations"] == [
        (5 * (e + 1), f32(history["val_loss"][e])) for e in range(3)]
    # write_graph: the model's config for the conceptual graph, readable as JSON.
    graph = [v for ev in read_events(tmp_path / "train") for v in ev.summary.value
             if v.tag == "keras"]
    assert len(graph) == 1 and graph[0].metadata.plugin_data.plugin_name == "graph_keras_model"
    assert json.loads(graph[0].tensor.string_val[0]) == json.loads(model.to_json())


def test_batch_scalars_every_n_batches(tmp_path):
    x, y = _data()
    model = _model()

    class Batches(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(dict(logs))

    seen = []
    model.fit(x, y, batch_size=8, epochs=2, verbose=0,
              callbacks=[Batches(), callbacks.TensorBoard(str(tmp_path), update_freq=3)])
    train = scalars(tmp_path / "train")
    # 5 batches per epoch, numbered 1..10 over the run: written at 3, 6, 9.
    assert [s for s, _ in train["batch_loss"]] == [3, 6, 9]
    assert train["batch_loss"] == [(s, float(np.float32(seen[s - 1]["loss"]))) for s in (3, 6, 9)]
    assert [s for s, _ in train["batch_accuracy"]] == [3, 6, 9]
    assert [s for s, _ in train["epoch_loss"]] == [0, 1]
    model2 = _model()
    model2.fit(x, y, batch_size=8, epochs=1, verbose=0,
               callbacks=[callbacks.TensorBoard(str(tmp_path / "b"), update_freq="batch")])
    assert [s for s, _ in scalars(tmp_path / "b" / "train")["batch_loss"]] == [1, 2, 3, 4, 5]


def test_histograms_of_the_weights(tmp_path):
    x, y = _data()
    model = _model()

    class Snapshot(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights[epoch] = {w.path: np.array(w.numpy()) for l in self.model.layers
                              for w in l.weights}

    weights = {}
    model.fit(x, y, batch_size=8, epochs=3, verbose=0,
              callbacks=[Snapshot(), callbacks.TensorBoard(str(tmp_path), histogram_freq=2,
                                                            write_images=True)])
    found = {}
    images = set()
    for event in read_events(tmp_path / "train"):
        for value in event.summary.value:
            if value.HasField("histo"):
                found[(value.tag, event.step)] = value.histo
            if value.HasField("image"):
                images.add((value.tag, event.step))
    tags = {"hidden/kernel", "hidden/bias", "head/kernel", "head/bias"}
    assert set(found) == {(f"{t}/histogram", e) for t in tags for e in (0, 2)}
    for (tag, epoch), histo in found.items():
        w = weights[epoch][tag[:-len("/histogram")]].astype(np.float64)
        assert histo.num == w.size
        np.testing.assert_allclose([histo.min, histo.max, histo.sum, histo.sum_squares],
                                   [w.min(), w.max(), w.sum(), (w ** 2).sum()], rtol=1e-6)
        assert sum(histo.bucket) == w.size
    assert images == {(f"{t}/image", e) for t in tags for e in (0, 2)}


def test_keras_tag_layout_with_evaluate_only(tmp_path):
    x, y = _data()
    model = _model()
    logs = model.evaluate(x, y, verbose=0, return_dict=True,
                          callbacks=[callbacks.TensorBoard(str(tmp_path), write_graph=False)])
    val = scalars(tmp_path / "validation")
    assert val["evaluation_loss_vs_iterations"] == [(0, float(np.float32(logs["loss"])))]
    assert not os.path.exists(tmp_path / "train")


def test_arguments():
    with pytest.raises(ValueError, match="update_freq"):
        callbacks.TensorBoard(update_freq="sometimes")
    with pytest.raises(ValueError, match="histogram_freq"):
        callbacks.TensorBoard(histogram_freq=-1)
    with pytest.warns(UserWarning, match="profile_batch"):
        callbacks.TensorBoard(profile_batch=(2, 4))


def test_missing_tensorboardx_names_the_extra(tmp_path):
    # A fresh process where tensorboardX cannot be imported.
    code = (
        "import sys; sys.modules['tensorboardX'] = None\n"
        "from mlxfunctional import callbacks\n"
        "try:\n"
        "    callbacks.TensorBoard('logs')\n"
        "except ImportError as e:\n"
        "    print('ImportError:', e)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path, env=dict(os.environ, PYTHONPATH=root))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ImportError:" in out.stdout and "mlxfunctional[tensorboard]" in out.stdout
    assert not os.path.exists(tmp_path / "logs")


def test_the_guides_block_runs_and_writes_nothing_until_fit(tmp_path):
    # guides/training_with_built_in_methods.py's block, with a real folder.
    keras.callbacks.TensorBoard(
        log_dir=str(tmp_path / "logs"),
        histogram_freq=0,
        embeddings_freq=0,
        update_freq="epoch",
    )
    assert not (tmp_path / "logs").exists()
