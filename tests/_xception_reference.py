"""An independent float64 numpy Xception, and Keras 2 weights files for it.

Written from the paper's description and Keras' published model summary, without
mlxfunctional: plain loops over kernel taps for the convolutions, TensorFlow's
"same" padding rule written out, BatchNormalization from its moving statistics.

``SPEC`` lists the layers that hold weights in the order of the summary Keras 2
printed for ``keras.applications.Xception`` (the order of its ``.h5`` files), under
the names that summary shows (``conv2d_1``, ``batch_normalization_1``: Keras 2's
counters started at 1).
"""

import numpy as np

EPSILON = 1e-3  # Keras' BatchNormalization default


def _spec():
    spec = [("block1_conv1", "conv", (3, 3, 3, 32)), ("block1_conv1_bn", "bn", 32),
            ("block1_conv2", "conv", (3, 3, 32, 64)), ("block1_conv2_bn", "bn", 64)]
    short = 0
    # (block, input channels, channels of the two separable convolutions)
    for block, cin, (c1, c2) in ((2, 64, (128, 128)), (3, 128, (256, 256)),
                                 (4, 256, (728, 728))):
        short += 1
        name = f"block{block}_sepconv"
        spec += [(f"{name}1", "sep", (cin, c1)), (f"{name}1_bn", "bn", c1),
                 (f"{name}2", "sep", (c1, c2)), (f"{name}2_bn", "bn", c2),
                 (f"conv2d_{short}", "conv", (1, 1, cin, c2)),
                 (f"batch_normalization_{short}", "bn", c2)]
    for block in range(5, 13):
        for i in (1, 2, 3):
            spec += [(f"block{block}_sepconv{i}", "sep", (728, 728)),
                     (f"block{block}_sepconv{i}_bn", "bn", 728)]
    spec += [("block13_sepconv1", "sep", (728, 728)), ("block13_sepconv1_bn", "bn", 728),
             ("block13_sepconv2", "sep", (728, 1024)), ("block13_sepconv2_bn", "bn", 1024),
             ("conv2d_4", "conv", (1, 1, 728, 1024)), ("batch_normalization_4", "bn", 1024),
             ("block14_sepconv1", "sep", (1024, 1536)), ("block14_sepconv1_bn", "bn", 1536),
             ("block14_sepconv2", "sep", (1536, 2048)), ("block14_sepconv2_bn", "bn", 2048)]
    return spec


SPEC = _spec()
WEIGHT_NAMES = {"conv": ("kernel",), "sep": ("depthwise_kernel", "pointwise_kernel"),
                "bn": ("gamma", "beta", "moving_mean", "moving_variance"),
                "dense": ("kernel", "bias")}


def random_weights(seed=0, classes=1000):
    """``{layer: [float32 arrays]}`` for ``SPEC`` plus ``predictions``, in file order.

    The big kernels (pointwise, 1x1, dense) are sparse ternary, 94% zeros, so that
    gzip shrinks the files to a few MB; the depthwise ones are dense normal. All are
    scaled by their fan-in so that activations stay near unit size.
    """
    rng = np.random.default_rng(seed)

    def ternary(shape, fan_in):
        levels = rng.choice(np.array([-1.0, 0.0, 1.0]), size=shape, p=(0.03, 0.94, 0.03))
        return (levels / np.sqrt(0.06 * fan_in)).astype(np.float32)

    def normal(shape, fan_in):
        return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)

    out = {}
    for name, kind, shape in SPEC:
        if kind == "conv":
            out[name] = [ternary(shape, int(np.prod(shape[:3])))]
        elif kind == "sep":
            cin, cout = shape
            out[name] = [normal((3, 3, cin, 1), 9), ternary((1, 1, cin, cout), cin)]
        else:
            n = shape
            out[name] = [rng.uniform(0.5, 1.5, n).astype(np.float32),
                         rng.uniform(-0.2, 0.2, n).astype(np.float32),
                         rng.uniform(-0.5, 0.5, n).astype(np.float32),
                         rng.uniform(0.5, 2.0, n).astype(np.float32)]
    out["predictions"] = [ternary((2048, classes), 2048),
                          rng.uniform(-0.1, 0.1, classes).astype(np.float32)]
    return out


