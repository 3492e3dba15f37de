"""keras.ops.nn, continued: losses and labels, CTC, normalization, attention, and ops in
graphs -- against independent numpy/scipy references (see test_ops_nn.py)."""

import itertools
import warnings

import mlx.core as mx
import numpy as np
import pytest
from scipy import special

import mlxfunctional as keras
from mlxfunctional import ops

from tests.keras_compat.test_ops_nn import close, np_softmax, rand

RNG = np.random.default_rng(4321)


# --------------------------------------------------------------------------- losses, labels

def test_binary_crossentropy():
    t = RNG.integers(0, 2, (3, 4)).astype(np.float32)
    logits = rand(3, 4, scale=3.0)
    p = special.expit(logits.astype(np.float64))
    ref = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    close(ops.binary_crossentropy(t, logits, from_logits=True), ref, atol=1e-5)
    close(ops.binary_crossentropy(t, p.astype(np.float32)), ref, atol=1e-4)
    # probabilities are clipped to [1e-7, 1 - 1e-7]
    close(ops.binary_crossentropy([1.0], [0.0]), [-np.log(1e-7)], rtol=1e-4)
    with pytest.raises(ValueError, match="same shape"):
        ops.binary_crossentropy(t, logits[:, :3])


@pytest.mark.parametrize("axis", [-1, 0])
def test_categorical_crossentropy(axis):
    logits = rand(3, 5, scale=2.0)
    t = np_softmax(rand(3, 5).astype(np.float64), axis)
    logp = np.log(np_softmax(logits.astype(np.float64), axis))
    close(ops.categorical_crossentropy(t, logits, from_logits=True, axis=axis),
          -(t * logp).sum(axis), atol=1e-5)
    probs = np.abs(rand(3, 5)) + 0.1  # not normalized: Keras renormalizes over `axis`
    q = probs / probs.sum(axis=axis, keepdims=True)
    close(ops.categorical_crossentropy(t, probs, axis=axis), -(t * np.log(q)).sum(axis),
          atol=1e-5)


def test_sparse_categorical_crossentropy_and_out_of_range_labels():
    logits = rand(4, 5, scale=2.0)
    labels = np.array([0, 4, 2, 1], np.int32)
    logp = np.log(np_softmax(logits.astype(np.float64), -1))
    ref = -logp[np.arange(4), labels]
    close(ops.sparse_categorical_crossentropy(labels, logits, from_logits=True), ref,
          atol=1e-5)
    close(ops.sparse_categorical_crossentropy(labels[:, None], logits, from_logits=True), ref,
          atol=1e-5)
    # A label outside [0, 5) is an error eagerly and a NaN loss (as Keras on JAX) in a
    # compiled function; it never reads memory.
    bad = np.array([5, -1, 1000000, 2], np.int32)
    with pytest.raises(IndexError, match="label 5 is out of range; valid labels are 0 to 4"):
        ops.sparse_categorical_crossentropy(bad, logits, from_logits=True)
    compiled = mx.compile(lambda t, o: ops.sparse_categorical_crossentropy(t, o, True))
    close(compiled(mx.array(bad), mx.array(logits[:4])),
          [np.nan, np.nan, np.nan, -logp[3, 2]], atol=1e-5)
    with pytest.raises(ValueError, match="without its class axis"):
        ops.sparse_categorical_crossentropy(labels[:3], logits)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot(axis):
    x = np.array([[0, 3], [2, 7]], np.int32)  # 7 is out of range for 4 classes
    ref = (x[..., None] == np.arange(4)).astype(np.float32)
    ref = np.moveaxis(ref, -1, axis)
    y = ops.one_hot(x, 4, axis=axis)
    assert y.dtype == mx.float32
    close(y, ref)
    assert ops.one_hot(np.array([-1, 1]), 3, dtype="int32").tolist() == [[0, 0, 0], [0, 1, 0]]
    assert ops.one_hot(np.zeros((0,), np.int32), 3).shape == (0, 3)
    with pytest.raises(ValueError, match="sparse"):
        ops.one_hot(x, 4, sparse=True)


def test_multi_hot():
    x = np.array([[0, 2, 2], [1, 3, 9]], np.int32)
    assert ops.multi_hot(x, 4).tolist() == [[1, 0, 1, 0], [0, 1, 0, 1]]
    assert ops.multi_hot(np.array([3, 0]), num_tokens=5, dtype="int32").tolist() == \
        [1, 0, 0, 1, 0]
    with pytest.raises(ValueError, match="num_classes"):
        ops.multi_hot(x)


