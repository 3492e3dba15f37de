"""VGG19's pretrained weights: the Hub path, the conversion, the cache, Keras' .h5.

The weights are random but laid out exactly as timm's ``vgg19.tv_in1k``
``model.safetensors`` (keys, shapes, torch layout), served from a Hugging Face
cache built under a temp dir and fetched through the real ``hf_hub_download``
(offline mode: the tests never touch the network). The truth they are compared
with is ``vgg19_reference.numpy_vgg19``: a float64 numpy VGG19 in NCHW that
consumes the torch-layout arrays directly, written without mlxfunctional.
"""

import os
import subprocess
import sys

import huggingface_hub.constants as hf_constants
import numpy as np
import pytest

import mlxfunctional as keras
import vgg19_reference as ref
from mlxfunctional.applications import feature_extractor, imagenet_utils, timm_vgg19, vgg19
from mlxfunctional.applications.vgg19 import VGG19

CACHE = ("models", "timm--vgg19.tv_in1k", "main", "vgg19.mlxf")


@pytest.fixture(scope="module")
def timm_weights():
    return ref.random_timm_weights(seed=0)


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory, timm_weights):
    cache = tmp_path_factory.mktemp("hf_hub")
    ref.make_fake_hub_cache(cache, timm_weights)
    return cache


@pytest.fixture(scope="module")
def mlxf_home(tmp_path_factory):
    return tmp_path_factory.mktemp("mlxf_home")


@pytest.fixture
def offline_hub(monkeypatch, hub_cache, mlxf_home):
    """hf_hub_download sees the fake cache, offline; converted weights go to mlxf_home."""
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("MLXF_HOME", str(mlxf_home))
    return mlxf_home


@pytest.fixture(scope="module")
def images():
    # Already-preprocessed inputs: about unit scale, as after preprocess_input.
    return np.random.default_rng(1).standard_normal((2, 224, 224, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def expected_logits(images, timm_weights):
    return ref.numpy_vgg19(images, timm_weights)


def _max_diff(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - b)))


def test_imagenet_weights_from_the_hub_equal_the_numpy_reference(
        offline_hub, images, expected_logits):
    model = VGG19(classifier_activation=None)  # weights="imagenet", the default
    assert offline_hub.joinpath(*CACHE).is_file()  # converted once, kept as a model file
    logits = model.predict(images, batch_size=2, verbose=0)
    assert logits.shape == (2, 1000)
    assert np.abs(expected_logits).max() > 1  # a meaningful scale for the tolerance
    assert _max_diff(logits, expected_logits) < 1e-4
    assert vgg19.preprocess_input(np.full((1, 1, 1, 3), 255.0)) == pytest.approx(
        imagenet_utils.preprocess_input(np.full((1, 1, 1, 3), 255.0), mode="torch"))


def test_the_converted_cache_is_reused_without_hub_or_conversion(
        offline_hub, monkeypatch, tmp_path, images, timm_weights):
    first = VGG19(include_top=False, input_shape=(64, 64, 3))  # converts if not cached yet
    # Now the Hub's cache is empty and converting fails: only our cache can serve.
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "empty"))

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr(timm_vgg19, "convert", no_conversion)
    again = VGG19(include_top=False, input_shape=(64, 64, 3), pooling="avg")
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = images[:, :64, :64]
    expected = ref.numpy_vgg19(x, timm_weights, include_top=False).mean(axis=(1, 2))
    assert _max_diff(again.predict(x, verbose=0), expected) < 1e-4


def test_a_corrupt_cache_is_converted_again(offline_hub, tmp_path, monkeypatch):
    monkeypatch.setenv("MLXF_HOME", str(tmp_path))
    path = tmp_path.joinpath(*CACHE)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 cut short")
    with pytest.warns(UserWarning, match="Converting again"):
        model = VGG19(include_top=False, input_shape=(32, 32, 3))
    assert model.get_layer("block1_conv1").get_weights()[1].std() > 0  # biases are random
    keras.models.load_model(path)  # rewritten whole


def test_offline_without_cache_names_the_repo_file_and_how_to_download(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub"),
           "MLXF_HOME": str(tmp_path / "mlxf")}
    code = "from mlxfunctional.applications import VGG19; VGG19(include_top=False)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    assert "OSError: Cannot get 'model.safetensors'" in done.stderr
    assert "'timm/vgg19.tv_in1k'" in done.stderr
    assert "hf download timm/vgg19.tv_in1k model.safetensors" in done.stderr
    assert not (tmp_path / "mlxf" / "models").exists() or \
        not any((tmp_path / "mlxf" / "models").rglob("*.mlxf"))


