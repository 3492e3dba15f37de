"""GroupNormalization, RMSNormalization, SpectralNormalization and AlphaDropout against
numpy references, Keras' weight order and counts, configs, fit, and model files read
back in a fresh process (issue 14, item 3)."""

import json

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import Input, Model, layers
from tests._fresh_process import roundtrip_in_fresh_process

RNG = np.random.default_rng(14)


def rand(*shape, scale=1.0, loc=0.0):
    return (loc + scale * RNG.standard_normal(shape)).astype(np.float32)


def group_norm_reference(x, groups, axis, gamma, beta, eps):
    """One sample and one group at a time, channels picked by index."""
    x = np.moveaxis(x.astype(np.float64), axis, -1)
    out = np.empty_like(x)
    per_group = x.shape[-1] // groups
    for n in range(x.shape[0]):
        for g in range(groups):
            channels = list(range(g * per_group, (g + 1) * per_group))
            values = x[n][..., channels]
            mean = values.sum() / values.size
            var = ((values - mean) ** 2).sum() / values.size
            for c in channels:
                out[n][..., c] = gamma[c] * (x[n][..., c] - mean) / np.sqrt(var + eps) + beta[c]
    return np.moveaxis(out, -1, axis)


# ---------------------------------------------------------------- GroupNormalization

@pytest.mark.parametrize("shape, groups, axis", [
    ((3, 5, 6), 3, -1), ((2, 4, 4, 8), 2, -1), ((2, 6, 3, 5), 3, 1), ((2, 4, 6), 1, -1),
    ((2, 4, 6), -1, -1)])
def test_groupnorm_matches_numpy_with_weights_set_in_keras_order(shape, groups, axis):
    layer = layers.GroupNormalization(groups=groups, axis=axis, epsilon=1e-3)
    x = rand(*shape, scale=2.0, loc=1.0)
    layer(x)  # builds
    channels = shape[axis]
    gamma, beta = rand(channels, loc=1.0), rand(channels)
    assert [w.name for w in layer.weights] == ["gamma", "beta"]
    layer.set_weights([gamma, beta])
    expected = group_norm_reference(x, channels if groups == -1 else groups, axis, gamma,
                                    beta, 1e-3)
    np.testing.assert_allclose(np.array(layer(x)), expected, rtol=1e-4, atol=1e-4)
    assert layer.count_params() == 2 * channels


def test_groupnorm_center_scale_off_and_parameter_count_in_a_model():
    inputs = Input((4, 4, 12))
    outputs = layers.GroupNormalization(groups=4, center=False)(inputs)
    model = Model(inputs, outputs)
    assert model.count_params() == 12
    assert outputs.shape == (None, 4, 4, 12)
    x = rand(2, 4, 4, 12)
    expected = group_norm_reference(x, 4, -1, np.ones(12), np.zeros(12), 1e-3)
    np.testing.assert_allclose(np.array(model(x)), expected, rtol=1e-4, atol=1e-4)


def test_groupnorm_minus_one_is_instance_norm_and_reports_the_channels_once_built():
    layer = layers.GroupNormalization(groups=-1)
    assert layer.get_config()["groups"] == -1
    layer(rand(2, 3, 5))
    assert layer.get_config()["groups"] == 5  # as Keras: the resolved count


def test_groupnorm_refuses_groups_that_do_not_divide_the_channels():
    with pytest.raises(ValueError, match="3 groups must divide the 8 channels"):
        layers.GroupNormalization(groups=3)(Input((4, 8)))
    with pytest.raises(ValueError, match="16 groups must divide the 8 channels"):
        layers.GroupNormalization(groups=16)(Input((4, 8)))
    with pytest.raises(ValueError, match="known size"):
        layers.GroupNormalization(groups=2)(Input((4, None)))


def test_groupnorm_float16_statistics_in_float32():
    x = rand(2, 3, 8, scale=300.0).astype(np.float16)
    layer = layers.GroupNormalization(groups=2, dtype="float16")
    y = np.array(layer(mx.array(x)))
    assert y.dtype == np.float16 and np.isfinite(y).all()
    expected = group_norm_reference(x, 2, -1, np.ones(8), np.zeros(8), 1e-3)
    np.testing.assert_allclose(y.astype(np.float64), expected, atol=2e-2)


def test_groupnorm_passes_a_mask_through():
    inputs = Input((None,), dtype="int32")
    h = layers.Embedding(10, 4, mask_zero=True)(inputs)
    normed = layers.GroupNormalization(groups=2)(h)
    lstm = layers.LSTM(3)
    model = Model(inputs, lstm(normed))
    ids = np.array([[1, 2, 0, 0], [3, 0, 0, 0]])
    # The LSTM in the model gets the Embedding's mask through the GroupNormalization.
    features = Model(inputs, normed)(ids)
    with_mask = lstm(features, mask=mx.array(ids != 0))
    without = lstm(features)
    np.testing.assert_allclose(np.array(model(ids)), np.array(with_mask), atol=1e-6)
    assert not np.allclose(np.array(with_mask), np.array(without), atol=1e-4)


