"""A user's mistake inside fit/evaluate/predict/*_on_batch changes nothing.

An exception raised while ``mx.compile`` traces a step used to leave the
captured arrays as tracers: every later evaluation in the process failed
("Attempting to eval an array without a primitive") and the trained weights
were lost. For each mistake below, the call raises, and afterwards the weights,
the optimizer's state and ``mx.random.state`` are bit-identical to before it,
and the model still predicts, saves and trains. The steps are compiled (the
case that used to poison the process) unless the case says otherwise.
"""

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import callbacks, layers

RNG = np.random.default_rng(0)
X = RNG.random((64, 8)).astype("float32")
Y = RNG.integers(0, 3, 64)


class FailsInTraining(layers.Layer):
    """Raises when called in training mode only (inference works)."""

    def call(self, inputs, training=None):
        if training:
            raise RuntimeError("this layer cannot train")
        return inputs


class RaisesAfterForward(keras.Functional):
    """A functional model whose train_step raises after its forward pass."""

    def train_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        self(x, training=True)
        raise KeyError("custom train_step failed")


def failing_loss(y_true, y_pred):
    raise ValueError("this loss always fails")


def failing_metric(y_true, y_pred):
    raise ValueError("this metric always fails")


CUSTOM = {"FailsInTraining": FailsInTraining, "RaisesAfterForward": RaisesAfterForward,
          "failing_loss": failing_loss, "failing_metric": failing_metric}


def model(loss="sparse_categorical_crossentropy", metrics=("accuracy",), extra=None,
          run_eagerly=False, steps_per_execution=1, dropout=0.2):
    inputs = keras.Input((8,), name="x")
    h = layers.Dense(16, activation="relu")(inputs)
    if extra is not None:
        h = extra(h)
    h = layers.Dropout(dropout)(h)
    m = keras.Model(inputs, layers.Dense(3, activation="softmax", name="out")(h))
    m.compile(keras.optimizers.Adam(0.01), loss, metrics=list(metrics),
              run_eagerly=run_eagerly, steps_per_execution=steps_per_execution)
    return m


def subclassed():
    inputs = keras.Input((8,), name="x")
    h = layers.Dropout(0.2)(layers.Dense(16, activation="relu")(inputs))
    m = RaisesAfterForward(inputs, layers.Dense(3, activation="softmax")(h))
    m.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    return m


def fit(m, x=X, y=Y, **kwargs):
    return m.fit(x, y, batch_size=16, epochs=1, verbose=0, **kwargs)


# name -> (model factory, the mistake); models that cannot train are only predicted
# with before the mistake (CANNOT_TRAIN).
MISTAKES = {
    "fit: wrong x shape": (model, lambda m: fit(m, x=X[:, :5])),
    "fit: wrong y shape": (model, lambda m: fit(m, y=np.zeros((64, 2, 2)))),
    "fit: one-hot y for a sparse loss": (model, lambda m: fit(m, y=np.eye(3)[Y])),
    "fit: wrong dict keys": (model, lambda m: fit(m, x={"features": X})),
    "fit: a loss that raises": (lambda: model(loss=failing_loss), fit),
    "fit: a metric that raises": (lambda: model(metrics=[failing_metric]), fit),
    "fit: custom train_step raises after the forward pass": (subclassed, fit),
    "fit: mismatched sample counts": (model, lambda m: fit(m, y=Y[:60])),
    "fit: string targets": (model, lambda m: fit(m, y=np.array(["a"] * 64))),
    "fit: a layer that raises only in training":
        (lambda: model(extra=FailsInTraining()), fit),
    "fit: steps_per_execution=2, wrong x shape":
        (lambda: model(steps_per_execution=2), lambda m: fit(m, x=X[:, :5])),
    "fit: run_eagerly, wrong y shape":
        (lambda: model(run_eagerly=True), lambda m: fit(m, y=np.zeros((64, 2, 2)))),
    "evaluate: wrong x shape": (model, lambda m: m.evaluate(X[:, :5], Y, verbose=0)),
    "evaluate: a metric that raises":
        (lambda: model(metrics=[failing_metric]), lambda m: m.evaluate(X, Y, verbose=0)),
    "predict: wrong x shape": (model, lambda m: m.predict(X[:, :5], verbose=0)),
    "train_on_batch: one-hot y for a sparse loss":
        (model, lambda m: m.train_on_batch(X, np.eye(3)[Y])),
    "test_on_batch: wrong x shape": (model, lambda m: m.test_on_batch(X[:, :5], Y)),
    "predict_on_batch: wrong x shape": (model, lambda m: m.predict_on_batch(X[:, :5])),
}


