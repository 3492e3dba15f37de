"""global_state: the one home of the package's mutable module state, and clear_session."""

import ast
from pathlib import Path

import mlx.core as mx
import pytest

import mlxfunctional as keras
from mlxfunctional import backend, global_state, layers
from mlxfunctional.engine import call_context, trace


def test_global_state_is_a_leaf():
    tree = ast.parse(Path(global_state.__file__).read_text())
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    # Standard library only: nothing of the package (no relative or mlxfunctional import).
    names = [a.name for n in imports if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in imports if isinstance(n, ast.ImportFrom)]
    assert all(getattr(n, "level", 0) == 0 for n in imports)
    assert names and all(name.split(".")[0] in {"collections", "os"} for name in names)


def test_clear_session_resets_names_and_keeps_floatx():
    keras.clear_session()
    assert [layers.Dense(1).name, layers.Dense(1).name] == ["dense", "dense_1"]
    backend.set_floatx("float16")
    try:
        keras.clear_session()
        assert layers.Dense(1).name == "dense"
        assert backend.floatx() == "float16" and global_state.floatx == "float16"
        assert layers.Dense(1).dtype == "float16"
    finally:
        backend.set_floatx("float32")
    assert backend.floatx() == "float32"
    with pytest.raises(ValueError, match="Unknown dtype"):
        backend.set_floatx("float8")
    assert global_state.floatx == "float32"


class _Probe(layers.Layer):
    """Records the trace flag and the inherited training flag at each call."""

    def __init__(self, fail=False, **kwargs):
        super().__init__(**kwargs)
        self.seen, self.fail = [], fail

    def call(self, x):
        self.seen.append((trace.in_trace(), global_state.tracing, call_context.training()))
        if self.fail:
            raise RuntimeError("boom")
        return x


def test_the_trace_flag_is_set_only_while_tracing_even_after_an_error():
    probe = _Probe()
    probe(keras.Input(shape=(2,)))
    assert probe.seen and all(s[:2] == (True, True) for s in probe.seen)
    probe(mx.ones((1, 2)))
    assert probe.seen[-1][:2] == (False, False)
    with pytest.raises(ValueError, match="boom"):  # (the layer adds its name)
        _Probe(fail=True)(keras.Input(shape=(2,)))
    assert global_state.tracing is False and trace.in_trace() is False


def test_the_training_flag_is_scoped_and_inherited():
    probe = _Probe()
    inputs = keras.Input(shape=(2,))
    model = keras.Model(inputs, probe(inputs))
    probe.seen.clear()
    model(mx.ones((1, 2)), training=True)
    assert probe.seen == [(False, False, True)]
    model(mx.ones((1, 2)))
    assert probe.seen[-1] == (False, False, None)
    assert global_state.training_stack == [None]
