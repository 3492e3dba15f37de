"""The APIs the Keras 3 guide "The Sequential model" uses.

Our own programs; expected values are numpy forward passes and parameter counts
by formula (equal to what Keras prints in the guide: 35, 10, 11,680, 48,672).
"""

import numpy as np
import mlxfunctional as keras
from mlxfunctional import layers, ops

RNG = np.random.default_rng(1)


def three_dense(**kwargs):
    return keras.Sequential([layers.Dense(2, activation="relu", name="layer1"),
                             layers.Dense(3, activation="relu", name="layer2"),
                             layers.Dense(4, name="layer3")], **kwargs)


def test_sequential_equals_the_composition_of_its_layers():
    model = three_dense()
    x = np.asarray(ops.ones((3, 3)))
    y = np.asarray(model(x))
    w1, b1, w2, b2, w3, b3 = model.get_weights()
    expected = np.maximum(np.maximum(x @ w1 + b1, 0) @ w2 + b2, 0) @ w3 + b3
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    # The same layers called one after another give the same numbers.
    l1, l2, l3 = model.layers
    np.testing.assert_allclose(np.asarray(l3(l2(l1(x)))), y, rtol=1e-6)


def test_layers_add_pop_and_names():
    model = keras.Sequential(name="my_sequential")
    model.add(layers.Dense(2, activation="relu"))
    model.add(layers.Dense(3, activation="relu"))
    model.add(layers.Dense(4))
    assert model.name == "my_sequential" and len(model.layers) == 3
    model.pop()
    assert len(model.layers) == 2
    assert [l.name for l in three_dense().layers] == ["layer1", "layer2", "layer3"]


def test_weights_appear_when_the_input_shape_is_known():
    layer = layers.Dense(3)
    assert layer.weights == []
    layer(np.ones((1, 4), np.float32))
    assert len(layer.weights) == 2 and tuple(layer.weights[0].shape) == (4, 3)

    model = three_dense()
    assert model.weights == []
    model(np.ones((1, 4), np.float32))
    assert len(model.weights) == 6
    assert model.count_params() == (4 * 2 + 2) + (2 * 3 + 3) + (3 * 4 + 4) == 35


def test_summary_of_an_unbuilt_sequential_then_built(capsys):
    model = keras.Sequential([layers.Dense(2, activation="relu")])
    model.summary()
    assert "0 (unbuilt)" in capsys.readouterr().out
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2, activation="relu")])
    assert model.layers[0].name.startswith("dense")  # the Input is not a layer
    model.summary()
    assert "Total params: 10" in capsys.readouterr().out


def test_conv_stack_counts_and_shapes():
    model = keras.Sequential([keras.Input((250, 250, 3)),
                              layers.Conv2D(32, 5, strides=2, activation="relu"),
                              layers.Conv2D(32, 3, activation="relu"),
                              layers.MaxPooling2D(3)])
    assert model.output_shape == (None, 40, 40, 32)
    assert model.count_params() == (5 * 5 * 3 * 32 + 32) + (3 * 3 * 32 * 32 + 32) == 11680
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(3))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(2))
    assert model.output_shape == (None, 4, 4, 32)
    model.add(layers.GlobalMaxPooling2D())
    assert model.count_params() == 11680 + 4 * 9248 == 48672
    model.add(layers.Dense(10))
    assert model.output_shape == (None, 10)
    assert model.count_params() == 48672 + 32 * 10 + 10


def test_feature_extraction_from_every_layer_and_one_by_name():
    initial = keras.Sequential([keras.Input((8, 8, 3)),
                                layers.Conv2D(4, 3, activation="relu"),
                                layers.Conv2D(5, 3, activation="relu", name="my_intermediate_layer"),
                                layers.Conv2D(2, 3, activation="relu")])
    all_features = keras.Model(inputs=initial.inputs,
                               outputs=[layer.output for layer in initial.layers])
    one_feature = keras.Model(inputs=initial.inputs,
                              outputs=initial.get_layer(name="my_intermediate_layer").output)
    x = RNG.random((2, 8, 8, 3), dtype=np.float32)
    outs = all_features(x)
    assert [tuple(o.shape) for o in outs] == [(2, 6, 6, 4), (2, 4, 4, 5), (2, 2, 2, 2)]
    np.testing.assert_allclose(np.asarray(one_feature(x)), np.asarray(outs[1]), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(outs[-1]), initial.predict(x, verbose=0), rtol=1e-5)


def test_frozen_layers_keep_their_weights_in_fit():
    model = keras.Sequential([keras.Input((8,)), layers.Dense(4, activation="relu"),
                              layers.Dense(4, activation="relu"), layers.Dense(2)])
    for layer in model.layers[:-1]:
        layer.trainable = False
    before = model.get_weights()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(RNG.random((16, 8)), RNG.random((16, 2)), epochs=2, verbose=0)
    after = model.get_weights()
    for b, a in zip(before[:4], after[:4]):
        np.testing.assert_array_equal(b, a)
    assert not np.allclose(before[4], after[4])
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 4


def test_a_frozen_base_model_stacked_in_a_sequential():
    base = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3),
                             layers.GlobalAveragePooling2D()])
    base.trainable = False
    model = keras.Sequential([base, layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    frozen = base.get_weights()
    model.fit(RNG.random((8, 8, 8, 3)), RNG.random((8, 3)), verbose=0)
    for b, a in zip(frozen, base.get_weights()):
        np.testing.assert_array_equal(b, a)
    assert model.count_params() == (3 * 3 * 3 * 4 + 4) + (4 * 3 + 3)
