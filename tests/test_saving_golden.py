"""Golden files: a model saved in format version 1 loads and predicts the same, forever.

``weights/mnist_mlp_v1.mlxf`` was written once by ``weights/make_golden.py``;
its bytes are pinned here so that the file is never silently regenerated.
If this test fails after a change, the change broke reading old files.
"""

import hashlib
import json
import os
import zipfile

import numpy as np

import mlxfunctional as keras

WEIGHTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "weights")
GOLDEN = os.path.join(WEIGHTS, "mnist_mlp_v1.mlxf")
EXPECTED = os.path.join(WEIGHTS, "mnist_mlp_v1_expected.npz")
GOLDEN_SHA256 = "0ebde7a84daa6f5f431be849831afa147179b2e2ab224740ab05b366100461ff"


def test_golden_file_is_the_one_written_in_format_version_1():
    with open(GOLDEN, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == GOLDEN_SHA256
    with zipfile.ZipFile(GOLDEN) as zf:
        assert json.loads(zf.read("metadata.json"))["format_version"] == 1


def test_golden_model_loads_and_predicts_the_same():
    model = keras.models.load_model(GOLDEN)
    expected = np.load(EXPECTED)
    assert expected["x"].shape == (16, 784)
    assert model.name == "mnist_model" and model.count_params() == 55_050
    predictions = np.array(model(expected["x"]))
    np.testing.assert_allclose(predictions, expected["predictions"], rtol=0, atol=1e-6)
    # its training configuration and optimizer state came back too
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)
    assert model.optimizer.iterations == 32  # one epoch of 2,000 images in batches of 64
    assert model.compiled_loss.raw == ["sparse_categorical_crossentropy"]
    assert model.metrics_names == ["loss", "accuracy"]
