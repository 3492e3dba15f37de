"""``keras.utils`` and ``keras.preprocessing`` data helpers against independent truth:
numpy loops written from Keras' documented semantics, and the outputs printed in
Keras' docstrings written out as expected values.

Directory datasets are built from small PNG and text trees under ``tmp_path``
whose pixel values or texts encode their class, so every label can be checked
against its image. ``get_file`` is tested against a loopback HTTP server only.
"""

import hashlib
import io
import pathlib
import tarfile
import zipfile

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import preprocessing, utils
from mlxfunctional.datasets import download
from tests.loopback_server import LoopbackServer

API = pathlib.Path(__file__).parent / "keras_api"

# keras.utils names of Keras 3.15 that this package does not provide, and why.
NOT_PROVIDED = {
    "FeatureSpace": "a preprocessing model built on Keras' preprocessing layers, not ported",
    "audio_dataset_from_directory": "needs an audio decoder (tf.audio); none is bundled",
    "bounding_boxes": "KerasCV-style box utilities for the image augmentation layers",
    "legacy": "Keras 2 compatibility shims (legacy saving formats)",
}


def test_keras_utils_names_exist():
    names = API.joinpath("utils.txt").read_text().split()
    assert set(NOT_PROVIDED) <= set(names)
    missing = [n for n in names if n not in NOT_PROVIDED and not hasattr(utils, n)]
    assert missing == []
    assert [n for n in NOT_PROVIDED if hasattr(utils, n)] == []  # the list is current


def test_keras_preprocessing_names_exist():
    assert preprocessing.image_dataset_from_directory is utils.image_dataset_from_directory
    assert preprocessing.text_dataset_from_directory is utils.text_dataset_from_directory
    assert preprocessing.timeseries_dataset_from_array is utils.timeseries_dataset_from_array
    assert preprocessing.sequence.pad_sequences is utils.pad_sequences
    for name in ("array_to_img", "img_to_array", "load_img", "save_img"):
        assert getattr(preprocessing.image, name) is getattr(utils, name)
    assert callable(preprocessing.image.smart_resize)


def test_config_documented_behaviour():
    config = utils.Config(learning_rate=0.1, momentum=0.9)
    config.use_ema = True
    config["seed"] = 123
    assert config.seed == 123 and config["learning_rate"] == 0.1
    assert dict(config.items()) == {"learning_rate": 0.1, "momentum": 0.9, "use_ema": True,
                                    "seed": 123}
    assert list(config) == ["learning_rate", "momentum", "seed", "use_ema"] and len(config) == 4
    assert config.as_dict() == {"learning_rate": 0.1, "momentum": 0.9, "use_ema": True,
                                "seed": 123}
    assert config.to_json() == '{"learning_rate": 0.1, "momentum": 0.9, "use_ema": true, ' \
        '"seed": 123}'
    config.freeze()
    assert config.frozen
    with pytest.raises(ValueError, match="frozen"):
        config.foo = "bar"
    with pytest.raises(ValueError, match="frozen"):
        config.update(a=1)
    config.unfreeze()
    config.update(a=1)
    assert config.pop("a") == 1
    with pytest.raises(AttributeError, match="Did you mean 'momentum'"):
        config.momentun
    with pytest.raises(AttributeError, match="method"):
        config.keys = 3


# -- pad_sequences -----------------------------------------------------------------------