def test_repo_id_and_revision_choose_the_source(offline_hub, tmp_path, monkeypatch, hub_cache):
    # A fork under another name, at a pinned commit: fetched and cached under its own key.
    monkeypatch.setenv("MLXF_HOME", str(tmp_path))
    commit = ref.DEFAULT_COMMIT
    VGG19(include_top=False, input_shape=(32, 32, 3), revision=commit)
    assert tmp_path.joinpath("models", "timm--vgg19.tv_in1k", commit, "vgg19.mlxf").is_file()
    with pytest.raises(OSError, match="'someone/vgg19-fork'.*'model.safetensors'"):
        VGG19(include_top=False, repo_id="someone/vgg19-fork")
    for bad in ("../../etc", "timm/..", "timm/x\n", "a/b/c"):
        with pytest.raises(ValueError, match="repo_id must look like 'owner/name'"):
            VGG19(include_top=False, repo_id=bad)
    with pytest.raises(ValueError, match="not a branch, tag or commit name"):
        VGG19(include_top=False, revision="main\n")
    with pytest.raises(TypeError, match="revision must be a str"):
        VGG19(include_top=False, revision=123)


def test_timm_safetensors_path_and_our_own_files(tmp_path, timm_weights, images):
    conv = {k: v for k, v in timm_weights.items() if k.startswith("features.")}
    path = ref.write_safetensors(tmp_path / "vgg19_notop.safetensors", conv)
    model = VGG19(weights=path, include_top=False, input_shape=(64, 64, 3))
    x = images[:, :64, :64]
    expected = ref.numpy_vgg19(x, timm_weights, include_top=False)
    assert _max_diff(model.predict(x, verbose=0), expected) < 1e-4
    # Our own weights file of the same model loads as it is.
    model.save_weights(tmp_path / "ours.safetensors")
    ours = VGG19(weights=str(tmp_path / "ours.safetensors"), include_top=False,
                 input_shape=(64, 64, 3))
    assert _max_diff(ours.predict(x, verbose=0), expected) < 1e-4
    # A timm file without the top cannot fill a model with one: nothing is assigned.
    with pytest.raises(ValueError, match="missing tensor.*pre_logits.fc1.weight"):
        VGG19(weights=path)


def test_timm_layout_errors_name_key_and_shapes(tmp_path, timm_weights):
    conv = {k: v for k, v in timm_weights.items() if k.startswith("features.")}
    conv["features.2.weight"] = conv["features.2.weight"][:32]  # another network's shape
    path = ref.write_safetensors(tmp_path / "other.safetensors", conv)
    with pytest.raises(ValueError, match=r"features\.2\.weight: expected \(64, 64, 3, 3\), "
                                         r"found \(32, 64, 3, 3\)"):
        VGG19(weights=path, include_top=False)


def test_weight_files_in_other_float_dtypes_load_as_keras_load_weights_casts(
        tmp_path, timm_weights, images):
    conv = {k: v for k, v in timm_weights.items() if k.startswith("features.")}
    half = {k: v.astype(np.float16) for k, v in conv.items()}
    x = images[:1, :64, :64]
    expected = ref.numpy_vgg19(x, {k: v.astype(np.float64) for k, v in half.items()},
                               include_top=False)
    timm16 = VGG19(weights=ref.write_safetensors(tmp_path / "timm16.safetensors", half),
                   include_top=False, input_shape=(64, 64, 3))
    assert _max_diff(timm16.predict(x, verbose=0), expected) < 1e-4
    # Our own layout (Keras' keys) in float16, as a save of a float16 copy would hold.
    timm16.save_weights(tmp_path / "ours.npz")
    np.savez(tmp_path / "ours16.npz",
             **{k: v.astype(np.float16) for k, v in np.load(tmp_path / "ours.npz").items()})
    model = VGG19(weights=tmp_path / "ours16.npz", include_top=False, input_shape=(64, 64, 3))
    assert _max_diff(model.predict(x, verbose=0), expected) < 1e-4


