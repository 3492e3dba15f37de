"""Recurrent layers (SimpleRNN, GRU, LSTM, RNN, cells, Bidirectional) against numpy.

The references (tests/_rnn_reference.py) are plain numpy loops written from Keras'
documented equations (gate orders LSTM [i, f, c, o], GRU [z, r, h]) and its RNN loop
semantics. Covered here: single cell steps, whole sequences, return_state,
go_backwards, masks, initial states, the generic RNN layer and Bidirectional.

Shapes, parameter counts, configs, errors, dropout, stateful layers and gradients are
in test_layers_recurrent_api.py.
"""

import mlx.core as mx
import numpy as np
import pytest

from _rnn_reference import (RNG, STEPS, close, make, np_gru_step, np_lstm_step, np_rnn, seq,
                            weights_for, zeros_states)
from mlxfunctional import Input, Model
from mlxfunctional.engine.layer import Layer
from mlxfunctional.layers.bidirectional import Bidirectional
from mlxfunctional.layers.recurrent import GRU, LSTM, RNN, SimpleRNN
from mlxfunctional.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell


# ------------------------------------------------------------------ cells, one step

@pytest.mark.parametrize("cell_cls, kind, n", [
    (SimpleRNNCell, "simple", 1), (GRUCell, "gru", 1), (LSTMCell, "lstm", 2)])
def test_cell_one_step(cell_cls, kind, n):
    cell = cell_cls(4)
    w = weights_for(kind, 3, 4)
    cell.build((None, 3))
    cell.set_weights(w)
    x = RNG.normal(size=(2, 3)).astype(np.float32)
    states = [RNG.normal(size=(2, 4)).astype(np.float32) for _ in range(n)]
    out, new = cell(mx.array(x), [mx.array(s) for s in states])
    ref_out, ref_new = STEPS[kind][1](x, states, w)
    close(out, ref_out)
    assert len(new) == n
    for a, b in zip(new, ref_new):
        close(a, b)


def test_gru_cell_reset_before():
    cell = GRUCell(4, reset_after=False)
    cell.build((None, 3))
    assert [w.shape for w in cell.get_weights()] == [(3, 12), (4, 12), (12,)]
    w = weights_for("gru_v1", 3, 4)
    cell.set_weights(w)
    x, h = RNG.normal(size=(2, 3)).astype(np.float32), RNG.normal(size=(2, 4)).astype(np.float32)
    out, _ = cell(mx.array(x), [mx.array(h)])
    close(out, np_gru_step(x, [h], w, reset_after=False)[0])


# ------------------------------------------------------------------ whole sequences

@pytest.mark.parametrize("kind", list(STEPS))
@pytest.mark.parametrize("return_sequences", [False, True])
def test_sequence_against_numpy(kind, return_sequences):
    layer, step, n = make(kind, return_sequences=return_sequences)
    x = seq()
    all_out, last, _ = np_rnn(step, x, zeros_states(n, 2, 4))
    close(layer(x), all_out if return_sequences else last)


@pytest.mark.parametrize("kind", list(STEPS))
def test_return_state(kind):
    layer, step, n = make(kind, return_sequences=True, return_state=True)
    x = seq()
    result = layer(x)
    all_out, _, states = np_rnn(step, x, zeros_states(n, 2, 4))
    assert isinstance(result, list) and len(result) == 1 + n  # LSTM [out, h, c]; else [out, h]
    close(result[0], all_out)
    for a, b in zip(result[1:], states):
        close(a, b)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_go_backwards(kind):
    layer, step, n = make(kind, return_sequences=True, return_state=True, go_backwards=True)
    x = seq()
    out, *states = layer(x)
    all_out, _, ref_states = np_rnn(step, x, zeros_states(n, 2, 4), go_backwards=True)
    close(out, all_out)  # processing (reversed) order, as Keras
    close(states[0], ref_states[0])
    # Not the same as the forward direction.
    assert not np.allclose(np.array(out), np_rnn(step, x, zeros_states(n, 2, 4))[0], atol=1e-3)


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple"])
@pytest.mark.parametrize("zero_output", [False, True])
def test_trailing_padding_mask(kind, zero_output):
    layer, step, n = make(kind, return_sequences=True, return_state=True,
                          zero_output_for_mask=zero_output)
    x = seq(batch=3, steps=6)
    mask = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]], bool)
    out, *states = layer(x, mask=mask)
    all_out, _, ref_states = np_rnn(step, x, zeros_states(n, 3, 4), mask=mask,
                                    zero_output_for_mask=zero_output)
    close(out, all_out)
    for a, b in zip(states, ref_states):
        close(a, b)
    # The final state of a padded sequence is the state at its last real step.
    alone = layer(x[1:2, :3])
    close(states[0][1], np.array(alone[1])[0])
    if not zero_output:
        close(out[1, 5], np.array(out)[1, 2])
    else:
        assert np.all(np.array(out)[1, 3:] == 0)


