"""Core, activation and regularization layers against numpy references."""

import json
import math

import mlx.core as mx
import numpy as np
import pytest

from mlxfunctional import Input, Model
from mlxfunctional.layers.activation_layers import ELU, PReLU, ReLU, LeakyReLU, Softmax
from mlxfunctional.layers.core import Activation, Dense, Embedding, Identity, Lambda
from mlxfunctional.layers.regularization import (ActivityRegularization, Dropout,
                                                 GaussianDropout, GaussianNoise,
                                                 SpatialDropout1D, SpatialDropout2D,
                                                 SpatialDropout3D)
from mlxfunctional.registry import register_serializable

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def run(layer, x, **kwargs):
    out = layer(x, **kwargs)
    return np.array(out)


def roundtrip(layer, x, **kwargs):
    """from_config(get_config()) with copied weights gives the same outputs."""
    config = layer.get_config()
    json.dumps(config)  # plain data only
    clone = type(layer).from_config(config)
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(run(clone, x, **kwargs), run(layer, x, **kwargs),
                               rtol=1e-6, atol=1e-6)
    return clone


# ---------------------------------------------------------------- Dense, Activation, Identity

def test_dense_matches_numpy_and_keras_counts():
    layer = Dense(3, activation="relu")
    y = layer(Input((None, 4)))
    assert y.shape == (None, None, 3)
    assert layer.count_params() == 4 * 3 + 3
    k, b = rand(4, 3), rand(3)
    layer.set_weights([k, b])
    x = rand(2, 5, 4)
    ref = np.maximum(np.einsum("bti,io->bto", x, k) + b, 0)
    np.testing.assert_allclose(run(layer, x), ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(run(layer, x[:, 0]), ref[:, 0], rtol=1e-5, atol=1e-5)
    roundtrip(layer, x)
    with pytest.raises(ValueError, match=r'"dense".*\(2, 5\)'):
        layer(rand(2, 5))


@pytest.mark.parametrize("name, ref", [
    ("relu", lambda x: np.maximum(x, 0)),
    ("tanh", np.tanh),
    ("softmax", lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
])
def test_activation_layer(name, ref):
    layer = Activation(name)
    x = rand(3, 5)
    np.testing.assert_allclose(run(layer, x), ref(x), rtol=1e-5, atol=1e-6)
    assert layer(Input((None, 5))).shape == (None, None, 5)
    assert layer.get_config()["activation"] == name
    assert layer.count_params() == 0
    roundtrip(layer, x)


def test_identity_returns_inputs_and_keeps_mask():
    ids = Input((4,), dtype="int32")
    emb = Embedding(5, 2, mask_zero=True)(ids)
    out = Identity()(emb)
    assert out.shape == (None, 4, 2) and out._mask_shape == (None, 4)
    x = rand(2, 3)
    np.testing.assert_array_equal(run(Identity(), x), x)
    roundtrip(Identity(), x)


# ---------------------------------------------------------------- Embedding

def test_embedding_lookup_shapes_and_counts():
    layer = Embedding(10, 4)
    y = layer(Input((None,), dtype="int32"))
    assert y.shape == (None, None, 4)
    assert layer.count_params() == 40
    w = layer.get_weights()[0]
    assert w.shape == (10, 4) and np.abs(w).max() <= 0.05 and np.abs(w).max() > 0.03
    table = rand(10, 4)
    layer.set_weights([table])
    ids = np.array([[1, 0, 9], [3, 3, 2]], dtype=np.int32)
    ref = np.stack([[table[i] for i in row] for row in ids])
    np.testing.assert_array_equal(run(layer, ids), ref)
    # Float ids are cast to integers; any input rank works.
    np.testing.assert_array_equal(run(layer, ids.astype(np.float32)), ref)
    np.testing.assert_array_equal(run(layer, ids[0]), ref[0])
    roundtrip(layer, ids)
    assert layer.get_config()["embeddings_initializer"]["config"]["minval"] == -0.05


def test_embedding_mask_zero_reaches_the_next_layer():
    layer = Embedding(6, 3, mask_zero=True, input_length=4)  # input_length is ignored
    ids = Input((4,), dtype="int32")
    emb = layer(ids)
    assert emb._mask_shape == (None, 4)
    as_float = Lambda(lambda x, mask: mask.astype(mx.float32))(emb)
    model = Model(ids, as_float)
    data = np.array([[1, 2, 0, 0], [0, 5, 4, 0]], dtype=np.int32)
    np.testing.assert_array_equal(np.array(model(data)), (data != 0).astype(np.float32))
    np.testing.assert_array_equal(np.array(layer.compute_mask(mx.array(data))), data != 0)
    assert Embedding(6, 3).compute_mask(mx.array(data)) is None
    assert layer.get_config()["mask_zero"] is True
    assert "input_length" not in layer.get_config()


def test_embedding_initial_weights_and_bad_sizes():
    table = rand(3, 2)
    layer = Embedding(3, 2, weights=[table])
    np.testing.assert_array_equal(layer.get_weights()[0], table)
    with pytest.raises(ValueError, match="positive"):
        Embedding(0, 2)
    with pytest.raises(ValueError, match=r"expected shape \(3, 2\)"):
        Embedding(3, 2, weights=[rand(2, 3)])


# ---------------------------------------------------------------- Lambda

def _plus(x, offset=0.0):
    return x + offset


@register_serializable(package="TestCore")
def scaled(x, factor=1.0):
    return x * factor


@register_serializable(package="TestCore")
def nonzero_mask(inputs, mask=None):
    return inputs[..., 0] != 0


def test_lambda_calls_function_with_arguments():
    layer = Lambda(scaled, arguments={"factor": 3.0})
    x = rand(2, 3)
    np.testing.assert_allclose(run(layer, x), 3 * x, rtol=1e-6)
    assert layer(Input((None, 3))).shape == (None, None, 3)
    assert layer.count_params() == 0


def test_lambda_config_refuses_unregistered_functions():
    for fn in (_plus, lambda x: x * 2):
        layer = Lambda(fn, name="my_lambda")
        with pytest.raises(ValueError, match=r'"my_lambda".*register_serializable'):
            layer.get_config()


def test_lambda_roundtrip_through_registered_name():
    layer = Lambda(scaled, arguments={"factor": -2.0}, mask=nonzero_mask)
    config = layer.get_config()
    assert config["function"] == "TestCore>scaled"
    assert config["mask"] == "TestCore>nonzero_mask"
    assert "code" not in json.dumps(config)
    clone = Lambda.from_config(config)
    assert clone.function is scaled and clone.mask is nonzero_mask
    x = rand(2, 3)
    np.testing.assert_allclose(run(clone, x), -2 * x, rtol=1e-6)
    out = clone(Input((3,)))
    assert out._mask_shape == (None,)


def test_lambda_from_config_resolves_names_only():
    with pytest.raises(ValueError, match="Unknown function 'Custom>nothing'"):
        Lambda.from_config({"function": "Custom>nothing"})
    keras_bytecode = {"class_name": "__lambda__", "config": {"code": "4wEAAAAA"}}
    with pytest.raises(ValueError, match="bytecode"):
        Lambda.from_config({"function": keras_bytecode})
    with pytest.raises(ValueError, match="Unknown function"):
        Lambda.from_config({"function": "print"})


def test_lambda_receives_training_and_mask():
    seen = {}

    def fn(x, training=None, mask=None):
        seen["training"], seen["mask"] = training, mask
        return x

    layer = Lambda(fn)
    layer(rand(2, 3), training=True)
    assert seen["training"] is True and seen["mask"] is None


# ---------------------------------------------------------------- activation layers

def relu_ref(x, max_value=None, negative_slope=0.0, threshold=0.0):
    out = np.empty_like(x)
    for i, v in np.ndenumerate(x):
        if max_value is not None and v >= max_value:
            out[i] = max_value
        elif v > threshold:
            out[i] = v
        else:
            out[i] = negative_slope * (v - threshold)
    return out


@pytest.mark.parametrize("kwargs", [
    {}, {"max_value": 1.0}, {"negative_slope": 0.1}, {"threshold": 0.5},
    {"max_value": 1.5, "negative_slope": 0.2, "threshold": 0.3},
])
def test_relu_layer(kwargs):
    layer = ReLU(**kwargs)
    x = 2 * rand(4, 6)
    np.testing.assert_allclose(run(layer, x), relu_ref(x, **kwargs), rtol=1e-6, atol=1e-6)
    roundtrip(layer, x)


def test_relu_and_leaky_relu_validate_arguments():
    with pytest.raises(ValueError, match="max_value"):
        ReLU(max_value=-1)
    with pytest.raises(ValueError, match="negative_slope"):
        ReLU(negative_slope=-0.1)
    with pytest.raises(ValueError, match="negative_slope"):
        LeakyReLU(negative_slope=-1)


def test_leaky_relu_and_elu():
    x = 3 * rand(5, 4)
    leaky = LeakyReLU()
    assert leaky.get_config()["negative_slope"] == 0.3
    np.testing.assert_allclose(run(leaky, x), np.where(x >= 0, x, 0.3 * x), rtol=1e-6)
    np.testing.assert_allclose(run(LeakyReLU(alpha=0.1), x), np.where(x >= 0, x, 0.1 * x),
                               rtol=1e-6)
    roundtrip(leaky, x)
    elu = ELU(alpha=0.5)
    ref = np.array([[v if v > 0 else 0.5 * (math.exp(v) - 1) for v in row] for row in x])
    np.testing.assert_allclose(run(elu, x), ref, rtol=1e-5, atol=1e-6)
    roundtrip(elu, x)


@pytest.mark.parametrize("shared_axes, alpha_shape", [
    (None, (4, 5, 3)), ([1, 2], (1, 1, 3)), (1, (1, 5, 3)),
])
def test_prelu_shared_axes(shared_axes, alpha_shape):
    layer = PReLU(shared_axes=shared_axes)
    y = layer(Input((4, 5, 3)))
    assert y.shape == (None, 4, 5, 3)
    assert layer.get_weights()[0].shape == alpha_shape
    assert layer.count_params() == int(np.prod(alpha_shape))
    assert not layer.get_weights()[0].any()  # zeros initializer
    alpha = rand(*alpha_shape)
    layer.set_weights([alpha])
    x = rand(2, 4, 5, 3)
    ref = np.zeros_like(x)
    for b, i, j, c in np.ndindex(*x.shape):
        a = alpha[min(i, alpha_shape[0] - 1), min(j, alpha_shape[1] - 1), c]
        v = x[b, i, j, c]
        ref[b, i, j, c] = v if v > 0 else a * v
    np.testing.assert_allclose(run(layer, x), ref, rtol=1e-6, atol=1e-6)
    roundtrip(layer, x)
    with pytest.raises(ValueError, match=r'"p_re_lu.*\(2, 4, 5, 7\)'):
        layer(rand(2, 4, 5, 7))


def test_prelu_needs_known_unshared_sizes():
    with pytest.raises(ValueError, match="p_re_lu"):
        PReLU()(Input((None, 3)))
    assert PReLU(shared_axes=[1])(Input((None, 3))).shape == (None, None, 3)


def softmax_ref(x, mask=None):
    out = np.zeros_like(x)
    for idx in np.ndindex(*x.shape[:-1]):
        row = x[idx].astype(np.float64)
        keep = np.ones(row.shape, bool) if mask is None else mask[idx]
        if keep.any():
            e = np.exp(row[keep] - row[keep].max())
            out[idx][keep] = e / e.sum()
    return out


def test_softmax_with_and_without_mask():
    x = rand(3, 4, 5)
    layer = Softmax()
    np.testing.assert_allclose(run(layer, x), softmax_ref(x), rtol=1e-5, atol=1e-6)
    mask = RNG.random((3, 4, 5)) > 0.4
    mask[0, 0] = False  # a fully masked row gives zeros
    out = np.array(layer(mx.array(x), mask=mx.array(mask)))
    np.testing.assert_allclose(out, softmax_ref(x, mask), rtol=1e-5, atol=1e-6)
    assert not out[0, 0].any()
    roundtrip(layer, x)


def test_softmax_over_several_axes_and_sequence_mask():
    x = rand(2, 3, 4)
    out = run(Softmax(axis=[1, 2]), x)
    e = np.exp(x - x.max(axis=(1, 2), keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(axis=(1, 2), keepdims=True), rtol=1e-5, atol=1e-6)
    ids = Input((3,), dtype="int32")
    probs = Softmax()(Embedding(5, 4, mask_zero=True)(ids))
    model = Model(ids, probs)
    out = np.array(model(np.array([[1, 0, 2]], dtype=np.int32)))
    assert not out[0, 1].any()
    np.testing.assert_allclose(out[0, [0, 2]].sum(-1), [1, 1], rtol=1e-5)


# ---------------------------------------------------------------- regularization layers

def test_dropout_statistics_and_inference_identity():
    mx.random.seed(0)
    rate = 0.3
    layer = Dropout(rate)
    x = np.ones((200, 500), np.float32)
    out = run(layer, x, training=True)
    zeros = (out == 0).mean()
    assert abs(zeros - rate) < 0.01
    np.testing.assert_allclose(out[out != 0], 1 / (1 - rate), rtol=1e-6)
    assert abs(out.mean() - 1.0) < 0.02
    np.testing.assert_array_equal(run(layer, x), x)
    np.testing.assert_array_equal(run(layer, x, training=False), x)
    assert layer(Input((None, 4))).shape == (None, None, 4)
    roundtrip(layer, x)  # inference mode: identical


def test_dropout_noise_shape_and_seed():
    layer = Dropout(0.5, noise_shape=(None, 1, 6), seed=7)
    x = np.ones((4, 5, 6), np.float32)
    out = run(layer, x, training=True)
    assert (out == out[:, :1, :]).all()  # one decision per (sample, feature)
    again = run(Dropout(0.5, noise_shape=(None, 1, 6), seed=7), x, training=True)
    np.testing.assert_array_equal(out, again)  # same seed, same first mask
    assert not np.array_equal(run(layer, x, training=True), out)  # the stream moves on
    assert "_seed_state" not in dict(_flat(layer.parameters()))
    assert layer.get_config()["noise_shape"] == [None, 1, 6]


def _flat(params):
    from mlx.utils import tree_flatten

    return tree_flatten(params)


def test_seeded_dropout_advances_inside_a_compiled_step():
    layer = Dropout(0.5, seed=1)
    x = mx.ones((64,))
    state = [layer.state]
    step = mx.compile(lambda x: layer(x, training=True), inputs=state, outputs=state)
    first, second = np.array(step(x)), np.array(step(x))
    assert not np.array_equal(first, second)


def test_dropout_rejects_bad_rates():
    for rate in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="rate"):
            Dropout(rate)


@pytest.mark.parametrize("cls, shape", [
    (SpatialDropout1D, (4, 7, 6)), (SpatialDropout2D, (4, 3, 5, 6)),
    (SpatialDropout3D, (3, 2, 3, 4, 6)),
])
def test_spatial_dropout_drops_whole_channels(cls, shape):
    mx.random.seed(1)
    layer = cls(0.5)
    x = np.ones(shape, np.float32)
    out = run(layer, x, training=True)
    flat = out.reshape(shape[0], -1, shape[-1])
    assert (flat == flat[:, :1, :]).all()
    assert set(np.unique(flat)) <= {0.0, 2.0} and (flat == 0).any() and (flat == 2).any()
    np.testing.assert_array_equal(run(layer, x), x)
    roundtrip(layer, x)
    wrong = rand(*shape[:-1])
    with pytest.raises(ValueError, match=rf'"{layer.name}".*{tuple(wrong.shape)}'.replace(
            "(", r"\(").replace(")", r"\)")):
        layer(wrong)


def test_spatial_dropout_refuses_channels_first():
    with pytest.raises(ValueError, match="channels_first"):
        SpatialDropout2D(0.2, data_format="channels_first")
    assert SpatialDropout2D(0.2).get_config()["data_format"] == "channels_last"


def test_gaussian_noise_and_dropout_statistics():
    mx.random.seed(2)
    x = np.full((400, 500), 2.0, np.float32)
    noisy = run(GaussianNoise(0.5), x, training=True)
    assert abs(noisy.mean() - 2.0) < 0.01 and abs(noisy.std() - 0.5) < 0.01
    np.testing.assert_array_equal(run(GaussianNoise(0.5), x), x)
    rate = 0.2
    dropped = run(GaussianDropout(rate), x, training=True)
    assert abs(dropped.mean() - 2.0) < 0.01
    assert abs(dropped.std() - 2.0 * math.sqrt(rate / (1 - rate))) < 0.01
    np.testing.assert_array_equal(run(GaussianDropout(rate), x, training=False), x)
    roundtrip(GaussianNoise(0.1, seed=3), x)
    roundtrip(GaussianDropout(0.1), x)
    with pytest.raises(ValueError, match="stddev"):
        GaussianNoise(-1)


def test_activity_regularization_adds_a_loss():
    layer = ActivityRegularization(l1=0.1, l2=0.01)
    x = rand(3, 4)
    np.testing.assert_array_equal(run(layer, x), x)
    (loss,) = layer.losses
    ref = 0.1 * np.abs(x).sum() + 0.01 * (x.astype(np.float64) ** 2).sum()
    assert float(loss) == pytest.approx(ref, rel=1e-5)
    assert layer.get_config()["l1"] == 0.1
    roundtrip(layer, x)
