"""Weights are Keras Variables to Keras code and MLX arrays to MLX code.

The guide "Making new layers and models via subclassing" keeps a running sum
in a non-trainable weight (``self.total.assign_add(...)``); here that pattern
runs eagerly and under ``fit`` (compiled and eager), and every Variable
attribute is checked against numpy. Expected paths follow Keras 3's rule: the
scopes open when the weight is created, then its name (``sequential/dense/kernel``).
"""

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers, ops
from mlxfunctional.engine.variables import Variable

RNG = np.random.default_rng(3)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


# The guide writes ops.sum; keras.ops' reductions are another part of this work, and
# mx.sum is the same column sum (a raw MLX op on a Variable's operand works too).
column_sum = getattr(ops, "sum", mx.sum)


class ComputeSum(layers.Layer):
    """The guide's non-trainable running sum; passes its input through (so it can sit
    inside a trained model) and keeps the column sums of every batch it sees."""

    def __init__(self, input_dim, **kwargs):
        super().__init__(**kwargs)
        self.total = self.add_weight(shape=(input_dim,), initializer="zeros", trainable=False)

    def call(self, inputs):
        self.total.assign_add(column_sum(inputs, axis=0))
        return inputs


class ReturnSum(ComputeSum):
    """Exactly the guide's form: ``call`` returns the weight itself."""

    def call(self, inputs):
        self.total.assign_add(column_sum(inputs, axis=0))
        return self.total


# -- the guide's running sum ----------------------------------------------------------
def test_running_sum_accumulates_eagerly_and_returns_the_variable():
    x = np.ones((2, 2), np.float32)
    layer = ReturnSum(2)
    y = layer(x)
    np.testing.assert_array_equal(y.numpy(), [2.0, 2.0])
    y = layer(x)
    np.testing.assert_array_equal(y.numpy(), [4.0, 4.0])
    assert [len(layer.weights), len(layer.trainable_weights), len(layer.non_trainable_weights)] \
        == [1, 0, 1]
    np.testing.assert_array_equal(layer.get_weights()[0], [4.0, 4.0])


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_running_sum_is_kept_by_fit(run_eagerly):
    x, y = rand(10, 3), rand(10, 1)
    inputs = keras.Input((3,))
    summed = ComputeSum(3, name="running_sum")
    model = keras.Model(inputs, layers.Dense(1)(summed(inputs)))
    np.testing.assert_array_equal(summed.total.numpy(), np.zeros(3))  # tracing adds nothing
    model.compile(optimizer="sgd", loss="mse", run_eagerly=run_eagerly)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=True, verbose=0)
    # Every sample was seen twice (batches of 4, 4 and 2 per epoch).
    np.testing.assert_allclose(summed.total.numpy(), 2 * x.sum(0), rtol=1e-5)
    np.testing.assert_allclose(model.non_trainable_weights[0].numpy(), 2 * x.sum(0), rtol=1e-5)
    model.predict(x, batch_size=5, verbose=0)
    np.testing.assert_allclose(summed.total.numpy(), 3 * x.sum(0), rtol=1e-5)


# -- the Variable API against numpy -------------------------------------------------------
def test_every_attribute_and_operator_agrees_with_numpy():
    kernel, bias = rand(4, 3), rand(3)
    dense = layers.Dense(3, name="probe")
    dense.build((None, 4))
    dense.set_weights([kernel, bias])
    v = dense.kernel
    assert isinstance(v, Variable) and isinstance(v, mx.array)
    assert (v.name, v.path, v.shape, v.ndim, v.trainable) == ("kernel", "probe/kernel", (4, 3), 2, True)
    assert keras.backend.standardize_dtype(v.dtype) == "float32"
    np.testing.assert_array_equal(v.numpy(), kernel)
    np.testing.assert_array_equal(np.asarray(v), kernel)
    np.testing.assert_array_equal(np.array(v.value), kernel)
    assert type(v.value) is mx.array
    x = rand(2, 4)
    mxx = mx.array(x)
    for got, want in [(v + 1, kernel + 1), (2 * v, 2 * kernel), (v - bias, kernel - bias),
                      (v / 2, kernel / 2), (-v, -kernel), (abs(v), abs(kernel)), (v ** 2, kernel ** 2),
                      (mxx @ v, x @ kernel), (mx.matmul(mxx, v), x @ kernel), (v[1], kernel[1]),
                      (v > 0, kernel > 0), (ops.transpose(v), kernel.T), (mx.sum(v, axis=0), kernel.sum(0)),
                      (ops.matmul(x, v), x @ kernel), (dense.bias + v, kernel + bias)]:
        np.testing.assert_allclose(np.array(got), want, rtol=1e-6)
    assert float(dense.bias[0]) == pytest.approx(float(bias[0]))
    assert "probe/kernel" in repr(v) and "(4, 3)" in repr(v)


