"""Numpy references for the recurrent-layer tests (test_layers_recurrent*.py): plain
loops written from Keras' documented equations (gate orders LSTM [i, f, c, o],
GRU [z, r, h]) and its RNN loop semantics, with helpers that build a layer on random
weights and draw random sequences.

The tests draw their data from the one generator ``RNG`` below, in order: run in
file-name order the test_layers_recurrent*.py files see the same data as when they
were one file.
"""

import numpy as np

from mlxfunctional.layers.recurrent import GRU, LSTM, SimpleRNN


RNG = np.random.default_rng(0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


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
