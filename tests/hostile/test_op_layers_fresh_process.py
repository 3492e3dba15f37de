"""Every built-in layer class is known to a fresh process (issue 13, item 5).

Models using Python operators (``x * 2``) saved, but a fresh process could not
load them (``Unknown layer class 'BinaryOp'``: the op layers were registered
only once an operator ran), and ``mlxf summary`` of such a model exited 3. Here
a model uses every op of every op layer -- each of ``BINARY_OPS`` (tensor-tensor,
tensor-constant and constant-tensor), each of ``UNARY_OPS``, ``GetItem`` with
ints/slices/None/Ellipsis, every ``TensorMethod``, ``KerasMask`` and a
``keras.ops`` ``OpLayer`` -- is saved, and a fresh process loads it, predicts
exactly what this process predicted (and what numpy computes), and
``mlxf summary`` exits 0. A second fresh process imports the package alone and
then every one of its modules: nothing new gets registered on the way, and
every public concrete layer class is registered.
"""

import json
import os
import subprocess
import sys

import numpy as np

import mlxfunctional as keras
from mlxfunctional import layers, ops
from mlxfunctional.engine.tensor_ops import (BINARY_OPS, TENSOR_METHODS, UNARY_OPS,
                                             BinaryOp, UnaryOp)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = dict(os.environ, PYTHONPATH=REPO, MLX_DISABLE_COMPILE="1")

# numpy truths, written independently of the MLX table
NP_BINARY = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "floor_divide": np.floor_divide, "mod": np.remainder, "power": np.power,
    "maximum": np.maximum, "minimum": np.minimum, "less": np.less,
    "less_equal": np.less_equal, "greater": np.greater, "greater_equal": np.greater_equal,
    "equal": np.equal, "not_equal": np.not_equal, "logical_and": np.logical_and,
    "logical_or": np.logical_or,
}
NP_UNARY = {
    "negative": np.negative, "abs": np.abs, "logical_not": np.logical_not, "exp": np.exp,
    "log": np.log, "sqrt": np.sqrt, "square": np.square, "sin": np.sin, "cos": np.cos,
    "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
    "relu": lambda v: np.maximum(v, 0), "floor": np.floor, "ceil": np.ceil,
    "round": np.round, "sign": np.sign, "reciprocal": lambda v: 1 / v,
}
LOGICAL = ("logical_and", "logical_or", "logical_not")


def build():
    """The model, and a numpy function computing the same outputs."""
    a_in, b_in = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    tokens = keras.Input((5,), name="tokens", dtype="int32")
    pos = abs(b_in) + 0.5  # operators: UnaryOp "abs", BinaryOp "add" with a constant
    terms, truth = [], []

    def out(t, f):
        terms.append(t.astype("float32"))
        truth.append(lambda a, b, k: f(a, b, k).astype("float32"))

    def npos(b):
        return np.abs(b) + 0.5

    for op in sorted(BINARY_OPS):
        f = NP_BINARY.get(op)
        if op == "matmul":
            out((a_in[:, None, :] @ pos[:, :, None])[:, 0, :],
                lambda a, b, k: (a[:, None, :] @ npos(b)[:, :, None])[:, 0, :])
            out(BinaryOp("matmul", constant=np.eye(4, 2).tolist())(a_in),
                lambda a, b, k: a @ np.eye(4, 2))
            continue
        if op in LOGICAL:
            out(BinaryOp(op)([a_in > 0, b_in > 0]), lambda a, b, k, f=f: f(a > 0, b > 0))
            continue
        base = abs(a_in) + 1.0 if op == "power" else a_in
        nbase = (lambda a: np.abs(a) + 1.0) if op == "power" else (lambda a: a)
        out(BinaryOp(op)([base, pos]), lambda a, b, k, f=f, nb=nbase: f(nb(a), npos(b)))
        out(BinaryOp(op, constant=1.5)(base), lambda a, b, k, f=f, nb=nbase: f(nb(a), 1.5))
        out(BinaryOp(op, constant=2.5, constant_first=True)(pos),
            lambda a, b, k, f=f: f(2.5, npos(b)))
    for op in sorted(UNARY_OPS):
        f = NP_UNARY[op]
        if op == "logical_not":
            out(~(a_in > 0), lambda a, b, k: ~(a > 0))
        elif op in ("log", "sqrt", "reciprocal"):
            out(UnaryOp(op)(pos), lambda a, b, k, f=f: f(npos(b)))
        else:
            out(UnaryOp(op)(a_in), lambda a, b, k, f=f: f(a))
    out(-a_in * 2 - 1 / pos, lambda a, b, k: -a * 2 - 1 / npos(b))  # operators
    out(a_in[..., 1:3], lambda a, b, k: a[..., 1:3])  # GetItem
    out(a_in[:, ::-2][:, None][:, 0], lambda a, b, k: a[:, ::-2][:, None][:, 0])
    out(a_in[:, 2:3], lambda a, b, k: a[:, 2:3])
    # every TensorMethod
    grid = a_in.reshape((-1, 2, 2))
    out(grid.transpose((0, 2, 1)).flatten(1, 2),
        lambda a, b, k: a.reshape(-1, 2, 2).transpose(0, 2, 1).reshape(-1, 4))
    out(grid.swapaxes(1, 2)[:, 0], lambda a, b, k: a.reshape(-1, 2, 2).swapaxes(1, 2)[:, 0])
    out(a_in[:, None, :].squeeze(1), lambda a, b, k: a)
    for method in ("sum", "mean", "max", "min", "prod"):
        out(getattr(a_in, method)(1, True),
            lambda a, b, k, m=method: getattr(np, m)(a, axis=1, keepdims=True))
    assert {"reshape", "transpose", "astype", "flatten", "squeeze", "swapaxes"} | {
        "sum", "mean", "max", "min", "prod"} == TENSOR_METHODS  # (a new one: add it above)
    # KerasMask: the mask an Embedding(mask_zero=True) sends along, as a tensor
    embedded = layers.Embedding(10, 3, mask_zero=True, name="embed")(tokens)
    out(embedded._keras_mask, lambda a, b, k: k != 0)
    # an OpLayer of keras.ops
    out(ops.logsumexp(a_in, axis=1, keepdims=True),
        lambda a, b, k: np.log(np.exp(a).sum(axis=1, keepdims=True)))
    outputs = layers.Concatenate(name="all")(terms)
    model = keras.Model([a_in, b_in, tokens], outputs, name="every_op")

    def reference(a, b, k):
        return np.concatenate([f(a, b, k) for f in truth], axis=1)

    return model, reference


