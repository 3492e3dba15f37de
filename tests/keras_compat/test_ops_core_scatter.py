"""keras.ops core ops, continued: scatter and slice updates, and core ops inside a compiled
training step, against numpy references (see test_ops_core.py)."""

import functools

import mlx.core as mx
import numpy as np
import pytest

from mlxfunctional import ops
from tests.keras_compat.test_ops_core import (RNG)


# -- scatter and slice ---------------------------------------------------------------

def _numpy_scatter(target, indices, updates, reduction):
    out = target.copy()
    idx = tuple(np.moveaxis(np.asarray(indices), -1, 0))
    if reduction is None:
        for row, u in zip(np.asarray(indices).reshape(-1, np.asarray(indices).shape[-1]),
                          updates.reshape((-1,) + target.shape[np.asarray(indices).shape[-1]:])):
            out[tuple(row)] = u  # in order: last write wins
        return out
    ufunc = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}[reduction]
    ufunc.at(out, idx, updates)
    return out


SCATTER_CASES = [  # (target shape, indices, updates shape)
    ((4, 4, 4), [[1, 2, 3], [0, 1, 3]], (2,)),
    ((4, 4, 4), [[1, 2], [2, 3]], (2, 4)),
    ((5,), [[0], [0], [1], [4]], (4,)),
    ((3, 5), [[-1], [0]], (2, 5)),  # negative index counts from the end
    ((6, 2), [[[1], [2]], [[1], [5]]], (2, 2, 2)),  # batched indices
    ((3, 3), np.zeros((0, 2), np.int32), (0,)),  # no updates
]


@pytest.mark.parametrize("reduction", [None, "add", "mul", "max", "min"])
@pytest.mark.parametrize("shape,indices,updates_shape", SCATTER_CASES)
def test_scatter_update_matches_numpy(shape, indices, updates_shape, reduction):
    target = RNG.normal(size=shape).astype(np.float32)
    updates = RNG.normal(size=updates_shape).astype(np.float32)
    got = ops.scatter_update(target, indices, updates, reduction=reduction)
    np.testing.assert_allclose(np.array(got), _numpy_scatter(target, indices, updates,
                                                             reduction), rtol=1e-6)


def test_scatter_update_int_inputs_keep_their_dtype_and_last_write_wins():
    got = ops.scatter_update(np.zeros(4, np.int32), [[2], [2], [2]], np.array([5, 6, 7]))
    assert ops.dtype(got) == "int32" and np.array(got).tolist() == [0, 0, 7, 0]


