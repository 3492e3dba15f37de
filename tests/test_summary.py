"""summary(): the tf.keras 2 text the guide prints."""

import mlxfunctional as keras
from mlxfunctional import layers

# Guide §2, verbatim (the guide created dense, dense_1, dense_2 first).
GUIDE_MNIST_SUMMARY = """\
Model: "mnist_model"
_________________________________________________________________
Layer (type)                 Output Shape              Param #
=================================================================
img (InputLayer)             [(None, 784)]             0
_________________________________________________________________
dense_3 (Dense)              (None, 64)                50240
_________________________________________________________________
dense_4 (Dense)              (None, 64)                4160
_________________________________________________________________
dense_5 (Dense)              (None, 10)                650
=================================================================
Total params: 55,050
Trainable params: 55,050
Non-trainable params: 0
_________________________________________________________________"""


def _guide_mnist_model():
    keras.clear_session()
    inputs = keras.Input(shape=(784,))
    dense = layers.Dense(64, activation="relu")
    x = dense(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    keras.Model(inputs=inputs, outputs=outputs)

    inputs = keras.Input(shape=(784,), name="img")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")


def test_guide_mnist_summary_text_is_identical(capsys):
    model = _guide_mnist_model()
    model.summary()
    assert capsys.readouterr().out.rstrip("\n") == GUIDE_MNIST_SUMMARY


def test_print_fn_and_line_length():
    model = _guide_mnist_model()
    lines = []
    model.summary(print_fn=lines.append, line_length=80)
    assert lines[1] == "_" * 80
    assert lines[2].startswith("Layer (type)") and "Output Shape" in lines[2][36:]


def test_connected_to_column_for_graphs():
    a = keras.Input((3,), name="a")
    b = keras.Input((3,), name="b")
    s = layers.Dense(3, name="d")(a) + b
    model = keras.Model([a, b], s, name="g")
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[1] == "_" * 98
    assert lines[2].split() == ["Layer", "(type)", "Output", "Shape", "Param", "#", "Connected", "to"]
    rows = [l for l in lines if l.startswith(("a ", "b ", "d ", "add ", " "))]
    assert rows[0].startswith("a (InputLayer)") and "[(None, 3)]" in rows[0]
    add_row = next(i for i, l in enumerate(lines) if l.startswith("add (BinaryOp)"))
    assert lines[add_row].endswith("d[0][0]")
    assert lines[add_row + 1].strip() == "b[0][0]"  # a second connection on its own line
    assert lines[-4] == "Total params: 12"


def test_nested_model_is_one_row_unless_expanded():
    inner_in = keras.Input((4,), name="inner_in")
    inner = keras.Model(inner_in, layers.Dense(2, name="inner_d")(inner_in), name="encoder")
    x = keras.Input((4,), name="x")
    model = keras.Model(x, layers.Dense(1, name="head")(inner(x)), name="outer")
    lines = []
    model.summary(print_fn=lines.append)
    row = next(l for l in lines if l.startswith("encoder"))
    assert row.split() == ["encoder", "(Functional)", "(None,", "2)", "10"]
    assert not any("inner_d" in l for l in lines)
    expanded = []
    model.summary(print_fn=expanded.append, expand_nested=True)
    assert any(l.startswith("| inner_d (Dense)") for l in expanded)


def test_non_trainable_counts():
    x = keras.Input((4,))
    frozen = layers.Dense(3, name="frozen")
    y = layers.Dense(2)(frozen(x))
    frozen.trainable = False
    model = keras.Model(x, y)
    lines = []
    model.summary(print_fn=lines.append, show_trainable=True)
    assert lines[-4:-1] == ["Total params: 23", "Trainable params: 8", "Non-trainable params: 15"]
    assert next(l for l in lines if l.startswith("frozen")).rstrip().endswith("N")
