"""TimeDistributed and ConvLSTM1D/2D/3D against numpy references written from Keras' docs."""

import itertools
import math

import mlx.core as mx
import numpy as np
import pytest

from mlxfunctional import Input, Model
from mlxfunctional.engine.layer import Layer
from mlxfunctional.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from mlxfunctional.layers.core import Dense
from mlxfunctional.layers.time_distributed import TimeDistributed

RNG = np.random.default_rng(0)


def rand(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def close(a, b, tol=1e-4):
    np.testing.assert_allclose(np.array(a), np.asarray(b), rtol=tol, atol=tol)


# ---------------------------------------------------------------- helper layers
class MakeMask(Layer):
    """Identity that makes a mask: a timestep is valid when any feature is non-zero."""

    def compute_mask(self, inputs, mask=None):
        return mx.any(inputs != 0, axis=tuple(range(2, inputs.ndim)))


class MaskedScale(Layer):
    """Multiplies each sample by 3 where its mask is True, 0 elsewhere."""

    def call(self, inputs, mask=None):
        if mask is None:
            return inputs * 3.0
        return inputs * 3.0 * mask.astype(inputs.dtype)[:, None]


class MaskValue(Layer):
    """Returns the mask it receives (as floats): lets a test read a propagated mask."""

    def call(self, inputs, mask=None):
        return mask.astype(mx.float32)


class TrainingScale(Layer):
    def call(self, inputs, training=None):
        return inputs * (2.0 if training else 1.0)


# ---------------------------------------------------------------- TimeDistributed
def test_time_distributed_dense_matches_loop_over_time():
    x = rand(2, 3, 2, 5)
    td = TimeDistributed(Dense(4, activation="relu"))
    td(x)
    kernel, bias = rand(5, 4), rand(4)
    td.set_weights([kernel, bias])
    expected = np.zeros((2, 3, 2, 4), np.float32)
    for b in range(2):
        for t in range(3):
            expected[b, t] = np.maximum(x[b, t] @ kernel + bias, 0)
    close(td(x), expected)


def test_time_distributed_symbolic_shapes_params_and_inner_build():
    dense = Dense(4)
    td = TimeDistributed(dense)
    assert td(Input((None, 5))).shape == (None, None, 4)
    assert dense.built and dense.get_weights()[0].shape == (5, 4)
    assert td.count_params() == 5 * 4 + 4 == dense.count_params()
    assert [w.shape for w in td.get_weights()] == [(5, 4), (4,)]
    td2 = TimeDistributed(Dense(3))
    assert td2(Input((7, 2, 5), batch_size=4)).shape == (4, 7, 2, 3)


def test_time_distributed_in_model_and_shared_weights():
    inp = Input((3, 5))
    td = TimeDistributed(Dense(2))
    model = Model(inp, td(inp))
    kernel, bias = rand(5, 2), rand(2)
    td.set_weights([kernel, bias])
    x = rand(4, 3, 5)
    close(model(x), np.einsum("btf,fu->btu", x, kernel) + bias)
    close(td.layer.get_weights()[0], kernel)


def test_time_distributed_config_round_trip():
    td = TimeDistributed(Dense(3, activation="tanh", use_bias=False), name="td")
    x = rand(2, 4, 5)
    y = td(x)
    config = td.get_config()
    assert config["layer"]["class_name"] == "Dense"
    assert config["layer"]["config"]["units"] == 3
    clone = TimeDistributed.from_config(config)
    assert clone.name == "td" and clone.layer.use_bias is False
    clone(x)
    clone.set_weights(td.get_weights())
    close(clone(x), y)


def test_time_distributed_from_config_custom_objects():
    td = TimeDistributed(MaskedScale())
    config = td.get_config()
    with pytest.raises(ValueError, match="MaskedScale"):
        TimeDistributed.from_config(config)
    clone = TimeDistributed.from_config(config, custom_objects={"MaskedScale": MaskedScale})
    assert isinstance(clone.layer, MaskedScale)


def test_time_distributed_passes_mask_and_propagates_it():
    x = rand(2, 4, 3)
    x[0, 1] = 0.0
    x[1, 3] = 0.0
    inp = Input((4, 3))
    masked = MakeMask()(inp)
    out = TimeDistributed(MaskedScale())(masked)
    model = Model(inp, [out, MaskValue()(out)])
    y, mask_out = model(x)
    keep = np.any(x != 0, axis=-1)
    close(y, x * 3.0 * keep[..., None])
    close(mask_out, keep.astype(np.float32))
    # Direct call with an explicit mask: each (sample, timestep) gets its own entry.
    mask = np.array([[True, False, True, True], [False, True, True, False]])
    close(TimeDistributed(MaskedScale())(x, mask=mx.array(mask)), x * 3.0 * mask[..., None])


def test_time_distributed_passes_training():
    x = rand(2, 3, 4)
    td = TimeDistributed(TrainingScale())
    close(td(x, training=True), 2 * x)
    close(td(x), x)


def test_time_distributed_input_errors():
    with pytest.raises(ValueError, match="`Layer` instance"):
        TimeDistributed(lambda x: x)
    td = TimeDistributed(Dense(2), name="td_rank")
    with pytest.raises(ValueError, match=r"td_rank[\s\S]*\(None, 5\)"):
        td(Input((5,)))
    td = TimeDistributed(Dense(2), name="td_feat")
    td(Input((3, 5)))
    with pytest.raises(ValueError, match=r"td_feat[\s\S]*\(2, 3, 6\)"):
        td(rand(2, 3, 6))
    with pytest.raises(ValueError, match=r"td_feat[\s\S]*\(None, 3, 7\)"):
        td(Input((3, 7)))


# ---------------------------------------------------------------- numpy references
def np_conv(x, w, strides, padding, dilation):
    """N-D convolution (cross-correlation) of channels-last ``x`` with a Keras kernel."""
    rank = x.ndim - 2
    k, sizes = w.shape[:rank], x.shape[1:-1]
    if padding == "same":
        out = [math.ceil(n / s) for n, s in zip(sizes, strides)]
        pads = []
        for n, o, kk, s, d in zip(sizes, out, k, strides, dilation):
            total = max((o - 1) * s + (kk - 1) * d + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
    else:
        out = [(n - (kk - 1) * d - 1) // s + 1 for n, kk, s, d in zip(sizes, k, strides, dilation)]
        pads = [(0, 0)] * rank
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    y = np.zeros((x.shape[0], *out, w.shape[-1]), np.float64)
    for pos in itertools.product(*[range(o) for o in out]):
        for kpos in itertools.product(*[range(kk) for kk in k]):
            idx = tuple(p * s + q * d for p, s, q, d in zip(pos, strides, kpos, dilation))
            y[(slice(None),) + pos] += xp[(slice(None),) + idx] @ w[kpos]
    return y


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_conv_lstm(x, kernel, rec_kernel, bias, strides=None, padding="valid", dilation=None,
                 mask=None, go_backwards=False, h0=None, c0=None):
    """Keras ConvLSTM step by step; returns (outputs per processed step, h, c)."""
    rank = x.ndim - 3
    strides = strides or (1,) * rank
    dilation = dilation or (1,) * rank
    ki, kf, kc, ko = np.split(kernel, 4, axis=-1)
    ri, rf, rc, ro = np.split(rec_kernel, 4, axis=-1)
    bi, bf, bc, bo = np.split(bias, 4)
    steps = x.shape[1]
    probe = np_conv(x[:, 0], ki, strides, padding, dilation)
    h = np.zeros(probe.shape) if h0 is None else h0.astype(np.float64)
    c = np.zeros(probe.shape) if c0 is None else c0.astype(np.float64)
    ones = (1,) * rank
    outs = []
    for t in (reversed(range(steps)) if go_backwards else range(steps)):
        xt = x[:, t]
        i = sigmoid(np_conv(xt, ki, strides, padding, dilation) + bi + np_conv(h, ri, ones, "same", ones))
        f = sigmoid(np_conv(xt, kf, strides, padding, dilation) + bf + np_conv(h, rf, ones, "same", ones))
        g = np.tanh(np_conv(xt, kc, strides, padding, dilation) + bc + np_conv(h, rc, ones, "same", ones))
        o = sigmoid(np_conv(xt, ko, strides, padding, dilation) + bo + np_conv(h, ro, ones, "same", ones))
        c_new = f * c + i * g
        h_new = o * np.tanh(c_new)
        if mask is not None:
            m = mask[:, t].reshape((-1,) + (1,) * (rank + 1))
            h_new, c_new = np.where(m, h_new, h), np.where(m, c_new, c)
        h, c = h_new, c_new
        outs.append(h)
    return np.stack(outs, axis=1), h, c


def weights_for(layer_kernel_size, channels, filters):
    return [rand(*layer_kernel_size, channels, 4 * filters, scale=0.3),
            rand(*layer_kernel_size, filters, 4 * filters, scale=0.3),
            rand(4 * filters, scale=0.3)]


# ---------------------------------------------------------------- ConvLSTM2D
@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3, padding="valid"),
    dict(kernel_size=(3, 2), padding="same", strides=2),
    dict(kernel_size=2, padding="valid", dilation_rate=2),
    dict(kernel_size=(2, 3), padding="same", dilation_rate=(1, 2)),
])
def test_conv_lstm2d_matches_numpy(kwargs):
    x = rand(2, 3, 6, 5, 2)
    layer = ConvLSTM2D(4, **kwargs)
    layer(x)
    k = layer.kernel_size
    weights = weights_for(k, 2, 4)
    layer.set_weights(weights)
    outs, h, _ = np_conv_lstm(x, *weights, strides=layer.strides, padding=kwargs["padding"],
                              dilation=layer.dilation_rate)
    close(layer(x), h)


