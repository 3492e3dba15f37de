"""MultiHeadAttention, GroupQueryAttention and EinsumDense against numpy references (tests/_attention_reference.py), with weights set through
set_weights in Keras' order; parameter counts from the weight shapes; configs; masks;
model files read back in a fresh process. (Attention, AdditiveAttention, the Embedding
extras and ReversibleEmbedding: test_layers_attention_dot.py.)"""

import os

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers

from _attention_reference import (fresh_process_predict, gqa, mha, mha_over_axes, project,
                                  softmax_rows)

RNG = np.random.default_rng(14)


def rand(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype("float32")


def random_weights(layer):
    """New random values for every weight of ``layer`` (biases too: zeros would hide
    a bias applied on the wrong axis), set through set_weights in Keras' order."""
    weights = [rand(*w.shape, scale=0.5) for w in layer.get_weights()]
    layer.set_weights(weights)
    return weights


def close(a, b, tol=2e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=tol, atol=tol)


# -- EinsumDense ------------------------------------------------------------------------

@pytest.mark.parametrize("equation, output_shape, bias_axes, input_shape, kernel, bias", [
    ("ab,bc->ac", 4, "c", (3, 5), (5, 4), (4,)),
    ("abc,cde->abde", (None, 2, 3), "de", (2, 6, 5), (5, 2, 3), (2, 3)),
    ("abc,cd->abd", (6, 4), "bd", (2, 6, 5), (5, 4), (6, 4)),
    ("abcd,cde->abe", (None, 3), "e", (2, 4, 5, 6), (5, 6, 3), (3,)),
    ("...b,bc->...c", 7, None, (2, 3, 4, 5), (5, 7), None),
    ("ab...,bc->ac...", 7, "c", (2, 5, 3), (5, 7), (7, 1)),
    ("abc,bcd->abd", (6, 4), "d", (2, 6, 5), (6, 5, 4), (4,)),
])
def test_einsum_dense_matches_numpy_einsum(equation, output_shape, bias_axes, input_shape,
                                           kernel, bias):
    layer = layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, activation="tanh")
    x = rand(*input_shape)
    layer.build(input_shape)
    assert [w.shape for w in layer.get_weights()] == [kernel] + ([bias] if bias else [])
    assert [w.name for w in layer.weights] == ["kernel"] + (["bias"] if bias else [])
    assert layer.count_params() == int(np.prod(kernel)) + (int(np.prod(bias)) if bias else 0)
    weights = random_weights(layer)
    expected = np.einsum(equation, x, weights[0]) + (weights[1] if bias else 0)
    close(layer(mx.array(x)), np.tanh(expected))


def test_einsum_dense_config_round_trip_and_symbolic_shape():
    layer = layers.EinsumDense("abc,cde->abde", (None, 2, 3), bias_axes="de",
                               kernel_initializer="he_normal", activation="relu")
    config = layer.get_config()
    assert config["equation"] == "abc,cde->abde" and config["bias_axes"] == "de"
    assert config["output_shape"] == [None, 2, 3]
    clone = layers.EinsumDense.from_config(config)
    assert clone.get_config() == config
    y = layers.EinsumDense("abc,cde->abde", (None, 2, 3))(keras.Input((7, 5)))
    assert y.shape == (None, 7, 2, 3)


def test_einsum_dense_refuses_bad_equations():
    with pytest.raises(ValueError, match="Invalid einsum equation"):
        layers.EinsumDense("ab->b", 3).build((2, 4))
    with pytest.raises(ValueError, match="Bias dimension 'z'"):
        layers.EinsumDense("ab,bc->ac", 3, bias_axes="z").build((2, 4))
    with pytest.raises(ValueError, match="Weight dimension 'e'"):
        layers.EinsumDense("ab,bce->ac", 3).build((2, 4))
    with pytest.raises(ValueError, match="Dimension 'c' was specified"):
        layers.EinsumDense("ab,be->ac", 3).build((2, 4))


def test_einsum_dense_kernel_fans_follow_the_equation():
    # Keras draws a (d, heads, dim) kernel with fan_in = d, fan_out = heads * dim:
    # glorot_uniform's limit is sqrt(6 / (64 + 8*16)); the conv-style fans (from the
    # last two dims) would give sqrt(6 / (64*8 + 16*64)), three times smaller.
    layer = layers.EinsumDense("abc,cde->abde", (None, 8, 16))
    layer.build((None, 10, 64))
    kernel = layer.get_weights()[0]
    limit = np.sqrt(6 / (64 + 128))
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.9 * limit


# -- MultiHeadAttention -------------------------------------------------------------------

