"""Independent test-side truth for pretrained VGG19 weights (timm / torchvision / Keras).

This module deliberately imports nothing from ``mlxfunctional``: it is the reference
the package's weight conversion is checked against. Only numpy, h5py and safetensors
(plus the standard library) are used.

Contents
--------
* ``TIMM_SHAPES`` / ``CONV_KEYS`` / ``KERAS_CONV_NAMES``: the key names and torch-layout
  shapes of ``timm/vgg19.tv_in1k``'s ``model.safetensors`` (38 tensors, 143,667,240
  parameters) and the Keras layer name of each conv.
* ``random_timm_weights``: He-normal random stand-ins with exactly those keys and shapes.
* ``numpy_vgg19``: a float64 NCHW forward that consumes the torch-layout arrays as torch
  does (conv 3x3 pad 1, 2x2/2 max pool, fc1 over the (C,H,W) flatten).
* ``write_safetensors`` / ``make_fake_hub_cache``: a safetensors file and the
  ``huggingface_hub`` cache layout around it, for offline ``hf_hub_download`` tests.
* ``write_keras_legacy_h5``: Keras 2's legacy ``vgg19_weights_tf_dim_ordering_tf_kernels``
  h5 layout, converted from the torch-layout arrays here, independently of the package.
"""

import hashlib
import os

import numpy as np

# --------------------------------------------------------------------------- shapes

#: Output channels of the 16 convs, block by block: 64,64 | 128,128 | 256x4 | 512x4 | 512x4.
CONV_CHANNELS = (64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512)
#: Number of convs in each of the five blocks.
BLOCK_SIZES = (2, 2, 4, 4, 4)
#: torchvision ``features`` indices of the convs (ReLUs sit at N+1, max pools at 4/9/18/27/36).
CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
POOL_INDICES = (4, 9, 18, 27, 36)

#: The 16 conv key prefixes, in forward order: ``features.0`` ... ``features.34``.
CONV_KEYS = tuple(f"features.{i}" for i in CONV_INDICES)
#: The Keras layer name of each conv, aligned with ``CONV_KEYS``.
KERAS_CONV_NAMES = tuple(
    f"block{b + 1}_conv{j + 1}" for b, n in enumerate(BLOCK_SIZES) for j in range(n)
)
#: The classifier tensors' key prefixes, in forward order, and their Keras layer names.
TOP_KEYS = ("pre_logits.fc1", "pre_logits.fc2", "head.fc")
KERAS_TOP_NAMES = ("fc1", "fc2", "predictions")


def _timm_shapes():
    shapes = {}
    cin = 3
    for key, cout in zip(CONV_KEYS, CONV_CHANNELS):
        shapes[f"{key}.weight"] = (cout, cin, 3, 3)
        shapes[f"{key}.bias"] = (cout,)
        cin = cout
    shapes["pre_logits.fc1.weight"] = (4096, 512, 7, 7)
    shapes["pre_logits.fc1.bias"] = (4096,)
    shapes["pre_logits.fc2.weight"] = (4096, 4096, 1, 1)
    shapes["pre_logits.fc2.bias"] = (4096,)
    shapes["head.fc.weight"] = (1000, 4096)
    shapes["head.fc.bias"] = (1000,)
    return shapes


#: key -> torch-layout shape for all 38 tensors, in forward order (convs first, then top).
TIMM_SHAPES = _timm_shapes()
#: The 32 conv tensors only (``include_top=False``).
TIMM_CONV_SHAPES = {k: v for k, v in TIMM_SHAPES.items() if k.startswith("features.")}
TIMM_NUM_PARAMS = 143_667_240
TIMM_NOTOP_NUM_PARAMS = 20_024_384


def _fan_in(shape):
    # conv (out,in,kh,kw) -> in*kh*kw; fc1 (4096,512,7,7) -> 25088; fc2 (4096,4096,1,1) -> 4096;
    # head (1000,4096) -> 4096.
    return int(np.prod(shape[1:]))


_GEN_CHUNK = 1 << 22  # elements per independently seeded block (~16 MB float32)