def test_scatter_adds_repeated_indices():
    indices = [[0, 1], [1, 1], [0, 1]]
    got = ops.scatter(indices, np.array([1.0, 2.0, 3.0], np.float32), (2, 2))
    expected = np.zeros((2, 2), np.float32)
    np.add.at(expected, tuple(np.array(indices).T), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(np.array(got), expected)
    assert ops.dtype(ops.scatter([[1]], np.array([3], np.int32), (3,))) == "int32"


@pytest.mark.parametrize("call", [
    lambda: ops.scatter_update(np.zeros((4,)), [[4]], np.ones(1)),
    lambda: ops.scatter_update(np.zeros((4, 2)), [[1, 2]], np.ones(1)),
    lambda: ops.scatter_update(np.zeros((4,)), [[-5]], np.ones(1)),
    lambda: ops.scatter([[0], [9]], np.ones(2), (3,)),
])
def test_out_of_range_scatter_is_an_error_naming_index_and_range(call):
    with pytest.raises(IndexError, match=r"scatter.*index \[.*\].*out of range"):
        call()


def test_out_of_range_scatter_inside_compile_is_dropped():
    f = mx.compile(lambda i: ops.scatter_update(mx.zeros((4,)), i, mx.array([1.0, 2.0, 3.0])))
    got = f(mx.array([[7], [-1], [1_000_000]]))
    assert np.array(got).tolist() == [0.0, 0.0, 0.0, 2.0]  # only -1 (the last) is in range


def test_scatter_refuses_bad_updates_shape():
    with pytest.raises(ValueError, match="updates"):
        ops.scatter_update(np.zeros((4, 3)), [[1], [2]], np.ones((2, 4)))


SLICE_CASES = [  # (input shape, start, size)
    ((5, 5), [3, 3], [2, 2]),
    ((5, 5), [0, 1], [5, -1]),
    ((2, 3, 4), [1, 0, 2], [1, 3, 2]),
    ((4,), [4], [0]),
    ((3, 0), [1, 0], [2, 0]),
]


@pytest.mark.parametrize("shape,start,size", SLICE_CASES)
def test_slice_and_slice_update_match_numpy(shape, start, size):
    x = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    window = tuple(slice(s, d if n == -1 else s + n) for s, n, d in zip(start, size, shape))
    for starts in (start, np.array(start, np.int32)):
        np.testing.assert_array_equal(np.array(ops.slice(x, starts, size)), x[window])
    updates = -np.ones(x[window].shape, np.int32)
    expected = x.copy()
    expected[window] = updates
    np.testing.assert_array_equal(np.array(ops.slice_update(x, start, updates)), expected)


@pytest.mark.parametrize("call", [
    lambda: ops.slice(np.zeros((5, 5)), [4, 0], [2, 2]),
    lambda: ops.slice(np.zeros((5, 5)), np.array([-1, 0]), [2, 2]),
    lambda: ops.slice_update(np.zeros((5, 5)), [0, 4], np.ones((2, 2))),
])
def test_out_of_range_slices_are_errors(call):
    with pytest.raises(IndexError, match="slice.*start .* out of range"):
        call()


def test_slices_inside_compile_clamp_their_start_as_jax():
    x = mx.arange(25).reshape(5, 5)
    f = mx.compile(lambda s: ops.slice(x, s, [2, 3]))
    g = mx.compile(lambda s: ops.slice_update(x, s, -mx.ones((2, 3), mx.int32)))
    for start in ([4, 4], [-3, 1], [1, 2]):
        clamped = [min(max(s, 0), d - n) for s, n, d in zip(start, (2, 3), (5, 5))]
        window = tuple(slice(c, c + n) for c, n in zip(clamped, (2, 3)))
        np.testing.assert_array_equal(np.array(f(mx.array(start))), np.array(x)[window])
        expected = np.array(x)
        expected[window] = -1
        np.testing.assert_array_equal(np.array(g(mx.array(start))), expected)


def test_slice_keeps_gradients():
    g = mx.grad(lambda v: ops.slice(v, mx.array([1]), [2]).sum())(mx.zeros(4))
    assert np.array(g).tolist() == [0.0, 1.0, 1.0, 0.0]


@functools.lru_cache(maxsize=None)
def _compiled_scatter_add():
    return mx.compile(lambda t, i, u: ops.scatter_update(t, i, u, reduction="add"))


def test_scatter_inside_compile_matches_eager():
    t = RNG.normal(size=(5, 2)).astype(np.float32)
    i = np.array([[0], [3], [0]], np.int32)
    u = RNG.normal(size=(3, 2)).astype(np.float32)
    got = _compiled_scatter_add()(mx.array(t), mx.array(i), mx.array(u))
    np.testing.assert_allclose(np.array(got), _numpy_scatter(t, i, u, "add"), rtol=1e-6)


def test_scatter_update_gradients_skip_overwritten_values():
    grad_t, grad_u = mx.grad(
        lambda t, u: (ops.scatter_update(t, mx.array([[1], [1]]), u) ** 2).sum(),
        argnums=(0, 1))(mx.ones((4,)), mx.array([1.0, 2.0]))
    # slot 1 is overwritten (no gradient to the input there); the first update loses
    assert np.array(grad_t).tolist() == [2.0, 0.0, 2.0, 2.0]
    assert np.array(grad_u).tolist() == [0.0, 4.0]


# -- inside a compiled training step ------------------------------------------------------

def _control_flow_layer():
    import mlxfunctional as keras

    class Gated(keras.layers.Layer):
        """Per batch: doubles or shifts by the sign of its sum, doubles until the
        norm passes 10 (at most 3 times), and overwrites column 0."""

        def call(self, x):
            x = ops.cond(mx.sum(x) > 0, lambda: x * 2.0, lambda: x - 1.0)
            x = ops.while_loop(lambda v: mx.sum(v * v) < 100.0, lambda v: v * 2.0, x,
                               maximum_iterations=3)
            column = mx.zeros((x.shape[0], 1), x.dtype)
            return ops.slice_update(x, [0, 0], column)

    return Gated


def _gated_reference(x):
    x = x * 2.0 if x.sum() > 0 else x - 1.0
    for _ in range(3):
        if (x * x).sum() >= 100.0:
            break
        x = x * 2.0
    x = x.copy()
    x[:, 0] = 0.0
    return x


def test_control_flow_ops_in_a_compiled_predict_and_fit():
    import mlxfunctional as keras

    inputs = keras.Input((3,))
    model = keras.Model(inputs, _control_flow_layer()()(inputs))
    x = np.array([[1.0, 2.0, 3.0], [0.1, 0.1, 0.1], [-5.0, -1.0, 0.5], [-0.1, 0.0, 0.0]],
                 np.float32)
    got = model.predict(x, batch_size=2, verbose=0)  # two full (compiled) batches
    expected = np.concatenate([_gated_reference(x[:2]), _gated_reference(x[2:])])
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, np.zeros_like(x), batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_an_uncapped_traced_while_loop_fails_fit_with_the_fix():
    import mlxfunctional as keras

    class Unbounded(keras.layers.Layer):
        def call(self, x):
            return ops.while_loop(lambda v: mx.sum(v) < 100.0, lambda v: v * 2.0, x)

    inputs = keras.Input((2,))
    model = keras.Model(inputs, Unbounded()(inputs))
    x = np.ones((4, 2), np.float32)
    # full batches run compiled (a short last batch would run eagerly, where it works)
    with pytest.raises(ValueError, match="maximum_iterations"):
        model.predict(x, batch_size=2, verbose=0)
    # the failed trace left the model usable: eagerly the loop runs (2 -> 128)
    np.testing.assert_array_equal(np.array(model(mx.array(x[:1]))), [[64.0, 64.0]])


def test_cond_and_switch_on_symbolic_tensors_build_every_branch():
    import mlxfunctional as keras

    class Pick(keras.layers.Layer):
        def call(self, x):
            y = ops.cond(mx.sum(x) > 0, lambda: x * 3.0, lambda: -x)
            return ops.switch(mx.argmax(mx.sum(x, axis=0)), [lambda v: v + 1.0,
                                                              lambda v: v * 0.0], y)

    inputs = keras.Input((2,))
    model = keras.Model(inputs, Pick()(inputs))
    for x in ([[1.0, 2.0]], [[-3.0, 1.0]], [[2.0, -1.0]]):
        x = np.array(x, np.float32)
        y = x * 3.0 if x.sum() > 0 else -x
        y = y + 1.0 if np.argmax(x.sum(axis=0)) == 0 else y * 0.0
        np.testing.assert_array_equal(np.asarray(model.predict(x, verbose=0)), y)