def test_mha_weights_are_keras_layout_names_and_count():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=5)
    q, v, k = keras.Input((4, 6)), keras.Input((7, 8)), keras.Input((7, 9))
    layer(q, v, key=k)
    shapes = [w.shape for w in layer.get_weights()]
    assert shapes == [(6, 2, 3), (2, 3), (9, 2, 3), (2, 3), (8, 2, 5), (2, 5), (2, 5, 6), (6,)]
    assert [w.path.split("/", 1)[1] for w in layer.weights] == [
        "query/kernel", "query/bias", "key/kernel", "key/bias", "value/kernel",
        "value/bias", "attention_output/kernel", "attention_output/bias"]
    # 6*2*3 + 2*3 + 9*2*3 + 2*3 + 8*2*5 + 2*5 + 2*5*6 + 6
    assert layer.count_params() == 36 + 6 + 54 + 6 + 80 + 10 + 60 + 6 == 258
    no_bias = layers.MultiHeadAttention(2, 3, use_bias=False, output_shape=(4,))
    no_bias(keras.Input((4, 6)), keras.Input((4, 6)))
    assert [w.shape for w in no_bias.get_weights()] == [(6, 2, 3)] * 3 + [(2, 3, 4)]


@pytest.mark.parametrize("with_key", [False, True])
def test_mha_matches_numpy_with_different_lengths(with_key):
    layer = layers.MultiHeadAttention(num_heads=3, key_dim=4, value_dim=2)
    query, value = rand(2, 5, 6), rand(2, 7, 8)
    key = rand(2, 7, 3) if with_key else None
    layer.build(query.shape, value.shape, None if key is None else key.shape)
    weights = random_weights(layer)
    out = layer(mx.array(query), mx.array(value), key=None if key is None else mx.array(key))
    expected, _ = mha(query, value, key, weights, 3, 4)
    assert out.shape == (2, 5, 6)
    close(out, expected)


def test_mha_attention_mask_fused_and_composed_paths():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    query, value = rand(3, 4, 6), rand(3, 5, 6)
    layer.build(query.shape, value.shape)
    weights = random_weights(layer)
    keep = RNG.random((3, 4, 5)) > 0.4
    keep[0, 1] = False  # a fully masked query row
    out = layer(mx.array(query), mx.array(value), attention_mask=mx.array(keep))
    # The fused path (no dropout, no scores) averages a fully masked row, as Keras'
    # dot_product_attention; the composed one (scores returned) gives it zeros, as
    # Keras' masked Softmax.
    close(out, mha(query, value, None, weights, 2, 4, keep=keep, fully_masked="uniform")[0])
    out2, scores = layer(mx.array(query), mx.array(value), attention_mask=mx.array(keep),
                         return_attention_scores=True)
    expected, probs = mha(query, value, None, weights, 2, 4, keep=keep, fully_masked="zero")
    close(out2, expected)
    close(scores, probs)
    assert scores.shape == (3, 2, 4, 5)
    assert np.all(np.asarray(scores)[0, :, 1] == 0)


@pytest.mark.parametrize("q_len, kv_len", [(5, 5), (3, 6), (6, 4)])
def test_mha_causal_mask_is_top_left_aligned(q_len, kv_len):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    query, value = rand(2, q_len, 4), rand(2, kv_len, 4)
    layer.build(query.shape, value.shape)
    weights = random_weights(layer)
    out = layer(mx.array(query), mx.array(value), use_causal_mask=True)
    close(out, mha(query, value, None, weights, 2, 3, causal=True)[0])
    out2, scores = layer(mx.array(query), mx.array(value), use_causal_mask=True,
                         return_attention_scores=True)
    expected, probs = mha(query, value, None, weights, 2, 3, causal=True, fully_masked="zero")
    close(out2, expected)
    close(scores, probs)


def test_mha_causal_combined_with_attention_mask():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    x = rand(2, 5, 4)
    layer.build(x.shape, x.shape)
    weights = random_weights(layer)
    keep = RNG.random((2, 5, 5)) > 0.3
    keep[:, :, 0] = True  # every row keeps one key once the causal band is applied
    out = layer(mx.array(x), mx.array(x), attention_mask=mx.array(keep), use_causal_mask=True)
    close(out, mha(x, x, None, weights, 2, 3, keep=keep, causal=True)[0])