def test_assign_variants_write_the_layer_and_the_same_handle():
    dense = layers.Dense(2, name="d")
    dense.build((None, 3))
    k = dense.kernel
    new = rand(3, 2)
    assert k.assign(new) is k
    np.testing.assert_array_equal(np.asarray(k), new)          # the handle
    np.testing.assert_array_equal(dense.get_weights()[0], new)  # the layer
    k.assign_add(np.ones((3, 2), np.float32))
    k.assign_sub(mx.full((3, 2), 0.5))
    np.testing.assert_allclose(np.asarray(k), new + 0.5, rtol=1e-6)
    np.testing.assert_allclose(dense.weights[0].numpy(), new + 0.5, rtol=1e-6)
    x = rand(4, 3)
    np.testing.assert_allclose(np.array(dense(x)), x @ (new + 0.5), rtol=1e-5, atol=1e-6)
    k.assign(np.arange(6).reshape(3, 2))  # integers are cast to the variable's dtype
    assert k.dtype == mx.float32 and dense["kernel"].dtype == mx.float32
    np.testing.assert_array_equal(dense.get_weights()[0], np.arange(6).reshape(3, 2))


def test_assign_rejects_a_wrong_shape_or_a_non_number_naming_the_variable():
    dense = layers.Dense(2, name="named")
    dense.build((None, 3))
    with pytest.raises(ValueError, match=r'"named/kernel".*\(3, 2\).*\(2, 3\)'):
        dense.kernel.assign(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r'"named/bias".*\(2,\).*\(\)'):
        dense.bias.assign(0.0)  # no broadcasting, as in Keras
    with pytest.raises(TypeError, match="named/bias.*list"):
        dense.bias.assign(["a", "b"])
    np.testing.assert_array_equal(dense.get_weights()[1], np.zeros(2))  # nothing written


def test_a_handle_kept_across_training_reads_the_trained_value():
    x, y = rand(8, 3), rand(8, 1)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    kernel = model.weights[0]
    before = kernel.numpy()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    trained = model.get_weights()[0]
    assert not np.allclose(trained, before)
    np.testing.assert_array_equal(kernel.numpy(), trained)
    np.testing.assert_array_equal(np.array(kernel + 0), trained)


def test_trainable_flag_moves_a_weight_between_the_lists():
    dense = layers.Dense(2)
    dense.build((None, 3))
    dense.bias.trainable = False
    assert [w.name for w in dense.trainable_weights] == ["kernel"]
    assert [w.name for w in dense.non_trainable_variables] == ["bias"]
    assert "bias" not in dict(nn.utils.tree_flatten(dense.trainable_parameters()))
    dense.trainable = False  # a frozen layer's variables report it, as in Keras 3
    assert [w.trainable for w in dense.weights] == [False, False]
    assert dense.trainable_variables == []
    dense.trainable = True
    assert [w.trainable for w in dense.weights] == [True, False]


def test_one_handle_per_weight_as_in_keras():
    dense = layers.Dense(2)
    dense.build((None, 3))
    assert dense.kernel is dense.weights[0] is dense.kernel
    assert dense.weights == [dense.kernel, dense.bias]  # (the guide's check: by identity)
    handle = dense.kernel
    handle.assign(np.ones((3, 2)))
    assert dense.kernel is handle

    class Counter(layers.Layer):
        def build(self, input_shape):
            self.count = self.add_variable((), "zeros", dtype="int32", trainable=False,
                                           name="count")

        def call(self, x):
            self.count.assign_add(1)
            return x

    counter = Counter()
    for _ in range(3):
        counter(np.ones((1, 2), np.float32))
    assert counter.count.numpy() == 3 and counter.count.dtype == mx.int32
    assert counter.count.path == "counter/count"


