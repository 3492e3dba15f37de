"""compile / fit / evaluate / predict: the guide's §3 and §7, and Keras' semantics.

Most tests run the step eagerly (`run_eagerly=True`, same code, no JIT) to
stay fast; the ones about the compiled step compile it.
"""

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import callbacks, layers, utils
from mlxfunctional.datasets import mnist


def mnist_model():
    inputs = keras.Input(shape=(784,), name="img")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")


def test_guide_section_3_trains_on_real_mnist(capsys):
    (x, y) = mnist.load_sample()
    x = x.reshape(10000, 784).astype("float32") / 255
    x_train, y_train, x_test, y_test = x[:8000], y[:8000], x[8000:], y[8000:]
    utils.set_random_seed(0)
    model = mnist_model()
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=64, epochs=5, validation_split=0.2)
    test_scores = model.evaluate(x_test, y_test, verbose=0)
    print("Test loss:", test_scores[0])
    print("Test accuracy:", test_scores[1])
    out = capsys.readouterr().out
    assert "Epoch 5/5" in out
    assert "100/100 [==============================]" in out and " - val_accuracy: " in out
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert len(history.history["loss"]) == 5
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert test_scores[1] >= 0.92, test_scores


def ticket_model():
    num_tags, num_words, num_departments = 12, 1000, 4
    title_input = keras.Input(shape=(None,), name="title")
    body_input = keras.Input(shape=(None,), name="body")
    tags_input = keras.Input(shape=(num_tags,), name="tags")
    title_features = layers.LSTM(16)(layers.Embedding(num_words, 8)(title_input))
    body_features = layers.LSTM(8)(layers.Embedding(num_words, 8)(body_input))
    x = layers.concatenate([title_features, body_features, tags_input])
    priority_pred = layers.Dense(1, activation="sigmoid", name="priority")(x)
    department_pred = layers.Dense(num_departments, activation="softmax", name="department")(x)
    model = keras.Model(inputs=[title_input, body_input, tags_input],
                        outputs=[priority_pred, department_pred])
    rng = np.random.default_rng(0)
    data = {"title": rng.integers(num_words, size=(64, 5)),
            "body": rng.integers(num_words, size=(64, 12)),
            "tags": rng.integers(2, size=(64, num_tags)).astype("float32")}
    targets = {"priority": rng.random((64, 1)).astype("float32"),
               "department": np.eye(num_departments, dtype="float32")[rng.integers(4, size=64)]}
    return model, data, targets


@pytest.mark.parametrize("form", ["list", "dict"])
def test_guide_section_7_1_multi_output_losses(form):
    model, data, targets = ticket_model()
    if form == "list":
        loss = ["binary_crossentropy", "categorical_crossentropy"]
    else:
        loss = {"priority": "binary_crossentropy", "department": "categorical_crossentropy"}
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss=loss, loss_weights=[1., 0.2],
                  run_eagerly=True)
    history = model.fit(data, targets, epochs=2, batch_size=32, verbose=0)
    logs = history.history
    assert list(logs) == ["loss", "priority_loss", "department_loss"]
    for total, p, d in zip(logs["loss"], logs["priority_loss"], logs["department_loss"]):
        assert total == pytest.approx(p + 0.2 * d, rel=1e-5)
    # the same data as lists, in input/output order
    model.fit([data["title"], data["body"], data["tags"]],
              [targets["priority"], targets["department"]], epochs=1, batch_size=32, verbose=0)


def test_dict_keys_that_match_nothing_are_errors():
    model, data, targets = ticket_model()
    model.compile(optimizer="rmsprop", loss=["binary_crossentropy", "categorical_crossentropy"],
                  run_eagerly=True)
    bad = dict(data)
    bad["tag"] = bad.pop("tags")
    with pytest.raises(ValueError, match=r"\['title', 'body', 'tags'\].*missing: \['tags'\].*unexpected: \['tag'\]"):
        model.fit(bad, targets, verbose=0)
    with pytest.raises(ValueError, match=r"outputs named \['priority', 'department'\]"):
        model.fit(data, {"priority": targets["priority"], "dept": targets["department"]}, verbose=0)
    with pytest.raises(ValueError, match="match no output"):
        model.compile(loss={"priority": "mse", "dept": "mse"})


def _sparse_ce(probs, labels):
    p = np.clip(probs, 1e-7, 1 - 1e-7)
    p = p / p.sum(axis=-1, keepdims=True)
    return -np.log(p[np.arange(len(labels)), labels])


def test_sample_weight_and_class_weight_weight_the_loss_as_keras():
    utils.set_random_seed(1)
    model = mnist_model()
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy",
                  run_eagerly=True)
    rng = np.random.default_rng(0)
    x = rng.random((16, 784)).astype("float32")
    y = rng.integers(0, 10, 16)
    w = rng.random(16).astype("float32")
    per_sample = _sparse_ce(model.predict(x, verbose=0), y)
    # Keras' "sum_over_batch_size": sum(w * loss) / batch size
    got = model.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0)
    assert got == pytest.approx(float((w * per_sample).sum() / 16), rel=1e-5)
    class_weight = {c: float(c + 1) for c in range(10)}
    got = model.train_on_batch(x, y, class_weight=class_weight)
    assert got == pytest.approx(float(((y + 1) * per_sample).sum() / 16), rel=1e-5)