def test_every_op_layer_loads_and_predicts_the_same_in_a_fresh_process(tmp_path):
    model, reference = build()
    kinds = {type(layer).__name__ for layer in model.layers}
    assert {"BinaryOp", "UnaryOp", "GetItem", "TensorMethod", "KerasMask",
            "OpLayer"} <= kinds
    ops_used = {layer.op for layer in model.layers if type(layer).__name__ == "BinaryOp"}
    assert ops_used == set(BINARY_OPS)
    ops_used = {layer.op for layer in model.layers if type(layer).__name__ == "UnaryOp"}
    assert ops_used == set(UNARY_OPS)
    methods = {layer.method for layer in model.layers
               if type(layer).__name__ == "TensorMethod"}
    assert methods == set(TENSOR_METHODS)

    rng = np.random.default_rng(5)
    a = rng.normal(size=(6, 4)).astype("float32")
    b = rng.normal(size=(6, 4)).astype("float32")
    k = rng.integers(0, 3, size=(6, 5)).astype("int32")
    here = np.asarray(model.predict([a, b, k], verbose=0))
    np.testing.assert_allclose(here, reference(a, b, k), rtol=2e-5, atol=1e-5)
    np.savez(tmp_path / "x.npz", a=a, b=b, k=k)
    model.save(tmp_path / "m.mlxf")
    model.save(str(tmp_path / "m") + "/")

    script = ("import sys, numpy as np, mlxfunctional as keras\n"
              "d = np.load(sys.argv[2])\n"
              "m = keras.models.load_model(sys.argv[1])\n"
              "np.save(sys.argv[3], np.asarray(m.predict([d['a'], d['b'], d['k']], "
              "verbose=0)))\n")
    for i, path in enumerate([tmp_path / "m.mlxf", str(tmp_path / "m") + "/"]):
        proc = subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / "x.npz"),
                               str(tmp_path / f"y{i}.npy")], env=ENV, capture_output=True,
                              text=True, timeout=180)
        assert proc.returncode == 0, proc.stderr[-2000:]
        np.testing.assert_array_equal(np.load(tmp_path / f"y{i}.npy"), here)

    summary = subprocess.run([sys.executable, "-m", "mlxfunctional.cli", "summary",
                              str(tmp_path / "m.mlxf")], env=ENV, capture_output=True,
                             text=True, timeout=180)
    assert summary.returncode == 0, summary.stderr[-2000:]
    assert 'Model: "every_op"' in summary.stdout and "BinaryOp" in summary.stdout


_SWEEP = """
import importlib, json, pkgutil
import mlxfunctional
from mlxfunctional import registry
from mlxfunctional.engine.layer import Layer

at_import = dict(registry.builtin_objects())
for info in pkgutil.walk_packages(mlxfunctional.__path__, "mlxfunctional."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
later = sorted(set(registry.builtin_objects()) - set(at_import))

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

ours = {c for c in subclasses(Layer) if c.__module__.startswith("mlxfunctional.")}
bases = {base for c in ours for base in c.__mro__[1:]}
# Public: exported by keras.layers, or a concrete class (no class of ours derives
# from it); bases such as BaseConv need no registration.
missing = sorted(f"{c.__module__}.{c.__qualname__}" for c in ours
                 if not c.__name__.startswith("_")
                 and (c not in bases or hasattr(mlxfunctional.layers, c.__name__))
                 and at_import.get(c.__name__) is not c)
print(json.dumps({"later": later, "missing": missing, "count": len(ours)}))
"""


def test_every_built_in_layer_class_is_registered_at_import():
    proc = subprocess.run([sys.executable, "-c", _SWEEP], env=ENV, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["count"] > 100  # the catalogue was found
    assert report["later"] == []  # nothing is registered by importing some module later
    assert report["missing"] == []
