"""The APIs the Keras 3 guide "Training & evaluation with the built-in methods" uses.

Our own small programs; every number is checked against numpy (losses, metrics,
weighted means, learning-rate formulas) or Keras' documented behaviour (history
keys, which samples validation_split holds out, callback stopping epochs).
"""

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers, ops

RNG = np.random.default_rng(2)


def classifier(n_in=16, n_out=4, name=None):
    inputs = keras.Input((n_in,), name="digits")
    x = layers.Dense(8, activation="relu", name="dense_1")(inputs)
    outputs = layers.Dense(n_out, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def data(n=64, n_in=16, n_out=4):
    x = RNG.random((n, n_in)).astype("float32")
    y = RNG.integers(n_out, size=n)
    return x, y


def sparse_ce(probs, y):
    probs = np.clip(probs, 1e-7, 1 - 1e-7)
    return -np.log(probs[np.arange(len(y)), y])


def test_fit_history_evaluate_predict():
    model = classifier()
    model.compile(optimizer=keras.optimizers.RMSprop(),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    x, y = data()
    xv, yv = data(16)
    history = model.fit(x, y, batch_size=16, epochs=2, validation_data=(xv, yv), verbose=0)
    assert sorted(history.history) == ["loss", "sparse_categorical_accuracy", "val_loss",
                                       "val_sparse_categorical_accuracy"]
    assert all(len(v) == 2 for v in history.history.values())
    probs = model.predict(xv, verbose=0)
    assert probs.shape == (16, 4)
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
    loss, acc = model.evaluate(xv, yv, batch_size=8, verbose=0)
    assert loss == pytest.approx(sparse_ce(probs, yv).mean(), rel=1e-4)
    assert acc == pytest.approx((probs.argmax(1) == yv).mean())
    assert history.history["val_loss"][-1] == pytest.approx(loss, rel=1e-4)
    results = model.evaluate(xv, yv, verbose=0, return_dict=True)
    assert results["loss"] == pytest.approx(loss, rel=1e-5)


def test_string_shortcuts_compile_the_same_objects():
    model = classifier()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    x, y = data(32)
    history = model.fit(x, y, epochs=1, verbose=0)
    assert "sparse_categorical_accuracy" in history.history
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)


def test_a_custom_loss_function_and_a_loss_subclass():
    def custom_mean_squared_error(y_true, y_pred):
        return ops.square(y_true - y_pred)  # reduced by the loss wrapper

    class CustomMSE(keras.losses.Loss):
        def __init__(self, regularization_factor=0.1, name="custom_mse"):
            super().__init__(name=name)
            self.regularization_factor = regularization_factor

        def call(self, y_true, y_pred):
            mse = ops.square(y_true - y_pred)
            reg = ops.square(0.5 - y_pred)
            return mse + reg * self.regularization_factor

    x, y = data(32)
    y_one_hot = np.eye(4, dtype="float32")[y]
    for loss, reg in [(custom_mean_squared_error, 0.0), (CustomMSE(), 0.1)]:
        model = classifier()
        model.compile(optimizer="adam", loss=loss)
        model.fit(x, y_one_hot, batch_size=8, epochs=1, verbose=0)
        p = model.predict(x, verbose=0)
        expected = ((y_one_hot - p) ** 2 + reg * (0.5 - p) ** 2).mean()
        assert model.evaluate(x, y_one_hot, verbose=0) == pytest.approx(expected, rel=1e-4)


def test_add_loss_in_a_layer_adds_to_the_training_loss():
    class ActivityRegularization(layers.Layer):
        def call(self, inputs):
            self.add_loss(0.1 * inputs.sum())
            return inputs

    inputs = keras.Input((4,))
    hidden = layers.Dense(3, activation="relu")(inputs)
    outputs = layers.Dense(1)(ActivityRegularization()(hidden))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    x, y = RNG.random((8, 4)).astype("float32"), RNG.random((8, 1)).astype("float32")
    w1, b1, w2, b2 = model.get_weights()
    h = np.maximum(x @ w1 + b1, 0)
    expected = ((h @ w2 + b2 - y) ** 2).mean() + 0.1 * h.sum()
    assert model.evaluate(x, y, batch_size=8, verbose=0) == pytest.approx(expected, rel=1e-4)


def test_validation_split_holds_out_the_last_samples():
    x, y = data(50)
    model = classifier()
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=64, validation_split=0.2, epochs=1, verbose=0)
    # Keras holds out the last 20% (10 samples) before any shuffling.
    probs = model.predict(x[40:], verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(sparse_ce(probs, y[40:]).mean(),
                                                           rel=1e-4)


class ArrayBatches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, idx):
        lo = idx * self.batch_size
        return self.x[lo:lo + self.batch_size], self.y[lo:lo + self.batch_size]


