"""Bad arguments to fit/evaluate/predict/*_on_batch (issue 13, item 3).

Before the fix, ``batch_size=-3`` or ``steps_per_epoch=0`` "trained" zero steps
and logged a loss of 0.0, ``batch_size=2.5`` or ``"8"`` were coerced silently,
empty arrays trained nothing, and ``predict(batch_size=-3)`` said "received no
data". Each case must now raise a TypeError (wrong type) or ValueError (out
of range) naming the method, the argument and the value received; and the
failed call must leave the model as it was, so that it then trains exactly as
plain gradient descent says (checked against numpy).
"""

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers

RNG = np.random.default_rng(13)
X = RNG.random((8, 3)).astype("float32")
Y = RNG.random((8, 1)).astype("float32")
W0 = RNG.standard_normal((3, 1)).astype("float32")
B0 = np.array([0.25], dtype="float32")
LR = 0.1


def linear_model(**compile_kwargs):
    inputs = keras.Input((3,), name="x")
    m = keras.Model(inputs, layers.Dense(1, name="out")(inputs))
    m.compile(keras.optimizers.SGD(LR), "mse", **compile_kwargs)
    m.set_weights([W0, B0])
    return m


def sgd_step(w, b):
    """One full-batch SGD step of mean((X w + b - Y)^2), by hand."""
    residual = X @ w + b - Y
    grad_w = 2.0 / len(X) * X.T @ residual
    grad_b = 2.0 / len(X) * residual.sum(axis=0)
    return w - LR * grad_w, b - LR * grad_b


def assert_unchanged_and_trains(m):
    """The failed call changed nothing; one epoch of one full batch is one SGD step."""
    w, b = m.get_weights()
    np.testing.assert_array_equal(w, W0)
    np.testing.assert_array_equal(b, B0)
    m.fit(X, Y, batch_size=len(X), epochs=1, shuffle=False, verbose=0)
    want_w, want_b = sgd_step(W0, B0)
    got_w, got_b = m.get_weights()
    np.testing.assert_allclose(got_w, want_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_b, want_b, rtol=1e-5, atol=1e-6)


def fit(m, **kwargs):
    args = dict(batch_size=4, epochs=1, verbose=0)
    args.update(kwargs)
    return m.fit(X, Y, **args)


def fit_validated(m, **kwargs):
    return fit(m, validation_data=(X, Y), **kwargs)


def evaluate(m, **kwargs):
    return m.evaluate(X, Y, **{"verbose": 0, **kwargs})


def predict(m, **kwargs):
    return m.predict(X, **{"verbose": 0, **kwargs})


# (call, argument, bad value, expected error). The message must name the method,
# the argument and the value received.
BAD = [
    (fit, "batch_size", 0, ValueError),
    (fit, "batch_size", -3, ValueError),
    (fit, "batch_size", 2.5, TypeError),
    (fit, "batch_size", "8", TypeError),
    (fit, "batch_size", True, TypeError),
    (fit, "epochs", -1, ValueError),
    (fit, "epochs", 2.5, TypeError),
    (fit, "epochs", "2", TypeError),
    (fit, "epochs", True, TypeError),
    (fit, "steps_per_epoch", 0, ValueError),
    (fit, "steps_per_epoch", -1, ValueError),
    (fit, "steps_per_epoch", 1.5, TypeError),
    (fit, "steps_per_epoch", "3", TypeError),
    (fit_validated, "validation_steps", 0, ValueError),
    (fit_validated, "validation_steps", -2, ValueError),
    (fit_validated, "validation_steps", 1.5, TypeError),
    (fit_validated, "validation_batch_size", 0, ValueError),
    (fit_validated, "validation_freq", 0, ValueError),
    (fit_validated, "validation_freq", -1, ValueError),
    (fit_validated, "validation_freq", 1.5, TypeError),
    (fit_validated, "validation_freq", "1", TypeError),
    (fit_validated, "validation_freq", [], ValueError),
    (fit_validated, "validation_freq", [0, 2], ValueError),
    (fit, "initial_epoch", -1, ValueError),
    (fit, "initial_epoch", 1.5, TypeError),
    (fit, "initial_epoch", "0", TypeError),
    (fit, "verbose", -1, ValueError),
    (fit, "verbose", 3, ValueError),
    (fit, "verbose", "loud", TypeError),
    (fit, "verbose", 1.0, TypeError),
    (fit, "validation_split", -0.1, ValueError),
    (fit, "validation_split", 1.0, ValueError),
    (fit, "validation_split", "0.2", TypeError),
    (evaluate, "batch_size", 0, ValueError),
    (evaluate, "batch_size", -1, ValueError),
    (evaluate, "batch_size", 2.5, TypeError),
    (evaluate, "steps", 0, ValueError),
    (evaluate, "steps", -1, ValueError),
    (evaluate, "steps", "2", TypeError),
    (evaluate, "verbose", -1, ValueError),
    (predict, "batch_size", -3, ValueError),
    (predict, "batch_size", 0, ValueError),
    (predict, "batch_size", 1.5, TypeError),
    (predict, "steps", 0, ValueError),
    (predict, "steps", -1, ValueError),
    (predict, "verbose", 5, ValueError),
]