def test_bad_weight_files_are_named_by_what_is_wrong(tmp_path, timm_weights):
    conv = {k: v for k, v in timm_weights.items() if k.startswith("features.")}
    # timm's layout is recognised by any of its names, so a missing one is named.
    cut = {k: v for k, v in conv.items() if k != "features.34.weight"}
    with pytest.raises(ValueError, match=r"missing tensor\(s\) features\.34\.weight\."):
        VGG19(weights=ref.write_safetensors(tmp_path / "cut.safetensors", cut),
              include_top=False)
    ints = {**conv, "features.0.bias": np.zeros(64, np.int32)}
    with pytest.raises(ValueError, match="features.0.bias: expected floating point, found int32"):
        VGG19(weights=ref.write_safetensors(tmp_path / "int.safetensors", ints),
              include_top=False)
    prefixed = {f"model.{k}": v for k, v in conv.items()}
    with pytest.raises(ValueError, match="neither timm's VGG19 tensors.*nor mlxfunctional's"
                                         ".*first keys are: model.features.0.bias, model.features.0.weight"):
        VGG19(weights=ref.write_safetensors(tmp_path / "prefixed.safetensors", prefixed),
              include_top=False)
    (tmp_path / "weights.txt").write_text("not weights")
    with pytest.raises(ValueError, match="VGG19 reads Keras' .h5.*this extension"):
        VGG19(weights=tmp_path / "weights.txt")
    # The include_top hint only when the top is what is missing.
    notop = VGG19(weights=None, include_top=False, input_shape=(32, 32, 3))
    notop.save_weights(tmp_path / "notop.npz")
    with pytest.raises(ValueError, match=r"lack 6 weight\(s\).*include_top=False loads"):
        VGG19(weights=tmp_path / "notop.npz")
    partial = dict(np.load(tmp_path / "notop.npz"))
    del partial["block1_conv1/kernel"]
    np.savez(tmp_path / "partial.npz", **partial)
    with pytest.raises(ValueError, match=r"lack 1 weight\(s\) of the model: "
                                         r"block1_conv1/kernel\.$"):
        VGG19(weights=tmp_path / "partial.npz", include_top=False)


def test_a_damaged_file_in_the_hub_cache_says_to_download_it_again(offline_hub, hub_cache):
    snap = ref.make_fake_hub_cache(hub_cache, {"features.0.weight": np.zeros((64, 3, 3, 3),
                                                                           np.float32)},
                                   repo_id="someone/cut-vgg19")
    blob = os.path.realpath(snap)
    os.truncate(blob, os.path.getsize(blob) // 2)
    with pytest.raises(ValueError, match="Hub cache's copy of model.safetensors from "
                                         "'someone/cut-vgg19': delete it"):
        VGG19(include_top=False, repo_id="someone/cut-vgg19")


def test_keras_h5_weights_equal_the_numpy_reference(tmp_path, timm_weights, images,
                                                     expected_logits):
    path = ref.write_keras_legacy_h5(tmp_path / "vgg19_weights_tf_dim_ordering_tf_kernels.h5",
                                     timm_weights)
    model = VGG19(weights=path, classifier_activation=None)
    assert _max_diff(model.predict(images, batch_size=2, verbose=0), expected_logits) < 1e-4
    # Keras' weights want caffe preprocessing, which the caller asks for; loading them
    # changes no default (torch, for the Hub weights).
    pixel = np.array([[[[255.0, 0.0, 128.0]]]])
    assert vgg19.preprocessing_mode(path) == "caffe"
    assert np.asarray(vgg19.preprocess_input(pixel, mode="caffe")).ravel() == pytest.approx(
        [128 - 103.939, 0 - 116.779, 255 - 123.68])
    assert np.asarray(vgg19.preprocess_input(pixel)).ravel() == pytest.approx(
        np.asarray(imagenet_utils.preprocess_input(pixel, mode="torch")).ravel())


def test_small_keras_notop_h5(tmp_path, timm_weights, images):
    # Weight names as in the 2016 files Keras downloads: matched by order, not by name.
    path = ref.write_keras_legacy_h5(tmp_path / "notop.h5", timm_weights, include_top=False,
                                     keras1_names=True)
    model = VGG19(weights=path, include_top=False, input_shape=(64, 64, 3), pooling="max")
    x = images[:, :64, :64]
    expected = ref.numpy_vgg19(x, timm_weights, include_top=False).max(axis=(1, 2))
    assert _max_diff(model.predict(x, verbose=0), expected) < 1e-4
    with pytest.raises(ValueError, match="lack 6 weight.*fc1/kernel"):
        VGG19(weights=path)


def test_h5_entries_that_point_outside_the_file_are_refused(tmp_path):
    import h5py

    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(64 * 3 * 3 * 3, np.float32).tobytes())
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["kernel"] = np.zeros((3, 3, 3, 64), np.float32)
    cases = {
        "external": lambda g: g.create_dataset(
            "block1_conv1/kernel:0", shape=(3, 3, 3, 64), dtype="f4",
            external=[(str(secret), 0, secret.stat().st_size)]),
        "link": lambda g: g.__setitem__("block1_conv1/kernel:0",
                                        h5py.ExternalLink(str(other), "kernel")),
    }
    for name, make in cases.items():
        path = tmp_path / f"{name}.h5"
        with h5py.File(path, "w") as f:
            f.attrs["layer_names"] = np.array([b"block1_conv1"])
            g = f.create_group("block1_conv1")
            g.attrs["weight_names"] = np.array([b"block1_conv1/kernel:0"])
            make(g)
        with pytest.raises(ValueError, match="refused"):
            VGG19(weights=str(path), include_top=False)