def test_psnr():
    a, b = np.abs(rand(2, 8, 8, 3)), np.abs(rand(2, 8, 8, 3))
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    close(ops.psnr(a, b, 1.0), 20 * np.log10(1.0) - 10 * np.log10(mse), rtol=1e-5)
    close(ops.psnr(a, b, 255.0), 20 * np.log10(255.0) - 10 * np.log10(mse), rtol=1e-5)
    with pytest.raises(ValueError, match="must match"):
        ops.psnr(a, b[:1], 1.0)


# --------------------------------------------------------------------------- CTC

def collapse(path, blank):
    out, prev = [], None
    for c in path:
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return out


def brute_ctc(logits, label, blank):
    """-log of the summed probability of every alignment collapsing to ``label``."""
    p = np_softmax(logits.astype(np.float64), -1)
    total = 0.0
    for path in itertools.product(range(p.shape[1]), repeat=p.shape[0]):
        if collapse(path, blank) == list(label):
            total += np.prod([p[t, c] for t, c in enumerate(path)])
    return -np.log(total)


@pytest.mark.parametrize("blank", [0, 3])
def test_ctc_loss_against_enumerated_alignments(blank):
    classes, steps = 4, 5
    labels = [1, 1], [2, 1, 0] if blank == 3 else [2, 1, 3], [2], []
    output_lengths = [5, 4, 3, 5]
    batch = len(labels)
    logits = rand(batch, steps, classes)
    target = np.full((batch, 3), 2, np.int32)  # padding past each length must not matter
    for b, lab in enumerate(labels):
        target[b, :len(lab)] = lab
    loss = ops.ctc_loss(target, logits, [len(lab) for lab in labels], output_lengths,
                        mask_index=blank)
    expected = [brute_ctc(logits[b, :output_lengths[b]], labels[b], blank)
                for b in range(batch)]
    close(loss, expected, rtol=1e-4, atol=1e-4)


def test_ctc_loss_compiles_and_has_gradients():
    logits = mx.array(rand(2, 6, 5))
    target, tl, ol = mx.array([[1, 2, 2], [3, 0, 0]]), mx.array([3, 1]), mx.array([6, 4])

    def total(x):
        return mx.sum(ops.ctc_loss(target, x, tl, ol))

    eager, grad = mx.value_and_grad(total)(logits)
    compiled = mx.compile(mx.value_and_grad(total))(logits)
    close(compiled[0], float(eager), rtol=1e-6)
    close(compiled[1], np.array(grad), atol=1e-6)
    g = np.array(grad)
    assert np.isfinite(g).all()
    # d loss / d logits = softmax - (posterior occupancy): each step's row sums to 0,
    # and steps past the output length get no gradient.
    np.testing.assert_allclose(g.sum(-1), 0, atol=1e-5)
    assert np.abs(g[1, 4:]).max() == 0


def np_greedy(scores, length, merge, blank):
    best = scores[:length].argmax(-1)
    out, prev = [], None
    for c in best:
        if not (merge and c == prev) and c != blank:
            out.append(int(c))
        prev = c
    return out, -scores[:length].max(-1).sum()


@pytest.mark.parametrize("merge", [True, False])
def test_ctc_decode_greedy(merge):
    scores = np.array([[[0, 9, 0, 0], [0, 9, 0, 0], [9, 0, 0, 0], [0, 9, 0, 0],
                        [0, 0, 0, 9], [0, 0, 9, 0]]], np.float32)
    scores = np.concatenate([scores, rand(2, 6, 4)], axis=0)
    lengths = np.array([6, 4, 6], np.int32)
    decoded, log_probs = ops.ctc_decode(scores, lengths, merge_repeated=merge)
    assert decoded.shape == (1, 3, 6) and log_probs.shape == (3, 1)
    for b in range(3):
        labels, score = np_greedy(scores[b].astype(np.float64), lengths[b], merge, 0)
        assert np.array(decoded[0, b]).tolist() == labels + [-1] * (6 - len(labels))
        close(log_probs[b], [score], rtol=1e-5)
    assert np.array(decoded[0, 0]).tolist()[:4] == ([1, 1, 3, 2] if merge else [1, 1, 1, 3])


