"""Self-tests that keep tests/vgg19_reference.py honest (numpy, h5py, safetensors only)."""

import os

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
pytest.importorskip("safetensors")

import vgg19_reference as ref  # noqa: E402


# --------------------------------------------------------------------------- naive loops


def naive_conv3x3_same(x, w, b):
    n, c, h, wd = x.shape
    cout = w.shape[0]
    xp = np.zeros((n, c, h + 2, wd + 2))
    xp[:, :, 1:-1, 1:-1] = x
    out = np.zeros((n, cout, h, wd))
    for k in range(n):
        for o in range(cout):
            for i in range(h):
                for j in range(wd):
                    s = b[o]
                    for ci in range(c):
                        for di in range(3):
                            for dj in range(3):
                                s += xp[k, ci, i + di, j + dj] * w[o, ci, di, dj]
                    out[k, o, i, j] = s
    return out


def naive_max_pool(x):
    n, c, h, w = x.shape
    out = np.zeros((n, c, h // 2, w // 2))
    for k in range(n):
        for ci in range(c):
            for i in range(h // 2):
                for j in range(w // 2):
                    out[k, ci, i, j] = max(
                        x[k, ci, 2 * i, 2 * j], x[k, ci, 2 * i + 1, 2 * j],
                        x[k, ci, 2 * i, 2 * j + 1], x[k, ci, 2 * i + 1, 2 * j + 1],
                    )
    return out


def nhwc_conv_keras(x, kernel, bias):
    """Keras Conv2D(3x3, padding='same') on NHWC with a (kh,kw,in,out) kernel, float64."""
    n, h, w, _ = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((n, h, w, kernel.shape[3]))
    for i in range(3):
        for j in range(3):
            out += np.einsum("nhwc,co->nhwo", xp[:, i:i + h, j:j + w, :], kernel[i, j])
    return out + bias


def keras_forward_from_h5(path, x_nhwc):
    """A channels-last VGG19 forward driven only by what the legacy h5 file says."""
    with h5py.File(path, "r") as f:
        names = [n.decode("utf8") for n in f.attrs["layer_names"]]
        x = np.asarray(x_nhwc, dtype=np.float64)
        for name in names:
            g = f[name]
            wn = [n.decode("utf8") for n in g.attrs["weight_names"]]
            ws = [np.asarray(g[n], dtype=np.float64) for n in wn]
            if name.endswith("_pool"):
                n_, h, w, c = x.shape
                x = x[:, : h // 2 * 2, : w // 2 * 2].reshape(n_, h // 2, 2, w // 2, 2, c).max(
                    axis=(2, 4))
            elif "_conv" in name:
                x = np.maximum(nhwc_conv_keras(x, ws[0], ws[1]), 0)
            elif name == "flatten":
                x = x.reshape(x.shape[0], -1)  # Keras: (H, W, C) order
            elif name in ("fc1", "fc2"):
                x = np.maximum(x @ ws[0] + ws[1], 0)
            elif name == "predictions":
                x = x @ ws[0] + ws[1]  # logits (Keras applies softmax here; we compare logits)
            else:
                assert name == "input_1" and not wn
    return x


def tiny_weights(rng, chans=(2, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 4),
                 fc1_hw=(2, 3), fc=(8, 6, 5)):
    """Stand-in timm weights with the real keys and small shapes (all He-normal)."""
    w = {}
    cin = 3
    for key, cout in zip(ref.CONV_KEYS, chans):
        w[f"{key}.weight"] = rng.standard_normal((cout, cin, 3, 3)) * np.sqrt(2 / (cin * 9))
        w[f"{key}.bias"] = 0.05 * rng.standard_normal(cout)
        cin = cout
    f1, f2, nc = fc
    w["pre_logits.fc1.weight"] = rng.standard_normal((f1, cin) + fc1_hw)
    w["pre_logits.fc1.bias"] = 0.05 * rng.standard_normal(f1)
    w["pre_logits.fc2.weight"] = rng.standard_normal((f2, f1, 1, 1))
    w["pre_logits.fc2.bias"] = 0.05 * rng.standard_normal(f2)
    w["head.fc.weight"] = rng.standard_normal((nc, f2))
    w["head.fc.bias"] = 0.05 * rng.standard_normal(nc)
    return {k: v.astype(np.float32) for k, v in w.items()}


# --------------------------------------------------------------------------- shapes / weights


def test_timm_shapes_and_names():
    assert len(ref.TIMM_SHAPES) == 38
    assert list(ref.TIMM_SHAPES)[:4] == [
        "features.0.weight", "features.0.bias", "features.2.weight", "features.2.bias"]
    assert list(ref.TIMM_SHAPES)[-6:] == [
        "pre_logits.fc1.weight", "pre_logits.fc1.bias", "pre_logits.fc2.weight",
        "pre_logits.fc2.bias", "head.fc.weight", "head.fc.bias"]
    assert sum(int(np.prod(s)) for s in ref.TIMM_SHAPES.values()) == ref.TIMM_NUM_PARAMS
    assert sum(int(np.prod(s)) for s in ref.TIMM_CONV_SHAPES.values()) == ref.TIMM_NOTOP_NUM_PARAMS
    assert ref.TIMM_SHAPES["features.0.weight"] == (64, 3, 3, 3)
    assert ref.TIMM_SHAPES["features.34.weight"] == (512, 512, 3, 3)
    assert ref.TIMM_SHAPES["pre_logits.fc1.weight"] == (4096, 512, 7, 7)
    assert ref.TIMM_SHAPES["pre_logits.fc2.weight"] == (4096, 4096, 1, 1)
    assert ref.TIMM_SHAPES["head.fc.weight"] == (1000, 4096)
    assert len(ref.CONV_KEYS) == len(ref.KERAS_CONV_NAMES) == 16
    assert ref.CONV_KEYS[-1] == "features.34" and ref.KERAS_CONV_NAMES[-1] == "block5_conv4"
    assert ref.KERAS_CONV_NAMES[7] == "block3_conv4" and ref.CONV_KEYS[7] == "features.16"


def test_random_weights_notop_deterministic_and_scaled():
    a = ref.random_timm_weights(seed=3, include_top=False)
    d = ref.random_timm_weights(seed=3, include_top=False, dtype=np.float64)
    assert list(a) == list(ref.TIMM_CONV_SHAPES)
    for k, shape in ref.TIMM_CONV_SHAPES.items():
        assert a[k].shape == shape and a[k].dtype == np.float32
        assert d[k].dtype == np.float64
        np.testing.assert_array_equal(d[k], a[k])  # same seed -> same values (cast)
    w = a["features.10.weight"]  # fan_in 128*9; 295k values in several seeded blocks
    assert abs(w.std() - np.sqrt(2 / (128 * 9))) < 0.02 * np.sqrt(2 / (128 * 9))
    assert abs(w.mean()) < 0.01 * w.std()
    assert abs(a["features.10.bias"].std() - 0.05) < 0.02


def test_random_weights_seeds_and_top_prefix(monkeypatch):
    """Small stand-in shapes (same 38 keys): notop == the conv part of the full set."""
    small = {k: (6,) if len(s) == 1 else (6, 3) if len(s) == 2 else (6, 2, 2, 2)
             for k, s in ref.TIMM_SHAPES.items()}
    monkeypatch.setattr(ref, "TIMM_SHAPES", small)
    monkeypatch.setattr(ref, "TIMM_CONV_SHAPES",
                        {k: v for k, v in small.items() if k.startswith("features.")})
    monkeypatch.setattr(ref, "_GEN_CHUNK", 8)  # several blocks per tensor
    full = ref.random_timm_weights(seed=5, include_top=True)
    notop = ref.random_timm_weights(seed=5, include_top=False)
    other = ref.random_timm_weights(seed=6, include_top=False)
    assert list(full) == list(small) and len(notop) == 32
    for k in notop:
        np.testing.assert_array_equal(notop[k], full[k])
        assert not np.array_equal(notop[k], other[k])
    w = full["features.0.weight"]  # 6 rows of 8 values -> one seeded block per row
    assert len({w[i].tobytes() for i in range(6)}) == 6
    assert not np.array_equal(w, full["features.2.weight"])


# --------------------------------------------------------------------------- numpy forward


def test_im2col_conv_matches_naive_loop():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 6, 5))
    w = rng.standard_normal((4, 3, 3, 3))  # asymmetric kernels: catches a flip/transpose
    b = rng.standard_normal(4)
    np.testing.assert_allclose(ref.conv3x3_same_nchw(x, w, b), naive_conv3x3_same(x, w, b),
                               rtol=1e-12, atol=1e-12)
    x2 = rng.standard_normal((2, 2, 4, 7))
    w2 = rng.standard_normal((3, 2, 3, 3))
    b2 = rng.standard_normal(3)
    np.testing.assert_allclose(ref.conv3x3_same_nchw(x2, w2, b2), naive_conv3x3_same(x2, w2, b2),
                               rtol=1e-12, atol=1e-12)


def test_max_pool_matches_loop_including_floor():
    rng = np.random.default_rng(1)
    for shape in [(2, 3, 6, 4), (1, 2, 7, 5)]:
        x = rng.standard_normal(shape)
        np.testing.assert_array_equal(ref.max_pool2x2_nchw(x), naive_max_pool(x))


def test_torch_flatten_order_is_chw():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 2, 4))
    flat = ref.torch_flatten(x)
    for n in range(2):
        for c in range(3):
            for h in range(2):
                for w in range(4):
                    assert flat[n, c * 2 * 4 + h * 4 + w] == x[n, c, h, w]