def random_timm_weights(seed=0, include_top=True, dtype=np.float32):
    """Random arrays with timm's ``vgg19.tv_in1k`` keys and torch-layout shapes.

    Weights are He-normal (``N(0,1) * sqrt(2 / fan_in)``, fan_in = in*kh*kw for a conv,
    25088 for fc1, 4096 for fc2 and the head); biases are ``0.05 * N(0,1)``. Activations
    then stay O(1) through the whole ReLU network for O(1) inputs.

    Deterministic in ``seed``: ``np.random.SeedSequence(seed)`` is spawned into one child per
    key of ``TIMM_SHAPES`` (always all 38, in order), and each tensor is filled in blocks of
    rows (at most ``_GEN_CHUNK`` elements each) from ``np.random.default_rng`` of that
    child's own spawned children. So ``include_top=False`` (the 32 conv tensors only) gives
    exactly the same conv arrays as ``include_top=True``, and the values do not depend on
    the thread count. Float32 is drawn directly on two threads (~143M values, ~2 s on two
    cores); other dtypes are cast from it.
    """
    from concurrent.futures import ThreadPoolExecutor

    children = dict(zip(TIMM_SHAPES, np.random.SeedSequence(seed).spawn(len(TIMM_SHAPES))))
    shapes = TIMM_SHAPES if include_top else TIMM_CONV_SHAPES
    out = {k: np.empty(shape, dtype=np.float32) for k, shape in shapes.items()}
    jobs = []
    for key, shape in shapes.items():
        scale = 0.05 if key.endswith(".bias") else np.sqrt(2.0 / _fan_in(shape))
        row = int(np.prod(shape[1:]))
        rows = max(1, _GEN_CHUNK // row)
        starts = range(0, shape[0], rows)
        for s0, ss in zip(starts, children[key].spawn(len(starts))):
            jobs.append((out[key][s0 : s0 + rows], ss, np.float32(scale)))

    def fill(job):
        view, ss, scale = job
        np.random.default_rng(ss).standard_normal(dtype=np.float32, out=view)
        view *= scale

    with ThreadPoolExecutor(max_workers=2) as ex:
        list(ex.map(fill, jobs))
    if np.dtype(dtype) != np.float32:
        out = {k: v.astype(dtype) for k, v in out.items()}
    return out


# --------------------------------------------------------------------------- numpy forward


def conv3x3_same_nchw(x, w, b):
    """torch ``Conv2d(k=3, stride=1, padding=1)`` on one or more NCHW images, float64.

    ``x`` (N,C,H,W), ``w`` (out,C,3,3) torch layout (cross-correlation, no kernel flip),
    ``b`` (out,). im2col: for each image, the zero-padded input's 3x3 windows are laid out
    as a (C*3*3, H*W) matrix whose row order (c, i, j) matches ``w.reshape(out, C*9)``, and
    one matmul gives the (out, H*W) output. Images are processed one at a time so memory
    is bounded by one image's column matrix (~231 MB for 64 channels at 224x224).
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n, c, h, wd = x.shape
    cout, cin, kh, kw = w.shape
    if cin != c:
        raise ValueError(f"conv weight expects {cin} input channels, input has {c}")
    ph, pw = kh // 2, kw // 2
    wmat = w.reshape(cout, cin * kh * kw)
    out = np.empty((n, cout, h, wd), dtype=np.float64)
    for k in range(n):
        xp = np.pad(x[k], ((0, 0), (ph, ph), (pw, pw)))
        win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))
        # win: (C, H, W, kh, kw) view -> (C, kh, kw, H, W) -> (C*kh*kw, H*W) copy.
        cols = win.transpose(0, 3, 4, 1, 2).reshape(cin * kh * kw, h * wd)
        res = wmat @ cols
        res += b[:, None]
        out[k] = res.reshape(cout, h, wd)
    return out


def max_pool2x2_nchw(x):
    """torch ``MaxPool2d(2, 2)`` (floor mode: a trailing odd row/column is dropped), NCHW."""
    n, c, h, w = x.shape
    h2, w2 = h // 2, w // 2
    return x[:, :, : 2 * h2, : 2 * w2].reshape(n, c, h2, 2, w2, 2).max(axis=(3, 5))


def torch_flatten(x_nchw):
    """torch's ``flatten(1)`` of an NCHW tensor: feature index ``c*H*W + h*W + w``."""
    return x_nchw.reshape(x_nchw.shape[0], -1)


def linear_torch(x2d, w, b, chunk=512):
    """``x2d @ w.reshape(out, -1).T + b`` in float64, casting ``w`` in row chunks.

    ``w`` may be any torch layout whose trailing dims flatten to the input features:
    fc1 (4096,512,7,7), fc2 (4096,4096,1,1) or the head (1000,4096). Chunking keeps the
    float64 copy of fc1 (822 MB whole) to ~100 MB.
    """
    x2d = np.asarray(x2d, dtype=np.float64)
    out_f = w.shape[0]
    wm = w.reshape(out_f, -1)
    if wm.shape[1] != x2d.shape[1]:
        raise ValueError(f"linear weight expects {wm.shape[1]} features, input has {x2d.shape[1]}")
    y = np.empty((x2d.shape[0], out_f), dtype=np.float64)
    for s in range(0, out_f, chunk):
        y[:, s : s + chunk] = x2d @ wm[s : s + chunk].astype(np.float64).T
    y += np.asarray(b, dtype=np.float64)
    return y


def vgg19_top_nchw(feat_nchw, weights):
    """timm's VGG19 classifier on the block5 pool output (N,512,7,7) NCHW -> logits.

    torch flatten (C,H,W) -> fc1 + ReLU -> fc2 (1x1 kernel squeezed) + ReLU -> head.
    Dropout is the identity at inference; no softmax. Works for any consistent shapes,
    so the tests can feed tiny stand-ins.
    """
    relu = lambda a: np.maximum(a, 0.0)  # noqa: E731
    h = torch_flatten(np.asarray(feat_nchw, dtype=np.float64))
    h = relu(linear_torch(h, weights["pre_logits.fc1.weight"], weights["pre_logits.fc1.bias"]))
    w2 = weights["pre_logits.fc2.weight"]
    w2 = w2.reshape(w2.shape[0], w2.shape[1])  # (4096,4096,1,1) -> (4096,4096)
    h = relu(linear_torch(h, w2, weights["pre_logits.fc2.bias"]))
    return linear_torch(h, weights["head.fc.weight"], weights["head.fc.bias"])


def numpy_vgg19(x_nhwc, weights, include_top=True):
    """Independent float64 VGG19 forward on torch-layout (timm key) weights.

    ``x_nhwc`` (N,H,W,3), already preprocessed (no normalization is applied here). The
    input is transposed to NCHW and run as torchvision runs it: 16 convs 3x3/stride 1/
    padding 1 (+bias, ReLU), a 2x2/stride-2 floor max pool after each block.

    include_top=True: needs a 7x7 block5 output (224x224 input); returns the logits
    (N,1000) (no softmax). include_top=False: returns the block5_pool output transposed
    back to NHWC, (N, H//32, W//32, 512).
    """
    x = np.asarray(x_nhwc, dtype=np.float64).transpose(0, 3, 1, 2)
    k = 0
    for nconv in BLOCK_SIZES:
        for _ in range(nconv):
            key = CONV_KEYS[k]
            x = conv3x3_same_nchw(x, weights[f"{key}.weight"], weights[f"{key}.bias"])
            np.maximum(x, 0.0, out=x)
            k += 1
        x = max_pool2x2_nchw(x)
    if not include_top:
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    fc1_in = weights["pre_logits.fc1.weight"].shape[1:]
    if x.shape[1:] != tuple(fc1_in):
        raise ValueError(
            f"include_top needs a block5 output of {tuple(fc1_in)} (C,H,W), got {x.shape[1:]}"
        )
    return vgg19_top_nchw(x, weights)


# --------------------------------------------------------------------------- files


def write_safetensors(path, tensors, metadata=None):
    """Write ``tensors`` (name -> numpy array) with ``safetensors.numpy.save_file``.

    Arrays are made C-contiguous first. ``metadata`` is a str->str dict or None; timm's
    real files carry ``{"format": "pt"}``.
    """
    from safetensors.numpy import save_file

    save_file(
        {k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path), metadata=metadata
    )
    return str(path)


DEFAULT_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _cache_add_file(repo_dir, commit, filename, src_writer):
    """Write a blob via ``src_writer(tmp_path)``, rename to its sha256, link the snapshot."""
    blobs = os.path.join(repo_dir, "blobs")
    os.makedirs(blobs, exist_ok=True)
    tmp = os.path.join(blobs, ".incomplete.tmp")
    src_writer(tmp)
    digest = _sha256_file(tmp)
    blob = os.path.join(blobs, digest)
    os.replace(tmp, blob)
    snap = os.path.join(repo_dir, "snapshots", commit, *filename.split("/"))
    os.makedirs(os.path.dirname(snap), exist_ok=True)
    if os.path.lexists(snap):
        os.remove(snap)
    os.symlink(os.path.relpath(blob, os.path.dirname(snap)), snap)
    return snap


def make_fake_hub_cache(
    cache_dir,
    tensors,
    repo_id="timm/vgg19.tv_in1k",
    filename="model.safetensors",
    commit=None,
    extra_files=None,
):
    """Build the ``huggingface_hub`` cache layout for one model repo under ``cache_dir``.

    Layout (what ``hf_hub_download(..., cache_dir=cache_dir, local_files_only=True)``
    resolves)::

        cache_dir/models--{org}--{name}/
            blobs/<sha256 of the file>            the real safetensors file
            refs/main                             the 40-hex commit, no trailing newline
            snapshots/<commit>/<filename>         relative symlink ../../blobs/<sha256>

    ``tensors`` are written with ``write_safetensors`` and metadata ``{"format": "pt"}``
    (as timm's files). ``extra_files`` optionally maps other repo filenames (e.g.
    ``"config.json"``) to ``bytes`` / ``str`` contents, cached the same way. ``commit``
    defaults to ``DEFAULT_COMMIT``. Returns the snapshot path of ``filename``.
    """
    commit = DEFAULT_COMMIT if commit is None else commit
    if len(commit) != 40 or any(ch not in "0123456789abcdef" for ch in commit):
        raise ValueError(f"commit must be 40 lowercase hex digits, got {commit!r}")
    repo_dir = os.path.join(str(cache_dir), "models--" + repo_id.replace("/", "--"))
    snap = _cache_add_file(
        repo_dir, commit, filename,
        lambda p: write_safetensors(p, tensors, metadata={"format": "pt"}),
    )
    for name, content in (extra_files or {}).items():
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)

        def _write(p, data=data):
            with open(p, "wb") as f:
                f.write(data)

        _cache_add_file(repo_dir, commit, name, _write)
    os.makedirs(os.path.join(repo_dir, "refs"), exist_ok=True)
    with open(os.path.join(repo_dir, "refs", "main"), "w") as f:
        f.write(commit)  # no trailing newline
    return snap