def test_guide_section_9_with_pretrained_weights(offline_hub, images, expected_logits):
    vgg = VGG19()  # as the guide writes it
    features_list = [layer.output for layer in vgg.layers]
    feat_extraction_model = keras.Model(inputs=vgg.input, outputs=features_list)
    extracted_features = feat_extraction_model(images[:1])
    assert len(extracted_features) == 26
    probs = np.asarray(extracted_features[-1], dtype=np.float64)
    logits = expected_logits[:1]
    softmax = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert np.abs(probs - softmax).max() < 1e-5
    assert vgg19.decode_predictions(probs, top=1)[0][0][0] == \
        imagenet_utils.imagenet_classes()[int(np.argmax(logits))][0]


def test_feature_extractor_returns_named_activations(tmp_path, timm_weights, images):
    conv = {k: v for k, v in timm_weights.items() if k.startswith("features.")}
    path = ref.write_safetensors(tmp_path / "notop.safetensors", conv)
    base = VGG19(weights=path, include_top=False, input_shape=(64, 64, 3))
    style = feature_extractor(base, ["block1_conv1", "block3_conv1", "block5_pool"])
    out = style(images[:1, :64, :64])
    assert list(out) == ["block1_conv1", "block3_conv1", "block5_pool"]
    assert out["block1_conv1"].shape == (1, 64, 64, 64)
    assert out["block3_conv1"].shape == (1, 16, 16, 256)
    expected = ref.numpy_vgg19(images[:1, :64, :64], timm_weights, include_top=False)
    assert _max_diff(out["block5_pool"], expected) < 1e-4
    every = feature_extractor(base)
    assert len(every.outputs) == len(base.layers) - 1  # all but the input
    with pytest.raises(ValueError, match="no layer.*'block6_conv1'.*its layers are: "
                                         "block1_conv1"):
        feature_extractor(base, ["block1_conv1", "block6_conv1"])
    with pytest.raises(ValueError, match="layer_names is empty"):
        feature_extractor(base, [])
    chosen = feature_extractor(base, (n for n in ("block2_pool", "block1_pool")))  # any iterable
    assert list(chosen(images[:1, :64, :64])) == ["block2_pool", "block1_pool"]


def test_mlxf_vgg19_prints_the_top_classes(offline_hub, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(3)
    paths = []
    for i, size in enumerate([(300, 260), (224, 224)]):
        paths.append(tmp_path / f"img{i}.png")
        Image.fromarray(rng.integers(0, 256, size + (3,), dtype=np.uint8)).save(paths[-1])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "no_hub"),
           "MLXF_HOME": str(offline_hub)}
    VGG19(include_top=False, input_shape=(32, 32, 3))  # make sure the converted cache exists
    done = subprocess.run([sys.executable, "-m", "mlxfunctional.cli", "vgg19", *map(str, paths),
                           "--top", "3"], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "img0.png" and lines[4] == "img1.png" and len(lines) == 8
    # The same pipeline in this process gives the same first class.
    from mlxfunctional.utils.image_utils import center_crop_resize, img_to_array, load_img

    x = np.stack([img_to_array(center_crop_resize(load_img(p), size=224)) for p in paths])
    preds = VGG19().predict(vgg19.preprocess_input(x, mode="torch"), verbose=0)
    for i, top in enumerate(vgg19.decode_predictions(preds, top=3)):
        assert lines[1 + 4 * i].split()[1] == top[0][1]
        assert lines[1 + 4 * i].endswith(f"({top[0][0]})")


def test_mlxf_vgg19_errors(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub"),
           "MLXF_HOME": str(tmp_path / "mlxf")}
    image = tmp_path / "x.png"
    from PIL import Image

    Image.new("RGB", (40, 40)).save(image)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    for args, code, text in [([str(tmp_path / "missing.jpg")], 2, "does not exist"),
                             ([str(tmp_path / "bad.png")], 4, "cannot read image"),
                             ([str(image)], 2, "hf download timm/vgg19.tv_in1k"),
                             ([str(image), "--top", "0"], 2, "--top: must be a whole number")]:
        done = subprocess.run([sys.executable, "-m", "mlxfunctional.cli", "vgg19", *args],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == code and text in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
