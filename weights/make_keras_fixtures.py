"""Keras-made test fixtures for reading and writing ``.keras`` files.

    .venv/bin/python weights/make_keras_fixtures.py make    # writes weights/keras/
    .venv/bin/python weights/make_keras_fixtures.py check   # ours -> Keras

Both modes build throwaway venvs (``/tmp/keras-fixtures-venv`` with Keras 3
and JAX, and for ``make`` also ``/tmp/tf2-fixtures-venv`` with TensorFlow and
tf-keras 2; ``$KERAS_FIXTURES_VENV``/``$TF2_FIXTURES_VENV`` override) from
the package index and run Keras there; the project and its tests never
import Keras. ``make`` also writes ``<name>.tf2.h5`` (a whole model saved by
tf.keras 2), ``<name>.tf2_weights.h5`` (its weights alone, legacy h5: tf-keras writes the
Keras 3 store for names ending in .weights.h5) and
``<name>.tf2.npz`` (inputs and tf.keras 2's predictions) for ``TF2_MODELS``.

``make`` writes, for each model of ``MODELS``, ``weights/keras/<name>.keras``
saved by Keras 3 (JAX backend) and ``<name>.npz`` with fixed inputs ``x*``
and Keras' predictions ``y*``; the compiled MLP also gets one more training
step on a fixed batch (``train_x``, ``train_y``) and the weights Keras
reaches after it (``after_step_<i>``), so a test can check that training
resumes from the saved Adam state.

``check`` loads every fixture with mlxfunctional, saves it back as
``.keras`` into a temporary folder with our predictions, then loads those
files in Keras and prints, per model, the largest difference between Keras'
predictions and ours (it fails above 1e-5).
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "keras")
KERAS = "keras==3.15.1"
VENV = os.environ.get("KERAS_FIXTURES_VENV", "/tmp/keras-fixtures-venv")
TF2_VENV = os.environ.get("TF2_FIXTURES_VENV", "/tmp/tf2-fixtures-venv")
TF2 = ("tensorflow-cpu==2.21.0", "tf-keras==2.21.0")
# tf.keras 2 files: the models both Keras generations build the same way.
TF2_MODELS = ("mnist_mlp_adam", "toy_resnet", "tickets", "rnn_masked", "conv_bn")


def _venv_python(venv=VENV, packages=(KERAS, "jax[cpu]", "h5py")):
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", *packages, "h5py"], check=True)
    return python


# -- inside the Keras venv ---------------------------------------------------
def _models(keras, np, only=None):
    layers = keras.layers
    rng = np.random.RandomState(0)
    out = {}

    # The guide's MNIST MLP, compiled with Adam and trained a few steps.
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    mlp = keras.Model(inputs, outputs, name="mnist_mlp")
    mlp.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                metrics=["accuracy"])
    mlp.fit(rng.rand(96, 784).astype("float32"), rng.randint(0, 10, 96), batch_size=32,
            epochs=1, verbose=0, shuffle=False)
    out["mnist_mlp_adam"] = (mlp, [rng.rand(8, 784).astype("float32")])

    # The guide's toy ResNet (CIFAR-10 shapes).
    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])
    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10)(x)
    resnet = keras.Model(inputs, outputs, name="toy_resnet")
    out["toy_resnet"] = (resnet, [rng.rand(2, 32, 32, 3).astype("float32")])

    # The guide's multi-input, multi-output ticket model.
    title = keras.Input(shape=(None,), name="title")
    body = keras.Input(shape=(None,), name="body")
    tags = keras.Input(shape=(12,), name="tags")
    t = layers.LSTM(128)(layers.Embedding(1000, 64)(title))
    b = layers.LSTM(32)(layers.Embedding(1000, 64)(body))
    x = layers.concatenate([t, b, tags])
    priority = layers.Dense(1, name="priority")(x)
    department = layers.Dense(4, name="department")(x)
    tickets = keras.Model([title, body, tags], [priority, department], name="tickets")
    out["tickets"] = (tickets, [rng.randint(0, 1000, (3, 10)), rng.randint(0, 1000, (3, 20)),
                                rng.randint(0, 2, (3, 12)).astype("float32")])

    # A functional model used twice inside another, with a shared layer.
    inner_in = keras.Input(shape=(6,))
    inner = keras.Model(inner_in, layers.Dense(5, activation="tanh")(inner_in), name="inner")
    a = keras.Input(shape=(6,), name="a")
    b = keras.Input(shape=(6,), name="b")
    shared = layers.Dense(3, name="shared_head")
    merged = layers.concatenate([shared(inner(a)), shared(inner(b))])
    nested = keras.Model([a, b], layers.Dense(2)(merged), name="nested_shared")
    out["nested_shared"] = (nested, [rng.rand(4, 6).astype("float32"),
                                     rng.rand(4, 6).astype("float32")])

    # Recurrent layers with a mask from Embedding(mask_zero=True).
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = layers.Embedding(50, 8, mask_zero=True)(tokens)
    x = layers.Bidirectional(layers.LSTM(6, return_sequences=True))(x)
    x = layers.GRU(5)(x)
    rnn = keras.Model(tokens, layers.Dense(3)(x), name="rnn_masked")
    ids = rng.randint(1, 50, (4, 7))
    ids[1, 4:] = 0
    ids[3, 2:] = 0
    out["rnn_masked"] = (rnn, [ids.astype("int32")])

    # Sequential: Conv, BatchNormalization (moved statistics), Dropout.
    seq = keras.Sequential([
        keras.Input(shape=(12, 12, 2)),
        layers.Conv2D(4, 3, activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Dropout(0.3),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ], name="conv_bn")
    seq.compile("sgd", "categorical_crossentropy")
    seq.fit(rng.rand(16, 12, 12, 2).astype("float32"),
            np.eye(3)[rng.randint(0, 3, 16)].astype("float32"), epochs=1, verbose=0)
    out["conv_bn"] = (seq, [rng.rand(3, 12, 12, 2).astype("float32")])

    # Self-attention block.
    seq_in = keras.Input(shape=(8, 16), name="sequence")
    att = layers.MultiHeadAttention(num_heads=2, key_dim=8)(seq_in, seq_in)
    x = layers.LayerNormalization()(layers.add([seq_in, att]))
    mha = keras.Model(seq_in, layers.Dense(2)(layers.GlobalAveragePooling1D()(x)),
                      name="attention")
    out["attention"] = (mha, [rng.rand(2, 8, 16).astype("float32")])
    if only is not None:
        return {k: v for k, v in out.items() if k in only}

    # Hostile: a Lambda whose function Keras stores as marshalled bytecode.
    lam_in = keras.Input(shape=(3,))
    lam = keras.Model(lam_in, layers.Lambda(lambda t: t * 2, name="doubler")(lam_in),
                      name="lambda_bytecode")
    out["lambda_bytecode"] = (lam, [rng.rand(2, 3).astype("float32")])
    return out


def tf2_make():
    """tf.keras 2 (the tf-keras package): whole-model .h5 and weights-only .h5."""
    import numpy as np
    import tf_keras as keras

    for name, (model, xs) in _models(keras, np, TF2_MODELS).items():
        model.save(os.path.join(OUT, f"{name}.tf2.h5"), save_format="h5")
        model.save_weights(os.path.join(OUT, f"{name}.tf2_weights.h5"), save_format="h5")
        ys = _as_list(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
        arrays = {f"x{i}": x for i, x in enumerate(xs)}
        arrays.update({f"y{i}": np.asarray(y) for i, y in enumerate(ys)})
        np.savez(os.path.join(OUT, f"{name}.tf2.npz"), **arrays)
        print(f"{name} (tf.keras {keras.__version__}): {model.count_params():,} parameters")


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def keras_make():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    import numpy as np

    os.makedirs(OUT, exist_ok=True)
    for name, (model, xs) in _models(keras, np).items():
        model.save(os.path.join(OUT, f"{name}.keras"))
        ys = _as_list(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
        arrays = {f"x{i}": x for i, x in enumerate(xs)}
        arrays.update({f"y{i}": np.asarray(y) for i, y in enumerate(ys)})
        if name == "mnist_mlp_adam":
            rng = np.random.RandomState(1)
            arrays["train_x"] = rng.rand(32, 784).astype("float32")
            arrays["train_y"] = rng.randint(0, 10, 32)
            model.train_on_batch(arrays["train_x"], arrays["train_y"])
            for i, w in enumerate(model.get_weights()):
                arrays[f"after_step_{i}"] = w
        np.savez(os.path.join(OUT, f"{name}.npz"), **arrays)
        print(f"{name}: {model.count_params():,} parameters, {len(ys)} output(s)")
    with open(os.path.join(OUT, "README.txt"), "w") as f:
        f.write(f"Written by weights/make_keras_fixtures.py with {KERAS} "
                f"(backend {keras.backend.backend()}); see that script.\n")


def keras_check(folder):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    import numpy as np

    worst = 0.0
    for name in sorted(n[:-6] for n in os.listdir(folder) if n.endswith(".keras")):
        model = keras.saving.load_model(os.path.join(folder, f"{name}.keras"))
        data = np.load(os.path.join(folder, f"{name}.npz"))
        xs = [data[k] for k in sorted(k for k in data if k.startswith("x"))]
        ys = _as_list(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
        diff = max(float(np.abs(np.asarray(y) - data[f"y{i}"]).max()) for i, y in enumerate(ys))
        worst = max(worst, diff)
        print(f"{name}: loaded in Keras {keras.__version__}, max |Keras - ours| = {diff:.2e}")
    sys.exit(0 if worst <= 1e-5 else 1)


# -- in the project's venv ---------------------------------------------------
def ours_save(folder):
    import numpy as np

    from mlxfunctional.saving import load_model

    for name in sorted(n[:-6] for n in os.listdir(OUT) if n.endswith(".keras")):
        try:
            model = load_model(os.path.join(OUT, f"{name}.keras"))
        except Exception as e:  # a model we cannot read yet: say so, check the rest
            print(f"{name}: not loaded by mlxfunctional ({type(e).__name__}: {e})")
            continue
        data = np.load(os.path.join(OUT, f"{name}.npz"))
        xs = [data[k] for k in sorted(k for k in data if k.startswith("x"))]
        ys = _as_list(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
        model.save(os.path.join(folder, f"{name}.keras"))
        arrays = {f"x{i}": x for i, x in enumerate(xs)}
        arrays.update({f"y{i}": np.asarray(y) for i, y in enumerate(ys)})
        np.savez(os.path.join(folder, f"{name}.npz"), **arrays)


def main(argv):
    mode = argv[1] if len(argv) > 1 else "make"
    if mode == "--keras-make":
        return keras_make()
    if mode == "--keras-check":
        return keras_check(argv[2])
    if mode == "--tf2-make":
        return tf2_make()
    python = _venv_python()
    if mode == "make":
        subprocess.run([python, __file__, "--keras-make"], check=True)
        subprocess.run([_venv_python(TF2_VENV, TF2), __file__, "--tf2-make"], check=True)
    elif mode == "check":
        with tempfile.TemporaryDirectory() as folder:
            ours_save(folder)
            result = subprocess.run([python, __file__, "--keras-check", folder])
            sys.exit(result.returncode)
    else:
        sys.exit(f"usage: {argv[0]} [make|check]")


if __name__ == "__main__":
    main(sys.argv)