# --------------------------------------------------------------------------- Keras legacy h5


def keras_layer_names(include_top=True):
    """Keras 2 ``VGG19`` layer names in model order (``input_1`` ... ``predictions``)."""
    names = ["input_1"]
    k = 0
    for b, nconv in enumerate(BLOCK_SIZES):
        names += list(KERAS_CONV_NAMES[k : k + nconv])
        names.append(f"block{b + 1}_pool")
        k += nconv
    if include_top:
        names += ["flatten", "fc1", "fc2", "predictions"]
    return names


def keras_conv_kernel_from_torch(w):
    """torch conv weight (out,in,kh,kw) -> Keras kernel (kh,kw,in,out): ``transpose(2,3,1,0)``."""
    return np.ascontiguousarray(np.asarray(w).transpose(2, 3, 1, 0))


def keras_fc1_kernel_from_torch(w):
    """torch fc1 weight (out,C,H,W) -> Keras Dense kernel (H*W*C, out).

    Keras' ``Flatten`` of the NHWC block5 output orders features (h, w, c), so kernel row
    ``(h*W + w)*C + c`` must hold torch's ``W[:, c, h, w]``: ``transpose(2,3,1,0)`` to
    (H,W,C,out), then reshape. For VGG19: (4096,512,7,7) -> (25088,4096).
    """
    w = np.asarray(w)
    out_f = w.shape[0]
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(-1, out_f))