def test_top_matches_explicit_chw_loop():
    rng = np.random.default_rng(3)
    wts = tiny_weights(rng, fc1_hw=(2, 3))
    C = wts["pre_logits.fc1.weight"].shape[1]
    feat = rng.standard_normal((2, C, 2, 3))
    W1, b1 = wts["pre_logits.fc1.weight"].astype(np.float64), wts["pre_logits.fc1.bias"]
    h1 = np.zeros((2, W1.shape[0]))
    for n in range(2):
        for o in range(W1.shape[0]):
            s = float(b1[o])
            for c in range(C):
                for i in range(2):
                    for j in range(3):
                        s += feat[n, c, i, j] * W1[o, c, i, j]
            h1[n, o] = max(s, 0.0)
    W2 = wts["pre_logits.fc2.weight"][:, :, 0, 0].astype(np.float64)
    h2 = np.maximum(h1 @ W2.T + wts["pre_logits.fc2.bias"], 0)
    logits = h2 @ wts["head.fc.weight"].astype(np.float64).T + wts["head.fc.bias"]
    np.testing.assert_allclose(ref.vgg19_top_nchw(feat, wts), logits, rtol=1e-10, atol=1e-10)


def test_linear_chunking_matches_plain_matmul():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 20))
    w = rng.standard_normal((11, 5, 2, 2)).astype(np.float32)
    b = rng.standard_normal(11)
    np.testing.assert_allclose(ref.linear_torch(x, w, b, chunk=4),
                               x @ w.reshape(11, -1).astype(np.float64).T + b, rtol=1e-12)


