"""The code blocks of docs/writing-layers.md run as written."""

import re
from pathlib import Path

import numpy as np

DOC = Path(__file__).resolve().parents[1] / "docs" / "writing-layers.md"


def test_the_keras_ops_layer_of_the_doc_runs_and_computes_its_formula(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks, "docs/writing-layers.md lost its example"
    namespace = {}
    exec(compile(blocks[-1], str(DOC), "exec"), namespace)  # the doc's own code
    model = namespace["model"]
    assert model.count_params() == 37
    assert "37" in capsys.readouterr().out
    layer = model.layers[-1]
    kernel, bias, scale = (np.array(w) for w in layer.get_weights())
    scale_value = 0.5
    layer.scale.assign(scale_value)
    x = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    expected = np.maximum(x @ kernel + bias, 0) * scale_value
    np.testing.assert_allclose(np.array(model(x)), expected, rtol=1e-5, atol=1e-6)
    rebuilt = type(model).from_config(model.get_config())
    assert type(rebuilt.layers[-1]).__name__ == "ScaledDense"
