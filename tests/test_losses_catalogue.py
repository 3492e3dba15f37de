"""Focal, GCE, Dice, Tversky, CTC and Circle losses against numpy references computed
another way (float64, loops or brute force) and against the numbers Keras 3.15's
docstrings and tests print for the same inputs."""

import itertools

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as mf
from mlxfunctional import losses

EPS = 1e-7
RNG = np.random.default_rng(7)


def A(x):
    mx.eval(x)
    return np.array(x.astype(mx.float32))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# -- numpy references -----------------------------------------------------------------------

def np_binary_focal(t, p, gamma=2.0, alpha=0.25, balance=False, logits=False, smoothing=0.0):
    t = t.astype(np.float64)
    p = sigmoid(p.astype(np.float64)) if logits else p.astype(np.float64)
    if smoothing:
        t = t * (1 - smoothing) + 0.5 * smoothing
    out = np.zeros(t.shape)
    for idx in np.ndindex(t.shape):  # one element at a time, the textbook form
        ti, pi = t[idx], np.clip(p[idx], EPS, 1 - EPS)
        bce = -(ti * np.log(pi) + (1 - ti) * np.log(1 - pi))
        pt = ti * p[idx] + (1 - ti) * (1 - p[idx])
        w = (ti * alpha + (1 - ti) * (1 - alpha)) if balance else 1.0
        out[idx] = w * (1 - pt) ** gamma * bce
    return out.mean(-1)


def np_cat_focal(t, p, gamma=2.0, alpha=0.25, logits=False, smoothing=0.0):
    t = t.astype(np.float64)
    p = p.astype(np.float64)
    if logits:
        e = np.exp(p - p.max(-1, keepdims=True))
        p = e / e.sum(-1, keepdims=True)
    if smoothing:
        t = t * (1 - smoothing) + smoothing / t.shape[-1]
    q = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return (alpha * (1 - q) ** gamma * -t * np.log(q)).sum(-1)


def np_gce(labels, p, q):
    flat_p = p.reshape(-1, p.shape[-1])
    picked = np.array([row[int(lab)] for row, lab in zip(flat_p, np.ravel(labels))])
    return ((1 - picked ** q) / q).reshape(np.shape(labels))


def np_tversky(t, p, alpha=0.5, beta=0.5, axis=None):
    t, p = t.astype(np.float64), p.astype(np.float64)
    tp = (t * p).sum(axis=axis)
    fn = (t * (1 - p)).sum(axis=axis)
    fp = ((1 - t) * p).sum(axis=axis)
    return 1 - tp / (tp + alpha * fn + beta * fp + EPS)


def np_dice(t, p, axis=None):
    t, p = t.astype(np.float64), p.astype(np.float64)
    return 1 - 2 * (t * p).sum(axis=axis) / (t.sum(axis=axis) + p.sum(axis=axis) + EPS)


def np_circle(labels, emb, ref_labels=None, refs=None, gamma=80.0, margin=0.4,
              remove_diagonal=True):
    refs = emb if refs is None else refs
    ref_labels = labels if ref_labels is None else ref_labels
    out = []
    for i in range(len(labels)):  # pair by pair, from the paper's definition
        pos, neg = [], []
        for j in range(len(ref_labels)):
            s = float(np.dot(emb[i], refs[j]))
            d = max(1 - s, 0.0)
            if labels[i] == ref_labels[j]:
                if remove_diagonal and i == j:
                    continue
                pos.append(-gamma * max(margin + d, 0) * (margin - d))
            else:
                neg.append(gamma * max(1 + margin - d, 0) * (1 - margin - d))
        lse = lambda v: (max(v) + np.log(np.sum(np.exp(np.array(v) - max(v))))) if v else -np.inf
        z = lse(pos) + lse(neg)
        out.append(0.0 if z == -np.inf else np.logaddexp(0.0, z))
    return np.array(out)


def np_ctc_brute(log_probs, labels):
    """-log of the summed probability of every path that collapses to ``labels``."""
    steps, classes = log_probs.shape
    total = 0.0
    for path in itertools.product(range(classes), repeat=steps):
        collapsed, prev = [], None
        for c in path:
            if c != prev and c != 0:
                collapsed.append(c)
            prev = c
        if collapsed == list(labels):
            total += np.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
    return -np.log(total)