def test_numpy_vgg19_notop_32x32_real_shapes():
    wts = ref.random_timm_weights(seed=0, include_top=False)
    x = np.random.default_rng(5).standard_normal((1, 32, 32, 3)).astype(np.float32)
    y = ref.numpy_vgg19(x, wts, include_top=False)
    assert y.shape == (1, 1, 1, 512) and y.dtype == np.float64
    assert np.isfinite(y).all()
    assert 0.05 < np.sqrt((y ** 2).mean()) < 50  # He-normal keeps activations O(1)
    with pytest.raises(ValueError, match="include_top"):
        ref.numpy_vgg19(x, dict(wts, **{"pre_logits.fc1.weight": np.zeros((8, 512, 7, 7))}),
                        include_top=True)


# --------------------------------------------------------------------------- Keras legacy h5


def test_keras_fc1_rows_real_shape():
    """Keras' HWC flatten . written kernel == torch's CHW flatten . W1 (real 512x7x7 input)."""
    rng = np.random.default_rng(6)
    W1 = rng.standard_normal((16, 512, 7, 7)).astype(np.float32)
    b1 = rng.standard_normal(16).astype(np.float32)
    act_nhwc = rng.standard_normal((1, 7, 7, 512))
    K = ref.keras_fc1_kernel_from_torch(W1)
    assert K.shape == (25088, 16)
    keras = act_nhwc.reshape(1, -1) @ K.astype(np.float64) + b1
    torch = ref.linear_torch(ref.torch_flatten(act_nhwc.transpose(0, 3, 1, 2)), W1, b1)
    np.testing.assert_allclose(keras, torch, rtol=1e-10, atol=1e-10)
    # row (h*7 + w)*512 + c holds W1[:, c, h, w]
    np.testing.assert_array_equal(K[(3 * 7 + 5) * 512 + 17], W1[:, 17, 3, 5])


