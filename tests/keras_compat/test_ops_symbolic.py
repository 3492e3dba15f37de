"""keras.ops on symbolic tensors: a functional model built from ops alone runs,
equals the same ops called eagerly, survives get_config/from_config and a
.mlxf file loaded in a fresh process; op configs name only known ops. Plus
``result_type`` against Keras' (JAX's) promotion table."""

import json
import os
import subprocess
import sys

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import ops
from mlxfunctional.ops.dtypes import result_type

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
W = np.linspace(-1.0, 1.0, 4 * 6, dtype=np.float32).reshape(4, 6)
CENTRES = np.array([[[0.0, 0.5], [1.0, -1.0], [0.25, 0.25]]], np.float32)  # (1, 3, 2)


def _forward(x):
    """The model's computation, written once: on Input tensors it builds the graph,
    on arrays it runs eagerly."""
    w = W if isinstance(x, keras.KerasTensor) else mx.array(W)  # (mx has no array @ numpy)
    h = ops.erf(x @ w)  # a Python operator with a constant, then an op
    g = ops.rearrange(h, "b (g c) -> b c g", g=2)  # (b, 3, 2)
    log_softmax = g - ops.logsumexp(g, axis=-1, keepdims=True)
    values, indices = ops.top_k(ops.rearrange(h, "b f -> b f"), 2)
    corner = ops.slice(g, [0, 1, 0], [-1, 2, 1])
    dist = ops.cdist(g, CENTRES)  # a constant array argument
    half = ops.cast(ops.rsqrt(1.0 + g * g), "float16")
    return [log_softmax, values, ops.cast(indices, "float32"), corner, dist, half]


@pytest.fixture
def model():
    inputs = keras.Input((4,))
    return keras.Model(inputs, _forward(inputs))


def _data():
    return np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)


def _check_outputs(got, x):
    expected = _forward(mx.array(x))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert tuple(g.shape) == tuple(e.shape)
        np.testing.assert_allclose(np.asarray(g, np.float32), np.array(e.astype(mx.float32)),
                                   rtol=1e-5, atol=1e-6)


def test_symbolic_ops_record_op_layers_with_keras_shapes(model):
    op_layers = [layer for layer in model.layers if isinstance(layer, ops.OpLayer)]
    assert {layer.op for layer in op_layers} >= {"erf", "rearrange", "logsumexp", "top_k",
                                                 "slice", "cdist", "cast", "rsqrt"}
    assert [tuple(t.shape) for t in model.outputs] == [
        (None, 3, 2), (None, 2), (None, 2), (None, 2, 1), (None, 3, 3), (None, 3, 2)]
    assert model.outputs[-1].dtype == "float16"


def test_symbolic_model_equals_the_eager_ops(model):
    x = _data()
    _check_outputs(model.predict(x, verbose=0), x)
    _check_outputs(model(mx.array(x)), x)


def test_get_config_round_trip(model):
    config = model.get_config()
    json.dumps(config)  # plain data only
    clone = keras.Model.from_config(config)
    x = _data()
    _check_outputs(clone.predict(x, verbose=0), x)


def test_saved_model_predicts_the_same_in_a_fresh_process(model, tmp_path):
    path = str(tmp_path / "ops_model.mlxf")
    model.save(path)
    x = _data()
    np.save(tmp_path / "x.npy", x)
    script = (
        "import sys, numpy as np\n"
        "import mlxfunctional as keras\n"
        "m = keras.models.load_model(sys.argv[1])\n"
        "outs = m.predict(np.load(sys.argv[2]), verbose=0)\n"
        "np.savez(sys.argv[3], *[np.asarray(o, np.float32) for o in outs])\n")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", script, path, str(tmp_path / "x.npy"),
                           str(tmp_path / "out.npz")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = np.load(tmp_path / "out.npz")
    _check_outputs([loaded[f"arr_{i}"] for i in range(len(loaded.files))], x)


def test_an_op_config_naming_an_unknown_op_is_refused(model):
    with pytest.raises(ValueError, match="Unknown op 'os.system'"):
        ops.OpLayer.from_config({"op": "os.system", "name": "evil"})
    config = model.get_config()
    for entry in config["layers"]:
        if entry.get("class_name") == "OpLayer":
            entry["config"]["op"] = "no_such_op"
            break
    else:
        pytest.fail("the model config has no OpLayer entry")
    with pytest.raises(ValueError, match="no_such_op"):
        keras.Model.from_config(config)


def test_a_function_argument_makes_a_clear_save_error(tmp_path):
    inputs = keras.Input((3,))
    outputs = ops.map(lambda row: row * 2.0, inputs)
    model = keras.Model(inputs, outputs)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(np.asarray(model.predict(x, verbose=0)), x * 2)
    with pytest.raises(ValueError, match="not plain data"):
        model.get_config()


# -- keras.backend.result_type ------------------------------------------------------

# Expected values from JAX's promotion (what Keras' dtypes_test compares against),
# at 32 bits as Keras keeps them off TensorFlow. `int`, `float`, `bool` are Python
# scalars (weak types).
RESULT_TYPE_TABLE = [
    (("bool", "bool"), "bool"),
    (("bool", "int8"), "int8"),
    (("bool", "uint8"), "uint8"),
    (("bool", "float16"), "float16"),
    (("uint8", "int8"), "int16"),
    (("uint8", "int16"), "int16"),
    (("uint8", "uint16"), "uint16"),
    (("uint16", "int8"), "int32"),
    (("uint16", "int16"), "int32"),
    (("uint16", "uint32"), "uint32"),
    (("uint32", "int8"), "int32"),  # int64 in JAX's x64 mode, 32 bits here
    (("uint32", "int32"), "int32"),
    (("int8", "int16"), "int16"),
    (("int16", "int32"), "int32"),
    (("int8", "float16"), "float16"),
    (("int32", "bfloat16"), "bfloat16"),
    (("uint8", "bfloat16"), "bfloat16"),
    (("int32", "float32"), "float32"),
    (("float16", "bfloat16"), "float32"),
    (("float16", "float32"), "float32"),
    (("bfloat16", "float32"), "float32"),
    (("float32", "complex64"), "complex64"),
    (("int32", "complex64"), "complex64"),
    (("int8", int), "int8"),
    (("uint8", int), "uint8"),
    (("int32", int), "int32"),
    (("int16", float), "float32"),
    (("uint8", float), "float32"),
    (("float16", float), "float16"),
    (("bfloat16", int), "bfloat16"),
    (("float16", int), "float16"),
    (("bool", int), "int32"),
    (("bool", float), "float32"),
    (("bool", bool), "bool"),
    (("complex64", float), "complex64"),
    ((int, float), "float32"),
    ((int, int), "int32"),
    (("int64",), "int32"),
    (("float64",), "float32"),
    (("int8", "uint8", "float16"), "float16"),
    ((None,), "float32"),
    ((), "float32"),
]


@pytest.mark.parametrize("dtypes,expected", RESULT_TYPE_TABLE)
def test_result_type_follows_keras_promotion_table(dtypes, expected):
    assert result_type(*dtypes) == expected
    backend_result_type = getattr(keras.backend, "result_type", None)
    if backend_result_type is not None:  # keras.backend.result_type, once exported
        assert backend_result_type(*dtypes) == expected
