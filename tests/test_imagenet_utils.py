"""decode_predictions, imagenet_classes and preprocess_input against hand-computed values."""

import json
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional.applications as applications
from mlxfunctional.applications.imagenet_utils import (
    decode_predictions,
    imagenet_classes,
    preprocess_input,
)

INDEX_FILE = Path(applications.__file__).parent / "data" / "imagenet_class_index.json"


# ---- the shipped class index ----

def test_class_index_file_is_keras_layout():
    index = json.loads(INDEX_FILE.read_text(encoding="utf-8"))
    assert list(index) == [str(i) for i in range(1000)]
    wnids = [index[str(i)][0] for i in range(1000)]
    assert all(a < b for a, b in zip(wnids, wnids[1:]))  # strictly sorted, so unique
    assert all(len(w) == 9 and w.startswith("n") and w[1:].isdigit() for w in wnids)
    assert index["0"] == ["n01440764", "tench"]
    assert index["999"] == ["n15075141", "toilet_tissue"]


def test_imagenet_classes():
    classes = imagenet_classes()
    assert len(classes) == 1000
    assert classes[0] == ("n01440764", "tench")
    assert classes[1] == ("n01443537", "goldfish")
    assert classes[999] == ("n15075141", "toilet_tissue")
    names = [name for _, name in classes]
    assert [i for i, n in enumerate(names) if n == "crane"] == [134, 517]
    assert [i for i, n in enumerate(names) if n == "maillot"] == [638, 639]
    assert len(set(names)) == 998
    # A fresh list each call: editing one cannot corrupt later decodes.
    classes.clear()
    assert len(imagenet_classes()) == 1000


# ---- decode_predictions ----

def _one_hot(*indices):
    preds = np.zeros((len(indices), 1000), dtype=np.float32)
    preds[np.arange(len(indices)), indices] = 1.0
    return preds


def test_decode_one_hot_first_and_last_class():
    results = decode_predictions(_one_hot(0, 999), top=5)
    assert len(results) == 2
    assert results[0][0] == ("n01440764", "tench", 1.0)
    assert results[1][0] == ("n15075141", "toilet_tissue", 1.0)
    for result in results:
        assert len(result) == 5
        assert [score for _, _, score in result[1:]] == [0.0] * 4


def test_decode_crafted_row_order_and_scores():
    row = np.full(1000, 0.0001, dtype=np.float64)
    row[281], row[285], row[282], row[517] = 0.5, 0.25, 0.125, 0.0625  # tabby, Egyptian cat...
    (result,) = decode_predictions(row[None], top=3)
    assert result == [
        ("n02123045", "tabby", 0.5),
        ("n02124075", "Egyptian_cat", 0.25),
        ("n02123159", "tiger_cat", 0.125),
    ]
    for entry in result:
        assert type(entry) is tuple and type(entry[2]) is float

    (result,) = decode_predictions(row[None], top=4)
    assert result[3] == ("n03126707", "crane", 0.0625)  # the machine, not the bird (134)


def test_decode_default_top_and_large_top():
    rng = np.random.default_rng(0)
    preds = rng.random((3, 1000)).astype(np.float32)
    results = decode_predictions(preds)
    assert [len(r) for r in results] == [5, 5, 5]
    classes = imagenet_classes()
    for row, result in zip(preds, results):
        expected = np.argsort(-row)[:5]
        assert [(classes[i][0], classes[i][1]) for i in expected] == [r[:2] for r in result]
        assert [r[2] for r in result] == pytest.approx(row[expected].tolist())
    everything = decode_predictions(preds[:1], top=2000)[0]
    assert len(everything) == 1000
    scores = [s for _, _, s in everything]
    assert scores == sorted(scores, reverse=True)


def test_decode_mx_array_input():
    preds = mx.array(_one_hot(7, 8))
    results = decode_predictions(preds, top=1)
    assert results == [[("n01514668", "cock", 1.0)], [("n01514859", "hen", 1.0)]]
    bf16 = decode_predictions(preds.astype(mx.bfloat16), top=1)
    assert bf16 == results


def test_decode_nested_list_input():
    row = [0.0] * 1000
    row[388] = 0.75
    assert decode_predictions([row], top=1) == [[("n02510455", "giant_panda", 0.75)]]


@pytest.mark.parametrize("shape", [(1000,), (2, 999), (2, 1001), (1, 1000, 1), (0,)])
def test_decode_bad_shapes(shape):
    with pytest.raises(ValueError) as info:
        decode_predictions(np.zeros(shape))
    message = str(info.value)
    assert "`decode_predictions` expects a batch of predictions" in message
    assert "(i.e. a 2D array of shape (samples, 1000))" in message
    assert f"Received array with shape: {shape}" in message


def test_decode_bad_shape_mx():
    with pytest.raises(ValueError, match=r"Received array with shape: \(3, 10\)"):
        decode_predictions(mx.zeros((3, 10)))


def test_decode_bad_top():
    with pytest.raises(ValueError, match="top"):
        decode_predictions(_one_hot(0), top=0)


# ---- preprocess_input ----

PIXEL = [255, 0, 128]  # R, G, B


def test_caffe_by_hand():
    out = preprocess_input(np.array(PIXEL, dtype=np.uint8), mode="caffe")
    # BGR order, then minus Keras' BGR means.
    expected = [128 - 103.939, 0 - 116.779, 255 - 123.68]
    assert out.dtype == np.float32 and out.shape == (3,)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-4)


