"""Recurrent layers beyond the forward values: symbolic shapes, parameter counts,
weight names and initializers, config round trips and rank errors; dropout masks,
stateful layers, gradients and regularizer losses, and shape inference on very long
sequences. Numpy references in tests/_rnn_reference.py."""

import mlx.core as mx
import numpy as np
import pytest
from mlx.utils import tree_flatten

from _rnn_reference import close, make, np_rnn, seq, zeros_states
from mlxfunctional import Input, Model, regularizers
from mlxfunctional.engine.functional import Functional
from mlxfunctional.layers.bidirectional import Bidirectional
from mlxfunctional.layers.recurrent import GRU, LSTM, RNN, SimpleRNN
from mlxfunctional.layers.rnn_cells import GRUCell


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