def test_groupnorm_config_round_trip():
    layer = layers.GroupNormalization(groups=4, axis=1, epsilon=0.01, center=False,
                                      gamma_initializer="zeros", beta_regularizer="l2")
    config = json.loads(json.dumps(layer.get_config()))
    again = layers.GroupNormalization.from_config(config)
    assert again.get_config() == layer.get_config()
    assert (again.groups, again.axis, again.epsilon, again.center) == (4, 1, 0.01, False)


# ---------------------------------------------------------------- RMSNormalization

def test_rmsnorm_matches_numpy_last_axis():
    layer = layers.RMSNormalization(epsilon=1e-6)
    x = rand(3, 4, 6, scale=3.0)
    layer(x)
    scale = rand(6, loc=1.0)
    layer.set_weights([scale])
    x64 = x.astype(np.float64)
    rms = np.sqrt((x64 ** 2).mean(axis=-1, keepdims=True) + 1e-6)
    np.testing.assert_allclose(np.array(layer(x)), x64 / rms * scale, rtol=1e-5, atol=1e-6)
    assert layer.count_params() == 6 and [w.name for w in layer.weights] == ["scale"]


def test_rmsnorm_several_axes_scale_sits_on_them():
    layer = layers.RMSNormalization(axis=[2, 1])
    x = rand(2, 3, 4, 5)
    layer(x)
    assert layer.axis == [1, 2] and layer.weights[0].shape == (3, 4)
    scale = rand(3, 4, loc=1.0)
    layer.set_weights([scale])
    x64 = x.astype(np.float64)
    expected = np.empty_like(x64)
    for n in range(2):
        for c in range(5):
            block = x64[n, :, :, c]
            expected[n, :, :, c] = block / np.sqrt((block ** 2).mean() + 1e-6) * scale
    np.testing.assert_allclose(np.array(layer(x)), expected, rtol=1e-5, atol=1e-6)


def test_rmsnorm_config_round_trip_and_keras_axis_as_list():
    layer = layers.RMSNormalization(epsilon=1e-5)
    layer(rand(2, 3))
    config = json.loads(json.dumps(layer.get_config()))
    assert config["axis"] == [-1] and config["epsilon"] == 1e-5
    assert layers.RMSNormalization.from_config(config).get_config() == config


# ---------------------------------------------------------------- SpectralNormalization

def spectral_reference(kernel, u, iterations):
    """Power iteration in float64: (new u, kernel / sigma)."""
    w = kernel.astype(np.float64).reshape(-1, kernel.shape[-1])
    u = u.astype(np.float64)
    for _ in range(iterations):
        v = u @ w.T
        v = v / np.linalg.norm(v)
        u = v @ w
        u = u / np.linalg.norm(u)
    sigma = (v @ w @ u.T).item()
    return u, kernel / sigma


def test_spectralnorm_keras_published_example_conv_of_ones():
    # Keras' own test: a 2x2 kernel of ones on a 2x2 image of ones gives 4; its
    # largest singular value (as a (4, 1) matrix) is 2, so the trained call gives 2.
    wrapper = layers.SpectralNormalization(
        layers.Conv2D(1, (2, 2), kernel_initializer=keras.initializers.Constant(1.0)),
        power_iterations=8)
    images = np.ones((1, 2, 2, 1), np.float32)
    np.testing.assert_allclose(np.array(wrapper(images, training=False)), [[[[4.0]]]])
    np.testing.assert_allclose(np.array(wrapper(images, training=True)), [[[[2.0]]]],
                               rtol=1e-6)


