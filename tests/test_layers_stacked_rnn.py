"""StackedRNNCells (a list of cells run as one cell by RNN).

Truths: a numpy loop of the two cells stacked (tests/_rnn_reference.py's LSTM and
GRU steps, written from Keras' equations), and the numbers Keras 3.15 publishes in
its own stacked-cells tests (keras/src/layers/rnn/stacked_rnn_cells_test.py), which
use all-ones cells and so can be checked by hand.
"""

import mlx.core as mx
import numpy as np
import pytest
from mlx.utils import tree_flatten

from _rnn_reference import np_gru_step, np_lstm_step, np_rnn
from mlxfunctional import Input, Model
from mlxfunctional import layers as L
from mlxfunctional.engine.functional import Functional
from mlxfunctional.engine.layer import Layer
from mlxfunctional.layers import GRUCell, LSTMCell, RNN, StackedRNNCells
from mlxfunctional.optimizers import Adam
from mlxfunctional.utils import set_random_seed
from tests._fresh_process import roundtrip_in_fresh_process

RNG = np.random.default_rng(14)
FEATURES, U1, U2 = 5, 4, 3


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.array(a), b, rtol=tol, atol=tol)


def random_weights():
    """Keras' order: the LSTM cell's kernel, recurrent_kernel, bias, then the GRU's."""
    shapes = [(FEATURES, 4 * U1), (U1, 4 * U1), (4 * U1,),
              (U1, 3 * U2), (U2, 3 * U2), (2, 3 * U2)]
    return [RNG.normal(0, 0.5, s).astype(np.float32) for s in shapes]


def np_stack_step(w):
    def step(x, states):
        h1, c1, h2 = states
        y1, (h1, c1) = np_lstm_step(x, [h1, c1], w[:3])
        y2, (h2,) = np_gru_step(y1, [h2], w[3:])
        return y2, [h1, c1, h2]
    return step


def stacked(**kwargs):
    layer = RNN(StackedRNNCells([LSTMCell(U1), GRUCell(U2)]), **kwargs)
    layer.build((None, None, FEATURES))
    w = random_weights()
    layer.set_weights(w)
    return layer, np_stack_step(w)


def seq(batch=3, steps=6):
    return RNG.normal(0, 1, (batch, steps, FEATURES)).astype(np.float32)


def zeros(batch):
    return [np.zeros((batch, U1), np.float32), np.zeros((batch, U1), np.float32),
            np.zeros((batch, U2), np.float32)]


# ------------------------------------------------------------------ forward values

@pytest.mark.parametrize("go_backwards", [False, True])
def test_forward_matches_the_numpy_stack_with_nested_states(go_backwards):
    layer, step = stacked(return_sequences=True, return_state=True, go_backwards=go_backwards)
    x = seq()
    all_out, _, (h1, c1, h2) = np_rnn(step, x, zeros(3), go_backwards=go_backwards)
    out, lstm_states, gru_states = layer(x)
    # Keras nests the states per cell, each cell's as a list (the built-in cells make
    # their initial states as lists).
    assert isinstance(lstm_states, list) and len(lstm_states) == 2
    assert isinstance(gru_states, list) and len(gru_states) == 1
    close(out, all_out)
    close(lstm_states[0], h1)
    close(lstm_states[1], c1)
    close(gru_states[0], h2)
    # The stack's output is the last cell's output, which for a GRU is its state.
    close(out[:, -1], h2)


def test_initial_state_nested_or_flat():
    layer, step = stacked()
    x = seq(batch=2)
    init = [RNG.normal(0, 1, (2, u)).astype(np.float32) for u in (U1, U1, U2)]
    _, last, _ = np_rnn(step, x, init)
    close(layer(x, initial_state=[[init[0], init[1]], [init[2]]]), last)
    close(layer(x, initial_state=init), last)
    with pytest.raises(ValueError, match="3 state"):
        layer(x, initial_state=init[:2])
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        layer(x, initial_state=[init[0], init[1], init[0]])