def test_pydataset_generator_and_steps_arguments():
    x, y = data(64)
    model = classifier()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    model.fit(ArrayBatches(x, y, 16), epochs=1, verbose=0, callbacks=[Count()])
    assert seen == [0, 1, 2, 3]
    seen.clear()
    model.fit(ArrayBatches(x, y, 16), epochs=1, steps_per_epoch=2, verbose=0,
              callbacks=[Count()])
    assert seen == [0, 1]
    probs = model.predict(ArrayBatches(x, y, 16), verbose=0)
    assert probs.shape == (64, 4)
    val = ArrayBatches(x, y, 16)
    loss = model.evaluate(val, verbose=0, steps=1)
    assert loss == pytest.approx(sparse_ce(probs[:16], y[:16]).mean(), rel=1e-4)


def test_class_weight_and_sample_weight_are_weighted_means():
    x, y = data(32)
    class_weight = {0: 1.0, 1: 1.0, 2: 1.0, 3: 2.0}
    sample_weight = np.where(y == 3, 2.0, 1.0)
    losses = []
    for kwargs in [{"class_weight": class_weight}, {"sample_weight": sample_weight}]:
        keras.utils.set_random_seed(0)
        model = classifier()
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        before = model.predict(x, verbose=0)
        history = model.fit(x, y, batch_size=32, epochs=1, verbose=0, **kwargs)
        # One batch: the logged loss is Keras' weighted mean, sum(w * l) / n.
        expected = (sample_weight * sparse_ce(before, y)).sum() / len(y)
        assert history.history["loss"][0] == pytest.approx(expected, rel=1e-4)
        losses.append(history.history["loss"][0])
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)


def test_multi_input_multi_output_losses_by_list_and_dict():
    image_input = keras.Input((8, 8, 3), name="img_input")
    timeseries_input = keras.Input((None, 5), name="ts_input")
    x1 = layers.GlobalMaxPooling2D()(layers.Conv2D(3, 3)(image_input))
    x2 = layers.GlobalMaxPooling1D()(layers.Conv1D(3, 3)(timeseries_input))
    x = layers.concatenate([x1, x2])
    score_output = layers.Dense(1, name="score_output")(x)
    class_output = layers.Dense(5, name="class_output")(x)
    model = keras.Model([image_input, timeseries_input], [score_output, class_output])
    assert model.count_params() == (27 * 3 + 3) + (15 * 3 + 3) + 7 + 35
    img, ts = RNG.random((16, 8, 8, 3)), RNG.random((16, 10, 5))
    score, cls = RNG.random((16, 1)), RNG.random((16, 5))
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss={"score_output": keras.losses.MeanSquaredError(),
                        "class_output": keras.losses.CategoricalCrossentropy()},
                  loss_weights={"score_output": 2.0, "class_output": 1.0},
                  metrics={"score_output": [keras.metrics.MeanAbsoluteError()],
                           "class_output": [keras.metrics.CategoricalAccuracy()]})
    history = model.fit({"img_input": img, "ts_input": ts},
                        {"score_output": score, "class_output": cls}, batch_size=8, epochs=1,
                        verbose=0)
    assert {"loss", "score_output_mean_absolute_error",
            "class_output_categorical_accuracy"} <= set(history.history)
    p_score, p_cls = model.predict([img, ts], verbose=0)
    # Keras' crossentropy on non-logits: scale rows to sum 1, then clip to [eps, 1-eps].
    p = np.clip(p_cls / p_cls.sum(1, keepdims=True), 1e-7, 1 - 1e-7)
    mse = ((p_score - score) ** 2).mean()
    cce = -(cls * np.log(p)).sum(1).mean()
    logs = model.evaluate([img, ts], [score, cls], batch_size=16, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(2 * mse + cce, rel=1e-3)
    # A None loss for an output leaves it out of training.
    model.compile(optimizer="rmsprop", loss=[None, keras.losses.CategoricalCrossentropy()])
    logs = model.evaluate([img, ts], [score, cls], verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(cce, rel=1e-3)


def test_early_stopping_stops_after_patience_epochs():
    x, y = data(32)
    model = classifier()
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    stop = keras.callbacks.EarlyStopping(monitor="loss", min_delta=1e-2, patience=2)
    history = model.fit(x, y, epochs=20, verbose=0, callbacks=[stop])
    # Learning rate 0: no improvement after the first epoch, so 1 + patience epochs.
    assert len(history.history["loss"]) == 3


def test_model_checkpoint_saves_each_epoch(tmp_path):
    x, y = data(32)
    model = classifier()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    path = str(tmp_path / "mymodel_{epoch}.mlxf")
    model.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mymodel_1.mlxf", "mymodel_2.mlxf"]
    again = keras.models.load_model(tmp_path / "mymodel_2.mlxf")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_exponential_decay_schedule_drives_the_optimizer():
    schedule = keras.optimizers.schedules.ExponentialDecay(
        0.1, decay_steps=100000, decay_rate=0.96, staircase=True)
    assert float(schedule(0)) == pytest.approx(0.1)
    assert float(schedule(100000)) == pytest.approx(0.096)
    assert float(schedule(250000)) == pytest.approx(0.1 * 0.96 ** 2)
    smooth = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert float(smooth(5)) == pytest.approx(0.1 * 0.5 ** 0.5, rel=1e-6)
    model = classifier()
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=schedule),
                  loss="sparse_categorical_crossentropy")
    x, y = data(32)
    model.fit(x, y, epochs=1, verbose=0)


