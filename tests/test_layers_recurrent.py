"""Recurrent layers (SimpleRNN, GRU, LSTM, RNN, cells, Bidirectional) against numpy.

The references are plain numpy loops written from Keras' documented equations
(gate orders LSTM [i, f, c, o], GRU [z, r, h]) and its RNN loop semantics.
"""

import mlx.core as mx
import numpy as np
import pytest
from mlx.utils import tree_flatten

from mlxfunctional import Input, Model, regularizers
from mlxfunctional.engine.functional import Functional
from mlxfunctional.engine.layer import Layer
from mlxfunctional.layers.bidirectional import Bidirectional
from mlxfunctional.layers.recurrent import GRU, LSTM, RNN, SimpleRNN
from mlxfunctional.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell

RNG = np.random.default_rng(0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ------------------------------------------------------------------ numpy reference

def np_simple_step(x, states, w):
    kernel, recurrent, bias = w
    h = np.tanh(x @ kernel + states[0] @ recurrent + bias)
    return h, [h]


def np_gru_step(x, states, w, reset_after=True):
    kernel, recurrent, bias = w
    h_prev = states[0]
    u = h_prev.shape[-1]
    input_bias = bias[0] if reset_after else bias
    xz, xr, xh = (x @ kernel[:, g * u:(g + 1) * u] + input_bias[g * u:(g + 1) * u] for g in range(3))
    if reset_after:
        rb = bias[1]
        z = sigmoid(xz + h_prev @ recurrent[:, :u] + rb[:u])
        r = sigmoid(xr + h_prev @ recurrent[:, u:2 * u] + rb[u:2 * u])
        hh = np.tanh(xh + r * (h_prev @ recurrent[:, 2 * u:] + rb[2 * u:]))
    else:
        z = sigmoid(xz + h_prev @ recurrent[:, :u])
        r = sigmoid(xr + h_prev @ recurrent[:, u:2 * u])
        hh = np.tanh(xh + (r * h_prev) @ recurrent[:, 2 * u:])
    h = z * h_prev + (1 - z) * hh
    return h, [h]


def np_lstm_step(x, states, w):
    kernel, recurrent, bias = w
    h_prev, c_prev = states
    u = h_prev.shape[-1]
    z = x @ kernel + h_prev @ recurrent + bias
    i, f, g, o = (z[:, k * u:(k + 1) * u] for k in range(4))
    c = sigmoid(f) * c_prev + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, [h, c]


def np_rnn(step, x, states, mask=None, go_backwards=False, zero_output_for_mask=False):
    """Keras' RNN loop: returns (all outputs in processing order, last output, states)."""
    steps = x.shape[1]
    order = list(range(steps))[::-1] if go_backwards else list(range(steps))
    outputs, prev = [], None
    for t in order:
        out, new = step(x[:, t], states)
        if mask is not None:
            m = mask[:, t][:, None]
            new = [np.where(m, n, s) for n, s in zip(new, states)]
            fallback = np.zeros_like(out) if prev is None or zero_output_for_mask else prev
            out = np.where(m, out, fallback)
        states, prev = new, out
        outputs.append(out)
    return np.stack(outputs, axis=1), outputs[-1], states


def weights_for(kind, features, units):
    k = {"simple": 1, "gru": 3, "gru_v1": 3, "lstm": 4}[kind]
    bias_shape = {"gru": (2, 3 * units)}.get(kind, (k * units,))
    return [RNG.normal(0, 0.5, (features, k * units)).astype(np.float32),
            RNG.normal(0, 0.5, (units, k * units)).astype(np.float32),
            RNG.normal(0, 0.5, bias_shape).astype(np.float32)]


STEPS = {
    "simple": (lambda u, **kw: SimpleRNN(u, **kw), np_simple_step, 1),
    "gru": (lambda u, **kw: GRU(u, **kw), np_gru_step, 1),
    "gru_v1": (lambda u, **kw: GRU(u, reset_after=False, **kw),
               lambda x, s, w: np_gru_step(x, s, w, reset_after=False), 1),
    "lstm": (lambda u, **kw: LSTM(u, **kw), np_lstm_step, 2),
}


def make(kind, features=3, units=4, batch=None, **kwargs):
    factory, step, n_states = STEPS[kind]
    layer = factory(units, **kwargs)
    layer.build((batch, None, features))
    w = weights_for(kind, features, units)
    layer.set_weights(w)
    return layer, (lambda x, s: step(x, s, w)), n_states


def zeros_states(n, batch, units):
    return [np.zeros((batch, units), np.float32) for _ in range(n)]


def seq(batch=2, steps=5, features=3):
    return RNG.normal(0, 1, (batch, steps, features)).astype(np.float32)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.array(a), b, rtol=tol, atol=tol)


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