def test_keras_h5_layout_and_forward_matches_numpy_vgg19(tmp_path):
    rng = np.random.default_rng(7)
    wts = tiny_weights(rng, fc1_hw=(2, 3))
    path = ref.write_keras_legacy_h5(tmp_path / "vgg19_tf_kernels.h5", wts, include_top=True)
    with h5py.File(path, "r") as f:
        names = [n.decode("utf8") for n in f.attrs["layer_names"]]
        assert names == ref.keras_layer_names(True)
        assert names[:4] == ["input_1", "block1_conv1", "block1_conv2", "block1_pool"]
        assert names[-5:] == ["block5_pool", "flatten", "fc1", "fc2", "predictions"]
        assert len(names) == 26
        assert f.attrs["layer_names"].dtype.kind == "S"
        assert f.attrs["backend"] == b"tensorflow" and f.attrs["keras_version"] == b"2.2.4"
        assert list(f["block1_conv1"].attrs["weight_names"]) == [
            b"block1_conv1/kernel:0", b"block1_conv1/bias:0"]
        assert len(f["block1_pool"].attrs["weight_names"]) == 0
        assert len(f["input_1"].attrs["weight_names"]) == 0
        k = f["block1_conv1/block1_conv1/kernel:0"]
        assert k.dtype == np.float32
        np.testing.assert_array_equal(k[...], wts["features.0.weight"].transpose(2, 3, 1, 0))
        assert f["fc1/fc1/kernel:0"].shape == (2 * 3 * 4, 8)
        assert f["fc2/fc2/kernel:0"].shape == (8, 6)
        assert f["predictions/predictions/kernel:0"].shape == (6, 5)
        np.testing.assert_array_equal(f["predictions/predictions/bias:0"][...],
                                      wts["head.fc.bias"])
    # Block5 output is 2x3 for a 64x96 input: a non-square map catches any H/W mix-up.
    x = rng.standard_normal((2, 64, 96, 3))
    np.testing.assert_allclose(keras_forward_from_h5(path, x), ref.numpy_vgg19(x, wts),
                               rtol=1e-9, atol=1e-9)


def test_keras_notop_h5_real_shapes_matches_numpy_vgg19(tmp_path):
    wts = ref.random_timm_weights(seed=1, include_top=False)
    path = ref.write_keras_legacy_h5(tmp_path / "notop.h5", wts, include_top=False)
    with h5py.File(path, "r") as f:
        names = [n.decode("utf8") for n in f.attrs["layer_names"]]
        assert names[-1] == "block5_pool" and len(names) == 22
        shapes = {n: f[n][f"{n}/kernel:0"].shape for n in ref.KERAS_CONV_NAMES}
        assert shapes["block1_conv1"] == (3, 3, 3, 64)
        assert shapes["block5_conv4"] == (3, 3, 512, 512)
    x = np.random.default_rng(8).standard_normal((1, 32, 32, 3))
    np.testing.assert_allclose(keras_forward_from_h5(path, x),
                               ref.numpy_vgg19(x, wts, include_top=False), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- safetensors / hub


def test_safetensors_roundtrip(tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import load_file

    rng = np.random.default_rng(9)
    tensors = tiny_weights(rng)
    tensors["features.0.weight"] = np.asfortranarray(tensors["features.0.weight"])
    p = ref.write_safetensors(tmp_path / "m.safetensors", tensors, metadata={"format": "pt"})
    back = load_file(p)
    assert set(back) == set(tensors)
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype
        np.testing.assert_array_equal(back[k], v)
    with safe_open(p, framework="numpy") as f:
        assert f.metadata() == {"format": "pt"}


def test_fake_hub_cache_resolves_through_huggingface_hub(tmp_path):
    hub = pytest.importorskip("huggingface_hub")
    from safetensors.numpy import load_file

    rng = np.random.default_rng(10)
    tensors = tiny_weights(rng)
    cache = tmp_path / "hub"
    snap = ref.make_fake_hub_cache(cache, tensors, extra_files={"config.json": '{"a": 1}'})
    repo = cache / "models--timm--vgg19.tv_in1k"
    assert snap == str(repo / "snapshots" / ref.DEFAULT_COMMIT / "model.safetensors")
    assert (repo / "refs" / "main").read_bytes() == ref.DEFAULT_COMMIT.encode()  # no newline
    link = os.readlink(snap)
    assert not os.path.isabs(link) and link.startswith("../../blobs/")
    assert len(os.path.basename(link)) == 64
    got = hub.hf_hub_download("timm/vgg19.tv_in1k", "model.safetensors", cache_dir=str(cache),
                              local_files_only=True)
    assert os.path.realpath(got) == os.path.realpath(snap)
    assert got == snap
    assert hub.try_to_load_from_cache("timm/vgg19.tv_in1k", "model.safetensors",
                                      cache_dir=str(cache)) == snap
    cfg = hub.hf_hub_download("timm/vgg19.tv_in1k", "config.json", cache_dir=str(cache),
                              local_files_only=True)
    assert open(cfg).read() == '{"a": 1}'
    back = load_file(got)
    for k, v in tensors.items():
        np.testing.assert_array_equal(back[k], v)
    # A custom commit and a pinned revision resolve too; a missing repo does not.
    commit = "f" * 40
    snap2 = ref.make_fake_hub_cache(tmp_path / "hub2", tensors, commit=commit)
    assert hub.hf_hub_download("timm/vgg19.tv_in1k", "model.safetensors", revision=commit,
                               cache_dir=str(tmp_path / "hub2"), local_files_only=True) == snap2
    with pytest.raises(Exception):
        hub.hf_hub_download("timm/vgg16.tv_in1k", "model.safetensors", cache_dir=str(cache),
                            local_files_only=True)
