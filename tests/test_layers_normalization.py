"""BatchNormalization, LayerNormalization and UnitNormalization against numpy references."""

import json

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest

from mlxfunctional import Input, Model
from mlxfunctional.layers.core import Dense, Embedding
from mlxfunctional.layers.normalization import (BatchNormalization, LayerNormalization,
                                                UnitNormalization)

RNG = np.random.default_rng(1)


def rand(*shape, scale=1.0, loc=0.0):
    return (loc + scale * RNG.standard_normal(shape)).astype(np.float32)


def run(layer, x, **kwargs):
    return np.array(layer(x, **kwargs))


def bn_reference(x, axis, gamma, beta, mean, var, eps):
    """Keras' batch normalization, one feature at a time."""
    x = np.moveaxis(x.astype(np.float64), axis, -1)
    out = np.empty_like(x)
    for c in range(x.shape[-1]):
        out[..., c] = gamma[c] * (x[..., c] - mean[c]) / np.sqrt(var[c] + eps) + beta[c]
    return np.moveaxis(out, -1, axis)


def batch_moments(x, axis):
    x = np.moveaxis(x.astype(np.float64), axis, -1).reshape(-1, x.shape[axis])
    mean = x.sum(0) / len(x)
    var = ((x - mean) ** 2).sum(0) / len(x)  # biased, as Keras
    return mean, var


def bn_weights(c):
    return [rand(c, scale=0.5, loc=1.0), rand(c), rand(c), np.abs(rand(c)) + 0.5]


# ---------------------------------------------------------------- BatchNormalization

def test_batchnorm_weights_counts_and_shapes():
    layer = BatchNormalization()
    y = layer(Input((None, 5)))
    assert y.shape == (None, None, 5)
    assert layer.count_params() == 4 * 5
    assert sum(w.size for w in layer.trainable_weights) == 2 * 5
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2
    gamma, beta, mm, mv = layer.get_weights()
    assert (gamma == 1).all() and (beta == 0).all() and (mm == 0).all() and (mv == 1).all()
    from mlx.utils import tree_flatten

    assert sorted(k for k, _ in tree_flatten(layer.trainable_parameters())) == ["beta", "gamma"]