def test_spectralnorm_dense_weights_in_keras_order_and_numpy_reference():
    wrapper = layers.SpectralNormalization(layers.Dense(3), power_iterations=2)
    x = rand(4, 5)
    wrapper(x)
    # Keras: the kernel (tracked by the wrapper), vector_u, then the Dense's bias.
    assert [w.name for w in wrapper.weights] == ["kernel", "vector_u", "bias"]
    assert [w.name for w in wrapper.trainable_weights] == ["kernel", "bias"]
    assert [w.name for w in wrapper.non_trainable_weights] == ["vector_u"]
    assert wrapper.count_params() == 5 * 3 + 3 + 3
    kernel, u, bias = rand(5, 3), rand(1, 3), rand(3)
    wrapper.set_weights([kernel, u, bias])
    # Inference: the kernel as stored.
    np.testing.assert_allclose(np.array(wrapper(x)), x @ kernel + bias, rtol=1e-5, atol=1e-5)
    new_u, normalized = spectral_reference(kernel, u, 2)
    y = np.array(wrapper(x, training=True))
    np.testing.assert_allclose(y, x @ normalized + bias, rtol=1e-4, atol=1e-5)
    got_kernel, got_u, got_bias = wrapper.get_weights()
    np.testing.assert_allclose(got_kernel, normalized, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got_u, new_u, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(got_bias, bias)


def test_spectralnorm_converges_to_the_largest_singular_value():
    kernel = rand(3, 3, 2, 4)
    wrapper = layers.SpectralNormalization(layers.Conv2D(4, 3), power_iterations=60)
    wrapper(rand(1, 5, 5, 2))
    wrapper.set_weights([kernel, rand(1, 4), np.zeros(4, np.float32)])
    wrapper(rand(1, 5, 5, 2), training=True)
    normalized = wrapper.get_weights()[0].reshape(-1, 4)
    # An independent truth: numpy's SVD of the (18, 4) matrix.
    assert np.linalg.svd(normalized, compute_uv=False)[0] == pytest.approx(1.0, abs=1e-4)


def test_spectralnorm_embedding_and_zero_kernel_and_bad_layer():
    wrapper = layers.SpectralNormalization(layers.Embedding(10, 4))
    out = wrapper(np.array([[1, 2, 3]]), training=True)
    assert out.shape == (1, 3, 4) and out.dtype == mx.float32
    assert [w.name for w in wrapper.weights] == ["embeddings", "vector_u"]
    zero = layers.SpectralNormalization(layers.Dense(2, kernel_initializer="zeros"))
    x = rand(2, 3)
    zero(x, training=True)
    assert np.all(zero.get_weights()[0] == 0) and np.isfinite(zero.get_weights()[1]).all()
    with pytest.raises(ValueError, match="has no attribute 'kernel' nor 'embeddings'"):
        layers.SpectralNormalization(layers.ReLU())(np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="layer must be a Layer"):
        layers.SpectralNormalization("dense")


def test_spectralnorm_gradient_flows_through_kernel_over_sigma():
    import mlx.nn as nn
    from mlx.utils import tree_flatten

    kernel, u = rand(5, 3), rand(1, 3)
    wrapper = layers.SpectralNormalization(layers.Dense(3, use_bias=False))
    x = mx.array(rand(4, 5))
    wrapper(x)
    wrapper.set_weights([kernel, u])
    _, grads = nn.value_and_grad(wrapper, lambda x: mx.sum(wrapper(x, training=True) ** 2))(x)
    grads = dict(tree_flatten(grads))
    assert list(grads) == ["layer.kernel"]  # vector_u is not trained

    def by_hand(w):  # L(W / sigma(W)) with u and v held constant
        v = mx.array(u) @ w.T
        v = v / mx.sqrt(mx.sum(v * v))
        new_u = v @ w
        new_u = new_u / mx.sqrt(mx.sum(new_u * new_u))
        sigma = (mx.stop_gradient(v) @ w) @ mx.stop_gradient(new_u).T
        return mx.sum((x @ (w / sigma)) ** 2)

    expected = mx.grad(by_hand)(mx.array(kernel))
    np.testing.assert_allclose(np.array(grads["layer.kernel"]), np.array(expected),
                               rtol=1e-4, atol=1e-6)


def test_spectralnorm_config_round_trip():
    wrapper = layers.SpectralNormalization(layers.Dense(3, use_bias=False), power_iterations=3,
                                           name="sn")
    config = json.loads(json.dumps(wrapper.get_config()))
    again = layers.SpectralNormalization.from_config(config)
    assert again.power_iterations == 3 and again.name == "sn"
    assert type(again.layer) is layers.Dense and again.layer.units == 3
    assert again.get_config() == wrapper.get_config()


# ---------------------------------------------------------------- AlphaDropout

ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946


def test_alphadropout_is_the_identity_at_inference():
    x = rand(3, 7)
    layer = layers.AlphaDropout(0.4, seed=3)
    assert np.array_equal(np.array(layer(x)), x)
    assert np.array_equal(np.array(layer(x, training=False)), x)


def test_alphadropout_training_matches_the_formula_and_keeps_selu_statistics():
    rate = 0.3
    layer = layers.AlphaDropout(rate, seed=7)
    x = rand(200, 500)
    y = np.array(layer(x, training=True)).astype(np.float64)
    a = ((1 - rate) * (1 + rate * ALPHA_P ** 2)) ** -0.5
    b = -a * ALPHA_P * rate
    kept = np.isclose(y, a * x + b, rtol=0, atol=1e-5)
    dropped = np.isclose(y, a * ALPHA_P + b, rtol=0, atol=1e-5)
    assert np.all(kept | dropped)
    assert dropped.mean() == pytest.approx(rate, abs=0.01)
    # The point of the layer: zero mean, unit variance in, (about) the same out.
    assert y.mean() == pytest.approx(0.0, abs=0.02)
    assert y.var() == pytest.approx(1.0, abs=0.03)


def test_alphadropout_seeded_runs_repeat_and_noise_shape_broadcasts():
    x = rand(4, 6, 5)
    first = np.array(layers.AlphaDropout(0.5, seed=11)(x, training=True))
    again = np.array(layers.AlphaDropout(0.5, seed=11)(x, training=True))
    assert np.array_equal(first, again)
    layer = layers.AlphaDropout(0.5, noise_shape=(None, 1, 5), seed=2)
    y = np.array(layer(np.ones((4, 6, 5), np.float32), training=True))
    assert np.all(y == y[:, :1, :])  # one decision per (sample, channel)
    config = json.loads(json.dumps(layer.get_config()))
    assert (config["rate"], config["seed"], config["noise_shape"]) == (0.5, 2, [None, 1, 5])
    assert layers.AlphaDropout.from_config(config).get_config() == config


# ---------------------------------------------------------------- fit and files

def _family_model():
    inputs = Input((6, 6, 4))
    h = layers.GroupNormalization(groups=2)(inputs)
    h = layers.SpectralNormalization(layers.Conv2D(4, 3, padding="same"))(h)
    h = layers.Flatten()(h)
    h = layers.RMSNormalization()(h)
    h = layers.AlphaDropout(0.1, seed=1)(h)
    outputs = layers.Dense(2)(h)
    return Model(inputs, outputs)


def test_the_family_trains_in_the_compiled_step_and_updates_vector_u():
    keras.utils.set_random_seed(3)
    model = _family_model()
    x = rand(64, 6, 6, 4)
    y = np.stack([x.mean(axis=(1, 2, 3)), x[:, :3, :3].mean(axis=(1, 2, 3))], 1)  # learnable
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    sn = model.layers[2]
    u_before = sn.get_weights()[1].copy()
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=16, epochs=10, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert np.isfinite(after) and after < 0.5 * before
    assert not np.array_equal(sn.get_weights()[1], u_before)  # power iteration state moved
    # Each step stored kernel / sigma, then the optimizer moved it a little: its largest
    # singular value (numpy's SVD of the (36, 4) matrix) stays near 1.
    kernel = sn.get_weights()[0].reshape(-1, 4)
    assert np.linalg.svd(kernel, compute_uv=False)[0] == pytest.approx(1.0, abs=0.1)
    # Count: GN 2*4, conv 3*3*4*4 + 4, vector_u 4, RMS 144, dense 144*2 + 2.
    assert model.count_params() == 8 + 148 + 4 + 144 + 290


def test_model_files_read_back_in_a_fresh_process(tmp_path):
    model = _family_model()
    model.set_weights([w + 0.01 * i for i, w in enumerate(model.get_weights())])
    inputs = Input((None,), dtype="int32")
    emb = layers.SpectralNormalization(layers.Embedding(10, 4), power_iterations=2)(inputs)
    groups = layers.GroupNormalization(groups=-1, axis=-1)(emb)
    rms = layers.RMSNormalization(axis=[1, 2])(layers.Reshape((2, 4))(groups[:, :2]))
    second = Model(inputs, rms)
    second.layers[1](np.array([[1, 2]]), training=True)  # vector_u away from its init
    roundtrip_in_fresh_process([(model, rand(3, 6, 6, 4)),
                                (second, np.array([[1, 2, 3], [4, 5, 6]], np.int32))],
                               tmp_path)


# ---------------------------------------------------------------- Wrapper

def test_a_user_wrapper_subclass_builds_its_layer_and_round_trips_keras_config_forms():
    class Doubled(layers.Wrapper):
        def call(self, inputs):
            return 2 * self.layer(inputs)

    wrapper = Doubled(layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros"))
    x = rand(3, 4)
    np.testing.assert_allclose(np.array(wrapper(x)), 2 * x.sum(1, keepdims=True).repeat(2, 1),
                               rtol=1e-5)
    assert [w.name for w in wrapper.weights] == ["kernel", "bias"]
    # Keras 3 writes the wrapped layer as serialize_keras_object's dict.
    keras_form = {"name": "sn", "power_iterations": 2,
                  "layer": {"module": "keras.layers", "class_name": "Dense",
                            "config": {"units": 3, "name": "inner"}, "registered_name": None}}
    again = layers.SpectralNormalization.from_config(keras_form)
    assert (again.layer.units, again.layer.name, again.power_iterations) == (3, "inner", 2)
    with pytest.raises(ValueError, match="layer must be a Layer"):
        layers.Wrapper(None)