def test_caffe_is_the_default_mode():
    x = np.array([[PIXEL, [1, 2, 3]]], dtype=np.float32)
    np.testing.assert_array_equal(preprocess_input(x), preprocess_input(x, mode="caffe"))


def test_vgg19_preprocess_input_defaults_to_torch_whatever_was_loaded(tmp_path):
    # VGG19's default weights are torchvision's: its preprocess_input defaults to their
    # mode, by argument, never by what a previous VGG19() call loaded.
    from mlxfunctional.applications import vgg19

    x = np.array([[PIXEL, [1, 2, 3]]], dtype=np.float32)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    torch = [[(np.array(PIXEL) / 255 - mean) / std, (np.array([1, 2, 3]) / 255 - mean) / std]]
    np.testing.assert_allclose(vgg19.preprocess_input(x), torch, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(vgg19.preprocess_input(x, mode="caffe"),
                                  preprocess_input(x, mode="caffe"))
    # The mode each `weights` argument of VGG19() wants: only Keras' .h5 files are caffe.
    assert vgg19.preprocessing_mode("imagenet") == "torch"
    assert vgg19.preprocessing_mode(None) == "torch"
    assert vgg19.preprocessing_mode(tmp_path / "vgg19_weights_tf_dim_ordering.H5") == "caffe"
    assert vgg19.preprocessing_mode("notop.hdf5") == "caffe"
    assert vgg19.preprocessing_mode("vgg19.safetensors") == "torch"
    assert vgg19.preprocessing_mode("vgg19.mlxf") == "torch"
    with pytest.raises(ValueError, match="mode must be one of"):
        vgg19.preprocess_input(x, mode=None)


def test_torch_by_hand():
    out = preprocess_input(np.array(PIXEL), mode="torch")
    expected = [
        (255 / 255 - 0.485) / 0.229,
        (0 / 255 - 0.456) / 0.224,
        (128 / 255 - 0.406) / 0.225,
    ]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


def test_tf_by_hand():
    out = preprocess_input(np.array(PIXEL), mode="tf")
    np.testing.assert_allclose(out, [1.0, -1.0, 128 / 127.5 - 1.0], rtol=0, atol=1e-6)
    assert out.dtype == np.float32


def test_batch_of_images_each_pixel_alike():
    rng = np.random.default_rng(1)
    batch = rng.integers(0, 256, size=(2, 4, 5, 3)).astype(np.uint8)
    out = preprocess_input(batch, mode="caffe")
    assert out.shape == (2, 4, 5, 3) and out.dtype == np.float32
    n, i, j = 1, 2, 3
    r, g, b = batch[n, i, j].astype(np.float64)
    np.testing.assert_allclose(out[n, i, j], [b - 103.939, g - 116.779, r - 123.68], atol=1e-4)


@pytest.mark.parametrize("mode", ["caffe", "torch", "tf"])
def test_float_input_not_modified(mode):
    x = np.array([[PIXEL, [10, 20, 30]]], dtype=np.float32)
    before = x.copy()
    out = preprocess_input(x, mode=mode)
    np.testing.assert_array_equal(x, before)
    assert not np.shares_memory(out, x)


@pytest.mark.parametrize("mode", ["caffe", "torch", "tf"])
def test_mx_array_in_mx_array_out(mode):
    x = np.array([[PIXEL, [10, 20, 30]]], dtype=np.uint8)
    out = preprocess_input(mx.array(x), mode=mode)
    assert isinstance(out, mx.array) and out.dtype == mx.float32
    np.testing.assert_allclose(np.array(out), preprocess_input(x, mode=mode), atol=1e-5)


def test_nested_list_and_float64_give_float32_numpy():
    out = preprocess_input([[PIXEL]], mode="tf")
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (1, 1, 3)
    out64 = preprocess_input(np.array(PIXEL, dtype=np.float64), mode="tf")
    assert out64.dtype == np.float32


def test_channels_last_accepted():
    x = np.array(PIXEL)
    np.testing.assert_array_equal(preprocess_input(x, data_format="channels_last"),
                                  preprocess_input(x))


@pytest.mark.parametrize("mode", ["torchvision", "CAFFE", None, ""])
def test_bad_mode(mode):
    with pytest.raises(ValueError) as info:
        preprocess_input(np.array(PIXEL), mode=mode)
    for valid in ("'caffe'", "'torch'", "'tf'"):
        assert valid in str(info.value)


@pytest.mark.parametrize("data_format", ["channels_first", "NHWC"])
def test_bad_data_format(data_format):
    with pytest.raises(ValueError, match="channels_last"):
        preprocess_input(np.array(PIXEL), data_format=data_format)


@pytest.mark.parametrize("shape", [(2, 2, 4), (3, 2, 2), (2, 1)])
def test_bad_channel_count(shape):
    with pytest.raises(ValueError) as info:
        preprocess_input(np.zeros(shape))
    assert "(..., 3)" in str(info.value) and str(shape) in str(info.value)


def test_bad_channel_count_mx():
    with pytest.raises(ValueError, match=r"\(1, 2, 2, 1\)"):
        preprocess_input(mx.zeros((1, 2, 2, 1)))