# ------------------------------------------------------------------ shapes, params, config

def test_symbolic_shapes_none_timesteps():
    x = Input((None, 6))
    assert LSTM(5)(x).shape == (None, 5)
    assert GRU(5, return_sequences=True)(x).shape == (None, None, 5)
    assert [t.shape for t in SimpleRNN(5, return_sequences=True, return_state=True)(x)] == \
        [(None, None, 5), (None, 5)]
    assert LSTM(5, return_sequences=True, go_backwards=True)(Input((7, 6))).shape == (None, 7, 5)
    assert Bidirectional(GRU(5), merge_mode=None)(x)[1].shape == (None, 5)
    with pytest.raises(ValueError, match="unroll"):
        LSTM(5, unroll=True)(x)


@pytest.mark.parametrize("layer, features, count", [
    (lambda: LSTM(128), 64, 98_816), (lambda: LSTM(32), 64, 12_416),
    (lambda: GRU(32, reset_after=True), 64, 9_408), (lambda: GRU(32, reset_after=False), 64, 9_312),
    (lambda: SimpleRNN(32), 64, 3_104), (lambda: Bidirectional(LSTM(32)), 64, 24_832)])
def test_param_counts(layer, features, count):
    layer = layer()
    layer(Input((None, features)))
    assert layer.count_params() == count


