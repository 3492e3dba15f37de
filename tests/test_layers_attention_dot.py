"""Attention and AdditiveAttention (Luong and Bahdanau scores against numpy), the
Embedding extras, ReversibleEmbedding, and masks passed to a layer by argument name."""

import os

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers

from _attention_reference import fresh_process_predict, softmax_rows
from test_layers_attention import close, rand

# -- Attention and AdditiveAttention ------------------------------------------------------

def _luong(q, v, k, scale=1.0, q_mask=None, v_mask=None, causal=False, mode="dot", cw=1.0):
    if mode == "dot":
        scores = scale * np.einsum("btd,bsd->bts", q, k)
    else:
        scores = cw * np.tanh(scale * (q[:, :, None] + k[:, None])).sum(-1)
    keep = np.ones(scores.shape, bool)
    if v_mask is not None:
        keep &= v_mask[:, None, :]
    if causal:
        keep &= np.tril(np.ones(scores.shape[1:], bool))[None]
    p = softmax_rows(scores, keep, "zero")
    out = np.einsum("bts,bsd->btd", p, v)
    if q_mask is not None:
        out = out * q_mask[:, :, None]
    return out, p


def _bahdanau(q, v, k, scale, q_mask=None, v_mask=None):
    scores = (scale * np.tanh(q[:, :, None] + k[:, None])).sum(-1)
    keep = np.ones(scores.shape, bool) if v_mask is None else \
        np.broadcast_to(v_mask[:, None, :], scores.shape)
    p = softmax_rows(scores, keep, "zero")
    out = np.einsum("bts,bsd->btd", p, v)
    return (out if q_mask is None else out * q_mask[:, :, None]), p


@pytest.mark.parametrize("mode, use_scale", [("dot", False), ("dot", True), ("concat", True),
                                             ("concat", False)])
def test_attention_matches_numpy(mode, use_scale):
    layer = layers.Attention(use_scale=use_scale, score_mode=mode)
    q, v, k = rand(2, 3, 4), rand(2, 5, 4), rand(2, 5, 4)
    layer.build([q.shape, v.shape, k.shape])
    names = ([] if not use_scale else ["scale"]) + (["concat_score_weight"] if mode == "concat"
                                                    else [])
    assert [w.name for w in layer.weights] == names
    assert layer.count_params() == len(names)
    if names:
        layer.set_weights([np.array(1.7, "float32"), np.array(0.6, "float32")][:len(names)])
    scale = 1.7 if use_scale else 1.0
    cw = (0.6 if use_scale else 1.7) if mode == "concat" else 1.0
    q_mask = np.array([[1, 1, 0], [1, 0, 1]], bool)
    v_mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], bool)
    out, scores = layer([mx.array(q), mx.array(v), mx.array(k)],
                        mask=[mx.array(q_mask), mx.array(v_mask)],
                        return_attention_scores=True)
    exp_out, exp_p = _luong(q, v, k, scale, q_mask, v_mask, mode=mode, cw=cw)
    close(out, exp_out)
    close(scores, exp_p)
    out_c = layer([mx.array(q), mx.array(v)], use_causal_mask=True)
    close(out_c, _luong(q, v, v, scale, causal=True, mode=mode, cw=cw)[0])


def test_additive_attention_matches_numpy_with_graph_masks():
    q_ids, v_ids = keras.Input((None,), dtype="int32"), keras.Input((None,), dtype="int32")
    q_emb = layers.Embedding(9, 4, mask_zero=True)
    v_emb = layers.Embedding(9, 4, mask_zero=True)
    layer = layers.AdditiveAttention()
    out = layer([q_emb(q_ids), v_emb(v_ids)])
    model = keras.Model([q_ids, v_ids], out)
    assert [w.shape for w in layer.get_weights()] == [(4,)]
    assert layer.count_params() == 4
    scale = rand(4)
    layer.set_weights([scale])
    qi = np.array([[1, 2, 0], [3, 0, 0]], "int32")
    vi = np.array([[4, 5, 6, 0], [7, 8, 0, 0]], "int32")
    q, v = q_emb.get_weights()[0][qi], v_emb.get_weights()[0][vi]
    close(model([qi, vi]), _bahdanau(q, v, v, scale, qi != 0, vi != 0)[0])


def test_attention_and_einsum_dense_config_and_file(tmp_path):
    q_in, v_in = keras.Input((3, 4)), keras.Input((5, 4))
    a = layers.Attention(use_scale=True, score_mode="concat", dropout=0.2, seed=4)([q_in, v_in])
    b = layers.AdditiveAttention(dropout=0.1)([q_in, v_in])
    joined = layers.Concatenate()([a, b])
    projected = layers.EinsumDense("abc,cd->abd", (None, 3), bias_axes="d",
                                   activation="relu")(joined)
    model = keras.Model([q_in, v_in], projected)
    for layer in model.layers[2:4] + model.layers[5:]:
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config
    assert "score_mode" not in model.layers[3].get_config()
    q, v = rand(2, 3, 4), rand(2, 5, 4)
    path = os.path.join(str(tmp_path), "att.mlxf")
    model.save(path)
    (got,) = fresh_process_predict(path, [q, v], tmp_path)
    assert np.array_equal(got, model.predict([q, v], verbose=0))