def _token_model(num_heads=2, key_dim=4, vocab=11, dim=6):
    """Query tokens and value tokens, both embedded with mask_zero=True, into MHA."""
    q_ids, v_ids = keras.Input((None,), dtype="int32"), keras.Input((None,), dtype="int32")
    q_emb = layers.Embedding(vocab, dim, mask_zero=True, name="q_emb")
    v_emb = layers.Embedding(vocab, dim, mask_zero=True, name="v_emb")
    mha_layer = layers.MultiHeadAttention(num_heads, key_dim, name="mha")
    out = mha_layer(q_emb(q_ids), v_emb(v_ids))
    return keras.Model([q_ids, v_ids], out), q_emb, v_emb, mha_layer


def test_mha_combines_the_query_and_value_masks_in_a_graph():
    model, q_emb, v_emb, layer = _token_model()
    q_ids = np.array([[3, 4, 0, 0], [1, 2, 5, 0]], "int32")
    v_ids = np.array([[7, 0, 2, 0, 0], [1, 1, 1, 9, 0]], "int32")
    out = model([q_ids, v_ids])
    weights = layer.get_weights()
    qe = q_emb.get_weights()[0][q_ids]
    ve = v_emb.get_weights()[0][v_ids]
    # Keras: query mask (B, T, 1) AND value mask (B, 1, S); padded query rows are then
    # fully masked (fused path: they average the values).
    keep = (q_ids != 0)[:, :, None] & (v_ids != 0)[:, None, :]
    close(out, mha(qe, ve, None, weights, 2, 4, keep=keep)[0])
    # Without the value mask the padded keys would be seen: the outputs differ.
    unmasked = mha(qe, ve, None, weights, 2, 4, keep=(q_ids != 0)[:, :, None]
                   & np.ones((1, 1, 5), bool))[0]
    assert not np.allclose(np.asarray(out)[:, :2], unmasked[:, :2], atol=1e-4)


def test_mha_masks_in_eager_calls_and_output_mask():
    emb = layers.Embedding(9, 4, mask_zero=True)
    layer = layers.MultiHeadAttention(2, 3)
    ids = np.array([[1, 2, 0], [3, 0, 0]], "int32")
    x = emb(mx.array(ids))
    out = layer(x, x)
    # The output carries the query's mask (Keras' _keras_mask).
    assert np.array_equal(np.asarray(out._keras_mask), ids != 0)
    keep = (ids != 0)[:, :, None] & (ids != 0)[:, None, :]
    close(out, mha(np.asarray(x), np.asarray(x), None, layer.get_weights(), 2, 3, keep=keep)[0])
    # An explicit query_mask/value_mask takes the place of the inputs' masks.
    plain = mx.array(np.asarray(x))
    out2 = layer(plain, plain, query_mask=mx.array(ids != 0), value_mask=mx.array(ids != 0))
    close(out2, out)


def test_mha_output_mask_flows_to_the_next_layer():
    model, *_ = _token_model()
    pooled = layers.GlobalAveragePooling1D()(model.output)
    pooled_model = keras.Model(model.inputs, pooled)
    q_ids = np.array([[3, 4, 0, 0]], "int32")
    v_ids = np.array([[7, 2, 2, 0, 0]], "int32")
    full = np.asarray(model([q_ids, v_ids]))
    # GlobalAveragePooling1D averages the unmasked query steps only.
    close(pooled_model([q_ids, v_ids]), full[:, :2].mean(axis=1))


@pytest.mark.parametrize("axes", [(2,), (1, 2), (1,)])
def test_mha_attention_axes(axes):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=axes)
    x = rand(2, 3, 4, 5)
    layer.build(x.shape, x.shape)
    weights = random_weights(layer)
    out = layer(mx.array(x), mx.array(x))
    assert out.shape == x.shape
    close(out, mha_over_axes(x, weights, 2, 3, axes))
    _, scores = layer(mx.array(x), mx.array(x), return_attention_scores=True)
    expected = {(2,): (2, 3, 2, 4, 4), (1, 2): (2, 2, 3, 4, 3, 4), (1,): (2, 4, 2, 3, 3)}
    assert scores.shape == expected[axes]


def test_mha_output_shape_and_gate():
    layer = layers.MultiHeadAttention(2, 3, output_shape=(2, 5), use_gate=True)
    y = layer(keras.Input((4, 6)), keras.Input((4, 6)))
    assert y.shape == (None, 4, 2, 5)
    assert [w.shape for w in layer.get_weights()] == [
        (6, 2, 3), (2, 3), (6, 2, 3), (2, 3), (6, 2, 3), (2, 3), (6, 2, 3), (2, 3),
        (2, 3, 2, 5), (2, 5)]
    x = rand(2, 4, 6)
    weights = random_weights(layer)
    wq, bq, wk, bk, wg, bg, wv, bv, wo, bo = weights
    q, k, v = project(x, wq, bq), project(x, wk, bk), project(x, wv, bv)
    gate = 1 / (1 + np.exp(-project(x, wg, bg)))
    p = np.stack([[softmax_rows(q[b, :, h] @ k[b, :, h].T / np.sqrt(3), None, "zero")
                   for h in range(2)] for b in range(2)])
    heads = np.einsum("bhts,bshd->bthd", p, v) * gate
    expected = np.tensordot(heads, wo, axes=([2, 3], [0, 1])) + bo
    close(layer(mx.array(x), mx.array(x)), expected)