def test_pad_sequences_documented_examples():
    sequence = [[1], [2, 3], [4, 5, 6]]
    out = utils.pad_sequences(sequence)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(utils.pad_sequences(sequence, value=-1),
                                  [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(utils.pad_sequences(sequence, padding="post"),
                                  [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    np.testing.assert_array_equal(utils.pad_sequences(sequence, maxlen=2),
                                  [[0, 1], [2, 3], [5, 6]])


def test_pad_sequences_masking_guide_example():
    # The "understanding masking and padding" guide's three sentences, padded at the end.
    raw = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]]
    np.testing.assert_array_equal(utils.pad_sequences(raw, padding="post"),
                                  [[711, 632, 71, 0, 0, 0], [73, 8, 3215, 55, 927, 0],
                                   [83, 91, 1, 645, 1253, 927]])


def reference_pad(sequences, maxlen, padding, truncating, value, dtype):
    """One row at a time, step by step."""
    step_shape = next((np.asarray(s).shape[1:] for s in sequences if len(s)), ())
    rows = []
    for seq in sequences:
        seq = list(seq)
        if len(seq) > maxlen:
            seq = seq[len(seq) - maxlen:] if truncating == "pre" else seq[:maxlen]
        pad = [np.full(step_shape, value, dtype=dtype)] * (maxlen - len(seq))
        steps = [np.asarray(x, dtype=dtype) for x in seq]
        rows.append(pad + steps if padding == "pre" else steps + pad)
    return np.array([np.stack(r) if r else np.zeros((0,) + step_shape, dtype) for r in rows],
                    dtype=dtype)


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize("maxlen", [None, 1, 4, 9])
def test_pad_sequences_against_a_loop(padding, truncating, maxlen):
    rng = np.random.default_rng(5)
    seqs = [rng.integers(1, 50, n).tolist() for n in (0, 3, 7, 1, 5)]
    n = maxlen if maxlen is not None else 7
    expected = reference_pad(seqs, n, padding, truncating, 0, "int32")
    got = utils.pad_sequences(seqs, maxlen=maxlen, padding=padding, truncating=truncating)
    np.testing.assert_array_equal(got, expected)
    # Steps that are vectors, float values.
    vecs = [rng.random((k, 2)) for k in (2, 4, 0)]
    got = utils.pad_sequences(vecs, maxlen=maxlen, dtype="float32", padding=padding,
                              truncating=truncating, value=-1.5)
    expected = reference_pad(vecs, maxlen or 4, padding, truncating, -1.5, "float32")
    np.testing.assert_allclose(got, expected)
    assert got.shape == (3, maxlen or 4, 2)


def test_pad_sequences_strings_and_edges():
    out = utils.pad_sequences([["a"], ["b", "c", "d"]], dtype=object, value="<pad>", maxlen=2)
    assert out.tolist() == [["<pad>", "a"], ["c", "d"]]
    assert utils.pad_sequences([[1, 2], [3]], maxlen=0).shape == (2, 0)
    assert utils.pad_sequences([]).shape == (0, 0)
    with pytest.raises(ValueError, match="dtype=object"):
        utils.pad_sequences([["a"]], value="x")
    with pytest.raises(ValueError, match="padding"):
        utils.pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="truncating"):
        utils.pad_sequences([[1]], truncating="both")
    with pytest.raises(ValueError, match="item 1"):
        utils.pad_sequences([[1], 5])
    with pytest.raises(ValueError, match="sequence 1"):
        utils.pad_sequences([[[1, 2]], [[1, 2, 3]]])


# -- to_categorical / normalize / dtype helpers ------------------------------------------

def test_to_categorical_and_normalize():
    np.testing.assert_array_equal(utils.to_categorical([0, 1, 2, 3], num_classes=4), np.eye(4))
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]])
    np.testing.assert_allclose(utils.normalize(x), [[0.6, 0.8], [0, 0],
                                                    [2 ** -0.5, -(2 ** -0.5)]])
    np.testing.assert_allclose(utils.normalize(x, order=1), [[3 / 7, 4 / 7], [0, 0],
                                                             [0.5, -0.5]])
    np.testing.assert_allclose(utils.normalize(x, axis=0),
                               x / np.linalg.norm(x, axis=0, keepdims=True))
    out = utils.normalize(mx.array(x.astype("float32")))
    assert isinstance(out, mx.array)
    np.testing.assert_allclose(np.asarray(out), [[0.6, 0.8], [0, 0], [2 ** -0.5, -(2 ** -0.5)]],
                               rtol=1e-6, atol=1e-7)


def test_standardize_dtype_and_is_keras_tensor():
    cases = {None: "float32", float: "float32", int: "int32", bool: "bool",
             np.float16: "float16", np.dtype("uint8"): "uint8", mx.int8: "int8",
             "bfloat16": "bfloat16"}
    for dtype, name in cases.items():
        assert utils.standardize_dtype(dtype) == name, dtype
    with pytest.raises(ValueError, match="dtype"):
        utils.standardize_dtype("float8")
    assert utils.is_keras_tensor(keras.Input((2,)))
    assert not utils.is_keras_tensor(np.zeros(2)) and not utils.is_keras_tensor(mx.zeros(2))


def test_pack_and_unpack_x_y_sample_weight():
    x, y, w = np.ones(2), np.zeros(2), np.full(2, 0.5)
    assert utils.unpack_x_y_sample_weight(utils.pack_x_y_sample_weight(x, y, w)) == (x, y, w)
    assert utils.unpack_x_y_sample_weight(utils.pack_x_y_sample_weight(x, y)) == (x, y, None)
    assert utils.unpack_x_y_sample_weight((x,))[0] is x