def test_regularization_losses_are_added_to_the_loss():
    inputs = keras.Input((3,))
    dense = layers.Dense(2, kernel_regularizer=keras.regularizers.L2(0.1))
    model = keras.Model(inputs, dense(inputs))
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    x = np.ones((4, 3), "float32")
    y = np.zeros((4, 2), "float32")
    mse = float(np.mean(model.predict(x, verbose=0) ** 2))
    l2 = 0.1 * float((dense.get_weights()[0] ** 2).sum())
    assert model.evaluate(x, y, verbose=0) == pytest.approx(mse + l2, rel=1e-5)


def test_validation_split_takes_the_last_fraction_before_shuffling():
    utils.set_random_seed(0)
    model = mnist_model()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", run_eagerly=True)
    rng = np.random.default_rng(0)
    x = rng.random((40, 784)).astype("float32")
    y = rng.integers(0, 10, 40)
    history = model.fit(x, y, batch_size=8, epochs=1, validation_split=0.25, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(x[30:], y[30:], verbose=0), rel=1e-5)
    assert history.history["val_loss"][0] != pytest.approx(
        model.evaluate(x[:10], y[:10], verbose=0), rel=1e-3)


def test_predict_returns_numpy_in_the_output_structure():
    a = keras.Input((3,), name="a")
    out = {"double": layers.Dense(2, name="d1")(a), "single": layers.Dense(1, name="d2")(a)}
    model = keras.Model(a, out)
    x = np.random.rand(70, 3).astype("float32")
    pred = model.predict(x, batch_size=32, verbose=0)
    assert set(pred) == {"double", "single"}
    assert isinstance(pred["double"], np.ndarray) and pred["double"].shape == (70, 2)
    np.testing.assert_allclose(pred["single"], np.array(model(x)["single"]), rtol=1e-5, atol=1e-6)
    model2, data, _ = ticket_model()
    p, d = model2.predict(data, verbose=0)
    assert p.shape == (64, 1) and d.shape == (64, 4)


def test_callback_hook_order():
    calls = []

    class Recorder(callbacks.Callback):
        pass

    hooks = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
             "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
             "on_test_batch_begin", "on_test_batch_end"]
    for hook in hooks:
        setattr(Recorder, hook, lambda self, *a, _h=hook, **k: calls.append(_h))

    model = mnist_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", run_eagerly=True)
    x = np.zeros((4, 784), "float32")
    y = np.zeros(4, "int32")
    model.fit(x, y, batch_size=2, epochs=2, validation_data=(x, y), callbacks=[Recorder()],
              verbose=0)
    test = ["on_test_begin"] + ["on_test_batch_begin", "on_test_batch_end"] * 2 + ["on_test_end"]
    epoch = ["on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
             "on_train_batch_begin", "on_train_batch_end"] + test + ["on_epoch_end"]
    assert calls == ["on_train_begin"] + epoch + epoch + ["on_train_end"]


def test_early_stopping_restores_the_best_weights():
    seen = []

    class Snapshot(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((logs["val_loss"], [w.copy() for w in self.model.get_weights()]))

    utils.set_random_seed(0)
    model = mnist_model()
    # A huge learning rate makes the validation loss jump around.
    model.compile(optimizer=keras.optimizers.SGD(5.0), loss="sparse_categorical_crossentropy",
                  run_eagerly=True)
    rng = np.random.default_rng(0)
    x = rng.random((64, 784)).astype("float32")
    y = rng.integers(0, 10, 64)
    stop = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    model.fit(x, y, batch_size=16, epochs=8, validation_split=0.25,
              callbacks=[Snapshot(), stop], verbose=0)
    best = min(seen, key=lambda s: s[0])
    for got, want in zip(model.get_weights(), best[1]):
        np.testing.assert_array_equal(got, want)


def test_generators_and_steps_per_epoch():
    model = mnist_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["acc"], run_eagerly=True)

    def batches():
        rng = np.random.default_rng(0)
        while True:
            yield rng.random((8, 784)).astype("float32"), rng.integers(0, 10, 8)

    history = model.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0)
    assert list(history.history) == ["loss", "acc"]
    assert model.optimizer.iterations == 6