def test_mask_last_output_and_backwards():
    layer, step, n = make("lstm", go_backwards=True)
    x = seq(batch=2, steps=5)
    mask = np.array([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]], bool)
    _, last, _ = np_rnn(step, x, zeros_states(n, 2, 4), mask=mask, go_backwards=True)
    close(layer(x, mask=mask), last)


def test_compute_mask():
    m = mx.array(np.array([[1, 0]], bool))
    assert LSTM(2, return_sequences=True).compute_mask(None, m) is m
    assert LSTM(2).compute_mask(None, m) is None
    assert LSTM(2, return_sequences=True, return_state=True).compute_mask(None, m) == [m, None, None]
    assert GRU(2, return_state=True).compute_mask(None, m) == [None, None]


class ZeroMask(Layer):
    """Test-only masking layer: steps whose features are all 0 are masked."""

    def compute_mask(self, inputs, mask=None):
        return mx.any(inputs != 0, axis=-1)


def test_mask_flows_through_model():
    inputs = Input((None, 3))
    first = LSTM(4, return_sequences=True)
    second = GRU(2)
    model = Model(inputs, second(first(ZeroMask()(inputs))))
    w1, w2 = weights_for("lstm", 3, 4), weights_for("gru", 4, 2)
    first.set_weights(w1)
    second.set_weights(w2)
    x = seq(batch=2, steps=5)
    x[1, 3:] = 0
    mask = np.any(x != 0, axis=-1)
    h1, _, _ = np_rnn(lambda a, s: np_lstm_step(a, s, w1), x, zeros_states(2, 2, 4), mask=mask)
    _, last, _ = np_rnn(lambda a, s: np_gru_step(a, s, w2), h1, zeros_states(1, 2, 2), mask=mask)
    close(model(x), last)


@pytest.mark.parametrize("kind", ["lstm", "simple"])
def test_initial_state_eager(kind):
    layer, step, n = make(kind, return_sequences=True)
    x = seq()
    init = [RNG.normal(size=(2, 4)).astype(np.float32) for _ in range(n)]
    all_out, _, _ = np_rnn(step, x, init)
    close(layer(x, initial_state=init), all_out)
    with pytest.raises(ValueError, match="state"):
        layer(x, initial_state=init[:1] * (n + 1))


def test_initial_state_symbolic():
    x, h0, c0 = Input((None, 3)), Input((4,)), Input((4,))
    lstm = LSTM(4, return_state=True)
    out, h, c = lstm(x, initial_state=[h0, c0])
    assert out.shape == h.shape == c.shape == (None, 4)
    model = Model([x, h0, c0], [out, c])
    w = weights_for("lstm", 3, 4)
    lstm.set_weights(w)
    xs = seq()
    init = [RNG.normal(size=(2, 4)).astype(np.float32) for _ in range(2)]
    _, last, states = np_rnn(lambda a, s: np_lstm_step(a, s, w), xs, init)
    got_out, got_c = model([xs] + init)
    close(got_out, last)
    close(got_c, states[1])


# ------------------------------------------------------------------ generic RNN