@pytest.mark.parametrize("shape, axis", [((6, 4), -1), ((3, 4, 5, 3), -1), ((4, 3, 5), 1)])
def test_batchnorm_training_uses_batch_stats_and_updates_moving_stats(shape, axis):
    c = shape[axis]
    layer = BatchNormalization(axis=axis, momentum=0.9, epsilon=1e-3)
    layer(Input(shape[1:]))
    gamma, beta, mm0, mv0 = bn_weights(c)
    layer.set_weights([gamma, beta, mm0, mv0])
    x = rand(*shape, scale=2.0, loc=0.5)
    mean, var = batch_moments(x, axis)
    out = run(layer, x, training=True)
    np.testing.assert_allclose(out, bn_reference(x, axis, gamma, beta, mean, var, 1e-3),
                               rtol=1e-4, atol=1e-4)
    _, _, mm, mv = layer.get_weights()
    np.testing.assert_allclose(mm, 0.9 * mm0 + 0.1 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mv, 0.9 * mv0 + 0.1 * var, rtol=1e-5, atol=1e-6)
    # Inference uses the (updated) moving statistics and leaves them alone.
    out = run(layer, x)
    np.testing.assert_allclose(out, bn_reference(x, axis, gamma, beta, mm, mv, 1e-3),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(layer.get_weights()[2], mm)


def test_batchnorm_default_momentum_in_a_model():
    inputs = Input((3,))
    bn = BatchNormalization()
    model = Model(inputs, bn(Dense(3, use_bias=False, kernel_initializer="identity")(inputs)))
    x = rand(8, 3, loc=2.0)
    mean, var = batch_moments(x, -1)
    model(x, training=True)
    _, _, mm, mv = bn.get_weights()
    np.testing.assert_allclose(mm, 0.01 * mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(mv, 0.99 + 0.01 * var, rtol=1e-5)
    model(x)  # inference: no update
    np.testing.assert_array_equal(bn.get_weights()[2], mm)


def test_frozen_batchnorm_runs_in_inference_mode():
    layer = BatchNormalization()
    layer(Input((4,)))
    weights = bn_weights(4)
    layer.set_weights(weights)
    layer.trainable = False
    assert len(layer.trainable_weights) == 0 and len(layer.non_trainable_weights) == 4
    x = rand(5, 4)
    out = run(layer, x, training=True)
    np.testing.assert_allclose(out, bn_reference(x, -1, *weights, 1e-3), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(layer.get_weights()[2], weights[2])


def test_batchnorm_masked_moments():
    layer = BatchNormalization(momentum=0.5, center=False, scale=False)
    layer(Input((4, 3)))
    assert layer.count_params() == 6 and len(layer.weights) == 2
    x = rand(2, 4, 3)
    mask = np.array([[1, 1, 0, 0], [1, 0, 1, 1]], bool)
    out = run(layer, mx.array(x), training=True, mask=mx.array(mask))
    kept = x[mask]  # (n, 3): only unmasked steps count
    mean, var = kept.mean(0), kept.var(0)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(layer.get_weights()[0], 0.5 * mean, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="one dimension less"):
        layer(mx.array(x), training=True, mask=mx.array(mask[:, :, None]))


def test_batchnorm_gradients_flow_to_gamma_beta_only():
    inputs = Input((3,))
    model = Model(inputs, BatchNormalization()(inputs))
    x = mx.array(rand(6, 3))

    def loss(m):
        return (m(x, training=True) * mx.array([1.0, 2.0, 3.0])).sum()

    _, grads = nn.value_and_grad(model, loss)(model)
    from mlx.utils import tree_flatten

    names = sorted(k.split(".")[-1] for k, _ in tree_flatten(grads))
    assert names == ["beta", "gamma"]
    beta_grad = [v for k, v in tree_flatten(grads) if k.endswith("beta")][0]
    np.testing.assert_allclose(np.array(beta_grad), [6, 12, 18], rtol=1e-5)


def _plain_batchnorm(x, gamma, beta, axis, eps):
    """Training-mode batch normalization as plain MLX ops (autograd's gradient)."""
    axes = [a for a in range(x.ndim) if a != axis % x.ndim]
    shape = [x.shape[a] if a == axis % x.ndim else 1 for a in range(x.ndim)]
    mean, var = mx.mean(x, axis=axes), mx.var(x, axis=axes)
    inv = mx.rsqrt(var + eps) * gamma
    return x * inv.reshape(shape) + (beta - mean * inv).reshape(shape)


@pytest.mark.parametrize("shape, axis, scale, center", [
    ((8, 5, 5, 6), -1, True, True), ((6, 4, 7), 1, True, False), ((9, 3), -1, False, True),
    ((4, 3, 2, 2, 5), -1, False, False)])
def test_batchnorm_training_gradients_match_autograd(shape, axis, scale, center):
    # The layer's closed-form gradient against MLX autograd through mean and variance.
    layer = BatchNormalization(axis=axis, scale=scale, center=center)
    layer(Input(shape[1:]))
    c = shape[axis]
    weights = bn_weights(c)
    layer.set_weights(([weights[0]] if scale else []) + ([weights[1]] if center else [])
                      + weights[2:])
    gamma = mx.array(weights[0]) if scale else mx.ones((c,))
    beta = mx.array(weights[1]) if center else mx.zeros((c,))
    x, ct = mx.array(rand(*shape, scale=2.0, loc=0.5)), mx.array(rand(*shape))

    def ours(x, gamma, beta):
        params = {k: v for k, v in (("gamma", gamma), ("beta", beta)) if k in layer}
        layer.update(params)
        return (layer(x, training=True) * ct).sum()

    def plain(x, gamma, beta):
        return (_plain_batchnorm(x, gamma, beta, axis, 1e-3) * ct).sum()

    got = mx.value_and_grad(ours, argnums=(0, 1, 2))(x, gamma, beta)
    want = mx.value_and_grad(plain, argnums=(0, 1, 2))(x, gamma, beta)
    np.testing.assert_array_equal(np.array(got[0]), np.array(want[0]))  # same forward bits
    for name, g, w, used in zip(("x", "gamma", "beta"), got[1], want[1], (True, scale, center)):
        if used:
            np.testing.assert_allclose(np.array(g), np.array(w), rtol=1e-4, atol=2e-5,
                                       err_msg=name)
    np.testing.assert_array_equal(  # and the layer's own forward, compiled or not
        np.array(mx.compile(lambda x: layer(x, training=True))(x)),
        np.array(_plain_batchnorm(x, gamma, beta, axis, 1e-3)))


def test_batchnorm_input_gradient_against_finite_differences():
    # An independent reference: numpy float64 central differences of the same loss.
    layer = BatchNormalization(epsilon=1e-3)
    layer(Input((3, 2)))
    gamma, beta, mm, mv = bn_weights(2)
    layer.set_weights([gamma, beta, mm, mv])
    x, ct = rand(4, 3, 2, scale=2.0), rand(4, 3, 2)

    def loss64(x):
        mean, var = batch_moments(x, -1)
        return float((bn_reference(x, -1, gamma, beta, mean, var, 1e-3) * ct).sum())

    numeric = np.zeros(x.shape)
    for i in np.ndindex(*x.shape):
        step = np.zeros(x.shape)
        step[i] = 1e-3
        numeric[i] = (loss64(x + step) - loss64(x - step)) / 2e-3
    grad = mx.grad(lambda x: (layer(x, training=True) * mx.array(ct)).sum())(mx.array(x))
    np.testing.assert_allclose(np.array(grad), numeric, rtol=1e-3, atol=1e-3)


def test_batchnorm_float16_inputs_train_in_float32():
    layer = BatchNormalization()
    layer(Input((4,)))
    x = mx.array(rand(16, 4, scale=3.0, loc=1.0)).astype(mx.float16)
    out, grad = mx.value_and_grad(lambda x: (layer(x, training=True) * 2).sum())(x)
    assert layer(x, training=True).dtype == mx.float16 and grad.dtype == mx.float16
    # Normalized outputs sum to ~0 per feature, so the input gradient is ~0 as well.
    np.testing.assert_allclose(np.array(grad.astype(mx.float32)), 0, atol=1e-2)


def test_batchnorm_config_roundtrip_and_errors():
    layer = BatchNormalization(axis=1, momentum=0.8, epsilon=1e-4, center=False,
                               gamma_regularizer="l2")
    x = rand(2, 3, 4)
    layer(x)
    config = layer.get_config()
    json.dumps(config)
    assert config["axis"] == 1 and config["momentum"] == 0.8 and config["synchronized"] is False
    clone = BatchNormalization.from_config(config)
    clone(x)
    clone.set_weights([rand(3), rand(3), np.abs(rand(3)) + 0.1])
    layer.set_weights(clone.get_weights())
    np.testing.assert_allclose(run(clone, x), run(layer, x), rtol=1e-6)
    assert len(layer.losses) == 1
    with pytest.raises(ValueError, match=r'"batch_normalization".*\(2, 5, 4\)'):
        layer(rand(2, 5, 4))
    with pytest.raises(ValueError, match="synchronized"):
        BatchNormalization(synchronized=True)
    with pytest.raises(ValueError, match="known sizes"):
        BatchNormalization()(Input((4, None)))


# ---------------------------------------------------------------- LayerNormalization

def ln_reference(x, axes, gamma, beta, eps):
    x = x.astype(np.float64)
    mean = x.mean(axis=tuple(axes), keepdims=True)
    var = ((x - mean) ** 2).mean(axis=tuple(axes), keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def test_layernorm_last_axis():
    layer = LayerNormalization()
    assert layer(Input((None, 6))).shape == (None, None, 6)
    assert layer.count_params() == 12
    gamma, beta = rand(6), rand(6)
    layer.set_weights([gamma, beta])
    x = rand(3, 4, 6, scale=3.0, loc=1.0)
    np.testing.assert_allclose(run(layer, x), ln_reference(x, [-1], gamma, beta, 1e-3),
                               rtol=1e-4, atol=1e-4)


def test_layernorm_several_axes_and_options():
    layer = LayerNormalization(axis=[1, 2], epsilon=1e-5)
    layer(Input((4, 5)))
    gamma, beta = rand(4, 5), rand(4, 5)
    assert [w.shape for w in layer.get_weights()] == [(4, 5), (4, 5)]
    layer.set_weights([gamma, beta])
    x = rand(2, 4, 5)
    np.testing.assert_allclose(run(layer, x), ln_reference(x, [1, 2], gamma, beta, 1e-5),
                               rtol=1e-4, atol=1e-4)
    plain = LayerNormalization(center=False, scale=False)
    assert plain(Input((3,))).shape == (None, 3) and plain.count_params() == 0
    x = rand(4, 3)
    np.testing.assert_allclose(run(plain, x), ln_reference(x, [-1], 1, 0, 1e-3),
                               rtol=1e-4, atol=1e-4)
    rms = LayerNormalization(rms_scaling=True)
    rms(Input((3,)))
    assert [w.shape for w in rms.get_weights()] == [(3,)]
    var = x.var(-1, keepdims=True)
    np.testing.assert_allclose(run(rms, x), x / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-4)


def test_layernorm_config_roundtrip_and_errors():
    layer = LayerNormalization(axis=[-2, -1], epsilon=1e-4, beta_regularizer="l1")
    x = rand(2, 3, 4)
    layer(x)
    layer.set_weights([rand(3, 4), rand(3, 4)])
    config = layer.get_config()
    json.dumps(config)
    clone = LayerNormalization.from_config(config)
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(run(clone, x), run(layer, x), rtol=1e-6)
    with pytest.raises(ValueError, match=r"layer_normalization.*\(None, 3, None\)"):
        LayerNormalization()(Input((3, None)))
    with pytest.raises(ValueError, match="out of bounds"):
        LayerNormalization(axis=3)(Input((3,)))
    with pytest.raises(TypeError):
        LayerNormalization(axis="last")


def test_layernorm_keeps_the_mask():
    ids = Input((4,), dtype="int32")
    out = LayerNormalization()(Embedding(5, 3, mask_zero=True)(ids))
    assert out._mask_shape == (None, 4)


# ---------------------------------------------------------------- UnitNormalization

def test_unit_normalization():
    layer = UnitNormalization()
    x = rand(3, 5)
    x[0] = 0
    x[1] *= 1e-4  # tiny but above the 1e-12 floor on the squared norm
    ref = np.array([row / max(np.sqrt((row.astype(np.float64) ** 2).sum()), 1e-6)
                    for row in x])
    np.testing.assert_allclose(run(layer, x), ref, rtol=1e-5, atol=1e-7)
    both = UnitNormalization(axis=[1, 2])
    y = rand(2, 3, 4)
    np.testing.assert_allclose(np.sqrt((run(both, y) ** 2).sum(axis=(1, 2))), [1, 1], rtol=1e-5)
    assert layer(Input((None, 5))).shape == (None, None, 5)
    clone = UnitNormalization.from_config(both.get_config())
    np.testing.assert_allclose(run(clone, y), run(both, y), rtol=1e-6)