def test_mha_dropout_acts_in_training_only_and_is_seeded():
    layer = layers.MultiHeadAttention(2, 3, dropout=0.5, seed=7)
    x = rand(2, 6, 4)
    layer.build(x.shape, x.shape)
    weights = random_weights(layer)
    expected = mha(x, x, None, weights, 2, 3, fully_masked="zero")[0]
    close(layer(mx.array(x), mx.array(x), training=False), expected)
    trained = np.asarray(layer(mx.array(x), mx.array(x), training=True))
    assert not np.allclose(trained, expected, atol=1e-3)
    again = layers.MultiHeadAttention(2, 3, dropout=0.5, seed=7)
    again.build(x.shape, x.shape)
    again.set_weights(weights)
    close(again(mx.array(x), mx.array(x), training=True), trained, tol=1e-6)


def test_mha_flash_attention_true_refuses_dropout_and_scores():
    with pytest.raises(ValueError, match="Dropout is not supported"):
        layers.MultiHeadAttention(2, 3, dropout=0.1, flash_attention=True)
    layer = layers.MultiHeadAttention(2, 3, flash_attention=True)
    x = mx.array(rand(1, 3, 4))
    with pytest.raises(ValueError, match="Returning attention scores"):
        layer(x, x, return_attention_scores=True)


def test_mha_flash_attention_false_gives_the_same_numbers():
    fused = layers.MultiHeadAttention(2, 3)
    composed = layers.MultiHeadAttention(2, 3, flash_attention=False)
    x = rand(2, 5, 4)
    keep = RNG.random((2, 5, 5)) > 0.3
    keep[:, :, 0] = True
    for layer in (fused, composed):
        layer.build(x.shape, x.shape)
    composed.set_weights(random_weights(fused))
    a = fused(mx.array(x), mx.array(x), attention_mask=mx.array(keep))
    b = composed(mx.array(x), mx.array(x), attention_mask=mx.array(keep))
    close(a, b)


def test_mha_config_round_trip():
    layer = layers.MultiHeadAttention(
        num_heads=3, key_dim=4, value_dim=5, dropout=0.25, use_bias=False, output_shape=7,
        attention_axes=(1,), sliding_window=3, kernel_initializer="he_normal",
        kernel_regularizer="l2", use_gate=True, seed=3, name="attn")
    config = layer.get_config()
    for k, v in dict(num_heads=3, key_dim=4, value_dim=5, dropout=0.25, use_bias=False,
                     output_shape=[7], attention_axes=[1], sliding_window=3, seed=3,
                     use_gate=True, name="attn").items():
        assert config[k] == v, k
    clone = layers.MultiHeadAttention.from_config(config)
    assert clone.get_config() == config
    via_registry = layers.deserialize(layers.serialize(layer))
    assert type(via_registry) is layers.MultiHeadAttention
    assert via_registry.get_config() == config


def test_mha_sliding_window_matches_band_mask():
    windowed = layers.MultiHeadAttention(2, 3, sliding_window=2)
    plain = layers.MultiHeadAttention(2, 3)
    x = rand(2, 6, 4)
    for layer in (windowed, plain):
        layer.build(x.shape, x.shape)
    weights = random_weights(windowed)
    plain.set_weights(weights)
    idx = np.arange(6)
    band = np.abs(idx[:, None] - idx[None, :]) < 2
    out = windowed(mx.array(x), mx.array(x))
    close(out, mha(x, x, None, weights, 2, 3, keep=np.broadcast_to(band, (2, 6, 6)))[0])
    close(out, plain(mx.array(x), mx.array(x), attention_mask=mx.array(band[None])))