def test_masked_steps_keep_every_cells_states():
    layer, step = stacked(return_sequences=True, return_state=True)
    x = seq(batch=3, steps=5)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 1, 0], [1, 0, 0, 0, 0]], bool)
    all_out, _, (h1, c1, h2) = np_rnn(step, x, zeros(3), mask=mask)
    out, (mh1, mc1), (mh2,) = layer(x, mask=mask)
    close(out, all_out)
    close(mh1, h1)
    close(mc1, c1)
    close(mh2, h2)


def test_keras_published_masked_stacked_lstm():
    # Keras' test_stacked_lstm_cell_mask: two LSTMCell(1) with ones kernels.
    cells = [LSTMCell(1, kernel_initializer="ones", recurrent_initializer="ones")
             for _ in range(2)]
    mask = np.array([[True, True, True], [True, True, False]])
    out = RNN(cells)(np.ones((2, 3, 4), np.float32), mask=mask)
    close(out, np.array([[0.7793], [0.5998]]), tol=1e-4)


# Keras' own test cells (rnn_test.py), written again: ones kernels, no bias.
class OneStateCell(Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="ones")

    def call(self, inputs, states):
        out = inputs @ self.kernel + states[0] @ self.recurrent_kernel
        return out, [out]


class TwoStatesCell(Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones")
        self.recurrent_kernel_1 = self.add_weight(shape=(self.units, self.units),
                                                  initializer="ones")
        self.recurrent_kernel_2 = self.add_weight(shape=(self.units, self.units),
                                                  initializer="ones")

    def call(self, inputs, states):
        h = inputs @ self.kernel
        # As Keras' test cell: both outputs read the first state.
        one, two = h + states[0] @ self.recurrent_kernel_1, h + states[0] @ self.recurrent_kernel_2
        return one + two, [one, two]


KERAS_SEQ = np.arange(24).reshape((2, 3, 4)).astype(np.float32)


def test_keras_published_numbers_for_custom_cells():
    out, state_1, state_2 = RNN([OneStateCell(3), OneStateCell(2)], return_sequences=True,
                                return_state=True)(KERAS_SEQ)
    close(out, np.array([[[18, 18], [156, 156], [786, 786]],
                         [[162, 162], [1020, 1020], [4386, 4386]]]))
    # A cell with an int state_size and no get_initial_state holds one bare array.
    assert isinstance(state_1, mx.array) and isinstance(state_2, mx.array)
    close(state_1, np.array([[158] * 3, [782] * 3]))
    close(state_2, np.array([[786] * 2, [4386] * 2]))

    out, state_1, state_2 = RNN([TwoStatesCell(3), TwoStatesCell(2)],
                                return_state=True)(KERAS_SEQ)
    close(out, np.array([[3144, 3144], [17544, 17544]]))
    close(state_1[0], np.array([[158] * 3, [782] * 3]))
    close(state_1[1], np.array([[158] * 3, [782] * 3]))
    close(state_2[0], np.array([[1572] * 2, [8772] * 2]))
    close(state_2[1], np.array([[1572] * 2, [8772] * 2]))


def test_a_custom_cell_then_a_built_in_cell():
    # The custom cell runs through its call(); the LSTM cell after it through the
    # split path (its input projection per step).
    layer = RNN([OneStateCell(3), LSTMCell(2)], return_state=True)
    layer.build((None, None, 4))
    w = [RNG.normal(0, 0.5, s).astype(np.float32) for s in [(3, 8), (2, 8), (8,)]]
    layer.set_weights([np.ones((4, 3), np.float32), np.ones((3, 3), np.float32)] + w)
    x = RNG.normal(0, 0.3, (2, 3, 4)).astype(np.float32)

    def step(x_t, states):
        h0, h1, c1 = states
        h0 = x_t @ np.ones((4, 3)) + h0 @ np.ones((3, 3))
        y, (h1, c1) = np_lstm_step(h0, [h1, c1], w)
        return y, [h0, h1, c1]

    _, last, (h0, h1, c1) = np_rnn(step, x, [np.zeros((2, 3)), np.zeros((2, 2)),
                                            np.zeros((2, 2))])
    out, first_state, (lh1, lc1) = layer(x)
    assert isinstance(first_state, mx.array)  # int state_size: a bare array, as Keras
    close(out, last)
    close(first_state, h0)
    close(lh1, h1)
    close(lc1, c1)


def test_a_stack_inside_a_stack_runs_as_the_flat_stack():
    x = seq(batch=2, steps=4)
    flat = RNN([LSTMCell(U1), GRUCell(U2), L.SimpleRNNCell(2)], return_state=True)
    inner = RNN([StackedRNNCells([LSTMCell(U1), GRUCell(U2)]), L.SimpleRNNCell(2)],
                return_state=True)
    inner.build((None, None, FEATURES))
    flat.build((None, None, FEATURES))
    flat.set_weights([RNG.normal(0, 0.5, w.shape).astype(np.float32)
                      for w in flat.get_weights()])
    inner.set_weights(flat.get_weights())
    out, *states = flat(x)
    inner_out, ((h1, c1), (h2,)), (h3,) = inner(x)  # the inner stack's states nest again
    close(inner_out, np.array(out))
    for a, b in zip((h1, c1, h2, h3), [s for cell in states for s in cell]):
        close(a, np.array(b))


@pytest.mark.parametrize("cell, expected", [
    (OneStateCell, [[34092, 34092], [173196, 173196]]),
    (TwoStatesCell, [[136368, 136368], [692784, 692784]]),
])
def test_keras_published_numbers_stateful(cell, expected):
    layer = RNN([cell(3), cell(2)], stateful=True)
    layer(KERAS_SEQ)
    close(layer(KERAS_SEQ), np.array(expected, np.float32))
    layer.reset_state()
    close(layer(KERAS_SEQ), np.array(RNN([cell(3), cell(2)])(KERAS_SEQ)))


def test_stateful_states_are_nested_and_can_be_set():
    layer = RNN([LSTMCell(U1), GRUCell(U2)], stateful=True)
    x = seq(batch=2)
    layer(x)
    (h1, c1), (h2,) = layer.states
    assert (h1.shape, c1.shape, h2.shape) == ((2, U1), (2, U1), (2, U2))
    w = random_weights()
    layer.set_weights(w)
    init = [RNG.normal(0, 1, (2, u)).astype(np.float32) for u in (U1, U1, U2)]
    layer.reset_state([[init[0], init[1]], [init[2]]])
    _, last, _ = np_rnn(np_stack_step(w), x, init)
    close(layer(x), last)


# ------------------------------------------------------------------ symbolic, weights, config

def test_symbolic_shapes_and_masks():
    inputs = Input((None, FEATURES))
    masked = L.Masking()(inputs)
    out, (h1, c1), (h2,) = RNN([LSTMCell(U1), GRUCell(U2)], return_sequences=True,
                               return_state=True)(masked)
    assert out.shape == (None, None, U2)
    assert (h1.shape, c1.shape, h2.shape) == ((None, U1), (None, U1), (None, U2))
    # The sequence output keeps the mask; a layer after it sees it.
    model = Model(inputs, [out, h1, c1, h2])
    x = seq(batch=2, steps=4)
    x[1, 2:] = 0.0  # Masking drops the last two steps of sample 1
    y, *states = model(x)
    y = np.array(y)
    np.testing.assert_array_equal(y[1, 2], y[1, 1])  # a masked step repeats the output


def test_parameter_count_weight_names_and_order():
    layer = RNN(StackedRNNCells([LSTMCell(U1), GRUCell(U2)]))
    layer.build((None, None, FEATURES))
    # LSTM: 4u(f + u) + 4u; GRU (reset_after): 3u(f + u) + 2 * 3u, f = the LSTM's units.
    assert layer.count_params() == 4 * U1 * (FEATURES + U1) + 4 * U1 + \
        3 * U2 * (U1 + U2) + 6 * U2
    assert [tuple(w.shape) for w in layer.weights] == [
        (FEATURES, 4 * U1), (U1, 4 * U1), (4 * U1,), (U1, 3 * U2), (U2, 3 * U2), (2, 3 * U2)]
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"] * 2
    cell = layer.cell
    assert cell.state_size == [[U1, U1], U2] and cell.output_size == U2


def test_the_cell_called_alone_is_one_step():
    cell = StackedRNNCells([LSTMCell(U1), GRUCell(U2)])
    cell.build((None, FEATURES))
    w = random_weights()
    cell.set_weights(w)
    x = RNG.normal(0, 1, (2, FEATURES)).astype(np.float32)
    init = [RNG.normal(0, 1, (2, u)).astype(np.float32) for u in (U1, U1, U2)]
    y, expected = np_stack_step(w)(x, init)
    out, ((h1, c1), (h2,)) = cell(x, [[init[0], init[1]], [init[2]]])
    close(out, y)
    for got, want in zip((h1, c1, h2), expected):
        close(got, want)
    assert [[tuple(s.shape) for s in c] for c in cell.get_initial_state(batch_size=2)] == \
        [[(2, U1), (2, U1)], [(2, U2)]]


def test_config_round_trip():
    layer, _ = stacked(return_sequences=True, return_state=True)
    config = layer.get_config()
    cells = config["cell"]
    assert cells["class_name"] == "StackedRNNCells"
    assert [c["class_name"] for c in cells["config"]["cells"]] == ["LSTMCell", "GRUCell"]
    assert [c["config"]["units"] for c in cells["config"]["cells"]] == [U1, U2]
    clone = RNN.from_config(config)
    clone.build((None, None, FEATURES))
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == config
    x = seq()
    for a, b in zip(tree_flatten(layer(x)), tree_flatten(clone(x))):
        close(a[1], np.array(b[1]))
    # A list of cells is the same as StackedRNNCells of them.
    assert RNN([LSTMCell(U1), GRUCell(U2)]).get_config()["cell"]["class_name"] == \
        "StackedRNNCells"


def test_model_config_round_trip():
    inputs = Input((None, FEATURES))
    out, lstm_states, gru_states = RNN([LSTMCell(U1), GRUCell(U2, reset_after=False)],
                                       return_state=True)(inputs)
    model = Model(inputs, [out, *lstm_states, *gru_states])
    clone = Functional.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = seq()
    for a, b in zip(model(x), clone(x), strict=True):
        close(b, np.array(a))


def test_bad_cells_are_refused():
    with pytest.raises(ValueError, match="non-empty list"):
        StackedRNNCells([])
    with pytest.raises(ValueError, match="non-empty list"):
        StackedRNNCells(LSTMCell(2))
    with pytest.raises(ValueError, match="state_size"):
        StackedRNNCells([LSTMCell(2), L.Dense(3)])


# ------------------------------------------------------------------ training and files

def test_dropout_masks_are_fixed_per_sequence_for_every_cell():
    # Both cells linear with identity kernels and no recurrence: each output step is
    # x_t * m1 * m2 (the second cell's input mask multiplies the first's output).
    def cell():
        return L.SimpleRNNCell(FEATURES, activation=None, use_bias=False, dropout=0.5,
                               kernel_initializer="identity", recurrent_initializer="zeros",
                               seed=3)
    layer = RNN([cell(), cell()], return_sequences=True)
    x = np.ones((4, 6, FEATURES), np.float32)
    y = np.array(layer(x, training=True))
    assert np.all((y == 0) | np.isclose(y, 4.0))  # kept by both masks: scaled by 2 * 2
    np.testing.assert_array_equal(y, np.repeat(y[:, :1], 6, axis=1))
    assert 0 < np.count_nonzero(y) < y.size
    close(layer(x), x)


def test_gradients_reach_both_cells():
    layer, _ = stacked()
    x = mx.array(seq())

    def loss(params):
        layer.update(params)
        return mx.sum(layer(x) ** 2)

    _, grads = mx.value_and_grad(loss)(layer.trainable_parameters())
    flat = tree_flatten(grads)
    assert len(flat) == 6 and all(float(mx.abs(v).sum()) > 0 for _, v in flat)


def test_trains_in_fit_and_reads_back_in_a_fresh_process(tmp_path):
    set_random_seed(7)  # initial weights and unseeded draws: a run that can be repeated
    inputs = Input((7, FEATURES))
    h = RNN([LSTMCell(U1, dropout=0.1, seed=1), GRUCell(U2, recurrent_dropout=0.1, seed=2)],
            return_sequences=True)(L.Masking()(inputs))
    model = Model(inputs, L.Dense(1)(RNN(StackedRNNCells([L.SimpleRNNCell(2)]))(h)))
    model.compile(optimizer=Adam(0.01), loss="mse")
    x = RNG.normal(0, 1, (64, 7, FEATURES)).astype(np.float32)
    y = x[:, -1, :1]  # the last step's first feature: learnable in a few epochs
    before = model.get_weights()
    losses = model.fit(x, y, batch_size=8, epochs=6, verbose=0).history["loss"]
    assert all(np.isfinite(losses)) and losses[-1] < 0.92 * losses[0], losses
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))

    seq_in = Input((None, FEATURES))
    out, lstm_states, gru_states = RNN([LSTMCell(U1), GRUCell(U2)], return_state=True,
                                       go_backwards=True)(seq_in)
    states_model = Model(seq_in, [out, *lstm_states, *gru_states])
    roundtrip_in_fresh_process([(model, x[:4]), (states_model, seq(batch=2))], tmp_path)