@pytest.mark.parametrize("call, argument, value, error", BAD,
                         ids=[f"{c.__name__}-{a}={v!r}" for c, a, v, _ in BAD])
def test_a_bad_argument_is_an_error_naming_it(call, argument, value, error):
    m = linear_model()
    with pytest.raises(error) as caught:
        call(m, **{argument: value})
    message = str(caught.value)
    method = "fit" if call.__name__.startswith("fit") else call.__name__
    assert f"{method}()" in message
    assert f"`{argument}`" in message
    assert f"{argument}={value!r}" in message
    assert "received no data" not in message
    assert_unchanged_and_trains(m)


def test_compile_refuses_a_bad_steps_per_execution():
    inputs = keras.Input((3,))
    m = keras.Model(inputs, layers.Dense(1)(inputs))
    with pytest.raises(ValueError, match=r"`steps_per_execution`.*steps_per_execution=0"):
        m.compile("sgd", "mse", steps_per_execution=0)
    with pytest.raises(TypeError, match=r"`steps_per_execution`.*steps_per_execution=1\.5"):
        m.compile("sgd", "mse", steps_per_execution=1.5)


EMPTY = {
    "fit": lambda m: m.fit(X[:0], Y[:0], verbose=0),
    "fit with validation_data": lambda m: m.fit(X, Y, validation_data=(X[:0], Y[:0]),
                                                verbose=0),
    "evaluate": lambda m: m.evaluate(X[:0], Y[:0], verbose=0),
    "predict": lambda m: m.predict(X[:0], verbose=0),
    "train_on_batch": lambda m: m.train_on_batch(X[:0], Y[:0]),
    "test_on_batch": lambda m: m.test_on_batch(X[:0], Y[:0]),
    "predict_on_batch": lambda m: m.predict_on_batch(X[:0]),
}


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_zero_samples_are_an_error_not_a_loss_of_zero(name):
    m = linear_model()
    method = name.split()[0].replace("predict_on_batch", "predict")
    with pytest.raises(ValueError, match=rf"{method}\(\) received no samples: .* 0 rows"):
        EMPTY[name](m)
    assert_unchanged_and_trains(m)


@pytest.mark.parametrize("method", ["fit", "evaluate", "predict", "train_on_batch",
                                    "test_on_batch", "predict_on_batch"])
def test_x_none_is_an_error_naming_x(method):
    m = linear_model()
    call = getattr(m, method)
    with pytest.raises(ValueError, match=rf"{method}\(\) needs input data `x`; received x=None"):
        if method.startswith("predict"):
            call(None)
        else:
            call(None, Y)
    assert_unchanged_and_trains(m)


# -- what Keras accepts stays accepted (guards against refusing too much) -------------

def test_epochs_zero_trains_nothing_as_keras():
    m = linear_model()
    history = m.fit(X, Y, epochs=0, verbose=0)
    assert history.history == {}
    assert_unchanged_and_trains(m)


def test_initial_epoch_at_epochs_trains_nothing_as_keras():
    m = linear_model()
    history = m.fit(X, Y, epochs=2, initial_epoch=2, verbose=0)
    assert history.history == {}
    assert_unchanged_and_trains(m)


def test_numpy_integers_bools_for_verbose_and_epoch_lists_are_accepted():
    m = linear_model()
    history = m.fit(X, Y, batch_size=np.int64(8), epochs=np.int32(2), verbose=False,
                    shuffle=False, validation_data=(X, Y), validation_freq=[2],
                    steps_per_epoch=np.int64(1))
    assert len(history.history["loss"]) == 2
    assert len(history.history["val_loss"]) == 1  # validated after epoch 2 only
    w, b = sgd_step(*sgd_step(W0, B0))
    np.testing.assert_allclose(m.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.get_weights()[1], b, rtol=1e-5, atol=1e-6)
