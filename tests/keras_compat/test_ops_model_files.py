"""A model built with keras.ops and Python operators loads in a fresh process: every
op layer (OpLayer, BinaryOp, UnaryOp, GetItem, TensorMethod) is registered when the
package is imported, not when some code first uses an op."""

import os
import subprocess
import sys

import numpy as np

import mlxfunctional as keras
from mlxfunctional import ops

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_a_model_of_ops_loads_and_predicts_in_a_fresh_process(tmp_path):
    inputs = keras.Input((3,))
    x = ops.matmul(inputs, np.arange(6, dtype="float32").reshape(3, 2))
    outputs = ops.softmax(ops.abs(x) + 1.0)  # OpLayer, BinaryOp
    extra = (-inputs)[:, :2].reshape((-1, 2, 1))  # UnaryOp, GetItem, TensorMethod
    model = keras.Model(inputs, [outputs, extra])
    assert {"OpLayer", "BinaryOp", "UnaryOp", "GetItem", "TensorMethod"} <= {
        type(layer).__name__ for layer in model.layers}
    data = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    np.save(tmp_path / "x.npy", data)
    model.save(tmp_path / "ops.mlxf")
    script = ("import sys, numpy as np, mlxfunctional as keras\n"
              "m = keras.models.load_model(sys.argv[1])\n"
              "y, extra = m.predict(np.load(sys.argv[2]), verbose=0)\n"
              "np.save(sys.argv[3], y); np.save(sys.argv[3] + '.extra.npy', extra)\n")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "ops.mlxf"),
                    str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
                   check=True, env=dict(os.environ, PYTHONPATH=REPO), timeout=120)
    logits = np.abs(data @ np.arange(6, dtype="float32").reshape(3, 2)) + 1.0
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, rtol=1e-5)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy.extra.npy"),
                                  (-data)[:, :2].reshape(-1, 2, 1))
