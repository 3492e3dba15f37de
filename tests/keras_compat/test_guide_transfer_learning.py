"""The APIs the Keras 3 guide "Transfer learning & fine-tuning" uses.

Our own programs; the weight counts are the ones Keras prints in the guide, and
frozen-ness is checked on the weight values themselves. The guide's Xception
base and its Resizing/RandomFlip/RandomRotation/Rescaling layers are not in this
package; a small convolutional base with BatchNormalization stands in.
"""

import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers

RNG = np.random.default_rng(5)


def counts(layer):
    return len(layer.weights), len(layer.trainable_weights), len(layer.non_trainable_weights)


def test_trainable_and_non_trainable_weights_as_keras_prints_them():
    dense = layers.Dense(3)
    dense.build((None, 4))
    assert counts(dense) == (2, 2, 0)
    bn = layers.BatchNormalization()
    bn.build((None, 4))
    assert counts(bn) == (4, 2, 2)  # gamma, beta | moving mean, moving variance
    frozen = layers.Dense(3)
    frozen.build((None, 4))
    frozen.trainable = False
    assert counts(frozen) == (2, 0, 2)


def test_a_frozen_layer_is_not_updated_by_fit():
    layer1 = layers.Dense(3, activation="relu")
    layer2 = layers.Dense(3, activation="sigmoid")
    model = keras.Sequential([keras.Input((3,)), layer1, layer2])
    layer1.trainable = False
    before = layer1.get_weights()
    before2 = layer2.get_weights()
    model.compile(optimizer="adam", loss="mse")
    model.fit(RNG.random((2, 3)), RNG.random((2, 3)), verbose=0)
    for b, a in zip(before, layer1.get_weights()):
        np.testing.assert_array_equal(b, a)
    assert not np.allclose(before2[0], layer2.get_weights()[0])


def test_trainable_propagates_recursively():
    inner = keras.Sequential([keras.Input((3,)), layers.Dense(3, activation="relu"),
                              layers.Dense(3, activation="relu")])
    model = keras.Sequential([keras.Input((3,)), inner, layers.Dense(3, activation="sigmoid")])
    model.trainable = False
    assert inner.trainable is False
    assert inner.layers[0].trainable is False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 6
    model.trainable = True
    assert inner.layers[0].trainable is True and len(model.trainable_weights) == 6


def base_model():
    return keras.Sequential([keras.Input((12, 12, 3)), layers.Conv2D(4, 3),
                             layers.BatchNormalization(), layers.Activation("relu")],
                            name="base")


def test_frozen_batchnorm_runs_in_inference_mode_and_keeps_its_statistics():
    base = base_model()
    base.trainable = False
    inputs = keras.Input((12, 12, 3))
    x = base(inputs, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)
    assert model.count_params() == (27 * 4 + 4) + 4 * 4 + 5
    assert len(model.trainable_weights) == 2
    bn = base.layers[1]
    stats = [w.copy() for w in bn.get_weights()]
    model.compile(optimizer=keras.optimizers.Adam(),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy()])
    x_data = RNG.random((16, 12, 12, 3)).astype("float32") * 255 / 127.5 - 1
    y_data = RNG.integers(2, size=(16, 1)).astype("float32")
    model.fit(x_data, y_data, epochs=2, batch_size=8, verbose=0)
    for b, a in zip(stats, bn.get_weights()):
        np.testing.assert_array_equal(b, a)

    # Fine-tuning: unfreeze everything and recompile. The base still runs in inference
    # mode (training=False was fixed when the model was built): moving stats stay put,
    # while the convolution and the BN scale/offset now train.
    base.trainable = True
    assert len(model.trainable_weights) == 2 + 2 + 2
    conv_before = base.layers[0].get_weights()[0].copy()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy()])
    model.fit(x_data, y_data, epochs=1, batch_size=8, verbose=0)
    assert not np.allclose(conv_before, base.layers[0].get_weights()[0])
    np.testing.assert_array_equal(stats[2], bn.get_weights()[2])
    np.testing.assert_array_equal(stats[3], bn.get_weights()[3])
    loss, acc = model.evaluate(x_data, y_data, verbose=0)
    logits = model.predict(x_data, verbose=0)
    # BinaryAccuracy thresholds the raw outputs at 0.5 (logits included), as Keras does.
    assert acc == pytest.approx(((logits > 0.5) == (y_data > 0.5)).mean())


def test_summary_shows_which_layers_train(capsys):
    base = base_model()
    base.trainable = False
    inputs = keras.Input((12, 12, 3))
    model = keras.Model(inputs, layers.Dense(1)(layers.GlobalAveragePooling2D()(base(inputs))))
    model.summary(show_trainable=True)
    out = capsys.readouterr().out
    base_line = next(line for line in out.splitlines() if line.startswith("base (Sequential)"))
    assert base_line.split()[-1] == "N" and "128" in base_line
    dense_line = next(line for line in out.splitlines() if line.startswith("dense"))
    assert dense_line.split()[-1] == "Y"
    # Layers without weights are neither: Keras 3 prints "-".
    for name in ("input_layer", "global_average_pooling2d"):
        line = next(line for line in out.splitlines() if line.startswith(name))
        assert line.split()[-1] == "-"
    assert "Trainable params: 5" in out and "Non-trainable params: 128" in out