def test_conv_lstm2d_return_sequences_and_state():
    x = rand(2, 4, 5, 5, 3)
    layer = ConvLSTM2D(3, 3, padding="same", return_sequences=True, return_state=True)
    layer(x)
    weights = weights_for((3, 3), 3, 3)
    layer.set_weights(weights)
    seq, h, c = layer(x)
    ref_seq, ref_h, ref_c = np_conv_lstm(x, *weights, padding="same")
    assert seq.shape == (2, 4, 5, 5, 3)
    close(seq, ref_seq)
    close(h, ref_h)
    close(c, ref_c)


def test_conv_lstm2d_go_backwards():
    x = rand(1, 4, 4, 4, 2)
    layer = ConvLSTM2D(2, 3, padding="same", return_sequences=True, go_backwards=True)
    layer(x)
    weights = weights_for((3, 3), 2, 2)
    layer.set_weights(weights)
    ref_seq, _, _ = np_conv_lstm(x, *weights, padding="same", go_backwards=True)
    close(layer(x), ref_seq)
    forward, _, _ = np_conv_lstm(x, *weights, padding="same")
    assert not np.allclose(ref_seq[:, -1], forward[:, -1], atol=1e-3)


def test_conv_lstm2d_mask_keeps_previous_state():
    x = rand(2, 4, 4, 4, 2)
    mask = np.array([[True, False, True, False], [False, True, True, True]])
    layer = ConvLSTM2D(2, 3, return_sequences=True, return_state=True)
    layer(x)
    weights = weights_for((3, 3), 2, 2)
    layer.set_weights(weights)
    seq, h, c = layer(x, mask=mx.array(mask))
    ref_seq, ref_h, ref_c = np_conv_lstm(x, *weights, mask=mask)
    close(seq, ref_seq)
    close(h, ref_h)
    close(c, ref_c)
    close(seq[0, 1], ref_seq[0, 0])  # the masked step repeats the previous output