# -- against the numpy references --------------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"gamma": 3.0, "apply_class_balancing": True, "alpha": 0.4},
                                {"from_logits": True, "label_smoothing": 0.2, "gamma": 1.5}])
def test_binary_focal_matches_numpy(kw):
    t = (RNG.random((5, 4)) > 0.5).astype(np.float32)
    p = RNG.random((5, 4)).astype(np.float32) if not kw.get("from_logits") else \
        RNG.normal(size=(5, 4)).astype(np.float32)
    ref = np_binary_focal(t, p, kw.get("gamma", 2.0), kw.get("alpha", 0.25),
                          kw.get("apply_class_balancing", False), kw.get("from_logits", False),
                          kw.get("label_smoothing", 0.0))
    np.testing.assert_allclose(A(losses.BinaryFocalCrossentropy(reduction=None, **kw)(t, p)),
                               ref, rtol=1e-5, atol=1e-6)
    w = RNG.random(5).astype(np.float32)
    np.testing.assert_allclose(A(losses.BinaryFocalCrossentropy(**kw)(t, p, sample_weight=w)),
                               (ref * w).mean(), rtol=1e-5)
    np.testing.assert_allclose(A(losses.binary_focal_crossentropy(t, p, **kw)), ref, rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("kw", [{}, {"alpha": 0.5, "gamma": 1.0},
                                {"from_logits": True, "label_smoothing": 0.1}])
def test_categorical_focal_matches_numpy(kw):
    t = np.eye(4)[RNG.integers(0, 4, 6)].astype(np.float32)
    p = RNG.random((6, 4)).astype(np.float32) + 0.05
    ref = np_cat_focal(t, p, kw.get("gamma", 2.0), kw.get("alpha", 0.25),
                       kw.get("from_logits", False), kw.get("label_smoothing", 0.0))
    loss = losses.CategoricalFocalCrossentropy(reduction="sum", **kw)
    np.testing.assert_allclose(A(loss(t, p)), ref.sum(), rtol=1e-5)


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_generalized_crossentropy_matches_numpy(q):
    labels = RNG.integers(0, 5, 7)
    p = RNG.dirichlet(np.ones(5), 7).astype(np.float32)
    ref = np_gce(labels, p.astype(np.float64), q)
    np.testing.assert_allclose(A(losses.CategoricalGeneralizedCrossEntropy(q=q, reduction=None)(
        labels, p)), ref, rtol=1e-5)
    # (batch, 1) labels are the same labels; segmentation maps (batch, h, w) too.
    np.testing.assert_allclose(A(losses.CategoricalGeneralizedCrossEntropy(q=q)(
        labels[:, None], p)), ref.mean(), rtol=1e-5)
    seg = RNG.integers(0, 3, (2, 3, 4))
    ps = RNG.dirichlet(np.ones(3), (2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(A(losses.categorical_generalized_cross_entropy(seg, ps, q)),
                               np_gce(seg, ps.astype(np.float64), q), rtol=1e-5)


@pytest.mark.parametrize("q", [0.0, 1.0, -0.5, 2, True])
def test_generalized_crossentropy_refuses_q_outside_open_interval(q):
    with pytest.raises(ValueError, match="q must be in the interval"):
        losses.CategoricalGeneralizedCrossEntropy(q=q)


@pytest.mark.parametrize("axis", [None, (1, 2, 3), (1, 2)])
@pytest.mark.parametrize("alpha,beta", [(0.5, 0.5), (0.3, 0.7), (0.9, 0.1)])
def test_tversky_and_dice_match_numpy(axis, alpha, beta):
    t = (RNG.random((3, 4, 5, 2)) > 0.6).astype(np.float32)
    p = RNG.random((3, 4, 5, 2)).astype(np.float32)
    got = A(losses.Tversky(alpha, beta, axis=axis, reduction=None)(t, p))
    np.testing.assert_allclose(got, np_tversky(t, p, alpha, beta, axis), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(A(losses.Dice(axis=axis, reduction=None)(t, p)),
                               np_dice(t, p, axis), rtol=1e-5, atol=1e-6)


def test_empty_masks_give_one_not_nan():
    z = np.zeros((2, 3, 3, 1), np.float32)
    np.testing.assert_allclose(A(losses.Dice(axis=(1, 2, 3), reduction=None)(z, z)), [1, 1])
    np.testing.assert_allclose(A(losses.Tversky(axis=(1, 2, 3), reduction=None)(z, z)), [1, 1])


@pytest.mark.parametrize("kw", [{}, {"gamma": 256.0, "margin": 0.25},
                                {"remove_diagonal": False, "gamma": 10.0}])
def test_circle_matches_numpy(kw):
    labels = np.array([0, 1, 0, 2, 1, 2, 3])
    emb = RNG.normal(size=(7, 5))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    ref = np_circle(labels, emb, **kw)
    got = A(losses.Circle(reduction=None, **kw)(labels, emb.astype(np.float32)))
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-3)
    if kw.get("remove_diagonal", True):
        # Label 3 has no positive pair but itself: its loss is 0, left out of the average.
        assert ref[-1] == 0 and got[-1] == 0
    np.testing.assert_allclose(A(losses.Circle(**kw)(labels, emb.astype(np.float32))),
                               ref[ref > 0].mean(), rtol=1e-4)


def test_ctc_matches_brute_force_over_alignments():
    logits = RNG.normal(size=(3, 5, 3)).astype(np.float32)
    labels = np.array([[1, 2, 0], [2, 2, 0], [1, 0, 0]])
    log_probs = logits.astype(np.float64)
    log_probs = log_probs - np.log(np.exp(log_probs).sum(-1, keepdims=True))
    ref = np.array([np_ctc_brute(log_probs[i], [c for c in labels[i] if c]) for i in range(3)])
    np.testing.assert_allclose(A(losses.CTC(reduction=None)(labels, logits)), ref, rtol=1e-5)
    np.testing.assert_allclose(A(losses.ctc(labels, logits)), ref, rtol=1e-5)
    np.testing.assert_allclose(A(losses.CTC()(labels, logits)), ref.mean(), rtol=1e-5)


def test_ctc_checks_ranks():
    with pytest.raises(ValueError, match="y_true"):
        losses.ctc(np.zeros((2, 3, 1)), np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="y_pred"):
        losses.ctc(np.zeros((2, 3)), np.zeros((2, 4)))


# -- Keras 3.15's published numbers -----------------------------------------------------------

def test_binary_focal_keras_docstring_numbers():
    yt, yp = np.array([0, 1, 0, 0]), np.array([-18.6, 0.51, 2.94, -12.8])
    B = losses.BinaryFocalCrossentropy
    assert A(B(gamma=2, from_logits=True)(yt, yp)) == pytest.approx(0.691, abs=1e-3)
    assert A(B(apply_class_balancing=True, gamma=2, from_logits=True)(yt, yp)) == \
        pytest.approx(0.51, abs=1e-2)
    yt, yp = np.array([[0, 1], [0, 0]]), np.array([[-18.6, 0.51], [2.94, -12.8]])
    for bal, expected in ((False, 0.647), (True, 0.482)):
        assert A(B(apply_class_balancing=bal, gamma=3, from_logits=True)(yt, yp)) == \
            pytest.approx(expected, abs=1e-3)
    for bal, expected in ((False, 0.133), (True, 0.097)):
        assert A(B(apply_class_balancing=bal, gamma=3, from_logits=True)(
            yt, yp, sample_weight=[0.8, 0.2])) == pytest.approx(expected, abs=1e-3)
    for bal, expected in ((False, 1.222), (True, 0.914)):
        assert A(B(apply_class_balancing=bal, gamma=4, from_logits=True, reduction="sum")(
            yt, yp)) == pytest.approx(expected, abs=1e-3)
    np.testing.assert_allclose(A(B(gamma=5, from_logits=True, reduction=None)(yt, yp)),
                               [0.0017, 1.1561], atol=1e-4)
    np.testing.assert_allclose(A(B(apply_class_balancing=True, gamma=5, from_logits=True,
                                   reduction=None)(yt, yp)), [0.0004, 0.8670], atol=1e-4)


def test_binary_focal_keras_test_numbers():
    yt = np.array([1, 0, 1, 0]).reshape(2, 2)
    yp = np.array([0.9, 0.8, 0.7, 0.2], np.float32).reshape(2, 2)
    yt2 = np.array([[1, 1, 0], [0, 1, 0]], np.float32)
    lg = np.array([[1.5, -2.7, 2.9], [-3.8, 1.2, -4.5]])
    B = losses.BinaryFocalCrossentropy
    sw = np.array([1.2, 3.4]).reshape(2, 1)
    assert A(B(gamma=2.0)(yt, yp)) == pytest.approx(0.268, abs=1e-3)
    assert A(B(gamma=3.0, from_logits=True)(yt2, lg)) == pytest.approx(0.799, abs=1e-3)
    assert A(B(gamma=2.0)(yt, yp, sample_weight=1.23)) == pytest.approx(0.3296, abs=1e-3)
    assert A(B(gamma=3.0, from_logits=True)(yt2, lg, sample_weight=3.21)) == \
        pytest.approx(2.565, abs=1e-3)
    assert A(B(gamma=2.0)(yt, yp, sample_weight=sw)) == pytest.approx(0.34415, abs=1e-3)
    assert A(B(gamma=3.0, from_logits=True)(yt2, lg, sample_weight=sw)) == \
        pytest.approx(0.95977, abs=1e-3)
    np.testing.assert_allclose(A(B(gamma=2.0, reduction=None)(yt, yp)), [0.515547, 0.020513],
                               rtol=1e-4)


def test_categorical_focal_keras_numbers():
    C = losses.CategoricalFocalCrossentropy
    yt, yp = [[0., 1., 0.], [0., 0., 1.]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
    assert A(C()(yt, yp)) == pytest.approx(0.23315276, rel=1e-4)
    assert A(C()(yt, yp, sample_weight=np.array([0.3, 0.7]))) == pytest.approx(0.1632, abs=1e-4)
    assert A(C(reduction="sum")(yt, yp)) == pytest.approx(0.46631, abs=1e-4)
    np.testing.assert_allclose(A(C(reduction=None)(yt, yp)), [3.2058331e-05, 4.6627346e-01],
                               rtol=1e-4)
    yt = np.eye(3, dtype=int)
    yp = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]], np.float32)
    lg = np.array([[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0]])
    sw = np.array([1.2, 3.4, 5.6]).reshape(3, 1)
    assert A(C()(yt, yp)) == pytest.approx(0.02059, abs=1e-3)
    assert A(C(from_logits=True)(yt, lg)) == pytest.approx(0.000345, abs=1e-3)
    assert A(C()(yt, yp, sample_weight=2.3)) == pytest.approx(0.047368, abs=1e-3)
    assert A(C(from_logits=True)(yt, lg, sample_weight=2.3)) == pytest.approx(0.000794, abs=1e-4)
    assert A(C()(yt, yp, sample_weight=sw)) == pytest.approx(0.06987, abs=1e-3)
    assert A(C(from_logits=True)(yt, lg, sample_weight=sw)) == pytest.approx(0.001933, abs=1e-3)
    np.testing.assert_allclose(A(C(from_logits=True, reduction=None)(yt, lg)),
                               [1.5096224e-09, 2.4136547e-11, 1.0360638e-03], rtol=1e-3,
                               atol=1e-12)
    assert A(C(from_logits=True, label_smoothing=0.1)(np.array([[1, 0, 0]]),
                                                      np.array([[4.9, -0.5, 2.05]]))) == \
        pytest.approx(0.06685, abs=1e-3)


def test_dice_and_tversky_keras_numbers():
    yt = np.array([[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]])
    yp = np.array([[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]])
    np.testing.assert_allclose(A(losses.Dice(axis=(1, 2, 3), reduction=None)(yt, yp)),
                               [0.5, 0.75757575], rtol=1e-6)
    np.testing.assert_allclose(A(losses.dice(yt, yp)), 0.6164384, rtol=1e-6)
    np.testing.assert_allclose(A(losses.Tversky(axis=(1, 2, 3), reduction=None)(yt, yp)),
                               [0.5, 0.75757575], rtol=1e-6)
    np.testing.assert_allclose(A(losses.Tversky(0.2, 0.8, axis=(1, 2, 3), reduction=None)(
        yt, yp)), [0.5, 0.7222222], rtol=1e-6)
    a, b = np.array([[1, 2], [1, 2]]), np.array([[4, 1], [6, 1]])
    np.testing.assert_allclose(A(losses.Dice()(a, b)), -0.55555546, rtol=1e-6)
    np.testing.assert_allclose(A(losses.Tversky()(a, b)), -0.55555546, rtol=1e-6)
    np.testing.assert_allclose(A(losses.Tversky(alpha=0.2, beta=0.8)(a, b)), -0.29629636,
                               rtol=1e-6)
    seg_t = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]])
    seg_p = np.array([[0, 1, 0, 1], [1, 0, 1, 1], [0, 1, 0, 1], [1, 0, 1, 1]])
    np.testing.assert_allclose(A(losses.Dice()(seg_t, seg_p)), 0.77777773, rtol=1e-6)
    np.testing.assert_allclose(A(losses.Tversky(alpha=0.2, beta=0.8)(seg_t, seg_p)), 0.7916667,
                               rtol=1e-6)