def test_a_raw_mlx_module_inside_a_layer_shows_its_parameters_as_variables():
    class Wrap(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.linear = nn.Linear(3, 2)

        def call(self, x):
            return self.linear(x)

    layer = Wrap()
    names = sorted(w.name for w in layer.weights)
    assert names == ["bias", "weight"]
    weight = next(w for w in layer.weights if w.name == "weight")
    new = rand(2, 3)
    weight.assign(new)
    x = rand(4, 3)
    out = np.array(layer(x))
    np.testing.assert_allclose(out, x @ new.T + np.array(layer.linear.bias), rtol=1e-5)


# -- paths --------------------------------------------------------------------------
def test_paths_follow_keras_scopes():
    inputs = keras.Input((4,))
    hidden = layers.Dense(3, name="hidden")
    functional = keras.Model(inputs, layers.Dense(2, name="out")(hidden(inputs)))
    assert [w.path for w in functional.weights] == \
        ["hidden/kernel", "hidden/bias", "out/kernel", "out/bias"]

    seq = keras.Sequential([keras.Input((4,)), layers.Dense(2, name="a")], name="stack")
    seq.add(layers.Dense(1, name="b"))
    assert [w.path for w in seq.weights] == ["stack/a/kernel", "stack/a/bias",
                                             "stack/b/kernel", "stack/b/bias"]
    lazy = keras.Sequential([layers.Dense(2, name="c")], name="lazy")
    lazy(np.ones((1, 4), np.float32))
    assert [w.path for w in lazy.weights] == ["lazy/c/kernel", "lazy/c/bias"]

    class Sub(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = layers.Dense(2, name="inner")

        def call(self, x):
            return self.inner(x)

    sub = Sub(name="sub")
    sub(np.ones((1, 4), np.float32))
    assert [w.path for w in sub.weights] == ["sub/inner/kernel", "sub/inner/bias"]
    with keras.name_scope("block1"):  # keras.name_scope blocks are scopes too
        scoped = layers.Dense(2, name="d")
        scoped.build((None, 3))
        free = keras.Variable(np.zeros(2, np.float32), name="free")
    assert [w.path for w in scoped.weights] == ["block1/d/kernel", "block1/d/bias"]
    assert free.path == "block1/free"
    # A model nested in another keeps the paths its weights were created with.
    outer_in = keras.Input((4,))
    outer = keras.Model(outer_in, seq(outer_in))
    assert [w.path for w in outer.weights][:2] == ["stack/a/kernel", "stack/a/bias"]


def test_a_standalone_variable_and_its_tracking_as_a_layer_attribute():
    v = keras.Variable(np.array([1.0, 2.0], np.float32), name="scale")
    assert (v.name, v.path, v.shape, v.trainable) == ("scale", "scale", (2,), True)
    v.assign_add([1.0, 1.0])
    np.testing.assert_array_equal(v.numpy(), [2.0, 3.0])
    z = keras.Variable("ones", shape=(2, 3), dtype="float16", trainable=False)
    assert z.dtype == mx.float16 and not z.trainable and z.name.startswith("variable")
    np.testing.assert_array_equal(z.numpy(), np.ones((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        keras.Variable("zeros")

    class Scale(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.scale = keras.Variable(np.array([2.0, 3.0], np.float32), name="scale")

        def call(self, x):
            return x * self.scale

    layer = Scale()
    assert [w.name for w in layer.weights] == ["scale"]
    assert "scale" in dict(nn.utils.tree_flatten(layer.trainable_parameters()))
    np.testing.assert_array_equal(np.array(layer(np.ones((1, 2), np.float32))), [[2.0, 3.0]])
    layer.scale.assign([4.0, 5.0])
    np.testing.assert_array_equal(np.array(layer(np.ones((1, 2), np.float32))), [[4.0, 5.0]])


# -- layouts ------------------------------------------------------------------------
def conv2d_valid(x, kernel, bias):
    """Direct 2-D convolution, 'valid', stride 1: y[i, j] = sum x[i+a, j+b] @ k[a, b]."""
    kh, kw = kernel.shape[:2]
    n, h, w, _ = x.shape
    y = np.zeros((n, h - kh + 1, w - kw + 1, kernel.shape[-1]), np.float32)
    for a in range(kh):
        for b in range(kw):
            y += x[:, a:a + y.shape[1], b:b + y.shape[2]] @ kernel[a, b]
    return y + bias


def test_conv_kernel_is_shown_and_assigned_in_keras_layout():
    conv = layers.Conv2D(4, (2, 3), name="conv")
    conv.build((None, 5, 6, 2))
    kernel_var = conv.weights[0]
    assert kernel_var.path == "conv/kernel" and kernel_var.shape == (2, 3, 2, 4)
    assert conv.kernel.shape == (2, 3, 2, 4)
    assert tuple(conv["kernel"].shape) == (4, 2, 3, 2)  # MLX's stored layout
    k, b = rand(2, 3, 2, 4), rand(4)
    kernel_var.assign(k)
    conv.bias.assign(b)
    np.testing.assert_array_equal(kernel_var.numpy(), k)
    np.testing.assert_array_equal(conv.get_weights()[0], k)
    x = rand(2, 5, 6, 2)
    np.testing.assert_allclose(np.array(conv(x)), conv2d_valid(x, k, b), rtol=1e-4, atol=1e-5)
    conv.kernel.assign_add(np.ones_like(k))
    np.testing.assert_allclose(conv.weights[0].numpy(), k + 1, rtol=1e-6)


# -- MLX code on the same model ---------------------------------------------------------
class MatMul(layers.Layer):
    """A user layer written with raw MLX: ``mx.matmul(x, self.w)``."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="zeros")

    def call(self, x):
        return mx.matmul(x, self.w)


def test_mlx_value_and_grad_and_optimizers_train_a_custom_layer():
    x, t = rand(16, 3), rand(16, 2)
    w0 = rand(3, 2)
    inputs = keras.Input((3,))
    layer = MatMul(2)
    model = keras.Model(inputs, layer(inputs))
    layer.w.assign(w0)
    params = dict(nn.utils.tree_flatten(model.parameters()))
    assert [type(p) for p in params.values()] == [mx.array]  # plain arrays for MLX

    def loss_fn(xb, tb):
        return mx.mean((model(xb) - tb) ** 2)

    loss, grads = nn.value_and_grad(model, loss_fn)(mx.array(x), mx.array(t))
    residual = x @ w0 - t
    np.testing.assert_allclose(loss.item(), (residual ** 2).mean(), rtol=1e-5)
    grad = dict(nn.utils.tree_flatten(grads))
    (key, g), = grad.items()
    np.testing.assert_allclose(np.array(g), 2 * x.T @ residual / residual.size, rtol=1e-4)
    opt = optim.SGD(learning_rate=0.1)
    opt.update(model, grads)
    mx.eval(model.parameters())
    expected = w0 - 0.1 * 2 * x.T @ residual / residual.size
    np.testing.assert_allclose(layer.w.numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(model.weights[0].numpy(), expected, rtol=1e-5)
    # and under mx.compile, with the module state captured
    step = mx.compile(lambda xb, tb: nn.value_and_grad(model, loss_fn)(xb, tb),
                      inputs=model.state, outputs=model.state)
    _, grads = step(mx.array(x), mx.array(t))
    np.testing.assert_allclose(np.array(dict(nn.utils.tree_flatten(grads))[key]),
                               2 * x.T @ (x @ expected - t) / residual.size, rtol=1e-4)


# -- saving ----------------------------------------------------------------------------
def test_assigned_values_survive_save_load_and_weights_round_trip(tmp_path):
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2, name="d")])
    k = rand(3, 2)
    model.layers[0].kernel.assign(k)
    path = tmp_path / "m.mlxf"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.weights[0].numpy(), k)
    assert loaded.weights[0].path == model.weights[0].path
    weights = model.get_weights()
    model.layers[0].kernel.assign(np.zeros((3, 2)))
    model.set_weights(weights)
    np.testing.assert_array_equal(model.weights[0].numpy(), k)


def test_a_weight_of_another_layer_set_as_an_attribute_is_shared():
    """Tied weights: the decoder reads the encoder's kernel; one parameter trains."""

    class TiedDecoder(layers.Layer):
        def __init__(self, encoder, **kwargs):
            super().__init__(**kwargs)
            self.kernel = encoder.kernel

        def call(self, x):
            return mx.matmul(x, self.kernel.T)

    encoder = layers.Dense(2, use_bias=False, name="enc")
    inputs = keras.Input((3,))
    code = encoder(inputs)  # (built first: the decoder takes its kernel)
    decoder = TiedDecoder(encoder)
    model = keras.Model(inputs, decoder(code))
    assert [w.path for w in model.weights] == ["enc/kernel"]
    assert [w.path for w in decoder.weights] == ["enc/kernel"]  # Keras lists it in both
    assert len(nn.utils.tree_flatten(model.trainable_parameters())) == 1
    assert decoder.kernel is encoder.kernel
    k = rand(3, 2)
    encoder.kernel.assign(k)
    x = rand(4, 3)
    np.testing.assert_allclose(np.array(model(x)), x @ k @ k.T, rtol=1e-5)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x, epochs=1, verbose=0)
    assert not np.allclose(encoder.kernel.numpy(), k)
    np.testing.assert_array_equal(decoder.kernel.numpy(), encoder.kernel.numpy())


def test_assign_in_call_under_a_mixed_policy_keeps_a_float32_weight():
    layer = ComputeSum(2, dtype="mixed_float16")
    x = np.full((3, 2), 0.5, np.float32)
    layer(x)
    layer(x)
    assert layer.total.dtype == mx.float32 and layer["total"].dtype == mx.float32
    np.testing.assert_array_equal(layer.total.numpy(), [3.0, 3.0])