def test_conv_lstm2d_mask_through_model():
    x = rand(2, 3, 4, 4, 2)
    x[0, 2] = 0.0
    inp = Input((3, 4, 4, 2))
    masked = MakeMask()(inp)
    seq = ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    last = ConvLSTM2D(2, 3, padding="same", name="last")
    out_seq = seq(masked)
    model = Model(inp, [last(masked), MaskValue()(out_seq)])
    weights = weights_for((3, 3), 2, 2)
    last.set_weights(weights)
    y, mask_out = model(x)
    keep = np.any(x != 0, axis=(2, 3, 4))
    close(mask_out, keep.astype(np.float32))
    _, ref_h, _ = np_conv_lstm(x, *weights, padding="same", mask=keep)
    close(y, ref_h)
    assert last.compute_mask(x, mx.array(keep)) is None


def test_conv_lstm2d_initial_state():
    x = rand(2, 3, 5, 5, 2)
    layer = ConvLSTM2D(3, 3)
    layer(x)
    weights = weights_for((3, 3), 2, 3)
    layer.set_weights(weights)
    h0, c0 = rand(2, 3, 3, 3), rand(2, 3, 3, 3)
    _, ref_h, _ = np_conv_lstm(x, *weights, h0=h0, c0=c0)
    close(layer(x, initial_state=[mx.array(h0), mx.array(c0)]), ref_h)
    # Symbolic initial states become model inputs.
    inp, hs, cs = Input((3, 5, 5, 2)), Input((3, 3, 3)), Input((3, 3, 3))
    model = Model([inp, hs, cs], layer(inp, initial_state=[hs, cs]))
    close(model([x, h0, c0]), ref_h)
    with pytest.raises(ValueError, match=r"conv_lstm2d[\s\S]*\(2, 3, 3, 3\)"):
        layer(x, initial_state=[mx.array(h0[:, :2]), mx.array(c0)])