class MinimalCell(Layer):
    """Keras' documented example cell: h = x @ kernel + h_prev @ recurrent_kernel."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                name="recurrent_kernel")

    def call(self, inputs, states):
        h = inputs @ self.kernel + states[0] @ self.recurrent_kernel
        return h, [h]

    def get_config(self):
        return dict(super().get_config(), units=self.units)


def test_rnn_with_custom_cell_and_builtin_cell():
    layer = RNN(MinimalCell(4), return_sequences=True)
    x = seq()
    layer.build((None, None, 3))
    k, u = RNG.normal(0, 0.3, (3, 4)).astype(np.float32), RNG.normal(0, 0.3, (4, 4)).astype(np.float32)
    layer.set_weights([k, u])
    ref, _, _ = np_rnn(lambda a, s: ((a @ k + s[0] @ u), [a @ k + s[0] @ u]), x,
                       zeros_states(1, 2, 4))
    close(layer(x), ref)
    # A built-in cell in the generic layer equals the matching layer.
    lstm, step, _ = make("lstm")
    generic = RNN(LSTMCell(4))
    generic.build((None, None, 3))
    generic.set_weights(lstm.get_weights())
    close(generic(x), np.array(lstm(x)))


# ------------------------------------------------------------------ Bidirectional

@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_merge_modes(merge_mode, return_sequences):
    bi = Bidirectional(LSTM(4, return_sequences=return_sequences), merge_mode=merge_mode)
    bi.build((None, None, 3))
    wf, wb = weights_for("lstm", 3, 4), weights_for("lstm", 3, 4)
    bi.set_weights(wf + wb)
    x = seq()
    f_all, f_last, _ = np_rnn(lambda a, s: np_lstm_step(a, s, wf), x, zeros_states(2, 2, 4))
    b_all, b_last, _ = np_rnn(lambda a, s: np_lstm_step(a, s, wb), x, zeros_states(2, 2, 4),
                              go_backwards=True)
    y, y_rev = (f_all, b_all[:, ::-1]) if return_sequences else (f_last, b_last)
    expected = {"concat": lambda: np.concatenate([y, y_rev], -1), "sum": lambda: y + y_rev,
                "mul": lambda: y * y_rev, "ave": lambda: (y + y_rev) / 2}
    got = bi(x)
    if merge_mode is None:
        close(got[0], y)
        close(got[1], y_rev)
    else:
        close(got, expected[merge_mode]())


def test_bidirectional_structure_and_state():
    bi = Bidirectional(LSTM(8, return_sequences=True, return_state=True))
    x = Input((None, 5))
    out, hf, cf, hb, cb = bi(x)
    assert out.shape == (None, None, 16) and hf.shape == cb.shape == (None, 8)
    assert [l.name for l in (bi.forward_layer, bi.backward_layer)] == ["forward_lstm", "backward_lstm"]
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards
    assert bi.count_params() == 2 * 4 * 8 * (5 + 8 + 1)
    wf, wb = bi.get_weights()[:3], bi.get_weights()[3:]
    assert [w.shape for w in wf] == [w.shape for w in wb] == [(5, 32), (8, 32), (32,)]
    xs = seq(features=5)
    results = bi(xs)
    _, _, sf = np_rnn(lambda a, s: np_lstm_step(a, s, wf), xs, zeros_states(2, 2, 8))
    _, _, sb = np_rnn(lambda a, s: np_lstm_step(a, s, wb), xs, zeros_states(2, 2, 8),
                      go_backwards=True)
    for got, ref in zip(results[1:], sf + sb):
        close(got, ref)


def test_bidirectional_mask_and_initial_state():
    bi = Bidirectional(GRU(3, return_sequences=True), merge_mode="sum")
    bi.build((None, None, 2))
    wf, wb = weights_for("gru", 2, 3), weights_for("gru", 2, 3)
    bi.set_weights(wf + wb)
    x = seq(features=2)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], bool)
    init = [RNG.normal(size=(2, 3)).astype(np.float32) for _ in range(2)]
    f_all, _, _ = np_rnn(lambda a, s: np_gru_step(a, s, wf), x, [init[0]], mask=mask,
                         zero_output_for_mask=True)
    b_all, _, _ = np_rnn(lambda a, s: np_gru_step(a, s, wb), x, [init[1]], mask=mask,
                         go_backwards=True, zero_output_for_mask=True)
    got = bi(x, mask=mask, initial_state=init)
    close(got, f_all + b_all[:, ::-1])
    assert np.all(np.array(got)[1, 3:] == 0)  # masked steps are zeros in both directions
    assert bi.compute_mask(None, mx.array(mask)) is not None


def test_bidirectional_backward_layer_checks():
    with pytest.raises(ValueError, match="go_backwards"):
        Bidirectional(LSTM(2), backward_layer=LSTM(2))
    with pytest.raises(ValueError, match="merge mode"):
        Bidirectional(LSTM(2), merge_mode="max")
    bi = Bidirectional(LSTM(2, return_sequences=True),
                       backward_layer=SimpleRNN(2, return_sequences=True, go_backwards=True))
    assert bi(Input((7, 3))).shape == (None, 7, 4)