def test_a_py_dataset_gives_its_batches_by_index_each_epoch():
    # Keras' PyDataset/Sequence: no __iter__, and __getitem__ never raises IndexError
    # (iter() on it would never end). Batch i is dataset[i]; on_epoch_end after each.
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 784)).astype("float32"), rng.integers(0, 10, 40)

    class Batches(utils.PyDataset):
        def __init__(self):
            super().__init__(workers=2)
            self.asked, self.epochs_ended = [], 0

        def __len__(self):
            return 3

        def __getitem__(self, i):
            self.asked.append(i)
            rows = slice(16 * i, min(16 * (i + 1), 40))
            return x[rows], y[rows]

        def on_epoch_end(self):
            self.epochs_ended += 1

    model = mnist_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["acc"])
    reference = keras.models.clone_model(model)
    reference.set_weights(model.get_weights())
    reference.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["acc"])
    data = Batches()
    history = model.fit(data, epochs=2, verbose=0)
    assert data.asked == [0, 1, 2, 0, 1, 2] and data.epochs_ended == 2
    assert data.num_batches == 3 and utils.Sequence is utils.PyDataset
    expected = reference.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-5)
    assert model.predict(Batches(), verbose=0).shape == (40, 10)


def test_same_seed_gives_bit_identical_weights_and_dropout_masks_change():
    def run():
        utils.set_random_seed(42)
        inputs = keras.Input((784,))
        x = layers.Dropout(0.5)(layers.Dense(32, activation="relu")(inputs))
        model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        rng = np.random.default_rng(0)
        x_np, y_np = rng.random((96, 784)).astype("float32"), rng.integers(0, 10, 96)
        model.fit(x_np, y_np, batch_size=32, epochs=2, verbose=0)
        return model, x_np[:32], y_np[:32]

    (m1, xb, yb), (m2, _, _) = run(), run()
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    # Inside the compiled step the random state advances: with a zero learning
    # rate, the same batch gives a different loss at every step.
    m1.optimizer.learning_rate = 0.0
    losses = [m1.train_on_batch(xb, yb) for _ in range(3)]
    assert len(set(losses)) == 3


def test_steps_per_execution_and_eager_match_the_compiled_step():
    rng = np.random.default_rng(0)
    x = rng.random((64, 784)).astype("float32")
    y = rng.integers(0, 10, 64)
    results = []
    for kwargs in ({}, {"steps_per_execution": 4}, {"run_eagerly": True}):
        utils.set_random_seed(3)
        model = mnist_model()
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", **kwargs)
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        results.append(model.get_weights())
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_model_checkpoint_writes_weight_files(tmp_path):
    model = mnist_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", run_eagerly=True)
    x = np.random.rand(16, 784).astype("float32")
    y = np.random.randint(0, 10, 16)
    path = str(tmp_path / "w.{epoch:02d}.npz")
    model.fit(x, y, epochs=2, verbose=0,
              callbacks=[callbacks.ModelCheckpoint(path, save_weights_only=True, monitor="loss")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.01.npz", "w.02.npz"]


def test_fit_before_compile_is_an_error():
    with pytest.raises(RuntimeError, match="compile"):
        mnist_model().fit(np.zeros((2, 784)), np.zeros(2))


def test_mlx_arrays_are_accepted():
    model = mnist_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", run_eagerly=True)
    x = mx.random.uniform(shape=(8, 784))
    y = mx.zeros((8,), dtype=mx.int32)
    model.fit(x, y, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True).keys() == {"loss"}


def test_short_last_batch_runs_uncompiled_and_matches():
    # 70 samples in batches of 32: the last batch of 6 would make MLX trace and
    # JIT-compile new kernels; it runs the same step uncompiled instead.
    rng = np.random.default_rng(0)
    x = rng.random((70, 784)).astype("float32")
    y = rng.integers(0, 10, 70)
    weights = []
    for kwargs in ({}, {"run_eagerly": True}):
        utils.set_random_seed(5)
        model = mnist_model()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", **kwargs)
        model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
        weights.append(model.get_weights())
        if not kwargs:
            # compiled for full batches only: one train entry, for 32 rows
            train_keys = [k for k in model._step_cache.keys() if k[0] == "train"]
            assert [[rows for rows, _ in k[2]] for k in train_keys] == [[32]]
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_short_last_batches_predict_compiles_evaluate_on_return_fit_never():
    # 70 rows in batches of 32, a last batch of 6: predict compiles it at once (as
    # Keras on JAX traces every shape), evaluate the second time it meets it, fit never.
    # The outputs agree with another batching of the same rows.
    rng = np.random.default_rng(1)
    x, y = rng.random((70, 784)).astype("float32"), rng.integers(0, 10, 70)
    model = mnist_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")

    def rows(mode):
        return sorted(r for k in model._step_cache.keys() if k[0] == mode for r, _ in k[2])

    compiled = model.predict(x, batch_size=32, verbose=0)
    assert rows("predict") == [6, 32]
    other = model.predict(x, batch_size=35, verbose=0)  # (another batching: 2 x 35 rows)
    np.testing.assert_allclose(compiled, other, rtol=1e-6, atol=1e-7)
    model.evaluate(x, y, batch_size=32, verbose=0)
    assert rows("test") == [32]
    model.evaluate(x, y, batch_size=32, verbose=0)
    assert rows("test") == [6, 32]
    model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    assert rows("train") == [32]