CIRCLE_LABELS = np.array([1, 1, 2, 2, 3])
CIRCLE_EMB = np.array([[0.70014004, -0.42008403, 0.14002801, 0.56011203],
                       [0.17609018, 0.70436073, -0.52827054, 0.44022545],
                       [-0.34050261, 0.25537696, -0.68100522, 0.59587957],
                       [0.32163376, -0.75047877, 0.53605627, -0.21442251],
                       [0.51261459, -0.34174306, 0.17087153, 0.76892189]])
CIRCLE_REF_LABELS = np.array([1, 1, 2, 2, 3, 4])
CIRCLE_REFS = np.array([[0.40824829, -0.54433105, 0.27216553, 0.68041382],
                        [0.76376261, 0.10910895, -0.54554473, 0.32732684],
                        [-0.74420841, 0.24806947, 0.49613894, -0.3721042],
                        [0.52981294, -0.13245324, 0.79471941, -0.26490647],
                        [0.54554473, -0.32732684, 0.10910895, 0.76376261],
                        [-0.27216553, 0.68041382, 0.40824829, -0.54433105]])


def test_circle_keras_numbers():
    assert A(losses.Circle(gamma=80.0, margin=0.4)(CIRCLE_LABELS, CIRCLE_EMB)) == \
        pytest.approx(188.3883, rel=1e-4)
    assert A(losses.Circle(gamma=256, margin=0.25)(CIRCLE_LABELS, CIRCLE_EMB)) == \
        pytest.approx(652.7617, rel=1e-4)
    np.testing.assert_allclose(A(losses.circle(
        CIRCLE_LABELS, CIRCLE_EMB, ref_labels=CIRCLE_REF_LABELS, ref_embeddings=CIRCLE_REFS,
        gamma=80.0, margin=0.4, remove_diagonal=False)),
        [61.5844, 94.3465, 276.9344, 90.9873, 48.8963], rtol=1e-4)
    sw = np.array([2.0, 2.0, 1.0, 1.0, 0.5])
    assert A(losses.Circle()(CIRCLE_LABELS, CIRCLE_EMB, sample_weight=sw)) == \
        pytest.approx(244.91918, rel=1e-4)
    np.testing.assert_allclose(A(losses.Circle(reduction=None)(CIRCLE_REF_LABELS, CIRCLE_REFS)),
                               [82.9116, 36.7942, 92.4590, 52.6798, 0.0, 0.0], rtol=1e-4,
                               atol=1e-4)
    assert A(losses.Circle(reduction="sum")(CIRCLE_REF_LABELS, CIRCLE_REFS)) == \
        pytest.approx(264.845, rel=1e-4)
    assert A(losses.Circle(reduction="mean_with_sample_weight")(
        CIRCLE_LABELS, CIRCLE_EMB, sample_weight=sw)) == pytest.approx(163.27948, rel=1e-4)