def test_ctc_decode_beam_search_finds_the_most_probable_labelings():
    """With beams enough to keep every prefix, the search is exact: the best labelings
    and their log-probabilities summed over all alignments (enumerated here)."""
    logits = rand(2, 4, 3, scale=1.5)
    lengths = np.array([4, 3], np.int32)
    decoded, scores = ops.ctc_decode(logits, lengths, strategy="beam_search", beam_width=50,
                                     top_paths=2)
    assert decoded.shape == (2, 2, 4) and scores.shape == (2, 2)
    for b in range(2):
        p = np_softmax(logits[b, :lengths[b]].astype(np.float64), -1)
        totals = {}
        for path in itertools.product(range(3), repeat=int(lengths[b])):
            key = tuple(collapse(path, 0))
            totals[key] = totals.get(key, 0) + np.prod([p[t, c] for t, c in enumerate(path)])
        best = sorted(totals.items(), key=lambda kv: -kv[1])[:2]
        for i, (labels, prob) in enumerate(best):
            row = np.array(decoded[i, b]).tolist()
            assert row == list(labels) + [-1] * (4 - len(labels))
            close(scores[b, i], np.log(prob), rtol=1e-5)
    with pytest.raises(ValueError, match="eagerly only"):
        mx.compile(lambda x: ops.ctc_decode(x, mx.array(lengths), strategy="beam_search")[1])(
            mx.array(logits))


# --------------------------------------------------------------------------- normalization

@pytest.mark.parametrize("axes, keepdims", [([0], False), ((0, 2), True), ([-1], False),
                                            ([0, 1, 2], False)])
def test_moments(axes, keepdims):
    x = rand(3, 4, 5) + 2
    mean, var = ops.moments(x, axes, keepdims=keepdims)
    ax = tuple(axes)
    close(mean, x.astype(np.float64).mean(ax, keepdims=keepdims))
    close(var, x.astype(np.float64).var(ax, keepdims=keepdims))
    smean, svar = ops.moments(x, axes, keepdims=keepdims, synchronized=True)
    close(smean, np.array(mean))
    close(svar, np.array(var), atol=1e-5)


def test_moments_dtypes():
    mean, var = ops.moments(np.arange(6, dtype=np.int32), [0])
    assert mean.dtype == mx.float32 and float(mean) == 2.5 and float(var) == pytest.approx(35 / 12)
    half = mx.array(rand(8) * 100, dtype=mx.float16)
    mean, var = ops.moments(half, [0])
    assert mean.dtype == var.dtype == mx.float16


def test_batch_normalization():
    x = rand(4, 3, 5)
    mean, var = rand(3), np.abs(rand(3)) + 0.5
    offset, scale = rand(3), rand(3)
    shape = (1, 3, 1)
    ref = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + 1e-3) * scale.reshape(shape) \
        + offset.reshape(shape)
    close(ops.batch_normalization(x, mean, var, axis=1, offset=offset, scale=scale), ref,
          atol=1e-5)
    ref = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + 0.5)
    close(ops.batch_normalization(x, mean, var, 1, epsilon=0.5), ref, atol=1e-5)
    with pytest.raises(ValueError, match="must have 5 values"):
        ops.batch_normalization(x, mean, var, axis=-1)


@pytest.mark.parametrize("axis", [-1, [1, 2], 0])
def test_layer_and_rms_normalization(axis):
    x = rand(3, 4, 5) * 3 + 1
    ax = tuple(axis) if isinstance(axis, list) else (axis,)
    pshape = [x.shape[a] if a % 3 in [b % 3 for b in ax] else 1 for a in range(3)]
    gamma, beta = rand(*pshape), rand(*pshape)
    x64 = x.astype(np.float64)
    normed = (x64 - x64.mean(ax, keepdims=True)) / np.sqrt(x64.var(ax, keepdims=True) + 1e-7)
    close(ops.layer_normalization(x, gamma, beta, axis=axis), normed * gamma + beta, atol=1e-5)
    close(ops.layer_normalization(x, axis=axis, epsilon=0.1),
          (x64 - x64.mean(ax, keepdims=True)) / np.sqrt(x64.var(ax, keepdims=True) + 0.1),
          atol=1e-5)
    rms = x64 / np.sqrt((x64 ** 2).mean(ax, keepdims=True) + 1e-7)
    close(ops.rms_normalization(x, gamma, axis=axis), rms * gamma, atol=1e-5)
    # gamma given flat for the last axis (Keras reshapes only when needed)
    if axis == -1:
        close(ops.layer_normalization(x, gamma.reshape(-1), beta.reshape(-1)),
              normed * gamma + beta, atol=1e-5)
    half = ops.layer_normalization(mx.array(x, dtype=mx.float16), axis=axis)
    assert half.dtype == mx.float16


