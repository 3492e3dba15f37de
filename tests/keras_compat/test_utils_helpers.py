"""``keras.utils`` and ``keras.preprocessing`` data helpers against independent truth:
numpy loops written from Keras' documented semantics, and the outputs printed in
Keras' docstrings written out as expected values.

Directory datasets are built from small PNG and text trees under ``tmp_path``
whose pixel values or texts encode their class, so every label can be checked
against its image. ``get_file`` is tested against a loopback HTTP server only.
"""

import pathlib

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import preprocessing, utils

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