def test_gce_keras_segmentation_numbers():
    yt = np.array([[0, 1, 1, 0], [1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 1]])
    oh = np.eye(2)[yt]
    np.testing.assert_allclose(A(losses.CategoricalGeneralizedCrossEntropy()(yt, oh)), 0.0,
                               atol=1e-7)
    oh[0, 3] = [0.2, 0.8]
    oh[3, 3] = [0.6, 0.4]
    expected = ((1 - 0.2 ** 0.5) / 0.5 + (1 - 0.4 ** 0.5) / 0.5) / 16
    np.testing.assert_allclose(A(losses.CategoricalGeneralizedCrossEntropy()(yt, oh)), expected,
                               rtol=1e-6)


def test_ctc_keras_example():
    logits = (np.arange(24).reshape((2, 4, 3)).astype("float32") - 12) / 100
    labels = np.array([[1, 2, 1, 0], [1, 2, 0, 2]])
    # Keras' number; its second sample has a blank (0) among its first 3 labels.
    np.testing.assert_allclose(A(losses.CTC()(labels, logits)), 2.448645, rtol=1e-5)
    # The first sample alone against the brute force over alignments.
    log_probs = logits[0].astype(np.float64)
    log_probs = log_probs - np.log(np.exp(log_probs).sum(-1, keepdims=True))
    np.testing.assert_allclose(A(losses.CTC(reduction=None)(labels[:1], logits[:1])),
                               [np_ctc_brute(log_probs, [1, 2, 1])], rtol=1e-5)