@pytest.mark.parametrize("order", [1, 2, 3])
def test_normalize(order):
    x = rand(3, 4)
    x[1] = 0  # a zero vector stays zero
    norm = np.linalg.norm(x.astype(np.float64), ord=order, axis=-1, keepdims=True)
    close(ops.normalize(x, order=order), x / np.maximum(norm, 1e-7), atol=1e-6)
    close(ops.normalize(x, axis=0, order=order),
          x / np.maximum(np.linalg.norm(x.astype(np.float64), ord=order, axis=0,
                                        keepdims=True), 1e-7), atol=1e-6)
    with pytest.raises(ValueError, match="order"):
        ops.normalize(x, order=0)


def test_polar():
    r, theta = np.abs(rand(5)), rand(5, scale=3.0)
    z = ops.polar(r, theta)
    assert z.dtype == mx.complex64
    np.testing.assert_allclose(np.array(z), r * np.exp(1j * theta.astype(np.float64)),
                               atol=1e-6)


# --------------------------------------------------------------------------- attention

def np_attention(q, k, v, bias=None, mask=None, scale=None, causal=False, cap=None):
    """softmax(scale Q K^T + bias, masked) V on (batch, seq, heads, dim) arrays."""
    q, k, v = (np.asarray(t, np.float64) for t in (q, k, v))
    group = q.shape[2] // k.shape[2]
    k, v = np.repeat(k, group, axis=2), np.repeat(v, group, axis=2)
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    logits = np.einsum("btnh,bsnh->bnts", q, k) * scale
    if cap is not None:
        logits = cap * np.tanh(logits / cap)
    if bias is not None:
        logits = logits + bias
    keep = np.ones(logits.shape, bool)
    if mask is not None:
        keep &= np.broadcast_to(mask, logits.shape)
    if causal:
        keep &= np.tril(np.ones(logits.shape[-2:], bool))
    logits = np.where(keep, logits, -1e30)
    return np.einsum("bnts,bsnh->btnh", np_softmax(logits, -1), v)


@pytest.mark.parametrize("flash", [None, False])
@pytest.mark.parametrize("case", ["plain", "scale", "bias", "mask", "causal", "causal_rect",
                                  "gqa", "all", "soft_cap"])
def test_dot_product_attention(case, flash):
    b, t, s, n, h = 2, 4, 6 if case == "causal_rect" else 4, 4, 8
    kv_heads = 2 if case in ("gqa", "all") else n
    q, k, v = rand(b, t, n, h), rand(b, s, kv_heads, h), rand(b, s, kv_heads, h)
    kwargs = {}
    if case in ("scale", "all"):
        kwargs["scale"] = 0.3
    if case in ("bias", "all"):
        kwargs["bias"] = rand(1, n, t, s)
    if case in ("mask", "all"):
        kwargs["mask"] = RNG.random((b, 1, t, s)) > 0.3
        kwargs["mask"][..., 0] = True  # no fully masked row here (tested below)
    if case in ("causal", "causal_rect", "all"):
        kwargs["is_causal"] = True
    if case == "soft_cap":
        kwargs["attn_logits_soft_cap"] = 1.5
    y = ops.dot_product_attention(q, k, v, flash_attention=flash, **kwargs)
    assert y.shape == (b, t, n, h) and y.dtype == mx.float32
    ref = np_attention(q, k, v, kwargs.get("bias"), kwargs.get("mask"), kwargs.get("scale"),
                       kwargs.get("is_causal", False), kwargs.get("attn_logits_soft_cap"))
    close(y, ref, atol=1e-5)