def write_keras2_h5(path, weights, include_top=True):
    """Writes ``weights`` as Keras 2's ``save_weights`` lays out a file: root attribute
    ``layer_names`` (with weightless layers too), per layer ``weight_names`` like
    ``block1_conv1/kernel:0``, each array in a subgroup named after the layer."""
    import h5py

    def kind(layer):  # by what the layer holds, whatever its name
        arrays = weights[layer]
        if len(arrays) == 2:
            return "sep" if arrays[0].ndim == 4 else "dense"
        return "conv" if len(arrays) == 1 else "bn"

    names = [n for n in weights if include_top or n != "predictions"]
    # Weightless layers are listed too (as Keras does), with empty weight_names.
    listed = ["input_1"]
    for name in names:
        listed.append(name)
        if name.startswith("batch_normalization_"):
            listed.append("add_" + name.rsplit("_", 1)[1])
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode() for n in listed])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.0.8"
        for layer in listed:
            g = f.create_group(layer)
            if layer not in weights:
                g.attrs["weight_names"] = np.array([], dtype="S1")
                continue
            wnames = [f"{layer}/{w}:0" for w in WEIGHT_NAMES[kind(layer)]]
            g.attrs["weight_names"] = np.array([w.encode() for w in wnames])
            for wname, array in zip(wnames, weights[layer]):
                g.create_dataset(wname, data=array, compression="gzip", shuffle=True)


# ----------------------------------------------------------------- the network


def _same_pads(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def _windows(x, k, s, padding, fill):
    """Yields ``(di, dj, view)``: the input under kernel tap (di, dj) for every output."""
    n, h, w, c = x.shape
    if padding == "same":
        oh, top, bottom = _same_pads(h, k, s)
        ow, left, right = _same_pads(w, k, s)
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    else:
        oh, ow = (h - k) // s + 1, (w - k) // s + 1
    for di in range(k):
        for dj in range(k):
            yield di, dj, x[:, di:di + s * (oh - 1) + 1:s, dj:dj + s * (ow - 1) + 1:s, :]


def conv(x, kernel, stride=1, padding="valid"):
    k = kernel.shape[0]
    return sum(np.einsum("nhwc,co->nhwo", view, kernel[di, dj])
               for di, dj, view in _windows(x, k, stride, padding, 0.0))


def separable(x, depthwise, pointwise):
    """3x3 depthwise (one kernel per channel, "same"), then the 1x1 pointwise."""
    dw = sum(view * depthwise[di, dj, :, 0]
             for di, dj, view in _windows(x, 3, 1, "same", 0.0))
    return np.einsum("nhwc,co->nhwo", dw, pointwise[0, 0])


def batchnorm(x, gamma, beta, mean, variance):
    return (x - mean) / np.sqrt(variance + EPSILON) * gamma + beta


def maxpool(x):
    """3x3 windows, stride 2, "same" (padding never wins: it is -inf)."""
    return np.max(np.stack([view for _, _, view in _windows(x, 3, 2, "same", -np.inf)]), 0)


def relu(x):
    return np.maximum(x, 0.0)


def xception(images, weights, include_top=True):
    """Logits (no softmax) with the top; the last 4-D activation without."""
    w = {k: [np.asarray(a, np.float64) for a in v] for k, v in weights.items()}

    def sep_bn(x, name):
        return batchnorm(separable(x, *w[name]), *w[f"{name}_bn"])

    x = np.asarray(images, np.float64)
    x = relu(batchnorm(conv(x, *w["block1_conv1"], stride=2), *w["block1_conv1_bn"]))
    x = relu(batchnorm(conv(x, *w["block1_conv2"]), *w["block1_conv2_bn"]))
    for short, block in enumerate((2, 3, 4, 13), start=1):
        if block == 13:
            for middle in range(5, 13):
                y = x
                for i in (1, 2, 3):
                    y = sep_bn(relu(y), f"block{middle}_sepconv{i}")
                x = x + y
        shortcut = batchnorm(conv(x, *w[f"conv2d_{short}"], stride=2, padding="same"),
                             *w[f"batch_normalization_{short}"])
        y = x if block == 2 else relu(x)   # block 2 starts from an activation already
        y = sep_bn(y, f"block{block}_sepconv1")
        y = sep_bn(relu(y), f"block{block}_sepconv2")
        x = maxpool(y) + shortcut
    x = relu(sep_bn(x, "block14_sepconv1"))
    x = relu(sep_bn(x, "block14_sepconv2"))
    if not include_top:
        return x
    kernel, bias = w["predictions"]
    return x.mean(axis=(1, 2)) @ kernel + bias