def test_conv_lstm2d_symbolic_shapes():
    inp = Input((None, 6, 7, 3))
    assert ConvLSTM2D(8, 3)(inp).shape == (None, 4, 5, 8)
    assert ConvLSTM2D(8, 3, return_sequences=True)(inp).shape == (None, None, 4, 5, 8)
    outs = ConvLSTM2D(8, 3, padding="same", strides=2, return_sequences=True,
                      return_state=True)(inp)
    assert [o.shape for o in outs] == [(None, None, 3, 4, 8), (None, 3, 4, 8), (None, 3, 4, 8)]
    assert ConvLSTM2D(2, (2, 3), dilation_rate=2)(Input((5, 6, 7, 1), batch_size=3)).shape == \
        (3, 4, 3, 2)


def keras_params(kernel_size, channels, filters, use_bias=True):
    return 4 * (math.prod(kernel_size) * (channels + filters) * filters + filters * use_bias)


def test_conv_lstm_param_counts():
    layer = ConvLSTM2D(filters=8, kernel_size=3)
    layer(Input((None, 10, 10, 3)))
    assert layer.count_params() == 3200 == keras_params((3, 3), 3, 8)
    assert [w.shape for w in layer.get_weights()] == [(3, 3, 3, 32), (3, 3, 8, 32), (32,)]
    assert [w.name for w in layer._weight_specs] == ["kernel", "recurrent_kernel", "bias"]
    nobias = ConvLSTM2D(5, (2, 4), use_bias=False)
    nobias(Input((2, 6, 6, 4)))
    assert nobias.count_params() == keras_params((2, 4), 4, 5, use_bias=False) == 1440
    one = ConvLSTM1D(6, 5)
    one(Input((None, 12, 2)))
    assert one.count_params() == keras_params((5,), 2, 6) == 984
    three = ConvLSTM3D(2, 3)
    three(Input((None, 5, 5, 5, 1)))
    assert three.count_params() == keras_params((3, 3, 3), 1, 2) == 656


def test_conv_lstm_unit_forget_bias():
    layer = ConvLSTM2D(3, 3)
    layer(Input((2, 5, 5, 1)))
    close(layer.get_weights()[2], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    plain = ConvLSTM2D(3, 3, unit_forget_bias=False, bias_initializer="ones")
    plain(Input((2, 5, 5, 1)))
    close(plain.get_weights()[2], np.ones(12))


@pytest.mark.parametrize("cls,shape,k", [
    (ConvLSTM1D, (2, 3, 7, 2), (3,)),
    (ConvLSTM3D, (1, 2, 4, 3, 4, 2), (2, 2, 3)),
])
def test_conv_lstm_1d_3d_match_numpy(cls, shape, k):
    x = rand(*shape)
    layer = cls(2, k, padding="same", return_sequences=True)
    layer(x)
    weights = weights_for(k, shape[-1], 2)
    layer.set_weights(weights)
    ref_seq, _, _ = np_conv_lstm(x, *weights, padding="same")
    close(layer(x), ref_seq)


def test_conv_lstm_config_round_trip():
    layer = ConvLSTM2D(3, (3, 2), strides=(1, 2), padding="same", dilation_rate=1,
                       activation="relu", recurrent_activation="hard_sigmoid",
                       return_sequences=True, go_backwards=True, dropout=0.25, name="cl")
    x = rand(2, 3, 5, 6, 2)
    y = layer(x)
    config = layer.get_config()
    assert config["filters"] == 3 and tuple(config["kernel_size"]) == (3, 2)
    assert tuple(config["strides"]) == (1, 2) and config["padding"] == "same"
    assert config["return_sequences"] is True and config["go_backwards"] is True
    assert config["dropout"] == 0.25 and config["data_format"] == "channels_last"
    clone = ConvLSTM2D.from_config(config)
    clone(x)
    clone.set_weights(layer.get_weights())
    close(clone(x), y)


def test_conv_lstm_dropout_only_in_training():
    x = rand(2, 3, 5, 5, 2)
    layer = ConvLSTM2D(2, 3, dropout=0.5, recurrent_dropout=0.5)
    layer(x)
    weights = weights_for((3, 3), 2, 2)
    layer.set_weights(weights)
    _, ref_h, _ = np_conv_lstm(x, *weights)
    close(layer(x), ref_h)
    trained = np.array(layer(x, training=True))
    assert np.all(np.isfinite(trained)) and not np.allclose(trained, ref_h, atol=1e-3)


def test_conv_lstm_stateful_carries_states():
    x = rand(2, 4, 4, 4, 1)
    layer = ConvLSTM2D(2, 3, padding="same", stateful=True)
    layer(Input((None, 4, 4, 1), batch_size=2))
    weights = weights_for((3, 3), 1, 2)
    layer.set_weights(weights)
    assert layer.count_params() == keras_params((3, 3), 1, 2)
    _, ref_h, _ = np_conv_lstm(x, *weights, padding="same")
    layer(x[:, :2])
    close(layer(x[:, 2:]), ref_h)
    layer.reset_states()
    _, ref_half, _ = np_conv_lstm(x[:, 2:], *weights, padding="same")
    close(layer(x[:, 2:]), ref_half)
    with pytest.raises(ValueError, match="stateful"):
        ConvLSTM2D(2, 3, stateful=True)(Input((None, 4, 4, 1)))


def test_conv_lstm_input_errors():
    with pytest.raises(ValueError, match="channels_last"):
        ConvLSTM2D(2, 3, data_format="channels_first")
    with pytest.raises(ValueError, match="padding"):
        ConvLSTM2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="kernel_size"):
        ConvLSTM2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match=r"bad_rank[\s\S]*\(None, 3, 5, 2\)"):
        ConvLSTM2D(2, 3, name="bad_rank")(Input((3, 5, 2)))
    with pytest.raises(ValueError, match=r"too_small[\s\S]*\(None, 3, 2, 5, 1\)"):
        ConvLSTM2D(2, 3, name="too_small")(Input((3, 2, 5, 1)))
    layer = ConvLSTM2D(2, 3, name="chan")
    layer(Input((None, 5, 5, 3)))
    with pytest.raises(ValueError, match=r"chan[\s\S]*\(1, 2, 5, 5, 4\)"):
        layer(rand(1, 2, 5, 5, 4))
    with pytest.raises(ValueError, match=r"chan[\s\S]*\(None, 2, 5, 5, 4\)"):
        layer(Input((2, 5, 5, 4)))


