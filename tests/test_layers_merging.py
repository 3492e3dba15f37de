"""Merging layers against numpy references: values, shapes, masks, errors, configs."""

import json
import re

import mlx.core as mx
import numpy as np
import pytest

from mlxfunctional import Input, Model
from mlxfunctional.layers import merging
from mlxfunctional.layers.core import Embedding, Lambda
from mlxfunctional.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum,
                                          Multiply, Subtract)

RNG = np.random.default_rng(2)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def run(layer, xs):
    return np.array(layer([mx.array(x) for x in xs]))


def fold(fn, xs):
    out = xs[0].astype(np.float64)
    for x in xs[1:]:
        out = fn(out, x)
    return out


ELEMENTWISE = [
    (Add, "add", lambda xs: fold(np.add, xs)),
    (Multiply, "multiply", lambda xs: fold(np.multiply, xs)),
    (Average, "average", lambda xs: fold(np.add, xs) / len(xs)),
    (Maximum, "maximum", lambda xs: fold(np.maximum, xs)),
    (Minimum, "minimum", lambda xs: fold(np.minimum, xs)),
]


@pytest.mark.parametrize("cls, fn_name, ref", ELEMENTWISE)
def test_elementwise_merges(cls, fn_name, ref):
    xs = [rand(2, 3, 4) for _ in range(3)]
    np.testing.assert_allclose(run(cls(), xs), ref(xs), rtol=1e-5, atol=1e-6)
    a, b, c = Input((None, 4)), Input((None, 4)), Input((None, 4))
    layer = cls()
    out = layer([a, b, c])
    assert out.shape == (None, None, 4)
    assert layer.count_params() == 0
    # The functional form is Class(**kwargs)(inputs).
    functional = getattr(merging, fn_name)([a, b], name=f"my_{fn_name}")
    assert functional._keras_history[0].name == f"my_{fn_name}"
    assert isinstance(functional._keras_history[0], cls)
    model = Model([a, b, c], out)
    np.testing.assert_allclose(np.array(model(xs)), ref(xs), rtol=1e-5, atol=1e-6)
    clone = cls.from_config(layer.get_config())
    np.testing.assert_allclose(run(clone, xs), ref(xs), rtol=1e-5, atol=1e-6)


def test_subtract_takes_exactly_two_inputs():
    x, y = rand(3, 4), rand(3, 4)
    np.testing.assert_allclose(run(Subtract(), [x, y]), x - y, rtol=1e-6)
    assert merging.subtract([Input((4,)), Input((4,))]).shape == (None, 4)
    with pytest.raises(ValueError, match=r'"minus".*exactly 2.*\[\(None, 4\), \(None, 4\), '
                                         r'\(None, 4\)\]'):
        Subtract(name="minus")([Input((4,)), Input((4,)), Input((4,))])


def test_merges_broadcast_like_keras():
    a, b = rand(2, 1, 4), rand(2, 3, 4)
    np.testing.assert_allclose(run(Add(), [a, b]), a + b, rtol=1e-6)
    assert merging.add([Input((1, 4)), Input((3, 4))]).shape == (None, 3, 4)
    # A lower-rank input gains axes after the batch axis (not in front of it).
    low, high = rand(2, 4), rand(2, 3, 4)
    ref = np.stack([[low[i] * high[i, j] for j in range(3)] for i in range(2)])
    np.testing.assert_allclose(run(Multiply(), [low, high]), ref, rtol=1e-6)
    assert merging.multiply([Input((4,)), Input((3, 4))]).shape == (None, 3, 4)
    with pytest.raises(ValueError, match="different batch sizes"):
        merging.add([Input((4,), batch_size=2), Input((4,), batch_size=3)])


def test_shape_mismatch_errors_name_layer_and_all_shapes():
    shapes = "[(None, 3), (None, 3), (None, 5)]"
    with pytest.raises(ValueError) as err:
        Add(name="joiner")([Input((3,)), Input((3,)), Input((5,))])
    assert '"joiner"' in str(err.value) and shapes in str(err.value)
    with pytest.raises(ValueError, match=r'"maximum".*\[\(2, 3\), \(5, 3\)\]'):
        Maximum()([mx.zeros((2, 3)), mx.zeros((5, 3))])
    with pytest.raises(ValueError, match=r'"average".*list'):
        Average()(Input((3,)))
    with pytest.raises(ValueError, match=re.escape("[(None, 2, 3), (None, 4, 5)]")):
        Concatenate(name="cat")([Input((2, 3)), Input((4, 5))])
    with pytest.raises(ValueError, match=r'"cat2".*same rank'):
        Concatenate(name="cat2")([Input((2, 3)), Input((3,))])
    with pytest.raises(ValueError, match=r'"dot".*4.*5.*\[\(None, 4\), \(None, 5\)\]'):
        Dot(axes=1)([Input((4,)), Input((5,))])
    with pytest.raises(ValueError, match=r'"dot_1".*batch axis'):
        Dot(axes=0)([Input((4,)), Input((4,))])


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate(axis):
    shapes = {-1: [(2, 3, 4), (2, 3, 2)], 1: [(2, 1, 4), (2, 3, 4)], 2: [(2, 3, 1), (2, 3, 5)]}
    xs = [rand(*s) for s in shapes[axis]]
    layer = Concatenate(axis=axis)
    np.testing.assert_array_equal(run(layer, xs), np.concatenate(xs, axis=axis))
    sym = merging.concatenate([Input((None, s[2])) for s in shapes[axis]], axis=axis) \
        if axis != 1 else merging.concatenate([Input((None, 4)), Input((3, 4))], axis=1)
    expected = {-1: (None, None, 6), 1: (None, None, 4), 2: (None, None, 6)}[axis]
    assert sym.shape == expected
    config = layer.get_config()
    json.dumps(config)
    assert config["axis"] == axis
    np.testing.assert_array_equal(run(Concatenate.from_config(config), xs),
                                  np.concatenate(xs, axis=axis))