def test_attention_dropout_in_training_only():
    layer = layers.Attention(dropout=0.5, seed=2)
    q, v = mx.array(rand(2, 4, 3)), mx.array(rand(2, 6, 3))
    inference = np.asarray(layer([q, v]))
    close(inference, _luong(np.asarray(q), np.asarray(v), np.asarray(v))[0])
    assert not np.allclose(np.asarray(layer([q, v], training=True)), inference, atol=1e-4)


def test_attention_refuses_a_single_input():
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Attention()(mx.array(rand(1, 2, 3)))


# -- Embedding extras ----------------------------------------------------------------------

def test_embedding_constraint_applies_after_updates_and_weights_argument():
    table = np.array([[0.5, -0.5], [-1.0, 2.0], [0.25, 0.75]], "float32")
    emb = layers.Embedding(3, 2, weights=[table], embeddings_constraint="non_neg")
    assert np.array_equal(emb.get_weights()[0], table)  # set as given, before any update
    ids = keras.Input((4,), dtype="int32")
    model = keras.Model(ids, layers.Dense(1)(layers.Flatten()(emb(ids))))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(np.array([[0, 1, 2, 1]] * 8, "int32"), np.ones((8, 1), "float32"), epochs=1,
              batch_size=8, verbose=0)
    after = emb.get_weights()[0]
    assert np.all(after >= 0) and not np.array_equal(after, np.maximum(table, 0))
    config = emb.get_config()
    assert config["embeddings_constraint"]["class_name"] == "NonNeg"
    assert layers.Embedding.from_config(config).get_config() == config


# -- ReversibleEmbedding -------------------------------------------------------------------

def test_reversible_embedding_forward_reverse_and_masks(tmp_path):
    tied = layers.ReversibleEmbedding(7, 3, mask_zero=True, logit_soft_cap=2.0)
    untied = layers.ReversibleEmbedding(7, 3, tie_weights=False)
    ids = keras.Input((4,), dtype="int32")
    h = tied(ids)
    logits = tied(h, reverse=True)
    logits2 = untied(untied(ids), reverse=True)
    model = keras.Model(ids, [logits, logits2])
    assert [w.shape for w in tied.get_weights()] == [(7, 3)]
    assert [w.shape for w in untied.get_weights()] == [(7, 3), (3, 7)]
    assert [w.name for w in untied.weights] == ["embeddings", "reverse_embeddings"]
    assert model.count_params() == 21 + 21 + 21
    table = rand(7, 3)
    tied.set_weights([table])
    w_untied = [rand(7, 3), rand(3, 7)]
    untied.set_weights(w_untied)
    x = np.array([[1, 2, 0, 6], [3, 3, 5, 0]], "int32")
    out1, out2 = model(x)
    close(out1, 2.0 * np.tanh(table[x] @ table.T / 2.0))
    close(out2, w_untied[0][x] @ w_untied[1])
    # Forward calls carry the ids' mask, reverse calls none.
    e = tied(mx.array(x))
    assert np.array_equal(np.asarray(e._keras_mask), x != 0)
    assert getattr(tied(e, reverse=True), "_keras_mask", None) is None
    config = tied.get_config()
    assert config["tie_weights"] and config["logit_soft_cap"] == 2.0 and config["mask_zero"]
    assert layers.ReversibleEmbedding.from_config(config).get_config() == config
    path = os.path.join(str(tmp_path), "rev.mlxf")
    model.save(path)
    got = fresh_process_predict(path, [x], tmp_path)
    for a, b in zip(got, model.predict(x, verbose=0)):
        assert np.array_equal(a, b)


# -- the engine's <name>_mask arguments -----------------------------------------------------

class _SeesMasks(layers.Layer):
    """Returns which of its arguments' masks it received, as numbers."""

    def call(self, first, second, first_mask=None, second_mask=None):
        a = mx.zeros(first.shape[:2]) if first_mask is None else first_mask.astype(mx.float32)
        b = mx.zeros(second.shape[:2]) if second_mask is None else \
            second_mask.astype(mx.float32)
        return mx.concatenate([a, 10 * b], axis=1)


def test_a_layer_receives_each_arguments_mask_by_name():
    # Keras fills `<name>_mask` from the mask of the tensor passed as `<name>`, in a
    # graph and in eager calls alike; an explicit value wins.
    ids_a, ids_b = keras.Input((3,), dtype="int32"), keras.Input((2,), dtype="int32")
    emb = layers.Embedding(5, 2, mask_zero=True)
    plain = layers.Embedding(5, 2)
    out = _SeesMasks()(emb(ids_a), second=emb(ids_b))
    out_plain = _SeesMasks()(plain(ids_a), plain(ids_b))
    model = keras.Model([ids_a, ids_b], [out, out_plain])
    a, b = np.array([[1, 0, 2]], "int32"), np.array([[0, 3]], "int32")
    got, got_plain = model([a, b])
    assert np.array_equal(np.asarray(got), [[1, 0, 1, 0, 10]])
    assert np.array_equal(np.asarray(got_plain), np.zeros((1, 5)))
    eager = _SeesMasks()(emb(mx.array(a)), emb(mx.array(b)))
    assert np.array_equal(np.asarray(eager), [[1, 0, 1, 0, 10]])
    explicit = _SeesMasks()(emb(mx.array(a)), emb(mx.array(b)),
                            second_mask=mx.array([[True, True]]))
    assert np.array_equal(np.asarray(explicit), [[1, 0, 1, 10, 10]])