def test_weight_names_layout_and_initializers():
    lstm = LSTM(3)
    lstm.build((None, None, 2))
    assert [s.name for s in lstm.cell._weight_specs] == ["kernel", "recurrent_kernel", "bias"]
    bias = lstm.get_weights()[2]
    np.testing.assert_array_equal(bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    u = lstm.get_weights()[1]  # orthogonal (3, 12): orthonormal rows
    np.testing.assert_allclose(u @ u.T, np.eye(3), atol=1e-5)
    plain = LSTM(3, unit_forget_bias=False)
    plain.build((None, None, 2))
    assert not plain.get_weights()[2].any()
    assert lstm.units == 3 and lstm.unit_forget_bias and GRU(2).reset_after


@pytest.mark.parametrize("make_layer", [
    lambda: LSTM(4, return_sequences=True, go_backwards=True, recurrent_activation="hard_sigmoid"),
    lambda: GRU(4, reset_after=False, return_state=True, kernel_regularizer="l2"),
    lambda: SimpleRNN(4, activation="relu", dropout=0.2),
    lambda: RNN(GRUCell(4), return_sequences=True),
    lambda: Bidirectional(LSTM(4, return_sequences=True), merge_mode="ave"),
])
def test_config_round_trip(make_layer):
    layer = make_layer()
    x = seq()
    y = layer(x)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    clone.build((None, None, 3))
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == config
    ys, clone_ys = (v if isinstance(v, list) else [v] for v in (y, clone(x)))
    assert len(ys) == len(clone_ys)
    for a, b in zip(ys, clone_ys):
        close(a, np.array(b))


def test_model_config_round_trip():
    x = Input((None, 3))
    model = Model(x, Bidirectional(GRU(4, return_sequences=True))(LSTM(3, return_sequences=True)(x)))
    clone = Functional.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    xs = seq()
    close(clone(xs), np.array(model(xs)))


@pytest.mark.parametrize("layer_cls", [LSTM, GRU, SimpleRNN])
def test_wrong_rank(layer_cls):
    layer = layer_cls(4)
    with pytest.raises(ValueError, match=r"(?s)" + layer.name + r".*\(None, 5\)"):
        layer(Input((5,)))
    with pytest.raises(ValueError, match=r"(?s)" + layer.name + r".*\(2, 3, 5, 1\)"):
        layer(np.zeros((2, 3, 5, 1), np.float32))


# ------------------------------------------------------------------ dropout, state, training

def test_input_dropout_mask_is_fixed_per_sequence():
    # Linear SimpleRNN with kernel = I and no recurrence outputs x_t * mask.
    rnn = SimpleRNN(6, activation=None, dropout=0.5, return_sequences=True, seed=1)
    rnn.build((None, None, 6))
    rnn.set_weights([np.eye(6, dtype=np.float32), np.zeros((6, 6), np.float32),
                     np.zeros(6, np.float32)])
    x = np.ones((4, 5, 6), np.float32)
    np.testing.assert_array_equal(np.array(rnn(x)), x)  # inference: no dropout
    out = np.array(rnn(x, training=True))
    assert set(np.unique(out)) <= {0.0, 2.0} and 0 < out.mean() < 2
    assert np.all(out == out[:, :1])  # the same mask at every timestep


def test_recurrent_dropout_mask_is_fixed_per_sequence():
    rnn = SimpleRNN(6, activation=None, recurrent_dropout=0.5, return_sequences=True, seed=2)
    rnn.build((None, None, 1))
    rnn.set_weights([np.zeros((1, 6), np.float32), np.eye(6, dtype=np.float32),
                     np.zeros(6, np.float32)])
    out = np.array(rnn(np.zeros((4, 3, 1), np.float32), training=True,
                       initial_state=[np.ones((4, 6), np.float32)]))
    m = out[:, 0]
    assert set(np.unique(m)) <= {0.0, 2.0}
    np.testing.assert_array_equal(out[:, 1], m * m)
    np.testing.assert_array_equal(out[:, 2], m * m * m)


@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_v1"])
def test_gated_dropout_only_in_training(kind):
    layer, step, n = make(kind, dropout=0.3, recurrent_dropout=0.3)
    x = seq()
    _, last, _ = np_rnn(step, x, zeros_states(n, 2, 4))
    close(layer(x), last)
    close(layer(x, training=False), last)
    assert not np.allclose(np.array(layer(x, training=True)), last, atol=1e-4)


def test_stateful_carries_states():
    layer, step, n = make("lstm", batch=2, stateful=True, return_sequences=True)
    x = seq(batch=2, steps=6)
    full, _, _ = np_rnn(step, x, zeros_states(n, 2, 4))
    first, second = layer(x[:, :3]), layer(x[:, 3:])
    close(first, full[:, :3])
    close(second, full[:, 3:])
    layer.reset_state()
    close(layer(x[:, :3]), full[:, :3])
    with pytest.raises(ValueError, match="batch"):
        LSTM(2, stateful=True)(Input((None, 3)))


def test_gradients_and_regularizer_losses():
    lstm = LSTM(3, kernel_regularizer=regularizers.L2(0.1))
    x = mx.array(seq())
    lstm(x)
    assert len(lstm.losses) == 1
    close(lstm.losses[0], 0.1 * np.sum(lstm.get_weights()[0] ** 2))

    def loss(params):
        lstm.update(params)
        return mx.sum(lstm(x) ** 2)

    _, grads = mx.value_and_grad(loss)(lstm.trainable_parameters())
    flat = tree_flatten(grads)
    assert len(flat) == 3 and all(float(mx.abs(v).sum()) > 0 for _, v in flat)


def test_shape_trace_of_a_very_long_sequence_traces_two_steps():
    # A declared length of 100,000 steps must not unroll 100,000 steps to infer shapes
    # (a hostile model file could otherwise stall the loader); values are untouched.
    from mlxfunctional import Input
    from mlxfunctional.layers.conv_lstm import ConvLSTM2D

    seq = Input((100_000, 8))
    assert LSTM(4, return_sequences=True)(seq).shape == (None, 100_000, 4)
    assert GRU(3, return_sequences=True, go_backwards=True)(seq).shape == (None, 100_000, 3)
    assert ConvLSTM2D(2, 3, return_sequences=True)(Input((10_000, 5, 5, 1))).shape == \
        (None, 10_000, 3, 3, 2)