def test_keras_file_keeps_each_cell_under_cells_in_keras_layout(tmp_path):
    # Keras 3 stores a list attribute's items under keys made from their class names
    # in list order (saving_lib._save_container_state): cell/cells/simple_rnn_cell,
    # lstm_cell, gru_cell, lstm_cell_1. Alphabetical order would differ (gru first,
    # lstm_cell_1 before simple_rnn_cell), so the reader must follow the list.
    import io
    import zipfile

    import h5py

    from mlxfunctional.models import load_model

    inputs = Input((None, FEATURES))
    cells = [L.SimpleRNNCell(2), LSTMCell(3), GRUCell(2), LSTMCell(4)]
    out = L.Bidirectional(RNN([LSTMCell(2), GRUCell(3)], return_sequences=True))(inputs)
    model = Model(inputs, RNN(cells)(out))
    model.set_weights([RNG.normal(0, 0.5, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    path = tmp_path / "stack.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf, \
            h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as f:
        stored = {}
        f.visititems(lambda n, o: stored.__setitem__(n, o.shape)
                     if isinstance(o, h5py.Dataset) else None)
    expected = {}
    for direction in ("forward_layer", "backward_layer"):
        base = f"layers/bidirectional/{direction}/cell/cells"
        expected.update({f"{base}/lstm_cell/vars/0": (FEATURES, 8),
                         f"{base}/lstm_cell/vars/1": (2, 8),
                         f"{base}/lstm_cell/vars/2": (8,), f"{base}/gru_cell/vars/0": (2, 9),
                         f"{base}/gru_cell/vars/1": (3, 9), f"{base}/gru_cell/vars/2": (2, 9)})
    base = "layers/rnn/cell/cells"
    for key, (fan_in, units, gates, bias) in {
            "simple_rnn_cell": (6, 2, 1, (2,)), "lstm_cell": (2, 3, 4, (12,)),
            "gru_cell": (3, 2, 3, (2, 6)), "lstm_cell_1": (2, 4, 4, (16,))}.items():
        expected.update({f"{base}/{key}/vars/0": (fan_in, gates * units),
                         f"{base}/{key}/vars/1": (units, gates * units),
                         f"{base}/{key}/vars/2": bias})
    assert stored == expected
    again = load_model(path)
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x = seq(batch=2)
    np.testing.assert_array_equal(np.array(model(x)), np.array(again(x)))