def test_image_array_round_trip(tmp_path):
    pixels = np.arange(4 * 3 * 3).reshape(4, 3, 3).astype("float32")
    utils.save_img(tmp_path / "a.png", pixels, scale=False)
    back = utils.img_to_array(utils.load_img(tmp_path / "a.png"))
    np.testing.assert_array_equal(back, pixels)
    np.testing.assert_array_equal(utils.img_to_array(utils.array_to_img(pixels, scale=False)),
                                  pixels)


# -- split_dataset -----------------------------------------------------------------------

def test_split_dataset_documented_example():
    left, right = utils.split_dataset(np.random.random((1000, 4)), left_size=0.8)
    assert left.shape == (800, 4) and right.shape == (200, 4)


def test_split_dataset_structures_counts_and_fractions():
    x = np.arange(10)
    left, right = utils.split_dataset((x, 2 * x), left_size=3)
    np.testing.assert_array_equal(left[0], [0, 1, 2])
    np.testing.assert_array_equal(right[1], 2 * np.arange(3, 10))
    assert isinstance(left, tuple)
    left, right = utils.split_dataset({"a": x, "b": -x}, right_size=0.25)  # round(2.5) = 2
    np.testing.assert_array_equal(right["a"], [8, 9])
    np.testing.assert_array_equal(left["b"], -np.arange(8))
    # Sizes that do not add up leave the middle out (left = first, right = last).
    left, right = utils.split_dataset([np.arange(10)], left_size=0.2, right_size=3)
    assert isinstance(left, list)
    np.testing.assert_array_equal(left[0], [0, 1])
    np.testing.assert_array_equal(right[0], [7, 8, 9])
    left, right = utils.split_dataset([5, 6, 7, 8], right_size=1)
    np.testing.assert_array_equal(left, [5, 6, 7])


def test_split_dataset_shuffle_keeps_pairs_and_is_seeded():
    x = np.arange(50)
    left, right = utils.split_dataset((x, x * 10), left_size=0.6, shuffle=True, seed=3)
    np.testing.assert_array_equal(left[1], left[0] * 10)
    np.testing.assert_array_equal(np.sort(np.concatenate([left[0], right[0]])), x)
    assert not np.array_equal(left[0], np.arange(30))
    again, _ = utils.split_dataset((x, x * 10), left_size=0.6, shuffle=True, seed=3)
    np.testing.assert_array_equal(again[0], left[0])


@pytest.mark.parametrize("kwargs, match", [
    ({}, "give `left_size`"),
    ({"left_size": 0}, r"in \(0, 10\)"),
    ({"left_size": 10}, r"in \(0, 10\)"),
    ({"right_size": 1.0}, r"in \(0, 1\)"),
    ({"left_size": 0.7, "right_size": 0.5}, "more than the 10"),
    ({"left_size": 0.01}, "left part empty"),
    ({"left_size": "half"}, "int, a float or None"),
])
def test_split_dataset_errors(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        utils.split_dataset(np.arange(10), **kwargs)


def test_split_dataset_mismatched_lengths():
    with pytest.raises(ValueError, match="same number of samples"):
        utils.split_dataset((np.arange(4), np.arange(5)), left_size=2)


# -- timeseries_dataset_from_array -------------------------------------------------------

def test_timeseries_documented_example_1():
    # Indices 0..98, sequence_length=10, sampling_rate=2, sequence_stride=3.
    ds = utils.timeseries_dataset_from_array(np.arange(99), None, sequence_length=10,
                                             sampling_rate=2, sequence_stride=3, batch_size=None)
    windows = [ds[i] for i in range(len(ds))]
    assert windows[0].tolist() == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]
    assert windows[1].tolist() == [3, 5, 7, 9, 11, 13, 15, 17, 19, 21]
    assert windows[2].tolist() == [6, 8, 10, 12, 14, 16, 18, 20, 22, 24]
    assert windows[-1].tolist() == [78, 80, 82, 84, 86, 88, 90, 92, 94, 96]