def test_mha_trains_inside_the_compiled_step():
    x_in = keras.Input((6, 4))
    h = layers.MultiHeadAttention(2, 4, dropout=0.1, seed=1)(x_in, x_in)
    out = layers.Dense(1)(layers.GlobalAveragePooling1D()(h))
    model = keras.Model(x_in, out)
    model.compile(optimizer="adam", loss="mse")
    x = rand(32, 6, 4)
    y = x.sum(axis=(1, 2))[:, None] * 0.1
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_mha_with_input_masks_trains_inside_the_compiled_step():
    model, q_emb, v_emb, layer = _token_model()
    head = layers.Dense(1)(layers.GlobalAveragePooling1D()(model.output))
    trained = keras.Model(model.inputs, head)
    trained.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(3)
    q_ids = rng.integers(0, 11, size=(16, 4)).astype("int32")
    v_ids = rng.integers(0, 11, size=(16, 5)).astype("int32")
    q_ids[:, 0] = 1  # at least one query step unmasked per row
    y = (q_ids > 5).mean(axis=1, keepdims=True).astype("float32")
    before = layer.get_weights()
    history = trained.fit([q_ids, v_ids], y, epochs=2, batch_size=8, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    after = layer.get_weights()
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))
    # The trained layers, run again, still combine both inputs' masks.
    qe = q_emb.get_weights()[0][q_ids]
    ve = v_emb.get_weights()[0][v_ids]
    keep = (q_ids != 0)[:, :, None] & (v_ids != 0)[:, None, :]
    close(model([q_ids, v_ids]), mha(qe, ve, None, after, 2, 4, keep=keep)[0])


def test_mha_model_file_round_trip_in_a_fresh_process(tmp_path):
    model, *_ = _token_model()
    q_ids = np.array([[3, 4, 0, 0], [1, 2, 5, 0]], "int32")
    v_ids = np.array([[7, 0, 2, 0, 0], [1, 1, 1, 9, 0]], "int32")
    path = os.path.join(str(tmp_path), "mha.mlxf")
    model.save(path)
    expected = model.predict([q_ids, v_ids], verbose=0)
    (got,) = fresh_process_predict(path, [q_ids, v_ids], tmp_path)
    assert np.array_equal(got, expected)


# -- GroupQueryAttention --------------------------------------------------------------------

def test_gqa_weights_count_and_numpy_reference():
    layer = layers.GroupQueryAttention(head_dim=3, num_query_heads=4, num_key_value_heads=2)
    query, value = rand(2, 5, 6), rand(2, 7, 6)
    out = layer(keras.Input((5, 6)), keras.Input((7, 6)))
    assert out.shape == (None, 5, 6)
    assert [w.shape for w in layer.get_weights()] == [
        (6, 4, 3), (4, 3), (6, 2, 3), (2, 3), (6, 2, 3), (2, 3), (4, 3, 6), (6,)]
    # 6*4*3 + 4*3 + 2 * (6*2*3 + 2*3) + 4*3*6 + 6
    assert layer.count_params() == 72 + 12 + 2 * (36 + 6) + 72 + 6 == 246
    weights = random_weights(layer)
    keep = RNG.random((2, 5, 7)) > 0.3
    keep[1, 2] = False
    out = layer(mx.array(query), mx.array(value), attention_mask=mx.array(keep))
    close(out, gqa(query, value, weights, 4, 2, 3, keep=keep)[0])
    out2, scores = layer(mx.array(query), mx.array(value), attention_mask=mx.array(keep),
                         return_attention_scores=True)
    expected, probs = gqa(query, value, weights, 4, 2, 3, keep=keep, fully_masked="zero")
    close(out2, expected)
    close(scores, probs)


def test_gqa_causal_masks_config_and_file(tmp_path):
    ids = keras.Input((None,), dtype="int32")
    x = layers.Embedding(10, 8, mask_zero=True)(ids)
    layer = layers.GroupQueryAttention(4, 4, 1, name="gqa")
    out = layer(x, x, use_causal_mask=True)
    model = keras.Model(ids, out)
    tokens = np.array([[1, 2, 3, 0], [4, 5, 0, 0]], "int32")
    emb = model.layers[1].get_weights()[0][tokens]
    keep = (tokens != 0)[:, :, None] & (tokens != 0)[:, None, :] & np.tril(np.ones((4, 4), bool))
    close(model(tokens), gqa(emb, emb, layer.get_weights(), 4, 1, 4, keep=keep)[0])
    config = layer.get_config()
    assert layers.GroupQueryAttention.from_config(config).get_config() == config
    # Keras 3 configs name the class GroupedQueryAttention (its Python name).
    keras_named = layers.deserialize({"class_name": "GroupedQueryAttention", "config": config})
    assert type(keras_named) is layers.GroupQueryAttention
    path = os.path.join(str(tmp_path), "gqa.mlxf")
    model.save(path)
    (got,) = fresh_process_predict(path, [tokens], tmp_path)
    assert np.array_equal(got, model.predict(tokens, verbose=0))


def test_gqa_heads_must_divide():
    with pytest.raises(ValueError, match="divisible"):
        layers.GroupQueryAttention(4, 6, 4)
