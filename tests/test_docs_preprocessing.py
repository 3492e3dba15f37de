"""The code block of docs/preprocessing.md runs as written and does what it says."""

import re
from pathlib import Path

import numpy as np
import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "preprocessing.md"


def test_the_preprocessing_doc_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks, "docs/preprocessing.md lost its example"
    namespace = {}
    exec(compile(blocks[-1], str(DOC), "exec"), namespace)  # the doc's own code
    vectorize, ids = namespace["vectorize"], namespace["ids"]
    vocab = vectorize.get_vocabulary()
    assert vocab[:2] == ["", "[UNK]"]
    first = [vocab.index(w) for w in ("a", "great", "film")] + [0]
    assert ids[0].tolist() == first
    # The normalization inside the model uses the adapted mean 12 and variance 4.5.
    norm = namespace["norm"]
    np.testing.assert_allclose(np.array(norm(np.array([[12.0 + 4.5 ** 0.5]], "float32"))),
                               [[1.0]], rtol=1e-6)
    with pytest.raises(TypeError, match="before the model"):
        vectorize(namespace["tokens"])
