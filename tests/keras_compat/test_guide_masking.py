"""The APIs the Keras 3 guide "Understanding masking & padding" uses.

Our own programs; padding is checked against hand-written arrays, masks against
``ids != 0``, and a masked LSTM against a numpy LSTM that skips padded steps.
"""

import mlx.core as mx
import numpy as np

import mlxfunctional as keras
from mlxfunctional import layers, ops

from _rnn_reference import np_lstm_step, np_rnn

RNG = np.random.default_rng(8)
RAGGED = [[7, 6, 1], [3, 8, 2, 5, 9], [4, 9, 1, 6, 2, 9]]


def test_pad_sequences_pre_and_post():
    post = keras.utils.pad_sequences(RAGGED, padding="post")
    np.testing.assert_array_equal(post, [[7, 6, 1, 0, 0, 0], [3, 8, 2, 5, 9, 0],
                                         [4, 9, 1, 6, 2, 9]])
    pre = keras.utils.pad_sequences(RAGGED)  # Keras pads (and truncates) at the start
    np.testing.assert_array_equal(pre[0], [0, 0, 0, 7, 6, 1])
    short = keras.utils.pad_sequences(RAGGED, maxlen=4, padding="post")
    np.testing.assert_array_equal(short, [[7, 6, 1, 0], [8, 2, 5, 9], [1, 6, 2, 9]])
    assert post.dtype == np.int32


def test_embedding_mask_zero_computes_ids_not_equal_zero():
    ids = keras.utils.pad_sequences(RAGGED, padding="post")
    embedding = layers.Embedding(input_dim=10, output_dim=4, mask_zero=True)
    np.testing.assert_array_equal(np.asarray(embedding.compute_mask(ids)), ids != 0)
    assert layers.Embedding(10, 4).compute_mask(ids) is None


