"""Regularizers and constraints against numpy truth: penalty values, the orthogonal
regularizer, norm constraints along any axes, round trips, get and defaults."""

import mlx.core as mx
import numpy as np
import pytest

from _as_numpy import np_
from mlxfunctional import constraints, regularizers


# ---------------------------------------------------------------- regularizers

W = np.random.default_rng(1).standard_normal((7, 5)).astype(np.float32)


def _np_orthogonal_penalty(w, factor, mode):
    if mode == "columns":
        w = w.T
    w = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-7)
    p = w @ w.T
    n = p.shape[0]
    return factor * 0.5 * (np.abs(p).sum() - np.abs(np.diag(p)).sum()) / (n * (n - 1) / 2)


@pytest.mark.parametrize("reg, want", [
    (regularizers.L1(), 0.01 * np.abs(W).sum()),
    (regularizers.L1(0.3), 0.3 * np.abs(W).sum()),
    (regularizers.L2(), 0.01 * (W ** 2).sum()),
    (regularizers.L2(0.5), 0.5 * (W ** 2).sum()),
    (regularizers.L1L2(), 0.0),
    (regularizers.L1L2(l1=0.1, l2=0.2), 0.1 * np.abs(W).sum() + 0.2 * (W ** 2).sum()),
    (regularizers.l1_l2(l2=0.4), 0.4 * (W ** 2).sum()),
    (regularizers.OrthogonalRegularizer(), _np_orthogonal_penalty(W, 0.01, "rows")),
    (regularizers.OrthogonalRegularizer(0.5, "columns"), _np_orthogonal_penalty(W, 0.5, "columns")),
], ids=lambda v: repr(v) if isinstance(v, regularizers.Regularizer) else "")
def test_regularizer_values(reg, want):
    got = reg(mx.array(W))
    assert got.shape == ()
    assert float(got) == pytest.approx(float(want), rel=1e-5, abs=1e-7)
    again = regularizers.deserialize(regularizers.serialize(reg))
    assert type(again) is type(reg) and again.get_config() == reg.get_config()
    assert float(again(mx.array(W))) == pytest.approx(float(want), rel=1e-5, abs=1e-7)


def test_orthogonal_regularizer_is_zero_for_orthogonal_rows():
    q = np.linalg.qr(np.random.default_rng(2).standard_normal((6, 6)))[0].astype(np.float32)
    assert float(regularizers.OrthogonalRegularizer(1.0)(mx.array(q))) < 1e-6
    with pytest.raises(ValueError):
        regularizers.OrthogonalRegularizer()(mx.ones((2, 2, 2)))
    with pytest.raises(ValueError):
        regularizers.OrthogonalRegularizer(mode="diag")


def test_regularizer_get_and_validation():
    assert regularizers.get(None) is None
    assert type(regularizers.get("l1")) is regularizers.L1
    assert regularizers.get("l2").l2 == 0.01
    assert regularizers.get("L1L2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert type(regularizers.get("l1_l2")) is regularizers.L1L2
    assert type(regularizers.get("orthogonal_regularizer")) is regularizers.OrthogonalRegularizer
    assert regularizers.serialize(regularizers.L2(0.25)) == {
        "class_name": "L2", "config": {"l2": 0.25}}
    assert regularizers.get({"class_name": "L1", "config": {"l1": 0.2}}).l1 == 0.2
    for bad in (-0.1, float("nan"), None, "x"):
        with pytest.raises((ValueError, TypeError)):
            regularizers.L1(bad)


# ----------------------------------------------------------------- constraints

def _np_norms(w, axis):
    return np.sqrt((w.astype(np.float64) ** 2).sum(axis=axis, keepdims=True))


CW = (np.random.default_rng(3).standard_normal((6, 4)) * np.array([0.1, 1.0, 3.0, 10.0]))
CW = CW.astype(np.float32)
KW = np.random.default_rng(4).standard_normal((3, 3, 2, 4)).astype(np.float32)


@pytest.mark.parametrize("w, axis", [(CW, 0), (CW, 1), (KW, [0, 1, 2]), (KW, -1)])
def test_constraints_against_numpy(w, axis):
    ax = tuple(axis) if isinstance(axis, list) else axis
    n = _np_norms(w, ax)
    eps = 1e-7
    cases = [
        (constraints.MaxNorm(2.0, axis=axis), w * np.clip(n, 0, 2.0) / (eps + n)),
        (constraints.UnitNorm(axis=axis), w / (eps + n)),
        (constraints.MinMaxNorm(0.5, 1.5, rate=1.0, axis=axis),
         w * np.clip(n, 0.5, 1.5) / (eps + n)),
        (constraints.MinMaxNorm(0.5, 1.5, rate=0.25, axis=axis),
         w * (0.25 * np.clip(n, 0.5, 1.5) + 0.75 * n) / (eps + n)),
        (constraints.NonNeg(), w * (w >= 0)),
    ]
    for c, want in cases:
        got = np_(c(mx.array(w)))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=repr(c))
        again = constraints.deserialize(constraints.serialize(c))
        assert type(again) is type(c) and again.get_config() == c.get_config()
    # MaxNorm leaves slices already within the bound untouched; UnitNorm gives unit norms.
    got = np_(constraints.MaxNorm(1e6, axis=axis)(mx.array(w)))
    np.testing.assert_allclose(got, w, rtol=1e-5)
    np.testing.assert_allclose(_np_norms(np_(constraints.UnitNorm(axis)(mx.array(w))), ax), 1.0,
                               rtol=1e-5)


def test_constraint_get_and_defaults():
    assert constraints.get(None) is None
    assert constraints.get("max_norm").get_config() == {"max_value": 2, "axis": 0}
    assert type(constraints.get("MaxNorm")) is constraints.MaxNorm
    assert type(constraints.get("non_neg")) is constraints.NonNeg
    assert type(constraints.get("unit_norm")) is constraints.UnitNorm
    assert constraints.get("min_max_norm").get_config() == {
        "min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}
    assert constraints.serialize(constraints.UnitNorm(axis=[0, 1])) == {
        "class_name": "UnitNorm", "config": {"axis": [0, 1]}}
    c = constraints.NonNeg()
    assert constraints.get(c) is c
    w = mx.array(CW)
    assert constraints.Constraint()(w) is w
