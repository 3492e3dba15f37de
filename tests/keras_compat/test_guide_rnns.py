"""The APIs the Keras guide "Working with RNNs" uses.

Our own programs; parameter counts by formula (what Keras prints in the guide:
164,106 / 361,866 / 258,698 / 80,266), outputs against a numpy LSTM.
"""

import numpy as np

import mlxfunctional as keras
from mlxfunctional import layers

from _rnn_reference import np_lstm_step, np_rnn

RNG = np.random.default_rng(6)


def lstm_params(n_in, units):
    return 4 * (units * (n_in + units) + units)


def gru_params(n_in, units):  # Keras 3's default reset_after=True: two bias rows
    return 3 * (units * (n_in + units) + 2 * units)


def simple_params(n_in, units):
    return units * (n_in + units) + units


def test_embedding_lstm_dense_counts():
    model = keras.Sequential()
    model.add(layers.Embedding(input_dim=1000, output_dim=64))
    model.add(layers.LSTM(128))
    model.add(layers.Dense(10))
    model.build((None, None))
    assert [l.count_params() for l in model.layers] == [64000, lstm_params(64, 128), 1290]
    assert model.count_params() == 164106


def test_return_sequences_shapes_and_counts():
    model = keras.Sequential([keras.Input((None,)), layers.Embedding(1000, 64),
                              layers.GRU(256, return_sequences=True), layers.SimpleRNN(128),
                              layers.Dense(10)])
    assert model.layers[1].output.shape == (None, None, 256)
    assert model.layers[2].output.shape == (None, 128)
    assert model.count_params() == 64000 + gru_params(64, 256) + simple_params(256, 128) + 1290
    assert model.count_params() == 361866


def test_encoder_states_initialize_the_decoder():
    encoder_input = layers.Input(shape=(None,))
    encoded = layers.Embedding(1000, 64)(encoder_input)
    output, state_h, state_c = layers.LSTM(64, return_state=True, name="encoder")(encoded)
    assert output.shape == state_h.shape == state_c.shape == (None, 64)
    decoder_input = layers.Input(shape=(None,))
    decoded = layers.Embedding(2000, 64)(decoder_input)
    decoder = layers.LSTM(64, name="decoder")
    decoder_output = decoder(decoded, initial_state=[state_h, state_c])
    model = keras.Model([encoder_input, decoder_input], layers.Dense(10)(decoder_output))
    assert model.count_params() == 64000 + 128000 + 2 * lstm_params(64, 64) + 650 == 258698

    # The decoder's output equals a numpy LSTM started from the encoder's final state.
    enc_ids, dec_ids = RNG.integers(1000, size=(2, 4)), RNG.integers(2000, size=(2, 3))
    sub = keras.Model([encoder_input, decoder_input], [state_h, state_c, decoder_output])
    h, c, out = sub.predict([enc_ids, dec_ids], verbose=0)
    emb = [l for l in model.layers if isinstance(l, layers.Embedding)]
    dec_table = [e for e in emb if e.input_dim == 2000][0].get_weights()[0]
    w = [np.asarray(v) for v in decoder.get_weights()]
    _, last, _ = np_rnn(lambda x, s: np_lstm_step(x, s, w), dec_table[dec_ids], [h, c])
    np.testing.assert_allclose(out, last, rtol=1e-4, atol=1e-5)


def test_stateful_lstm_continues_across_calls_and_resets():
    p1, p2 = (RNG.random((3, 4, 5)).astype("float32") for _ in range(2))
    stateful = layers.LSTM(6, stateful=True)
    stateful(p1)
    continued = np.asarray(stateful(p2))
    w = [np.asarray(v) for v in stateful.get_weights()]
    zeros = [np.zeros((3, 6), np.float32)] * 2
    _, expected, _ = np_rnn(lambda x, s: np_lstm_step(x, s, w), np.concatenate([p1, p2], 1),
                            zeros)
    np.testing.assert_allclose(continued, expected, rtol=1e-4, atol=1e-5)
    states = [np.asarray(s) for s in stateful.states]
    assert [s.shape for s in states] == [(3, 6), (3, 6)]

    # The recorded states seed a new layer, as the guide's state reuse does.
    fresh = layers.LSTM(6)
    fresh.build((None, None, 5))
    fresh.set_weights(stateful.get_weights())
    p3 = RNG.random((3, 4, 5)).astype("float32")
    np.testing.assert_allclose(np.asarray(fresh(p3, initial_state=stateful.states)),
                               np.asarray(stateful(p3)), rtol=1e-5, atol=1e-6)

    stateful.reset_states()
    np.testing.assert_allclose(np.asarray(stateful(p1)), np.asarray(fresh(p1)), rtol=1e-5,
                               atol=1e-6)


def test_bidirectional_counts_and_concatenation():
    model = keras.Sequential()
    model.add(layers.Bidirectional(layers.LSTM(64, return_sequences=True), input_shape=(5, 10)))
    model.add(layers.Bidirectional(layers.LSTM(32)))
    model.add(layers.Dense(10))
    assert model.layers[0].output.shape == (None, 5, 128)
    assert model.layers[1].output.shape == (None, 64)
    assert model.count_params() == 2 * lstm_params(10, 64) + 2 * lstm_params(128, 32) + 650
    assert model.count_params() == 80266

    bi = layers.Bidirectional(layers.LSTM(3))
    x = RNG.random((2, 4, 5)).astype("float32")
    out = np.asarray(bi(x))
    fw = [np.asarray(v) for v in bi.forward_layer.get_weights()]
    bw = [np.asarray(v) for v in bi.backward_layer.get_weights()]
    zeros = [np.zeros((2, 3), np.float32)] * 2
    _, f_last, _ = np_rnn(lambda a, s: np_lstm_step(a, s, fw), x, zeros)
    _, b_last, _ = np_rnn(lambda a, s: np_lstm_step(a, s, bw), x, zeros, go_backwards=True)
    np.testing.assert_allclose(out, np.concatenate([f_last, b_last], -1), rtol=1e-4, atol=1e-5)