def test_symbolic_tensors_carry_their_mask_as_keras_mask():
    inputs = keras.Input((None,), dtype="int32")
    assert inputs._keras_mask is None
    x = layers.Embedding(10, 4, mask_zero=True)(inputs)
    mask = x._keras_mask
    assert mask.shape == (None, None) and mask.dtype == "bool"
    assert x._keras_mask is mask

    class MyActivation(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True  # passes the mask along

        def call(self, inputs):
            return ops.relu(inputs)

    y = MyActivation()(x)
    assert y._keras_mask is not None
    assert layers.Dense(3)(x)._keras_mask is not None  # Dense supports masking, as in Keras
    model = keras.Model(inputs, [y, y._keras_mask])
    ids = keras.utils.pad_sequences(RAGGED, padding="post")
    _, got = model.predict(ids, verbose=0)
    np.testing.assert_array_equal(got, ids != 0)
    rebuilt = keras.Model.from_config(model.get_config(),
                                      custom_objects={"MyActivation": MyActivation})
    np.testing.assert_array_equal(rebuilt.predict(ids, verbose=0)[1], ids != 0)


def masked_lstm_reference(lstm, embedded, ids):
    w = [np.asarray(v) for v in lstm.get_weights()]
    zeros = [np.zeros((len(ids), lstm.units), np.float32)] * 2
    _, last, _ = np_rnn(lambda x, s: np_lstm_step(x, s, w), embedded, zeros, mask=ids != 0)
    return last


def test_the_mask_reaches_the_lstm_in_sequential_and_functional_models():
    ids = keras.utils.pad_sequences(RAGGED, padding="post")
    seq = keras.Sequential([layers.Embedding(10, 4, mask_zero=True), layers.LSTM(3)])
    out = np.asarray(seq(ids))
    table = seq.layers[0].get_weights()[0]
    np.testing.assert_allclose(out, masked_lstm_reference(seq.layers[1], table[ids], ids),
                               rtol=1e-4, atol=1e-5)
    # Padding at the end changes nothing: the last real step's output is returned.
    unpadded = keras.Sequential(seq.layers)
    np.testing.assert_allclose(np.asarray(unpadded(ids[:1, :3])), out[:1], rtol=1e-5, atol=1e-6)

    inputs = keras.Input((None,), dtype="int32")
    x = layers.Embedding(10, 4, mask_zero=True)(inputs)
    func = keras.Model(inputs, layers.LSTM(3)(x))
    func.set_weights(seq.get_weights())
    np.testing.assert_allclose(func.predict(ids, verbose=0), out, rtol=1e-5, atol=1e-6)


def test_a_layer_passes_a_computed_mask_to_a_sublayer():
    class Encoder(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.embedding = layers.Embedding(10, 4, mask_zero=True)
            self.lstm = layers.LSTM(3)

        def call(self, inputs):
            x = self.embedding(inputs)
            mask = self.embedding.compute_mask(inputs)
            return self.lstm(x, mask=mask)

    ids = keras.utils.pad_sequences(RAGGED, padding="post")
    encoder = Encoder()
    out = np.asarray(encoder(ids))
    table = encoder.embedding.get_weights()[0]
    np.testing.assert_allclose(out, masked_lstm_reference(encoder.lstm, table[ids], ids),
                               rtol=1e-4, atol=1e-5)


def test_custom_compute_mask_splits_the_mask_with_the_tensor():
    class TemporalSplit(layers.Layer):
        def call(self, inputs):
            return ops.split(inputs, 2, axis=1)

        def compute_mask(self, inputs, mask=None):
            return None if mask is None else ops.split(mask, 2, axis=1)

    inputs = keras.Input((6,), dtype="int32")
    x = layers.Embedding(10, 4, mask_zero=True)(inputs)
    first, second = TemporalSplit()(x)
    assert first.shape == second.shape == (None, 3, 4)
    model = keras.Model(inputs, [first._keras_mask, second._keras_mask])
    ids = keras.utils.pad_sequences(RAGGED, padding="post")
    m1, m2 = model.predict(ids, verbose=0)
    np.testing.assert_array_equal(m1, ids[:, :3] != 0)
    np.testing.assert_array_equal(m2, ids[:, 3:] != 0)
def test_a_custom_embedding_generates_a_mask():
    class CustomEmbedding(layers.Layer):
        def __init__(self, input_dim, output_dim, mask_zero=False, **kwargs):
            super().__init__(**kwargs)
            self.input_dim, self.output_dim, self.mask_zero = input_dim, output_dim, mask_zero

        def build(self, input_shape):
            self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                              initializer="random_normal", dtype="float32")

        def call(self, inputs):
            return ops.take(self.embeddings, inputs, axis=0)

        def compute_mask(self, inputs, mask=None):
            return ops.not_equal(inputs, 0) if self.mask_zero else None

    layer = CustomEmbedding(10, 32, mask_zero=True)
    ids = RNG.integers(10, size=(3, 10))
    y = np.asarray(layer(ids))
    np.testing.assert_allclose(y, np.asarray(layer.embeddings)[ids])
    np.testing.assert_array_equal(np.asarray(layer.compute_mask(ids)), ids != 0)
    inputs = keras.Input((None,), dtype="int32")
    out = layers.LSTM(2)(CustomEmbedding(10, 4, mask_zero=True)(inputs))
    assert keras.Model(inputs, out).predict(ids, verbose=0).shape == (3, 2)


def test_a_layer_reads_the_mask_in_call():
    class TemporalSoftmax(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            assert mask is not None
            keep = ops.expand_dims(ops.cast(mask, "float32"), -1)
            exp = ops.exp(inputs) * keep
            return exp / ops.sum(exp, axis=1, keepdims=True)

    inputs = keras.Input((None,), dtype="int32")
    x = layers.Dense(1)(layers.Embedding(10, 4, mask_zero=True)(inputs))
    model = keras.Model(inputs, TemporalSoftmax()(x))
    ids = keras.utils.pad_sequences(RAGGED, padding="post")
    got = model.predict(ids, verbose=0)[..., 0]
    scores = model.layers[2].get_weights()
    table = model.layers[1].get_weights()[0]
    logits = (table[ids] @ scores[0] + scores[1])[..., 0]
    expected = np.exp(logits) * (ids != 0)
    np.testing.assert_allclose(got, expected / expected.sum(1, keepdims=True), rtol=1e-5)


def test_eager_outputs_carry_their_mask_and_pass_it_on():
    ids = keras.utils.pad_sequences(RAGGED, padding="post")
    embedding = layers.Embedding(10, 4, mask_zero=True)
    embedded = embedding(ids)
    np.testing.assert_array_equal(np.asarray(embedded._keras_mask), ids != 0)
    assert not hasattr(layers.Embedding(10, 4)(ids), "_keras_mask")
    assert not hasattr(embedded * 2, "_keras_mask")  # arithmetic drops it, as in Keras
    # The next layer called on the output receives the mask without being given it.
    lstm = layers.LSTM(3)
    table = embedding.get_weights()[0]
    out = np.asarray(lstm(embedded))
    expected = masked_lstm_reference(lstm, table[ids], ids)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    unmasked = np.asarray(lstm(mx.array(table[ids])))
    assert np.abs(unmasked - expected).max() > 1e-3  # the mask made the difference


def test_masking_layer_masks_timesteps_equal_to_the_mask_value():
    x = RNG.normal(size=(2, 5, 3)).astype(np.float32)
    x[0, 1] = -1.0
    x[1, 3:] = -1.0
    x[1, 0, 0] = -1.0  # one feature at the value does not mask the step
    layer = layers.Masking(mask_value=-1.0)
    out = layer(x)
    keep = np.any(x != -1.0, axis=-1)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), keep)
    np.testing.assert_allclose(np.asarray(out), x * keep[..., None])
    assert layers.Masking.from_config(layer.get_config()).mask_value == -1.0

    inputs = keras.Input((5, 3))
    masked = layers.Masking(mask_value=-1.0)(inputs)
    model = keras.Model(inputs, [masked, masked._keras_mask])
    got, mask = model.predict(x, verbose=0)
    np.testing.assert_array_equal(mask, keep)
    np.testing.assert_allclose(got, x * keep[..., None])


def test_eager_split_outputs_each_carry_their_part_of_the_mask():
    class TemporalSplit(layers.Layer):
        def call(self, inputs):
            return ops.split(inputs, 2, axis=1)

        def compute_mask(self, inputs, mask=None):
            return None if mask is None else ops.split(mask, 2, axis=1)

    ids = keras.utils.pad_sequences(RAGGED, padding="post")
    first, second = TemporalSplit()(layers.Embedding(10, 4, mask_zero=True)(ids))
    np.testing.assert_array_equal(np.asarray(first._keras_mask), ids[:, :3] != 0)
    np.testing.assert_array_equal(np.asarray(second._keras_mask), ids[:, 3:] != 0)