def keras_dense_kernel_from_torch(w):
    """torch Linear / 1x1-conv weight (out,in[,1,1]) -> Keras Dense kernel (in,out)."""
    w = np.asarray(w)
    return np.ascontiguousarray(w.reshape(w.shape[0], w.shape[1]).T)


def _fixed_bytes(strings):
    # Fixed-length byte strings (numpy "S"), as h5py 2 stored Keras' lists of bytes: they read
    # back as a numpy bytes array. (h5py 3 would store a bare Python list as variable-length
    # strings that read back as str, which is not what the published files hold.)
    return np.array([s.encode("utf8") for s in strings], dtype="S")


def write_keras_legacy_h5(path, timm_weights, include_top=True, keras1_names=False):
    """Write Keras 2's legacy VGG19 weights file from torch-layout (timm key) arrays.

    Mirrors ``vgg19_weights_tf_dim_ordering_tf_kernels.h5`` (include_top=True) and
    ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`` (include_top=False) as Keras 2's
    ``save_weights_to_hdf5_group`` writes them:

    * root attrs: ``layer_names`` = every layer name in model order as bytes (``input_1``,
      ``block1_conv1``, ``block1_conv2``, ``block1_pool``, ..., ``block5_conv4``,
      ``block5_pool`` and, with the top, ``flatten``, ``fc1``, ``fc2``, ``predictions``);
      ``backend`` = ``b"tensorflow"``; ``keras_version`` = ``b"2.2.4"``. Name lists are
      fixed-length byte-string arrays (dtype ``S``), read back as ``numpy.bytes_``.
    * one group per layer name, attr ``weight_names`` = the layer's weight names as bytes in
      load order (kernel, then bias), e.g. ``[b"block1_conv1/kernel:0",
      b"block1_conv1/bias:0"]``; for weightless layers (input, pools, flatten) an empty list
      assigned as Keras does (h5py stores it as an empty float64 array).
    * each weight at ``group[weight_name]``, i.e. the nested path
      ``/block1_conv1/block1_conv1/kernel:0``; float32.

    Layouts (channels-last): conv kernel (3,3,in,out) = torch ``transpose(2,3,1,0)``; fc1
    kernel (25088,4096) with rows in Keras' (H,W,C) flatten order of the NHWC 7x7x512
    block5 output (torch ``transpose(2,3,1,0).reshape(25088,4096)``); fc2 kernel
    (4096,4096) = torch ``squeeze().T``; predictions kernel (4096,1000) = torch ``.T``;
    biases unchanged. Note: this writes torch weights in Keras layout; Keras' own file holds
    different (caffe, BGR) weights, but its layout is the same.
    """
    import h5py

    convs = dict(zip(KERAS_CONV_NAMES, CONV_KEYS))

    def layer_weights(name):
        """(kernel, bias) in Keras layout, converted only when written (bounded memory)."""
        if name in convs:
            key = convs[name]
            return keras_conv_kernel_from_torch(timm_weights[f"{key}.weight"]), \
                timm_weights[f"{key}.bias"]
        if name == "fc1":
            return keras_fc1_kernel_from_torch(timm_weights["pre_logits.fc1.weight"]), \
                timm_weights["pre_logits.fc1.bias"]
        if name == "fc2":
            return keras_dense_kernel_from_torch(timm_weights["pre_logits.fc2.weight"]), \
                timm_weights["pre_logits.fc2.bias"]
        if name == "predictions":
            return keras_dense_kernel_from_torch(timm_weights["head.fc.weight"]), \
                timm_weights["head.fc.bias"]
        return None

    with h5py.File(str(path), "w") as f:
        names = keras_layer_names(include_top)
        f.attrs["layer_names"] = _fixed_bytes(names)
        f.attrs["backend"] = np.bytes_(b"tensorflow")  # fixed-length, reads back as bytes
        f.attrs["keras_version"] = np.bytes_(b"2.2.4")
        for name in names:
            g = f.create_group(name)
            kb = layer_weights(name)
            if kb is None:
                g.attrs["weight_names"] = []  # as Keras: empty list -> empty float64 array
                continue
            kernel, bias = kb
            # keras1_names: the 2016 files' flat names (b"block1_conv1_W_1:0", "_b_1:0").
            wnames = [f"{name}_W_1:0", f"{name}_b_1:0"] if keras1_names else \
                [f"{name}/kernel:0", f"{name}/bias:0"]
            g.attrs["weight_names"] = _fixed_bytes(wnames)
            g.create_dataset(wnames[0], data=np.asarray(kernel, dtype=np.float32))
            g.create_dataset(wnames[1], data=np.asarray(bias, dtype=np.float32))
    return str(path)
