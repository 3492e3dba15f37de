"""One timed run of one workload by one implementation (run by ``bench/peers.py``).

    python bench/peers_workers.py IMPL WORKLOAD [--quick]

IMPL: ``mlxf`` (mlxfunctional's fit/predict), ``keras_jax`` (the same Keras code
on Keras 3 + JAX), ``torch`` (PyTorch eager, hand-written loop), ``mlx`` (a
hand-written ``mx.compile``d MLX loop, OpenBLAS loaded as mlxfunctional does).
WORKLOAD: ``mlp_train``, ``mlp_predict``, ``resnet_train``, ``vgg19_forward``.

Each implementation imports only its own framework, so a peer runs from a venv
that has neither mlxfunctional nor the others. The data are made with numpy
from fixed seeds, identical everywhere, and every model is built to the same
parameter count (checked against ``PARAMS``). The last line printed is
``RESULT {json}``: samples (images) per second of the timed part, and what was
timed.

The timed part is a few *windows* of equal work (``WINDOWS``: training epochs or
10-step ``fit`` calls, sets of ``predict`` calls), each timed alone: ``per_s`` is the
rate over all of them, ``best_per_s`` the fastest window's. On a shared machine other
work can only slow a window down, so the fastest one is the steadier estimate of what
the code itself can do; both are reported, for every implementation alike.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

# The guide's MNIST MLP (784-64-64-10), its toy ResNet (32x32x3, 10 classes) and
# VGG19 (224x224x3, 1000 classes); RMSprop as Keras' defaults, written out.
PARAMS = {"mlp": 55_050, "resnet": 223_242, "vgg19": 143_667_240}
LR, RHO, EPS = 1e-3, 0.9, 1e-7
VGG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
       512, 512, 512, 512, "M"]


# Timed windows per workload; a window is one training epoch (MLP), one ``fit`` of
# ``resnet_steps`` steps, ``predict_repeats`` predicts of the test set, or ``vgg_runs``
# forward passes.
WINDOWS = {"mlp_train": 3, "mlp_predict": 5, "resnet_train": 3, "vgg19_forward": 5}


def counts(quick):
    """Samples, steps and runs of each window (``--quick``: enough to prove it works)."""
    return {"mlp_train": 12_800 if quick else 48_000, "mlp_batch": 64,
            "mlp_predict": 10_000, "predict_batch": 1024, "predict_repeats": 1 if quick else 2,
            "resnet_warmup": 5, "resnet_steps": 4 if quick else 10, "resnet_batch": 64,
            "vgg_runs": 1, "vgg_batch": 8,
            "windows": {w: 2 for w in WINDOWS} if quick else dict(WINDOWS)}


def mlp_data(n):
    rng = np.random.default_rng(1234)
    x = rng.standard_normal((n + 10_000, 784), dtype=np.float32)
    y = np.argmax(x @ rng.standard_normal((784, 10), dtype=np.float32), axis=1).astype(np.int32)
    return x[:n], y[:n], x[n:]


def resnet_data(n):
    rng = np.random.default_rng(2345)
    y = rng.integers(0, 10, size=n)
    x = rng.standard_normal((n, 32, 32, 3), dtype=np.float32) \
        + rng.standard_normal((10, 1, 1, 3), dtype=np.float32)[y]
    return x, np.eye(10, dtype=np.float32)[y]


def vgg_data(n):
    return np.random.default_rng(3456).standard_normal((n, 224, 224, 3), dtype=np.float32)


def timed(window, n):
    """Seconds of each of ``n`` calls ``window(i)``, timed one by one."""
    seconds = []
    for i in range(n):
        t0 = time.perf_counter()
        window(i)
        seconds.append(time.perf_counter() - t0)
    return seconds


# -- Keras code: mlxfunctional and Keras 3 + JAX run the same functions ----------------
def keras_runs(keras, layers, workload, c):
    def rmsprop():
        return keras.optimizers.RMSprop(learning_rate=LR, rho=RHO, epsilon=EPS)

    windows = c["windows"][workload]
    if workload in ("mlp_train", "mlp_predict"):
        x, y, x_test = mlp_data(c["mlp_train"])
        inputs = keras.Input(shape=(784,))
        h = layers.Dense(64, activation="relu")(inputs)
        h = layers.Dense(64, activation="relu")(h)
        model = keras.Model(inputs, layers.Dense(10, activation="softmax")(h))
        model.compile(optimizer=rmsprop(), loss="sparse_categorical_crossentropy")
        fit = lambda: model.fit(x, y, batch_size=c["mlp_batch"], epochs=1, verbose=0)  # noqa
        if workload == "mlp_train":
            fit()  # warm-up epoch (compilation)
            return model, c["mlp_train"], timed(lambda i: fit(), windows)
        predict = lambda i: [model.predict(x_test, batch_size=c["predict_batch"], verbose=0)  # noqa
                             for _ in range(c["predict_repeats"])]
        model.predict(x_test, batch_size=c["predict_batch"], verbose=0)
        return model, c["mlp_predict"] * c["predict_repeats"], timed(predict, windows)
    if workload == "resnet_train":
        b, warm, per = c["resnet_batch"], c["resnet_warmup"], c["resnet_steps"] * c["resnet_batch"]
        x, y = resnet_data(warm * b + windows * per)
        inputs = keras.Input(shape=(32, 32, 3))
        h = layers.Conv2D(32, 3, activation="relu")(inputs)
        h = layers.Conv2D(64, 3, activation="relu")(h)
        block_1 = layers.MaxPooling2D(3)(h)
        h = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1)
        h = layers.Conv2D(64, 3, activation="relu", padding="same")(h)
        block_2 = layers.add([h, block_1])
        h = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2)
        h = layers.Conv2D(64, 3, activation="relu", padding="same")(h)
        block_3 = layers.add([h, block_2])
        h = layers.Conv2D(64, 3, activation="relu")(block_3)
        h = layers.GlobalAveragePooling2D()(h)
        h = layers.Dropout(0.5)(layers.Dense(256, activation="relu")(h))
        model = keras.Model(inputs, layers.Dense(10, activation="softmax")(h))
        model.compile(optimizer=rmsprop(), loss="categorical_crossentropy")
        n = warm * b
        model.fit(x[:n], y[:n], batch_size=b, shuffle=False, verbose=0)

        def fit(i):
            part = slice(n + i * per, n + (i + 1) * per)
            model.fit(x[part], y[part], batch_size=b, shuffle=False, verbose=0)
        return model, per, timed(fit, windows)
    x = vgg_data(c["vgg_batch"])
    model = keras.applications.VGG19(weights=None)
    model.predict(x, batch_size=c["vgg_batch"], verbose=0)
    runs = lambda i: [model.predict(x, batch_size=c["vgg_batch"], verbose=0)  # noqa
                      for _ in range(c["vgg_runs"])]
    return model, c["vgg_batch"] * c["vgg_runs"], timed(runs, windows)


def run_mlxf(workload, c):
    import mlxfunctional as keras  # first: it loads OpenBLAS before mlx.core
    from mlxfunctional import _blas, applications, layers

    keras.applications = applications
    keras.utils.set_random_seed(0)
    model, samples, seconds = keras_runs(keras, layers, workload, c)
    return model.count_params(), samples, seconds, {"blas": _blas.describe()}


def run_keras_jax(workload, c):
    os.environ["KERAS_BACKEND"] = "jax"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    model, samples, seconds = keras_runs(keras, layers, workload, c)
    return model.count_params(), samples, seconds, {"keras": keras.__version__,
                                                    "jax": jax.__version__}


# -- PyTorch eager, hand-written loops (channels-first, transposed before timing) ---
def run_torch(workload, c):
    import torch
    import torch.nn as tnn
    import torch.nn.functional as F

    torch.set_num_threads(int(os.environ.get("PEERS_TORCH_THREADS", "2")))
    torch.manual_seed(0)
    windows = c["windows"][workload]

    def rmsprop(model):
        return torch.optim.RMSprop(model.parameters(), lr=LR, alpha=RHO, eps=EPS)

    def train(model):
        opt = rmsprop(model)

        def steps(part):
            for xb, yb in part:
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                opt.step()
        return steps

    if workload in ("mlp_train", "mlp_predict"):
        x, y, x_test = mlp_data(c["mlp_train"])
        model = tnn.Sequential(tnn.Linear(784, 64), tnn.ReLU(), tnn.Linear(64, 64), tnn.ReLU(),
                               tnn.Linear(64, 10))
        b = c["mlp_batch"]
        if workload == "mlp_train":
            def epoch(seed):
                order = np.random.default_rng(seed).permutation(len(x))
                return [(torch.from_numpy(x[order[i:i + b]]),
                         torch.from_numpy(y[order[i:i + b]].astype(np.int64)))
                        for i in range(0, len(x), b)]
            steps = train(model)
            steps(epoch(0))
            # (the shuffled gather is inside the timed part, as in fit)
            return model, c["mlp_train"], timed(lambda i: steps(epoch(1 + i)), windows)
        pb = c["predict_batch"]

        def predict():
            with torch.inference_mode():
                return np.concatenate([torch.softmax(model(torch.from_numpy(
                    x_test[i:i + pb])), -1).numpy() for i in range(0, len(x_test), pb)])
        predict()
        return model, c["mlp_predict"] * c["predict_repeats"], \
            timed(lambda i: [predict() for _ in range(c["predict_repeats"])], windows)
    if workload == "resnet_train":
        b, warm, per = c["resnet_batch"], c["resnet_warmup"], c["resnet_steps"]
        x, y = resnet_data((warm + windows * per) * b)
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))

        class ToyResNet(tnn.Module):
            def __init__(self):
                super().__init__()
                self.c1, self.c2 = tnn.Conv2d(3, 32, 3), tnn.Conv2d(32, 64, 3)
                self.res = tnn.ModuleList([tnn.Conv2d(64, 64, 3, padding=1) for _ in range(4)])
                self.c3, self.d1, self.d2 = tnn.Conv2d(64, 64, 3), tnn.Linear(64, 256), \
                    tnn.Linear(256, 10)

            def forward(self, h):
                b1 = F.max_pool2d(F.relu(self.c2(F.relu(self.c1(h)))), 3)
                b2 = F.relu(self.res[1](F.relu(self.res[0](b1)))) + b1
                b3 = F.relu(self.res[3](F.relu(self.res[2](b2)))) + b2
                h = F.relu(self.c3(b3)).mean(dim=(2, 3))
                return self.d2(F.dropout(F.relu(self.d1(h)), 0.5, self.training))

        model = ToyResNet().train()
        batches = [(torch.from_numpy(x[i:i + b]), torch.from_numpy(y[i:i + b]))
                   for i in range(0, len(x), b)]
        steps = train(model)
        steps(batches[:warm])
        return model, per * b, timed(
            lambda i: steps(batches[warm + i * per:warm + (i + 1) * per]), windows)
    layers, cin = [], 3
    for v in VGG:
        if v == "M":
            layers.append(tnn.MaxPool2d(2, 2))
        else:
            layers += [tnn.Conv2d(cin, v, 3, padding=1), tnn.ReLU(inplace=True)]
            cin = v
    model = tnn.Sequential(*layers, tnn.Flatten(), tnn.Linear(25088, 4096), tnn.ReLU(),
                           tnn.Linear(4096, 4096), tnn.ReLU(), tnn.Linear(4096, 1000),
                           tnn.Softmax(-1)).eval()
    x = torch.from_numpy(np.ascontiguousarray(vgg_data(c["vgg_batch"]).transpose(0, 3, 1, 2)))

    def runs(i):
        with torch.inference_mode():
            for _ in range(c["vgg_runs"]):
                model(x).numpy()
    with torch.inference_mode():
        model(x)
    return model, c["vgg_batch"] * c["vgg_runs"], timed(runs, windows)


def torch_result(workload, c):
    import torch

    model, samples, seconds = run_torch(workload, c)
    params = sum(p.numel() for p in model.parameters())
    return params, samples, seconds, {"torch": torch.__version__,
                                      "threads": torch.get_num_threads()}


# -- a hand-written compiled MLX loop ------------------------------------------------
MLX_BLAS = "the BLAS bundled with MLX"


def run_mlx(workload, c):
    import ctypes

    global MLX_BLAS
    for path in ("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
                 "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0"):
        if os.path.exists(path) and "mlx.core" not in sys.modules:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)  # before mlx.core, as mlxfunctional
            MLX_BLAS = path
            break
    from functools import partial

    import mlx.core as mx
    import mlx.nn as nn
    import mlx.optimizers as optim
    from mlx.utils import tree_flatten

    mx.random.seed(0)
    windows = c["windows"][workload]

    def train_step(model, loss_fn):
        opt = optim.RMSprop(learning_rate=LR, alpha=RHO, eps=EPS)
        opt.init(model.trainable_parameters())
        grad = nn.value_and_grad(model, loss_fn)
        state = [model.state, opt.state, mx.random.state]

        @partial(mx.compile, inputs=state, outputs=state)
        def step(xb, yb):
            loss, g = grad(model, xb, yb)
            opt.update(model, g)
            return loss

        def run(xb, yb):
            mx.eval(step(xb, yb), state)
        return run

    def ce(model, xb, yb):  # yb: labels or one-hot rows
        logits = model(xb)
        logp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
        if yb.ndim == 1:
            return -mx.take_along_axis(logp, yb[:, None], axis=-1).mean()
        return -(yb * logp).sum(-1).mean()

    if workload in ("mlp_train", "mlp_predict"):
        x, y, x_test = mlp_data(c["mlp_train"])
        model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                              nn.Linear(64, 10))
        mx.eval(model.parameters())
        b = c["mlp_batch"]
        if workload == "mlp_train":
            xm, ym = mx.array(x), mx.array(y)
            step = train_step(model, ce)

            def epoch():
                order = mx.random.permutation(len(x))
                for i in range(0, len(x), b):
                    idx = order[i:i + b]
                    step(xm[idx], ym[idx])
            epoch()
            # (timed with the one copy of the numpy data that fit makes per call)
            return model, c["mlp_train"], \
                timed(lambda i: (mx.eval(mx.array(x)), epoch()), windows)
        fwd = mx.compile(lambda xb: mx.softmax(model(xb), axis=-1), inputs=model.state)
        pb = c["predict_batch"]

        def predict():
            return np.concatenate([np.array(fwd(mx.array(x_test[i:i + pb])))
                                   for i in range(0, len(x_test), pb)])
        predict()
        return model, c["mlp_predict"] * c["predict_repeats"], \
            timed(lambda i: [predict() for _ in range(c["predict_repeats"])], windows)
    if workload == "resnet_train":
        b, warm, per = c["resnet_batch"], c["resnet_warmup"], c["resnet_steps"]
        x, y = resnet_data((warm + windows * per) * b)

        class ToyResNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.c1, self.c2 = nn.Conv2d(3, 32, 3), nn.Conv2d(32, 64, 3)
                self.res = [nn.Conv2d(64, 64, 3, padding=1) for _ in range(4)]
                self.c3, self.d1, self.d2 = nn.Conv2d(64, 64, 3), nn.Linear(64, 256), \
                    nn.Linear(256, 10)
                self.pool, self.drop = nn.MaxPool2d(3, stride=3), nn.Dropout(0.5)

            def __call__(self, h):
                b1 = self.pool(nn.relu(self.c2(nn.relu(self.c1(h)))))
                b2 = nn.relu(self.res[1](nn.relu(self.res[0](b1)))) + b1
                b3 = nn.relu(self.res[3](nn.relu(self.res[2](b2)))) + b2
                h = nn.relu(self.c3(b3)).mean(axis=(1, 2))
                return self.d2(self.drop(nn.relu(self.d1(h))))

        model = ToyResNet()
        mx.eval(model.parameters())
        step = train_step(model, ce)

        def steps(lo, hi):
            for i in range(lo, hi):
                step(mx.array(x[i * b:(i + 1) * b]), mx.array(y[i * b:(i + 1) * b]))
        steps(0, warm)
        return model, per * b, timed(
            lambda i: steps(warm + i * per, warm + (i + 1) * per), windows)

    class VGG19(nn.Module):
        def __init__(self):
            super().__init__()
            layers, cin = [], 3
            for v in VGG:
                if v == "M":
                    layers.append(nn.MaxPool2d(2, stride=2))
                else:
                    layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU()]
                    cin = v
            self.features = nn.Sequential(*layers)
            self.fc = [nn.Linear(25088, 4096), nn.Linear(4096, 4096), nn.Linear(4096, 1000)]

        def __call__(self, h):
            h = self.features(h).reshape(h.shape[0], -1)
            h = nn.relu(self.fc[1](nn.relu(self.fc[0](h))))
            return mx.softmax(self.fc[2](h), axis=-1)

    model = VGG19()
    mx.eval(model.parameters())
    fwd = mx.compile(model, inputs=model.state)
    x = vgg_data(c["vgg_batch"])
    np.array(fwd(mx.array(x)))
    runs = lambda i: [np.array(fwd(mx.array(x))) for _ in range(c["vgg_runs"])]  # noqa
    return model, c["vgg_batch"] * c["vgg_runs"], timed(runs, windows)


def mlx_result(workload, c):
    model, samples, seconds = run_mlx(workload, c)  # (it loads OpenBLAS before mlx.core)
    import mlx.core as mx
    from mlx.utils import tree_flatten

    params = sum(v.size for _, v in tree_flatten(model.parameters()))
    return params, samples, seconds, {"mlx": mx.__version__, "blas": MLX_BLAS}


IMPLS = {"mlxf": run_mlxf, "keras_jax": run_keras_jax, "torch": torch_result, "mlx": mlx_result}
WORKLOADS = ("mlp_train", "mlp_predict", "resnet_train", "vgg19_forward")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("impl", choices=list(IMPLS))
    p.add_argument("workload", choices=WORKLOADS)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    params, samples, seconds, info = IMPLS[args.impl](args.workload, counts(args.quick))
    want = PARAMS[args.workload.split("_")[0]]
    if params != want:  # another architecture would not be a comparison
        sys.exit(f"{args.impl} built {params} parameters for {args.workload}, not {want}")
    total = sum(seconds)  # `samples` is per window
    print("RESULT " + json.dumps({"impl": args.impl, "workload": args.workload,
                                  "samples": samples * len(seconds), "seconds": total,
                                  "per_s": samples * len(seconds) / total,
                                  "windows": seconds, "best_per_s": samples / min(seconds),
                                  **info}), flush=True)


if __name__ == "__main__":
    main()