CANNOT_TRAIN = {"fit: a loss that raises", "fit: a metric that raises",
                "fit: custom train_step raises after the forward pass",
                "fit: a layer that raises only in training", "evaluate: a metric that raises"}


def _state(m):
    optimizer = [np.array(v) for _, v in _flat(m.optimizer.state)]
    return m.get_weights(), optimizer, np.array(mx.random.state[0])


def _flat(tree):
    from mlx.utils import tree_flatten

    return tree_flatten(tree)


def _assert_same(before, after):
    (w0, o0, r0), (w1, o1, r1) = before, after
    assert len(w0) == len(w1) and all(np.array_equal(a, b) for a, b in zip(w0, w1))
    assert len(o0) == len(o1) and all(np.array_equal(a, b) for a, b in zip(o0, o1))
    assert np.array_equal(r0, r1)


def _still_works(m, tmp_path, trains=True):
    assert np.isfinite(m.predict(X, verbose=0)).all()
    m.save(tmp_path / "after.mlxf")
    reloaded = keras.models.load_model(tmp_path / "after.mlxf",
                                       custom_objects=CUSTOM)
    np.testing.assert_allclose(reloaded.predict(X, verbose=0), m.predict(X, verbose=0),
                               rtol=1e-6)
    before = m.get_weights()
    if not trains:
        return
    history = m.fit(X, Y, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_a_failed_call_leaves_the_model_as_it_was(name, tmp_path):
    make, mistake = MISTAKES[name]
    keras.utils.set_random_seed(1)
    m = make()
    # A first successful call, so the failure hits a model that has trained and
    # whose steps are compiled (the optimizer's slots exist).
    trains = name not in CANNOT_TRAIN
    if trains:
        fit(m)
    else:
        m.predict(X, verbose=0)
    before = _state(m)
    with pytest.raises(Exception):
        mistake(m)
    _assert_same(before, _state(m))
    _still_works(m, tmp_path, trains)


def test_a_mistake_on_a_fresh_model_does_not_poison_the_process(tmp_path):
    # The first call ever fails while tracing: nothing was compiled or trained before.
    keras.utils.set_random_seed(2)
    m = model()
    before = _state(m)
    with pytest.raises(ValueError, match="expected shape"):
        fit(m, x=X[:, :5])
    _assert_same(before, _state(m))
    other = model()  # a new model in the same process works too
    assert np.isfinite(other.predict(X, verbose=0)).all()
    _still_works(m, tmp_path)


def test_an_error_inside_a_step_names_the_step_and_the_batch_shapes():
    m = model()
    with pytest.raises(ValueError) as caught:
        fit(m, y=np.eye(3)[Y])  # one-hot targets for a sparse loss: fails inside the loss
    notes = " ".join(getattr(caught.value, "__notes__", []))
    assert 'train_step of model "' in notes
    assert "x shapes [(16, 8)], y shapes [(16, 3)]" in notes


def test_a_callback_raising_after_a_step_keeps_that_step_as_keras_does(tmp_path):
    # Work finished before the failure is kept (a callback failing at epoch 30 must
    # not undo 29 epochs); the weights are exactly those of one training step.
    class Boom(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise RuntimeError("callback failed")

    keras.utils.set_random_seed(3)
    m = model(dropout=0.0)
    twin = keras.models.clone_model(m)
    twin.set_weights(m.get_weights())
    twin.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    with pytest.raises(RuntimeError, match="callback failed"):
        m.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[Boom()])
    twin.train_on_batch(X[:16], Y[:16])
    for a, b in zip(m.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert m.optimizer.iterations == 1
    _still_works(m, tmp_path)


def test_a_failed_step_mid_fit_is_undone_and_earlier_steps_kept():
    # Validation runs a new (test) step at the end of the epoch: its failure is
    # undone, the epoch of training before it is kept.
    keras.utils.set_random_seed(4)
    m = model()
    fit(m)
    trained_once = m.get_weights()
    with pytest.raises(ValueError, match="expected shape"):
        fit(m, validation_data=(X[:, :5], Y))
    after = m.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(trained_once, after))
    assert m.optimizer.iterations == 8  # two epochs of 4 steps
    assert np.isfinite(m.evaluate(X, Y, verbose=0)[0])