# -- dtype, configs, names ----------------------------------------------------------------------

INSTANCES = [losses.BinaryFocalCrossentropy(True, 0.3, 1.5, True, 0.1, name="bfce"),
             losses.CategoricalFocalCrossentropy(0.4, 3.0, True, 0.2, reduction="sum"),
             losses.CategoricalGeneralizedCrossEntropy(q=0.1, name="gce"),
             losses.Dice(axis=(1, 2), reduction=None), losses.Tversky(0.2, 0.8, axis=(1, 2)),
             losses.CTC(name="myctc"), losses.Circle(gamma=30.0, margin=0.3,
                                                     remove_diagonal=False),
             losses.Dice(dtype="float16")]


def _data_for(loss):
    if isinstance(loss, losses.CTC):
        return np.array([[1, 2, 0], [2, 0, 0]]), RNG.normal(size=(2, 4, 3)).astype(np.float32)
    if isinstance(loss, (losses.Circle, losses.CategoricalGeneralizedCrossEntropy)):
        p = RNG.dirichlet(np.ones(3), 4).astype(np.float32)
        return np.array([0, 1, 0, 2]), p
    if isinstance(loss, (losses.Dice, losses.Tversky)):
        return (RNG.random((2, 3, 3)) > 0.5).astype(np.float32), \
            RNG.random((2, 3, 3)).astype(np.float32)
    return np.eye(3)[[0, 1, 2, 1]].astype(np.float32), RNG.normal(size=(4, 3)).astype(np.float32)