def test_timeseries_documented_example_2_and_3():
    data = np.arange(40.0)
    ds = utils.timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10)
    inputs, targets = next(iter(ds))
    np.testing.assert_array_equal(inputs[0], data[:10])
    assert targets[0] == data[10]
    x, y = np.arange(100), np.arange(100) * 2
    xs = utils.timeseries_dataset_from_array(x, None, sequence_length=20, sequence_stride=20)
    ys = utils.timeseries_dataset_from_array(y, None, sequence_length=20, sequence_stride=20)
    for inputs, targets in zip(xs, ys):
        np.testing.assert_array_equal(inputs[0], x[:20])
        np.testing.assert_array_equal(targets[1], y[20:40])


def reference_windows(data, targets, length, stride, rate, start, end):
    """Every window start s (relative to start) whose last step stays below end."""
    windows, window_targets = [], []
    s = 0
    while start + s + (length - 1) * rate < end and (targets is None or s < len(targets)):
        windows.append([data[start + s + j * rate] for j in range(length)])
        if targets is not None:
            window_targets.append(targets[start + s])
        s += stride
    return np.array(windows), np.array(window_targets)


@pytest.mark.parametrize("length, stride, rate, start, end, batch", [
    (5, 1, 1, None, None, 4), (3, 2, 3, 4, 30, 5), (4, 3, 2, 1, None, 128), (1, 1, 1, 0, 9, 2),
])
def test_timeseries_against_a_loop(length, stride, rate, start, end, batch):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((40, 2)).astype("float32")
    targets = rng.integers(0, 9, 40)
    ds = utils.timeseries_dataset_from_array(data, targets, length, sequence_stride=stride,
                                             sampling_rate=rate, batch_size=batch,
                                             start_index=start, end_index=end)
    assert isinstance(ds, utils.PyDataset)
    x = np.concatenate([b[0] for b in ds])
    y = np.concatenate([b[1] for b in ds])
    ref_x, ref_y = reference_windows(data, targets, length, stride, rate, start or 0, end or 40)
    np.testing.assert_array_equal(x, ref_x)
    np.testing.assert_array_equal(y, ref_y)
    assert len(ds) == -(-len(ref_x) // batch)
    assert all(len(ds[i][0]) == batch for i in range(len(ds) - 1))


def test_timeseries_shuffle_is_a_seeded_permutation():
    data = np.arange(60)
    kwargs = dict(sequence_length=4, batch_size=7, shuffle=True, seed=11)
    ds = utils.timeseries_dataset_from_array(data, data * 10, **kwargs)
    x = np.concatenate([b[0] for b in ds])
    y = np.concatenate([b[1] for b in ds])
    np.testing.assert_array_equal(y, x[:, 0] * 10)       # each target stays with its window
    np.testing.assert_array_equal(x - x[:, :1], np.tile(np.arange(4), (len(x), 1)))
    assert sorted(x[:, 0].tolist()) == list(range(57))
    assert x[:, 0].tolist() != list(range(57))
    again = utils.timeseries_dataset_from_array(data, data * 10, **kwargs)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in again]), x)


@pytest.mark.parametrize("kwargs, match", [
    ({"sampling_rate": 0}, "sampling_rate"), ({"sequence_stride": 10}, "sequence_stride"),
    ({"start_index": 12}, "start_index"), ({"start_index": 4, "end_index": 3}, "end_index"),
    ({"end_index": 10}, "end_index"), ({"sequence_length": 0}, "sequence_length"),
])
def test_timeseries_errors(kwargs, match):
    args = {"sequence_length": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        utils.timeseries_dataset_from_array(np.arange(10), None, **args)


def test_timeseries_dataset_feeds_fit():
    data = np.random.default_rng(1).standard_normal((64, 3)).astype("float32")
    ds = utils.timeseries_dataset_from_array(data, data[:, 0], sequence_length=5, batch_size=16)
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


# -- image_dataset_from_directory ---------------------------------------------------------

def write_images(root, classes, per_class, size=(6, 4), mode="RGB"):
    """Image k of class c is filled with the value 40 * c + k (its identity)."""
    from PIL import Image

    for c, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True)
        for k in range(per_class):
            value = 40 * c + k
            pixels = np.full((size[0], size[1], 3), value, dtype=np.uint8)
            Image.fromarray(pixels).convert(mode).save(folder / f"img_{k}.png")
    (root / classes[0] / "notes.txt").write_text("not an image")


def identities(images):
    return images[:, 0, 0, 0].astype(int)