def test_time_distributed_of_conv_lstm_free_stack():
    """TimeDistributed(Dense) after a ConvLSTM2D sequence, checked end to end."""
    x = rand(2, 3, 4, 4, 2)
    inp = Input((None, 4, 4, 2))
    conv = ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    td = TimeDistributed(Dense(1))
    model = Model(inp, td(conv(inp)))
    assert model.output_shape == (None, None, 4, 4, 1)
    weights = weights_for((3, 3), 2, 2)
    conv.set_weights(weights)
    kernel, bias = rand(2, 1), rand(1)
    td.set_weights([kernel, bias])
    ref_seq, _, _ = np_conv_lstm(x, *weights, padding="same")
    close(model(x), ref_seq @ kernel + bias)


def test_conv_lstm_zero_output_for_mask():
    x = rand(1, 3, 4, 4, 1)
    mask = np.array([[True, False, True]])
    layer = ConvLSTM2D(2, 3, padding="same", return_sequences=True, zero_output_for_mask=True)
    layer(x)
    weights = weights_for((3, 3), 1, 2)
    layer.set_weights(weights)
    ref_seq, _, _ = np_conv_lstm(x, *weights, padding="same", mask=mask)
    ref_seq[:, 1] = 0.0
    close(layer(x, mask=mx.array(mask)), ref_seq)


def test_model_json_round_trip_and_gradients():
    import json

    import mlx.nn as nn
    from mlx.utils import tree_flatten

    inp = Input((None, 4, 4, 2))
    y = TimeDistributed(Dense(1))(ConvLSTM2D(2, 3, padding="same", return_sequences=True)(inp))
    model = Model(inp, y)
    clone = Model.from_config(json.loads(json.dumps(model.get_config())))
    clone.set_weights(model.get_weights())
    x = rand(2, 3, 4, 4, 2)
    close(clone(x), model(x))
    assert [type(l).__name__ for l in clone.layers[1:]] == ["ConvLSTM2D", "TimeDistributed"]

    def loss():
        return mx.mean(model(x) ** 2)

    _, grads = nn.value_and_grad(model, loss)()
    flat = [np.array(g) for _, g in tree_flatten(grads)]
    assert len(flat) == 5 and all(np.isfinite(g).all() and np.abs(g).sum() > 0 for g in flat)