@pytest.mark.parametrize("loss", INSTANCES, ids=lambda l: type(l).__name__)
def test_config_round_trip(loss):
    config = loss.get_config()
    rebuilt = type(loss).from_config(config)
    assert rebuilt.get_config() == config
    again = losses.deserialize(losses.serialize(loss))
    assert type(again) is type(loss) and again.get_config() == config
    t, p = _data_for(loss)
    np.testing.assert_allclose(A(again(t, p)), A(loss(t, p)), rtol=1e-6)


def test_keras_default_arguments_and_names():
    b = losses.BinaryFocalCrossentropy().get_config()
    assert b == {"name": "binary_focal_crossentropy", "reduction": "sum_over_batch_size",
                 "apply_class_balancing": False, "alpha": 0.25, "gamma": 2.0,
                 "from_logits": False, "label_smoothing": 0.0, "axis": -1}
    c = losses.CategoricalFocalCrossentropy().get_config()
    assert c == {"name": "categorical_focal_crossentropy", "reduction": "sum_over_batch_size",
                 "alpha": 0.25, "gamma": 2.0, "from_logits": False, "label_smoothing": 0.0,
                 "axis": -1}
    assert losses.Dice().get_config() == {"name": "dice", "reduction": "sum_over_batch_size",
                                          "axis": None}
    assert losses.Tversky().get_config() == {"name": "tversky", "alpha": 0.5, "beta": 0.5,
                                             "reduction": "sum_over_batch_size", "axis": None}
    assert losses.CTC().get_config() == {"name": "ctc", "reduction": "sum_over_batch_size"}
    assert losses.Circle().get_config() == {"name": "circle", "gamma": 80.0, "margin": 0.4,
                                            "remove_diagonal": True,
                                            "reduction": "sum_over_batch_size"}
    assert losses.CategoricalGeneralizedCrossEntropy().get_config() == {
        "name": "categorical_generalized_cross_entropy", "q": 0.5,
        "reduction": "sum_over_batch_size"}
    for name in ("dice", "tversky", "ctc", "circle", "categorical_generalized_cross_entropy",
                 "binary_focal_crossentropy", "categorical_focal_crossentropy"):
        assert callable(losses.get(name)) and losses.get(name).__name__ == name