def build_model(cell_level):
    lstm = (layers.RNN(layers.LSTMCell(8), input_shape=(None, 28)) if cell_level
            else layers.LSTM(8, input_shape=(None, 28)))
    return keras.models.Sequential([lstm, layers.BatchNormalization(), layers.Dense(10)])


def test_rnn_of_lstmcell_equals_lstm_and_trains_on_image_rows():
    (x_train, y_train), _ = keras.datasets.mnist.load_data(sample=True)
    x, y = x_train[:64] / 255.0, y_train[:64]
    model = build_model(cell_level=False)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer="sgd", metrics=["accuracy"])
    history = model.fit(x, y, validation_data=(x[:16], y[:16]), batch_size=32, epochs=1,
                        verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    cell_model = build_model(cell_level=True)
    cell_model.set_weights(model.get_weights())
    np.testing.assert_allclose(cell_model.predict(x[:8], verbose=0),
                               model.predict(x[:8], verbose=0), rtol=1e-4, atol=1e-5)
    one = cell_model.predict_on_batch(np.expand_dims(x[0], 0))
    assert one.shape == (1, 10)


class PairCell(layers.Layer):
    """A cell on a pair of inputs (a vector and a matrix per timestep), with a vector
    state and a matrix state: state_size and outputs are nested."""

    def __init__(self, units, columns, **kwargs):
        super().__init__(**kwargs)
        self.units, self.columns = units, columns
        self.state_size = [units, (None, columns)]  # filled in build (rows of the matrix)

    def build(self, input_shapes):
        (_, features), (_, rows, width) = input_shapes
        self.state_size = [self.units, (rows, self.columns)]
        self.kernel = self.add_weight(shape=(features, self.units), name="kernel")
        self.recurrent = self.add_weight(shape=(self.units, self.units), name="recurrent")
        self.mixer = self.add_weight(shape=(width, self.columns), name="mixer")

    def call(self, inputs, states):
        vector, matrix = inputs
        h = keras.ops.tanh(keras.ops.matmul(vector, self.kernel)
                           + keras.ops.matmul(states[0], self.recurrent))
        m = states[1] + keras.ops.matmul(matrix, self.mixer)
        return (h, m), (h, m)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "columns": self.columns}


def pair_cell_reference(cell, vectors, matrices, mask=None):
    k, r, w = (np.asarray(v) for v in cell.get_weights())
    h = np.zeros((len(vectors), k.shape[1]), np.float32)
    m = np.zeros((len(vectors), matrices.shape[2], w.shape[1]), np.float32)
    hs, ms = [], []
    for t in range(vectors.shape[1]):
        new_h = np.tanh(vectors[:, t] @ k + h @ r)
        new_m = m + matrices[:, t] @ w
        if mask is not None:
            keep = mask[:, t]
            new_h = np.where(keep[:, None], new_h, h)
            new_m = np.where(keep[:, None, None], new_m, m)
        h, m = new_h, new_m
        hs.append(h)
        ms.append(m)
    return np.stack(hs, 1), np.stack(ms, 1)


def test_a_cell_with_nested_inputs_states_and_outputs():
    vectors = RNG.normal(size=(4, 5, 3)).astype(np.float32)
    matrices = RNG.normal(size=(4, 5, 2, 6)).astype(np.float32)
    in_v, in_m = keras.Input((None, 3)), keras.Input((None, 2, 6))
    rnn = layers.RNN(PairCell(7, 4), return_sequences=True)
    seq_h, seq_m = rnn((in_v, in_m))
    assert seq_h.shape == (None, None, 7) and seq_m.shape == (None, None, 2, 4)
    model = keras.Model([in_v, in_m], [seq_h, seq_m])
    got_h, got_m = model.predict([vectors, matrices], verbose=0)
    want_h, want_m = pair_cell_reference(rnn.cell, vectors, matrices)
    np.testing.assert_allclose(got_h, want_h, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got_m, want_m, rtol=1e-4, atol=1e-5)

    # The last step only, under a mask: masked steps keep both states.
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 1, 0, 1], [1, 1, 1, 1, 0]], bool)
    last_h, last_m = layers.RNN(rnn.cell)((vectors, matrices), mask=mask)
    want_h, want_m = pair_cell_reference(rnn.cell, vectors, matrices, mask)
    np.testing.assert_allclose(np.asarray(last_h), want_h[:, -1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(last_m), want_m[:, -1], rtol=1e-4, atol=1e-5)


def test_a_nested_cell_trains_on_two_targets_and_reloads(tmp_path):
    in_v, in_m = keras.Input((None, 3)), keras.Input((None, 2, 6))
    outputs = layers.RNN(PairCell(7, 4))((in_v, in_m))
    model = keras.Model([in_v, in_m], list(outputs))
    model.compile(optimizer="adam", loss="mse")
    x = [RNG.random((32, 6, 3), dtype=np.float32), RNG.random((32, 6, 2, 6), dtype=np.float32)]
    y = [RNG.random((32, 7), dtype=np.float32), RNG.random((32, 2, 4), dtype=np.float32)]
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "nested.mlxf")
    loaded = keras.models.load_model(tmp_path / "nested.mlxf",
                                     custom_objects={"PairCell": PairCell})
    for a, b in zip(model.predict(x, verbose=0), loaded.predict(x, verbose=0)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