def test_checkpoint_names_format_the_logs_and_the_latest_one_restores(tmp_path):
    x, y = data(32)
    model = classifier()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    losses = []

    class Log(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            losses.append(logs["loss"])

    path = str(tmp_path / "model-loss={loss:.2f}.mlxf")
    model.fit(x, y, epochs=2, verbose=0, shuffle=False,
              callbacks=[Log(), keras.callbacks.ModelCheckpoint(filepath=path, save_freq="epoch")])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted({f"model-loss={v:.2f}.mlxf" for v in losses})
    latest = max(tmp_path.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    restored = keras.models.load_model(latest)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


class CategoricalTruePositives(keras.metrics.Metric):
    """How many samples were classified correctly (a running count)."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.cast(ops.cast(y_true, "int32") == ops.cast(y_pred, "int32"), "float32")
        if sample_weight is not None:
            values = ops.multiply(values, ops.cast(sample_weight, "float32"))
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives

    def reset_state(self):
        self.true_positives.assign(0.0)


def test_a_custom_metric_counts_over_the_epoch():
    x, y = data(48)
    model = classifier()
    model.compile(optimizer=keras.optimizers.RMSprop(0.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[CategoricalTruePositives()])
    correct = float((model.predict(x, verbose=0).argmax(1) == y).sum())
    history = model.fit(x, y.reshape(-1, 1), batch_size=16, epochs=2, verbose=0)
    assert history.history["categorical_true_positives"] == [correct, correct]
    logs = model.evaluate(x, y.reshape(-1, 1), batch_size=16, verbose=0, return_dict=True)
    assert logs["categorical_true_positives"] == correct


def test_a_layer_adds_the_loss_from_targets_passed_as_inputs():
    class LogisticEndpoint(layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

        def call(self, targets, logits, sample_weights=None):
            self.add_loss(self.loss_fn(targets, logits, sample_weights))
            return ops.softmax(logits)

    inputs = keras.Input((3,), name="inputs")
    targets = keras.Input((10,), name="targets")
    logits = layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(targets, logits)
    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer="adam")  # no loss argument: the endpoint's loss is the loss
    data_ = {"inputs": RNG.random((6, 3)).astype("float32"),
             "targets": RNG.random((6, 10)).astype("float32")}
    w, b = model.get_weights()
    z = data_["inputs"] @ w + b
    t = data_["targets"]
    bce = np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))))
    assert model.evaluate(data_, verbose=0) == pytest.approx(bce, rel=1e-4)
    model.fit(data_, epochs=1, verbose=0)