def test_dtype_argument_sets_result_dtype():
    t, p = np.array([[1, 2, 0]]), RNG.normal(size=(1, 4, 3)).astype(np.float32)
    assert losses.CTC(dtype="bfloat16")(t, p).dtype == mx.bfloat16
    assert losses.Dice(dtype="float16")(np.ones((2, 2)), np.ones((2, 2))).dtype == mx.float16


# -- inside the compiled training step ----------------------------------------------------------

def _fit(model, loss, x, y, epochs=3):
    model.compile(optimizer=mf.optimizers.Adam(0.05), loss=loss)
    history = model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, shuffle=False)
    return history.history["loss"]


@pytest.mark.parametrize("loss", ["binary_focal", "categorical_focal", "gce", "dice",
                                  "tversky", "ctc", "circle"])
def test_each_loss_trains_in_fit(loss):
    L = mf.layers
    x = RNG.normal(size=(32, 6)).astype(np.float32)
    cls = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    if loss == "ctc":
        inputs = L.Input((5, 6))
        model = mf.Model(inputs, L.Dense(4)(inputs))
        xs = RNG.normal(size=(32, 5, 6)).astype(np.float32)
        y = np.stack([cls + 1, np.zeros(32, int)], 1)
        hist = _fit(model, losses.CTC(), xs, y)
    else:
        inputs = L.Input((6,))
        units, act, y = {"binary_focal": (1, "sigmoid", (cls > 0).astype(np.float32)[:, None]),
                         "categorical_focal": (3, "softmax", np.eye(3)[cls]),
                         "gce": (3, "softmax", cls),
                         "dice": (1, "sigmoid", (cls > 0).astype(np.float32)[:, None]),
                         "tversky": (1, "sigmoid", (cls > 0).astype(np.float32)[:, None]),
                         "circle": (4, None, cls)}[loss]
        out = L.Dense(units, activation=act)(inputs)
        if loss == "circle":
            out = L.UnitNormalization()(out)
        model = mf.Model(inputs, out)
        obj = {"binary_focal": losses.BinaryFocalCrossentropy(),
               "categorical_focal": losses.CategoricalFocalCrossentropy(),
               "gce": losses.CategoricalGeneralizedCrossEntropy(),
               "dice": losses.Dice(), "tversky": losses.Tversky(0.3, 0.7),
               "circle": losses.Circle(gamma=16.0)}[loss]
        hist = _fit(model, obj, x, y)
    assert np.all(np.isfinite(hist)) and hist[-1] < hist[0]


def test_model_file_keeps_the_compiled_loss(tmp_path):
    L = mf.layers
    inputs = L.Input((3,))
    model = mf.Model(inputs, L.Dense(1, activation="sigmoid")(inputs))
    model.compile(optimizer="adam", loss=losses.Tversky(alpha=0.2, beta=0.8, axis=None))
    model.save(str(tmp_path / "m.mlxf"))
    again = mf.saving.load_model(str(tmp_path / "m.mlxf"))
    restored = again.compiled_loss.losses[0]
    assert type(restored) is losses.Tversky
    assert restored.get_config() == model.compiled_loss.losses[0].get_config()
