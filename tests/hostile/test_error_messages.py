"""Targets and data the losses cannot use get an error in the package's words (issue 13, item 4).

Before the fix, labels of the wrong shape reached the loss: one-hot targets
for a sparse crossentropy and ``(n, 5)`` targets against a ``(n, 1)`` output
trained on nonsense with no error, and a user's loss failed with MLX's bare
``[broadcast_shapes]``; string arrays were "data of type numpy.ndarray" with no
word of x or y. Each case must now raise an error naming the loss and the
output (or the argument), the expected and the received shape or dtype; the
failed call must leave the weights as they were, and the model must then train
exactly as a twin that never saw the mistake.

The steps run compiled (the check runs while the step is traced) and, where
the case says so, eagerly.
"""

import re

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers

RNG = np.random.default_rng(4)
N = 16
X = RNG.random((N, 4)).astype("float32")
LABELS = RNG.integers(0, 5, N)
ONE_HOT = np.eye(5, dtype="float32")[LABELS]


def classifier(loss, units=5, run_eagerly=False):
    inputs = keras.Input((4,), name="x")
    m = keras.Model(inputs, layers.Dense(units, activation="softmax", name="probs")(inputs))
    m.compile(keras.optimizers.SGD(0.1), loss, run_eagerly=run_eagerly)
    return m


def regressor(loss="mse", run_eagerly=False):
    inputs = keras.Input((4,), name="x")
    m = keras.Model(inputs, layers.Dense(1, name="value")(inputs))
    m.compile(keras.optimizers.SGD(0.1), loss, run_eagerly=run_eagerly)
    return m


def two_outputs():
    inputs = keras.Input((4,), name="x")
    a = layers.Dense(1, name="a")(inputs)
    b = layers.Dense(3, activation="softmax", name="b")(inputs)
    m = keras.Model(inputs, [a, b])
    m.compile(keras.optimizers.SGD(0.1), ["mse", "categorical_crossentropy"])
    return m


def my_loss(y_true, y_pred):
    """A user's loss with no shape rule of its own."""
    return (y_true - y_pred) ** 2


def fit(m, x=X, y=None):
    return m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)


# name -> (model factory, the mistake, good targets to train on after it, expected
# fragments of the message, in any order)
CASES = {
    "one-hot targets for a sparse loss": (
        lambda: classifier("sparse_categorical_crossentropy"),
        lambda m: fit(m, y=ONE_HOT), LABELS,
        ['Loss "sparse_categorical_crossentropy" of output "probs"', "(8,) or (8, 1)",
         "received targets of shape (8, 5)", "one-hot"]),
    "one-hot targets for a sparse loss, run eagerly": (
        lambda: classifier("sparse_categorical_crossentropy", run_eagerly=True),
        lambda m: fit(m, y=ONE_HOT), LABELS,
        ['Loss "sparse_categorical_crossentropy" of output "probs"',
         "received targets of shape (8, 5)"]),
    "(n, 5) targets against a (n, 1) output": (
        regressor, lambda m: fit(m, y=np.ones((N, 5), "float32")), np.ones((N, 1), "float32"),
        ['Loss "mse" of output "value"', "shape (8, 1)", "received targets of shape (8, 5)"]),
    "(n, 5) targets against a (n, 1) output in evaluate": (
        regressor,
        lambda m: m.evaluate(X, np.ones((N, 5), "float32"), batch_size=8, verbose=0),
        np.ones((N, 1), "float32"),
        ['Loss "mse" of output "value"', "received targets of shape (8, 5)"]),
    "labels (n,) for categorical crossentropy": (
        lambda: classifier("categorical_crossentropy"), lambda m: fit(m, y=LABELS), ONE_HOT,
        ['Loss "categorical_crossentropy" of output "probs"', "shape (8, 5)",
         "received targets of shape (8,)", "sparse_categorical_crossentropy"]),
    "(n, 3) targets for binary crossentropy on (n, 1)": (
        lambda: regressor("binary_crossentropy"),
        lambda m: m.train_on_batch(X, np.ones((N, 3), "float32")), np.ones((N, 1), "float32"),
        ['Loss "binary_crossentropy" of output "value"', "shape (16, 1)",
         "received targets of shape (16, 3)"]),
    "a user's loss that cannot broadcast the targets": (
        lambda: classifier(my_loss), lambda m: fit(m, y=np.ones((N, 3), "float32")), ONE_HOT,
        ['Loss "my_loss" of output "probs"', "targets of shape (8, 3)",
         "predictions of shape (8, 5)"]),
    "wrong targets for the second of two outputs": (
        two_outputs, lambda m: fit(m, y=[np.ones((N, 1)), np.ones((N, 2))]),
        [np.ones((N, 1), "float32"), np.eye(3, dtype="float32")[LABELS % 3]],
        ['Loss "categorical_crossentropy" of output "b"', "shape (8, 3)",
         "received targets of shape (8, 2)"]),
}


