"""Issue 14: the keras.io "Text classification with Transformer" model built with the
functional API (tests/_transformer_example.py): its parameter count from the weight
shapes, training with fit on a synthetic task, and save / load / predict identically
(in this process and in a fresh one)."""

import os

import numpy as np

import mlxfunctional as keras

from _attention_reference import fresh_process_predict
from _model_roundtrip import roundtrip
from _transformer_example import transformer_classifier

MAXLEN, VOCAB = 200, 20000


def synthetic_reviews(n, seed):
    """Token sequences of "filler" ids (100..19999); a positive one holds 20 marker
    tokens (ids 1..9) at random places. The classifier must find them anywhere."""
    rng = np.random.default_rng(seed)
    x = rng.integers(100, VOCAB, size=(n, MAXLEN)).astype("int32")
    y = rng.integers(0, 2, size=n).astype("int32")
    for i in np.flatnonzero(y):
        x[i, rng.choice(MAXLEN, 20, replace=False)] = rng.integers(1, 10, size=20)
    return x, y


def test_parameter_count_from_the_weight_shapes():
    model = transformer_classifier()
    # token embedding 20000*32 = 640,000; position embedding 200*32 = 6,400;
    # MultiHeadAttention: query/key/value kernels (32, 2, 32) + biases (2, 32):
    #   3 * (2,048 + 64) = 6,336, attention_output (2, 32, 32) + (32,) = 2,080 -> 8,416;
    # two LayerNormalizations 2 * (32 + 32) = 128; FFN 32*32+32 + 32*32+32 = 2,112;
    # Dense(20) 32*20+20 = 660; Dense(2) 20*2+2 = 42.
    # 640,000 + 6,400 + 8,416 + 128 + 2,112 + 660 + 42 = 657,758
    assert model.count_params() == 657_758
    by_layer = {l.name: l.count_params() for l in model.layers}
    assert by_layer["multi_head_attention"] == 8_416
    assert by_layer["token_and_position_embedding"] == 646_400
    mha = model.get_layer("multi_head_attention")
    assert [w.shape for w in mha.get_weights()] == [(32, 2, 32), (2, 32)] * 3 + [(2, 32, 32),
                                                                                (32,)]


def test_trains_with_fit_and_round_trips(tmp_path):
    keras.utils.set_random_seed(1)
    x, y = synthetic_reviews(512, seed=0)
    x_val, y_val = synthetic_reviews(256, seed=1)
    model = transformer_classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=3, validation_data=(x_val, y_val),
                        verbose=0)
    # Stated accuracy: >= 0.95 on the held-out set after 3 epochs (chance is 0.5).
    val_acc = history.history["val_accuracy"][-1]
    assert val_acc >= 0.95, history.history
    predicted = model.predict(x_val, verbose=0)
    assert np.mean(predicted.argmax(-1) == y_val) >= 0.95

    loaded = roundtrip(model, str(tmp_path), x_val[:16])
    assert np.array_equal(loaded.predict(x_val, verbose=0), predicted)
    path = os.path.join(str(tmp_path), "transformer.mlxf")
    model.save(path)
    (fresh,) = fresh_process_predict(path, [x_val], tmp_path,
                                     imports=["_transformer_example"])
    assert np.array_equal(fresh, predicted)