def dot_ref(x, y, ax, ay, normalize=False):
    x, y = x.astype(np.float64), y.astype(np.float64)
    if normalize:
        x = x / np.sqrt((x ** 2).sum(axis=ax, keepdims=True))
        y = y / np.sqrt((y ** 2).sum(axis=ay, keepdims=True))
    out = []
    for b in range(x.shape[0]):  # a tensordot per sample
        out.append(np.tensordot(x[b], y[b], axes=([ax - 1], [ay - 1])))
    out = np.array(out)
    return out.reshape(-1, 1) if out.ndim == 1 else out


@pytest.mark.parametrize("xs, ys, axes, out_shape", [
    ((3, 5), (3, 5), 1, (3, 1)),
    ((3, 5), (3, 5), -1, (3, 1)),
    ((2, 3, 5), (2, 4, 5), 2, (2, 3, 4)),
    ((2, 3, 5), (2, 5, 4), (2, 1), (2, 3, 4)),
    ((2, 5, 3), (2, 4, 5), (1, 2), (2, 3, 4)),
    ((2, 3, 4, 5), (2, 5, 6), (-1, 1), (2, 3, 4, 6)),
    ((2, 5), (2, 3, 5), (1, 2), (2, 3)),
])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot(xs, ys, axes, out_shape, normalize):
    x, y = rand(*xs), rand(*ys)
    layer = Dot(axes=axes, normalize=normalize)
    out = run(layer, [x, y])
    assert out.shape == out_shape
    ax, ay = (axes, axes) if isinstance(axes, int) else axes
    ref = dot_ref(x, y, ax % x.ndim, ay % y.ndim, normalize)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    sym = layer([Input(xs[1:]), Input(ys[1:])])
    assert sym.shape == (None,) + out_shape[1:]
    config = layer.get_config()
    json.dumps(config)
    np.testing.assert_allclose(run(Dot.from_config(config), [x, y]), out, rtol=1e-6)


def test_dot_functional_form_and_cosine():
    a, b = Input((3,)), Input((3,))
    cos = merging.dot([a, b], axes=1, normalize=True)
    model = Model([a, b], cos)
    x = np.array([[1, 0, 0], [1, 1, 0]], np.float32)
    y = np.array([[0, 2, 0], [2, 2, 0]], np.float32)
    np.testing.assert_allclose(np.array(model([x, y])), [[0], [1]], atol=1e-6)
    with pytest.raises(ValueError, match="two"):
        Dot(axes=(1, 2, 3))


def _masked_inputs():
    ids_a, ids_b = Input((4,), dtype="int32"), Input((4,), dtype="int32")
    a = Embedding(9, 3, mask_zero=True)(ids_a)
    b = Embedding(9, 3, mask_zero=True)(ids_b)
    return ids_a, ids_b, a, b


def _mask_as_float(t):
    return Lambda(lambda x, mask: mask.astype(mx.float32))(t)


def test_elementwise_merges_and_their_masks():
    ids_a, ids_b, a, b = _masked_inputs()
    plain = Input((4, 3))
    added = merging.add([a, b, plain])
    assert added._mask_shape == (None, 4)
    model = Model([ids_a, ids_b, plain], _mask_as_float(added))
    da = np.array([[1, 2, 0, 3]], np.int32)
    db = np.array([[4, 0, 0, 5]], np.int32)
    out = np.array(model([da, db, np.ones((1, 4, 3), np.float32)]))
    np.testing.assert_array_equal(out, ((da != 0) & (db != 0)).astype(np.float32))
    layer = Add()
    ma, mb = mx.array([[True, False]]), mx.array([[True, True]])
    np.testing.assert_array_equal(np.array(layer.compute_mask([None, None], [ma, mb])),
                                  [[True, False]])
    assert layer.compute_mask([None, None], [None, None]) is None
    assert layer.compute_mask([None, None], None) is None


def test_concatenate_masks():
    ids_a, ids_b, a, b = _masked_inputs()
    plain = Input((2, 3))
    along_time = merging.concatenate([a, plain, b], axis=1)
    assert along_time.shape == (None, 10, 3) and along_time._mask_shape == (None, 10)
    model = Model([ids_a, ids_b, plain], _mask_as_float(along_time))
    da = np.array([[1, 0, 2, 0]], np.int32)
    db = np.array([[0, 0, 7, 1]], np.int32)
    out = np.array(model([da, db, np.zeros((1, 2, 3), np.float32)]))
    ref = np.concatenate([da != 0, np.ones((1, 2), bool), db != 0], axis=1)
    np.testing.assert_array_equal(out, ref.astype(np.float32))
    # Along features, Keras 3 expands each mask over its features and reduces with `any`.
    layer = Concatenate()
    x1, x2 = mx.zeros((1, 3, 2)), mx.zeros((1, 3, 4))
    m1, m2 = mx.array([[True, False, False]]), mx.array([[False, False, True]])
    np.testing.assert_array_equal(np.array(layer.compute_mask([x1, x2], [m1, m2])),
                                  [[True, False, True]])
    np.testing.assert_array_equal(np.array(layer.compute_mask([x1, x2], [m1, None])),
                                  [[True, True, True]])
    assert layer.compute_mask([x1, x2], [None, None]) is None


def test_dot_has_no_output_mask():
    ids_a, ids_b, a, b = _masked_inputs()
    assert merging.dot([a, b], axes=2)._mask_shape is None
