"""keras.applications.Xception: Keras' names, shapes and sizes; a forward pass against an
independent numpy Xception; Keras 2 ``.h5`` weights from a path and through the
downloader (a loopback server, MD5-checked, cached). Nothing here touches the network:
the weights files are small fakes (random sparse weights, gzip) written by h5py in
the layout of Keras' own files.
"""

import hashlib

import mlx.core as mx
import numpy as np
import pytest

import _xception_reference as ref
import mlxfunctional as keras
from loopback_server import LoopbackServer, unused_url
from mlxfunctional import applications, layers
from mlxfunctional.applications import Xception, imagenet_utils, xception, xception_weights
from mlxfunctional.datasets import download
from mlxfunctional.saving.errors import ModelFileError

SIZE = 71  # Xception's smallest input: every layer still runs, in a fraction of a second


@pytest.fixture(scope="module")
def weights():
    return ref.random_weights(seed=0)


@pytest.fixture(scope="module")
def h5_files(tmp_path_factory, weights):
    folder = tmp_path_factory.mktemp("xception_h5")
    top, notop = folder / "top.h5", folder / "notop.h5"
    ref.write_keras2_h5(top, weights, include_top=True)
    ref.write_keras2_h5(notop, weights, include_top=False)
    return top, notop


@pytest.fixture(scope="module")
def images():
    # Already-preprocessed inputs: about unit scale, as after preprocess_input.
    return np.random.default_rng(1).uniform(-1, 1, (2, SIZE, SIZE, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def expected(images, weights):
    return ref.xception(images, weights), ref.xception(images, weights, include_top=False)


def _close(got, want):
    got = np.asarray(got, np.float64)
    assert got.shape == want.shape
    scale = np.abs(want).max()
    assert scale > 0.5  # a meaningful scale for the tolerance
    assert np.abs(got - want).max() < 1e-5 * scale


# ----------------------------------------------------------------- architecture


def test_parameter_counts_are_keras_and_building_evaluates_nothing():
    mx.eval(mx.zeros(1))
    mx.reset_peak_memory()
    before = mx.get_active_memory()
    model = Xception(weights=None)
    assert mx.get_peak_memory() - before < 16 * 2**20   # 92 MB of weights were not made
    # Keras' published figures: total 22,910,480, non-trainable (moving statistics) 54,528.
    assert model.count_params() == 22_910_480
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert model.count_params() - trainable == 54_528
    assert Xception(weights=None, include_top=False).count_params() == 20_861_480
    assert len(Xception(weights=None, include_top=False).layers) == 132


def _row(name, shape, params):
    return name, (None,) + shape, params


def _published_summary():
    """Keras' summary of Xception(include_top=False) at 299x299 (tf.keras 2, as printed
    by keras.applications.Xception), with Keras 3's counter names (``conv2d`` for 2's
    ``conv2d_1``, ``add`` for ``add_1``, ...), and Keras 3's ``input_layer``."""
    rows = [_row("input_layer", (299, 299, 3), 0),
            _row("block1_conv1", (149, 149, 32), 864),
            _row("block1_conv1_bn", (149, 149, 32), 128),
            _row("block1_conv1_act", (149, 149, 32), 0),
            _row("block1_conv2", (147, 147, 64), 18432),
            _row("block1_conv2_bn", (147, 147, 64), 256),
            _row("block1_conv2_act", (147, 147, 64), 0),
            _row("block2_sepconv1", (147, 147, 128), 8768),
            _row("block2_sepconv1_bn", (147, 147, 128), 512),
            _row("block2_sepconv2_act", (147, 147, 128), 0),
            _row("block2_sepconv2", (147, 147, 128), 17536),
            _row("block2_sepconv2_bn", (147, 147, 128), 512),
            _row("conv2d", (74, 74, 128), 8192),
            _row("block2_pool", (74, 74, 128), 0),
            _row("batch_normalization", (74, 74, 128), 512),
            _row("add", (74, 74, 128), 0),
            _row("block3_sepconv1_act", (74, 74, 128), 0),
            _row("block3_sepconv1", (74, 74, 256), 33920),
            _row("block3_sepconv1_bn", (74, 74, 256), 1024),
            _row("block3_sepconv2_act", (74, 74, 256), 0),
            _row("block3_sepconv2", (74, 74, 256), 67840),
            _row("block3_sepconv2_bn", (74, 74, 256), 1024),
            _row("conv2d_1", (37, 37, 256), 32768),
            _row("block3_pool", (37, 37, 256), 0),
            _row("batch_normalization_1", (37, 37, 256), 1024),
            _row("add_1", (37, 37, 256), 0),
            _row("block4_sepconv1_act", (37, 37, 256), 0),
            _row("block4_sepconv1", (37, 37, 728), 188672),
            _row("block4_sepconv1_bn", (37, 37, 728), 2912),
            _row("block4_sepconv2_act", (37, 37, 728), 0),
            _row("block4_sepconv2", (37, 37, 728), 536536),
            _row("block4_sepconv2_bn", (37, 37, 728), 2912),
            _row("conv2d_2", (19, 19, 728), 186368),
            _row("block4_pool", (19, 19, 728), 0),
            _row("batch_normalization_2", (19, 19, 728), 2912),
            _row("add_2", (19, 19, 728), 0)]
    for block in range(5, 13):  # the middle flow's eight identical blocks
        for i in (1, 2, 3):
            rows += [_row(f"block{block}_sepconv{i}_act", (19, 19, 728), 0),
                     _row(f"block{block}_sepconv{i}", (19, 19, 728), 536536),
                     _row(f"block{block}_sepconv{i}_bn", (19, 19, 728), 2912)]
        rows.append(_row(f"add_{block - 2}", (19, 19, 728), 0))
    rows += [_row("block13_sepconv1_act", (19, 19, 728), 0),
             _row("block13_sepconv1", (19, 19, 728), 536536),
             _row("block13_sepconv1_bn", (19, 19, 728), 2912),
             _row("block13_sepconv2_act", (19, 19, 728), 0),
             _row("block13_sepconv2", (19, 19, 1024), 752024),
             _row("block13_sepconv2_bn", (19, 19, 1024), 4096),
             _row("conv2d_3", (10, 10, 1024), 745472),
             _row("block13_pool", (10, 10, 1024), 0),
             _row("batch_normalization_3", (10, 10, 1024), 4096),
             _row("add_11", (10, 10, 1024), 0),
             _row("block14_sepconv1", (10, 10, 1536), 1582080),
             _row("block14_sepconv1_bn", (10, 10, 1536), 6144),
             _row("block14_sepconv1_act", (10, 10, 1536), 0),
             _row("block14_sepconv2", (10, 10, 2048), 3159552),
             _row("block14_sepconv2_bn", (10, 10, 2048), 8192),
             _row("block14_sepconv2_act", (10, 10, 2048), 0)]
    return rows


def test_layer_names_shapes_and_sizes_are_keras_published_summary():
    model = Xception(weights=None, include_top=False, input_shape=(299, 299, 3))
    got = [(l.name, tuple(l.output.shape), l.count_params()) for l in model.layers]
    assert got == _published_summary()
    top = Xception(weights=None)
    assert [(l.name, tuple(l.output.shape), l.count_params()) for l in top.layers[-2:]] == [
        ("avg_pool", (None, 2048), 0), ("predictions", (None, 1000), 2049000)]
    assert top.name == "xception" and top.input_shape == (None, 299, 299, 3)


def test_headless_xception_keeps_unknown_sizes_unknown_and_pools():
    model = Xception(weights=None, include_top=False)
    assert model.output.shape == (None, None, None, 2048)
    assert Xception(weights=None, include_top=False, pooling="max").output.shape == (None, 2048)
    assert Xception(weights=None, include_top=False, pooling="avg",
                    input_shape=(150, 150, 3)).output.shape == (None, 2048)


def test_argument_errors_are_keras():
    with pytest.raises(ValueError, match="at least 71x71"):
        Xception(weights=None, include_top=False, input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match=r"`input_shape` should be \(299, 299, 3\)\. "
                                         r"Received: input_shape=\(224, 224, 3\)"):
        Xception(input_shape=(224, 224, 3))
    with pytest.raises(ValueError, match="3 channels"):
        Xception(include_top=False, input_shape=(99, 99, 1))
    with pytest.raises(ValueError, match="static `input_shape`"):
        Xception(weights=None, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="pooling"):
        Xception(weights=None, include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="`weights` argument"):
        Xception(weights=3)
    with pytest.raises(ValueError, match="`classes` should be 1000. Received classes=10"):
        Xception(classes=10)
    with pytest.raises(ValueError, match="Only `None` and `softmax`.*'sigmoid'"):
        Xception(classifier_activation="sigmoid")
    with pytest.raises(ValueError, match="does not exist"):
        Xception(weights="no/such/file.h5")
    with pytest.raises(ValueError, match="input_tensor must be a symbolic tensor"):
        Xception(weights=None, input_tensor=np.zeros((1, 299, 299, 3), "float32"))


def test_input_tensor_from_layers_and_custom_classes():
    raw = keras.Input((SIZE, SIZE, 3), name="raw")
    scaled = layers.Rescaling(1 / 127.5, offset=-1)(raw)
    model = Xception(weights=None, input_tensor=scaled, classes=7, name="small")
    assert model.inputs[0] is raw and model.layers[1].name == "rescaling"
    assert model.output.shape == (None, 7) and model.name == "small"
    assert model.get_layer("predictions").count_params() == 2048 * 7 + 7


def test_preprocess_and_decode_are_kerass_tf_mode_and_imagenet_classes():
    pixels = np.array([[[[0.0, 127.5, 255.0]]]])
    np.testing.assert_allclose(np.asarray(xception.preprocess_input(pixels)), [[[[-1, 0, 1]]]])
    np.testing.assert_allclose(np.asarray(xception.preprocess_input(pixels)),
                               np.asarray(imagenet_utils.preprocess_input(pixels, mode="tf")))
    scores = np.zeros((1, 1000), np.float32)
    scores[0, 1] = 0.9
    assert xception.decode_predictions(scores, top=1) == [[("n01443537", "goldfish",
                                                            pytest.approx(0.9))]]
    assert applications.Xception is Xception


# ----------------------------------------------------------------- weights


def test_keras_h5_weights_from_a_path_equal_the_numpy_reference(h5_files, images, expected):
    top, notop = h5_files
    logits, features = expected
    model = Xception(weights=str(top), input_shape=(SIZE, SIZE, 3), classifier_activation=None)
    _close(model.predict(images, batch_size=2, verbose=0), logits)
    # The softmax top: Keras' default activation on the same logits.
    probs = Xception(weights=top, input_shape=(SIZE, SIZE, 3)).predict(images, verbose=0)
    e = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(probs, e / e.sum(1, keepdims=True), atol=1e-5)
    # Without the top, from the _notop file and from the file with the top alike.
    for path in (notop, top):
        model = Xception(weights=path, include_top=False, input_shape=(SIZE, SIZE, 3))
        _close(model.predict(images, verbose=0), features)


def test_unnamed_shortcut_layers_load_by_order_whatever_their_counter_names(
        tmp_path, weights, images, expected):
    # A file written in another session: its unnamed layers are conv2d_7.., not conv2d_1..
    renamed = {}
    for name, arrays in weights.items():
        if name.startswith(("conv2d_", "batch_normalization_")):
            stem, n = name.rsplit("_", 1)
            name = f"{stem}_{int(n) + 6}"
        renamed[name] = arrays
    path = tmp_path / "renamed.h5"
    ref.write_keras2_h5(path, renamed, include_top=False)
    # The model's own counters are not at zero either.
    layers.Conv2D(1, 1), layers.BatchNormalization()
    model = Xception(weights=path, include_top=False, input_shape=(SIZE, SIZE, 3))
    assert [l.name for l in model.layers if l.name.startswith("conv2d")] == [
        "conv2d_1", "conv2d_2", "conv2d_3", "conv2d_4"]  # (conv2d was taken above)
    _close(model.predict(images, verbose=0), expected[1])


def test_bad_h5_files_are_named_by_what_is_wrong_and_nothing_is_assigned(tmp_path, weights):
    model = Xception(weights=None, include_top=False, input_shape=(SIZE, SIZE, 3))
    before = np.asarray(model.get_layer("block1_conv1").get_weights()[0])

    def load(w, name):
        path = tmp_path / name
        ref.write_keras2_h5(path, w, include_top="predictions" in w)
        with pytest.raises(ValueError) as err:
            xception_weights.load_h5(model, str(path))
        return str(err.value)

    no_block = {k: v for k, v in weights.items() if k != "block7_sepconv2_bn"}
    assert "no weights for layer(s) block7_sepconv2_bn" in load(no_block, "missing.h5")
    wrong = dict(weights, block1_conv1=[np.zeros((3, 3, 3, 16), np.float32)])
    message = load(wrong, "shape.h5")
    assert "'block1_conv1' needs weights of shapes [(3, 3, 3, 32)]" in message
    assert "(3, 3, 3, 16)" in message
    no_short = {k: v for k, v in weights.items() if k != "conv2d_4"}
    assert "7 layer(s) with weights outside Xception's named layers" in load(no_short, "s.h5")
    np.testing.assert_array_equal(model.get_layer("block1_conv1").get_weights()[0], before)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not HDF5" * 64)
    with pytest.raises(ModelFileError, match="not a readable HDF5 file"):
        Xception(weights=garbage, include_top=False, input_shape=(SIZE, SIZE, 3))
    # A model with the top needs the file's predictions.
    top_model = Xception(weights=None, input_shape=(SIZE, SIZE, 3))
    path = tmp_path / "notop.h5"
    ref.write_keras2_h5(path, weights, include_top=False)
    with pytest.raises(ValueError, match=r"no weights for layer\(s\) predictions \(include_top"
                                         r"=False loads Keras' _notop file\)"):
        xception_weights.load_h5(top_model, str(path))


def test_our_own_weights_files_load_through_load_weights(tmp_path, h5_files, images, expected):
    source = Xception(weights=h5_files[1], include_top=False, input_shape=(SIZE, SIZE, 3))
    source.save_weights(tmp_path / "own.npz")
    source.save(tmp_path / "own.mlxf")
    for path in (tmp_path / "own.npz", tmp_path / "own.mlxf"):
        keras.backend.clear_session()  # the same counter names as the saved model's
        model = Xception(weights=path, include_top=False, input_shape=(SIZE, SIZE, 3))
        _close(model.predict(images, verbose=0), expected[1])


def test_keras_urls_and_md5s_are_the_ones_keras_downloads():
    base = "https://storage.googleapis.com/tensorflow/keras-applications/xception/"
    assert xception_weights.WEIGHTS == {
        True: ("xception_weights_tf_dim_ordering_tf_kernels.h5",
               base + "xception_weights_tf_dim_ordering_tf_kernels.h5",
               "0a58e3b7378bc2990ea3b43d5981f1f6"),
        False: ("xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
                base + "xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
                "b0042744bf5b25fce3cb969f33bebb97")}


def _md5(data):
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MLXF_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(xception_weights, "WEIGHTS", dict(xception_weights.WEIGHTS))
    return tmp_path / "home"


def _serve(monkeypatch, blob, include_top, md5=None):
    server = LoopbackServer({"w.h5": blob})
    fname = xception_weights.WEIGHTS[include_top][0]
    monkeypatch.setitem(xception_weights.WEIGHTS, include_top,
                        (fname, f"{server.url}/w.h5", md5 or _md5(blob)))
    return server, fname


def test_imagenet_weights_download_once_md5_checked_then_cached(
        home, monkeypatch, h5_files, images, expected):
    blob = h5_files[1].read_bytes()
    server, fname = _serve(monkeypatch, blob, include_top=False)
    with server:
        model = Xception(include_top=False, input_shape=(SIZE, SIZE, 3))  # "imagenet"
        cached = home / "models" / fname
        assert cached.read_bytes() == blob
        assert server.requests == [("w.h5", None)]
        _close(model.predict(images, verbose=0), expected[1])
        # Second time: from the cache, no request.
        Xception(include_top=False, input_shape=(SIZE, SIZE, 3), pooling="avg")
        assert len(server.requests) == 1
        # A cut connection is resumed by the shared downloader.
        cached.unlink()
        server.cut_after["w.h5"] = (len(blob) // 3, 1)
        Xception(include_top=False, input_shape=(SIZE, SIZE, 3))
        assert server.requests[-1] == ("w.h5", f"bytes={len(blob) // 3}-")
        assert cached.read_bytes() == blob


def test_a_download_with_the_wrong_md5_is_deleted(home, monkeypatch, h5_files):
    blob = h5_files[0].read_bytes()
    server, fname = _serve(monkeypatch, blob, include_top=True, md5="0" * 32)
    with server, pytest.raises(download.ChecksumError, match="expected md5 0{32}"):
        Xception(input_shape=None)
    assert not (home / "models" / fname).exists()
    assert list((home / "models").iterdir()) == []


def test_a_server_sending_more_than_the_bound_is_stopped(home, monkeypatch):
    monkeypatch.setattr(xception_weights, "MAX_BYTES", 1000)
    server, fname = _serve(monkeypatch, bytes(5000), include_top=False)
    with server, pytest.raises(download.DownloadError, match="more than the 1000 bytes"):
        Xception(include_top=False)
    assert list((home / "models").iterdir()) == []


def test_offline_says_where_to_put_the_file(home, monkeypatch):
    fname = xception_weights.WEIGHTS[False][0]
    monkeypatch.setitem(xception_weights.WEIGHTS, False,
                        (fname, unused_url() + "/w.h5", "0" * 32))
    monkeypatch.setattr(download, "RETRY_BACKOFF", 0.0)
    with pytest.raises(download.DownloadError) as err:
        Xception(include_top=False)
    assert str(home / "models" / fname) in str(err.value)
    assert "weights=PATH" in str(err.value)


def test_get_file_chooses_md5_or_sha256_as_keras(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "RETRY_BACKOFF", 0.0)
    blob = b"xception" * 100
    with LoopbackServer({"a.bin": blob}) as server:
        url = f"{server.url}/a.bin"
        sha = hashlib.sha256(blob).hexdigest()
        assert download.get_file("a.bin", url, file_hash=_md5(blob), cache_dir=tmp_path,
                                 verbose=0).read_bytes() == blob                 # auto: md5
        assert download.get_file("b.bin", url, file_hash=sha, cache_dir=tmp_path,
                                 verbose=0).read_bytes() == blob                 # auto: sha256
        with pytest.raises(download.ChecksumError, match="expected sha256"):
            download.get_file("c.bin", url, file_hash=_md5(blob), hash_algorithm="sha256",
                              cache_dir=tmp_path, verbose=0)
        with pytest.raises(ValueError, match="hash_algorithm"):
            download.get_file("d.bin", url, hash_algorithm="crc", cache_dir=tmp_path)
    # A cached file is checked with the same algorithm: an edit is detected.
    (tmp_path / "datasets" / "a.bin").write_bytes(b"edited")
    with pytest.warns(UserWarning, match="does not match its md5"), \
            pytest.raises(download.DownloadError):
        download.get_file("a.bin", unused_url() + "/a.bin", file_hash=_md5(blob),
                          cache_dir=tmp_path, verbose=0)


def test_transfer_learning_guide_freezes_the_base_and_its_batchnorm(h5_files):
    # The Keras guide's pattern: a frozen pretrained base called with training=False
    # inside a new model; fit trains the new head only and leaves the moving statistics.
    base = Xception(weights=h5_files[1], include_top=False, input_shape=(SIZE, SIZE, 3))
    base.trainable = False
    inputs = keras.Input(shape=(SIZE, SIZE, 3))
    x = layers.Rescaling(scale=1 / 127.5, offset=-1)(inputs)
    x = base(x, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(1)(layers.Dropout(0.2)(x))
    model = keras.Model(inputs, outputs)
    assert len(model.trainable_weights) == 2   # the head's kernel and bias
    frozen = [np.array(w) for w in base.get_weights()]
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
    rng = np.random.default_rng(2)
    data = rng.uniform(0, 255, (4, SIZE, SIZE, 3)).astype(np.float32)
    head = np.array(model.layers[-1].get_weights()[0])
    model.fit(data, np.array([0, 1, 0, 1.0]), batch_size=2, epochs=1, verbose=0)
    assert all(np.array_equal(a, np.array(b)) for a, b in zip(frozen, base.get_weights()))
    assert not np.array_equal(head, model.layers[-1].get_weights()[0])