def test_image_dataset_labels_match_images(tmp_path, capsys):
    write_images(tmp_path, ["cat", "dog"], 5)
    ds = utils.image_dataset_from_directory(tmp_path, image_size=(6, 4), batch_size=4, seed=1)
    assert "Found 10 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["cat", "dog"] and len(ds) == 3
    assert len(ds.file_paths) == 10
    images, labels = ds[0]
    assert images.shape == (4, 6, 4, 3) and images.dtype == np.float32
    assert labels.dtype == np.int32 and labels.shape == (4,)
    ids = np.concatenate([identities(ds[i][0]) for i in range(len(ds))])
    labels = np.concatenate([ds[i][1] for i in range(len(ds))])
    np.testing.assert_array_equal(labels, ids // 40)
    assert sorted(ids.tolist()) == [0, 1, 2, 3, 4, 40, 41, 42, 43, 44]
    assert ids.tolist() != sorted(ids.tolist())   # shuffled


def test_image_dataset_reshuffles_each_epoch_and_feeds_fit(tmp_path):
    write_images(tmp_path, ["a", "b"], 6)
    ds = utils.image_dataset_from_directory(tmp_path, image_size=(6, 4), batch_size=4, seed=0,
                                            verbose=False)
    first = np.concatenate([identities(b[0]) for b in ds])
    ds.on_epoch_end()
    second = np.concatenate([identities(b[0]) for b in ds])
    assert sorted(first) == sorted(second) and first.tolist() != second.tolist()
    labels = np.concatenate([b[1] for b in ds])
    np.testing.assert_array_equal(labels, second // 40)   # labels moved with their images
    model = keras.Sequential([keras.Input((6, 4, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(1e-5),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize("label_mode", ["categorical", "binary", None])
def test_image_dataset_label_modes(tmp_path, label_mode):
    write_images(tmp_path, ["a", "b"], 3)
    ds = utils.image_dataset_from_directory(tmp_path, label_mode=label_mode, image_size=(6, 4),
                                            batch_size=6, shuffle=False, verbose=False)
    if label_mode is None:
        images = ds[0]
        assert isinstance(images, np.ndarray) and images.shape == (6, 6, 4, 3)
        return
    images, labels = ds[0]
    classes = identities(images) // 40
    if label_mode == "categorical":
        np.testing.assert_array_equal(labels, np.eye(2, dtype="float32")[classes])
    else:
        assert labels.shape == (6, 1) and labels.dtype == np.float32
        np.testing.assert_array_equal(labels[:, 0], classes)


def test_image_dataset_validation_split(tmp_path, capsys):
    write_images(tmp_path, ["a", "b", "c"], 4)
    kwargs = dict(image_size=(6, 4), batch_size=5, validation_split=0.25, seed=7)
    train = utils.image_dataset_from_directory(tmp_path, subset="training", **kwargs)
    val = utils.image_dataset_from_directory(tmp_path, subset="validation", **kwargs)
    out = capsys.readouterr().out
    assert "Using 9 files for training." in out and "Using 3 files for validation." in out
    train_ids = np.concatenate([identities(b[0]) for b in train])
    val_ids = np.concatenate([identities(b[0]) for b in val])
    assert len(train_ids) == 9 and len(val_ids) == 3
    assert set(train_ids).isdisjoint(val_ids)
    both = utils.image_dataset_from_directory(tmp_path, subset="both", verbose=False, **kwargs)
    np.testing.assert_array_equal(np.concatenate([identities(b[0]) for b in both[1]]), val_ids)
    assert sorted(np.concatenate([identities(b[0]) for b in both[0]])) == sorted(train_ids)


def test_image_dataset_sizes_modes_and_class_names(tmp_path):
    write_images(tmp_path, ["a", "b", "c"], 2, size=(2, 2))
    ds = utils.image_dataset_from_directory(tmp_path, image_size=(4, 4), interpolation="nearest",
                                            color_mode="grayscale", class_names=["c", "a"],
                                            shuffle=False, batch_size=None, verbose=False)
    assert ds.class_names == ["c", "a"] and len(ds) == 4
    image, label = ds[0]
    assert image.shape == (4, 4, 1) and label == 0
    np.testing.assert_array_equal(image[..., 0], np.full((4, 4), 80.0))   # class "c", image 0
    rgba = utils.image_dataset_from_directory(tmp_path, image_size=8, color_mode="rgba",
                                              shuffle=False, verbose=False)
    assert rgba[0][0].shape == (6, 8, 8, 4)
    np.testing.assert_array_equal(rgba[0][0][..., 3], 255.0)


def test_image_dataset_resizes_as_ops_image_resize(tmp_path):
    from PIL import Image

    (tmp_path / "x").mkdir()
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    Image.fromarray(pixels).save(tmp_path / "x" / "0.png")
    ds = utils.image_dataset_from_directory(tmp_path, image_size=(4, 6), interpolation="nearest",
                                            shuffle=False, verbose=False)
    # Nearest upsampling by 2 repeats each pixel twice in both directions.
    expected = np.repeat(np.repeat(pixels, 2, axis=0), 2, axis=1).astype("float32")
    np.testing.assert_array_equal(ds[0][0][0], expected)
    cropped = utils.image_dataset_from_directory(tmp_path, image_size=(2, 2), shuffle=False,
                                                 interpolation="nearest", verbose=False,
                                                 crop_to_aspect_ratio=True)
    # The centered 2x2 crop of a 2x3 image keeps columns 0 and 1 (offset int(1 / 2) = 0).
    np.testing.assert_array_equal(cropped[0][0][0], pixels[:, :2].astype("float32"))


def test_image_dataset_explicit_labels(tmp_path):
    write_images(tmp_path, ["a"], 3)
    ds = utils.image_dataset_from_directory(tmp_path / "a", labels=[2, 0, 1], image_size=(6, 4),
                                            shuffle=False, verbose=False)
    assert ds.class_names == ["0", "1", "2"]
    images, labels = ds[0]
    # Files in alphanumeric order: img_0, img_1, img_2.
    assert identities(images).tolist() == [0, 1, 2] and labels.tolist() == [2, 0, 1]


@pytest.mark.parametrize("kwargs, match", [
    ({"label_mode": "binary"}, "exactly 2 classes"),
    ({"validation_split": 0.2}, "give both or neither"),
    ({"validation_split": 0.2, "subset": "training"}, "seed"),
    ({"subset": "test", "validation_split": 0.1, "seed": 1}, "subset"),
    ({"color_mode": "cmyk"}, "color_mode"),
    ({"interpolation": "gaussian"}, "interpolation"),
    ({"label_mode": "sparse"}, "label_mode"),
    ({"labels": "folders"}, "labels"),
    ({"class_names": ["zebra"]}, "zebra"),
    ({"image_size": (1, 2, 3)}, "image_size"),
])
def test_image_dataset_errors(tmp_path, kwargs, match):
    write_images(tmp_path, ["a", "b", "c"], 1)
    with pytest.raises(ValueError, match=match):
        utils.image_dataset_from_directory(tmp_path, verbose=False, **kwargs)


def test_image_dataset_without_images(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(ValueError, match="No images found"):
        utils.image_dataset_from_directory(tmp_path, verbose=False)


# -- text_dataset_from_directory ---------------------------------------------------------

def write_texts(root, classes, per_class):
    for name in classes:
        (root / name).mkdir(parents=True)
        for k in range(per_class):
            (root / name / f"{k}.txt").write_text(f"{name} text number {k}", encoding="utf-8")
    (root / classes[0] / "skip.md").write_text("not a .txt")


def test_text_dataset_labels_match_texts(tmp_path, capsys):
    write_texts(tmp_path, ["neg", "pos"], 4)
    ds = utils.text_dataset_from_directory(tmp_path, batch_size=3, seed=2)
    assert "Found 8 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["neg", "pos"] and len(ds) == 3
    texts = np.concatenate([b[0] for b in ds])
    labels = np.concatenate([b[1] for b in ds])
    assert all(isinstance(t, str) for t in texts)
    assert [t.split()[0] for t in texts] == [ds.class_names[i] for i in labels]
    assert sorted(texts) == sorted(f"{c} text number {k}" for c in ("neg", "pos")
                                   for k in range(4))


def test_text_dataset_max_length_split_and_modes(tmp_path):
    write_texts(tmp_path, ["a", "b"], 5)
    train, val = utils.text_dataset_from_directory(
        tmp_path, max_length=6, validation_split=0.4, subset="both", seed=4,
        label_mode="categorical", verbose=False)
    train_texts = np.concatenate([b[0] for b in train])
    val_texts, val_labels = val[0]
    assert len(train_texts) == 6 and len(val_texts) == 4
    assert all(len(t) == 6 for t in np.concatenate([train_texts, val_texts]))
    np.testing.assert_array_equal(val_labels.argmax(-1),
                                  [train.class_names.index(t[0]) for t in val_texts])
    unlabeled = utils.text_dataset_from_directory(tmp_path, labels=None, batch_size=None,
                                                  shuffle=False, verbose=False)
    assert unlabeled.class_names is None and unlabeled[0] == "a text number 0"


# -- get_file ----------------------------------------------------------------------------

@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(download, "RETRY_BACKOFF", 0.0)
    monkeypatch.setattr(download, "KNOWN_FILES", {})
    data = b"hello keras " * 100
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w:gz") as archive:
        for name, body in (("pkg/a.txt", b"A"), ("pkg/sub/b.txt", b"BB")):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    zip_buffer = io.BytesIO()
    with zipfile.ZipFile(zip_buffer, "w") as archive:
        archive.writestr("z/c.txt", "CCC")
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as archive:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    files = {"data.bin": data, "bundle.tar.gz": tar_buffer.getvalue(),
             "zipped.zip": zip_buffer.getvalue(), "evil.tar": evil.getvalue()}
    with LoopbackServer(files) as s:
        yield s


def test_get_file_downloads_verifies_and_caches(server, tmp_path):
    body = server.files["data.bin"]
    sha, md5 = hashlib.sha256(body).hexdigest(), hashlib.md5(body).hexdigest()
    path = utils.get_file(origin=f"{server.url}/data.bin", file_hash=sha, cache_dir=tmp_path)
    assert path == str(tmp_path / "datasets" / "data.bin")
    assert pathlib.Path(path).read_bytes() == body
    n = len(server.requests)
    # Cached and verified (md5 this time): no new request.
    assert utils.get_file("data.bin", f"{server.url}/data.bin", file_hash=md5,
                          cache_dir=tmp_path) == path
    assert len(server.requests) == n
    utils.get_file("data.bin", f"{server.url}/data.bin", cache_dir=tmp_path, force_download=True)
    assert len(server.requests) == n + 1
    other = utils.get_file("copy.bin", f"{server.url}/data.bin", md5_hash=md5,
                           cache_dir=tmp_path, cache_subdir="mine")
    assert other == str(tmp_path / "mine" / "copy.bin")


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_get_file_rejects_a_wrong_hash(server, tmp_path, algorithm):
    wrong = "0" * (64 if algorithm == "sha256" else 32)
    with pytest.raises(download.ChecksumError, match=algorithm):
        utils.get_file("data.bin", f"{server.url}/data.bin", file_hash=wrong,
                       hash_algorithm=algorithm, cache_dir=tmp_path)
    assert not (tmp_path / "datasets" / "data.bin").exists()


def test_get_file_extracts_archives(server, tmp_path):
    folder = utils.get_file("bundle.tar.gz", f"{server.url}/bundle.tar.gz", extract=True,
                            cache_dir=tmp_path)
    assert folder == str(tmp_path / "datasets" / "bundle_extracted")
    assert (pathlib.Path(folder) / "pkg" / "sub" / "b.txt").read_bytes() == b"BB"
    assert (tmp_path / "datasets" / "bundle.tar.gz").exists()
    folder = utils.get_file("zipped", f"{server.url}/zipped.zip", extract=True,
                            cache_dir=tmp_path)
    assert folder == str(tmp_path / "datasets" / "zipped")
    assert (pathlib.Path(folder) / "z" / "c.txt").read_text() == "CCC"
    assert (tmp_path / "datasets" / "zipped_archive").exists()
    folder = utils.get_file("old", f"{server.url}/bundle.tar.gz", untar=True, cache_dir=tmp_path)
    assert (pathlib.Path(folder) / "pkg" / "a.txt").read_bytes() == b"A"


def test_get_file_refuses_archive_members_outside_the_folder(server, tmp_path):
    with pytest.raises(ValueError, match="outside the extraction folder"):
        utils.get_file("evil.tar", f"{server.url}/evil.tar", extract=True, cache_dir=tmp_path)
    assert not (tmp_path / "datasets" / "escaped.txt").exists()
    assert not (tmp_path / "datasets" / "evil_extracted").exists()


def test_get_file_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="origin"):
        utils.get_file("x.bin", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="not a path"):
        utils.get_file("sub/x.bin", "http://127.0.0.1:9/x.bin", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="hash_algorithm"):
        utils.get_file("x.bin", "http://127.0.0.1:9/x.bin", file_hash="ab",
                       hash_algorithm="sha1", cache_dir=tmp_path)