def _twin_of(make, m):
    twin = make()
    twin.set_weights(m.get_weights())
    return twin


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_targets_name_the_loss_output_and_shapes(name):
    make, mistake, good_y, fragments = CASES[name]
    keras.utils.set_random_seed(7)
    m = make()
    twin = _twin_of(make, m)
    before = m.get_weights()
    with pytest.raises(ValueError) as caught:
        mistake(m)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert not re.search(r"\[(take_along_axis|broadcast_shapes|gather)\]", message.split(":")[0])
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)
    # It then trains as a twin that never saw the mistake.
    fit(m, y=good_y)
    fit(twin, y=good_y)
    assert any(not np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    for a, b in zip(m.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


STRINGS = {
    "string x": (lambda m: fit(m, x=np.array([["a"] * 4] * N), y=np.ones((N, 1))),
                 ['x (for input "x")', "dtype <U1"]),
    "string y": (lambda m: fit(m, y=np.array([["a"]] * N)),
                 ['y (for output "value")', "dtype <U1"]),
    "object y": (lambda m: fit(m, y=np.array([[1]] * N, dtype=object)),
                 ['y (for output "value")', "dtype object"]),
    "string x to predict": (lambda m: m.predict(np.array([["a"] * 4] * N), verbose=0),
                            ['x (for input "x")', "dtype <U1"]),
    "string y from a generator": (
        lambda m: m.fit(iter([(X, np.array([["a"]] * N))]), verbose=0),
        ['y (for output "value")', "dtype <U1"]),
}


@pytest.mark.parametrize("name", sorted(STRINGS))
def test_non_numeric_data_names_x_or_y_its_input_or_output_and_dtype(name):
    mistake, fragments = STRINGS[name]
    m = regressor()
    before = m.get_weights()
    with pytest.raises(TypeError) as caught:
        mistake(m)
    for fragment in fragments:
        assert fragment in str(caught.value), (fragment, str(caught.value))
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)
    fit(m, y=np.ones((N, 1), "float32"))
    assert np.isfinite(m.predict(X, verbose=0)).all()


def test_a_list_of_the_wrong_length_for_two_outputs_names_them():
    # (Already an error before issue 13: a guard, kept with the other target mistakes.)
    m = two_outputs()
    with pytest.raises(ValueError, match=r"expects 2 outputs \['a', 'b'\]; received a list "
                                         r"of 1 entries"):
        fit(m, y=[np.ones((N, 1))])


def test_a_loss_called_standalone_keeps_keras_broadcasting():
    # The check belongs to training against a model's outputs: a loss called on its
    # own still broadcasts as Keras' does (mean over the last axis of (2, 3) - (2, 1)).
    y_true = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], "float32")
    y_pred = np.array([[1.0], [1.0]], "float32")
    value = float(keras.losses.MeanSquaredError()(y_true, y_pred))
    assert value == pytest.approx(np.mean((y_true - y_pred) ** 2))