def test_dot_product_attention_fully_masked_row_and_errors():
    q, k, v = rand(1, 2, 1, 4), rand(1, 3, 1, 4), rand(1, 3, 1, 4)
    mask = np.array([[[[True, True, False], [False, False, False]]]])
    y = np.array(ops.dot_product_attention(q, k, v, mask=mask))
    # Keras fills masked scores with -0.7 * max: a fully masked row averages the values.
    np.testing.assert_allclose(y[0, 1, 0], v[0, :, 0].mean(0), atol=1e-5)
    with pytest.raises(ValueError, match="4D"):
        ops.dot_product_attention(q[0], k[0], v[0])
    with pytest.raises(ValueError, match="kv_heads dividing"):
        ops.dot_product_attention(rand(1, 2, 3, 4), rand(1, 3, 2, 4), rand(1, 3, 2, 4))


# --------------------------------------------------------------------------- graphs

def test_ops_in_a_functional_model_run_and_round_trip():
    kernel = rand(3, 3, 2, 4)
    inputs = keras.Input((6, 6, 2))
    x = ops.conv(inputs, kernel, padding="same")
    x = ops.relu(x)
    x = ops.max_pool(x, 2)
    x = ops.layer_normalization(x, axis=-1)
    outputs = ops.softmax(ops.gelu(x), axis=-1)
    model = keras.Model(inputs, outputs)

    data = rand(2, 6, 6, 2)
    eager = ops.softmax(ops.gelu(ops.layer_normalization(
        ops.max_pool(ops.relu(ops.conv(data, kernel, padding="same")), 2))))
    close(model(data), np.array(eager), atol=1e-6)
    clone = keras.Model.from_config(model.get_config())
    close(clone(data), np.array(eager), atol=1e-6)


def test_loss_ops_on_symbolic_tensors():
    logits_in = keras.Input((5,))
    labels_in = keras.Input((), dtype="int32")
    loss = ops.sparse_categorical_crossentropy(labels_in, logits_in, from_logits=True)
    hot = ops.one_hot(labels_in, 5)
    model = keras.Model([labels_in, logits_in], [loss, hot])
    logits, labels = rand(3, 5), np.array([0, 4, 2], np.int32)
    out = keras.Model.from_config(model.get_config())([labels, logits])
    close(out[0], np.array(ops.sparse_categorical_crossentropy(labels, logits, True)),
          atol=1e-6)
    close(out[1], np.eye(5)[labels])


def test_ops_inside_a_compiled_step_keep_gradients():
    x, kernel = mx.array(rand(2, 5, 5, 3)), mx.array(rand(3, 3, 3, 2))

    def loss(kernel):
        y = ops.average_pool(ops.silu(ops.conv(x, kernel, padding="same")), 2, padding="same")
        return mx.sum(ops.dot_product_attention(y.reshape(2, 9, 1, 2), y.reshape(2, 9, 1, 2),
                                                y.reshape(2, 9, 1, 2)) ** 2)

    eager = mx.value_and_grad(loss)(kernel)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled = mx.compile(mx.value_and_grad(loss))(kernel)
    close(compiled[0], float(eager[0]), rtol=1e-5)
    close(compiled[1], np.array(eager[1]), rtol=1e-4, atol=1e-5)
    assert np.abs(np.array(eager[1])).sum() > 0


@pytest.mark.parametrize("call, shape", [
    (lambda: ops.conv(np.zeros((0, 5, 3), np.float32), rand(2, 3, 4)), (0, 4, 4)),
    (lambda: ops.conv_transpose(np.zeros((0, 5, 3), np.float32), rand(2, 4, 3)), (0, 6, 4)),
    (lambda: ops.average_pool(np.zeros((0, 4, 4, 1), np.float32), 2, padding="same"),
     (0, 2, 2, 1)),
    (lambda: ops.adaptive_max_pool(np.zeros((0, 5, 3), np.float32), 2), (0, 2, 3)),
    (lambda: ops.sparsemax(np.zeros((0, 3), np.float32)), (0, 3)),
    (lambda: ops.sparse_categorical_crossentropy(np.zeros((0,)), np.zeros((0, 3))), (0,)),
    (lambda: ops.dot_product_attention(*[np.zeros((0, 2, 1, 4), np.float32)] * 3),
     (0, 2, 1, 4)),
    (lambda: ops.ctc_loss(np.zeros((0, 2)), np.zeros((0, 3, 4)), np.zeros(0), np.zeros(0)),
     (0,)),
    (lambda: ops.ctc_decode(np.zeros((0, 3, 4)), np.zeros(0))[0], (1, 0, 3)),
])
def test_empty_batches(call, shape):
    assert call().shape == shape

