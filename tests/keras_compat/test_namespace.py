"""The public namespace: after `import mlxfunctional as keras`, Keras 3.15's top-level,
keras.random, keras.config and keras.backend names exist (or are listed here with
the reason they do not), the heavy subpackages load lazily, and the top-level
context managers behave."""

import subprocess
import sys
import types
from pathlib import Path

import mlx.core as mx
import pytest

import mlxfunctional as keras
from mlxfunctional import global_state

API = Path(__file__).parent / "keras_api"


def names(file):
    return [n.strip() for n in (API / file).read_text().splitlines() if n.strip()]


# Keras' top-level names this package does not provide, and why.
NOT_PROVIDED = {
    "Function": "a callable graph of keras.ops: functional models cover it here",
    "Operation": "keras.ops here are functions that record OpLayer nodes, not Operation objects",
    "Quantizer": "quantization is not implemented",
    "quantizers": "quantization is not implemented",
    "RematScope": "rematerialization (gradient checkpointing) is not implemented",
    "remat": "rematerialization (gradient checkpointing) is not implemented",
    "StatelessScope": "a JAX-style stateless call scope: MLX state is captured by mx.compile",
    "SymbolicScope": "symbolic tracing runs on MLX's lazy arrays (engine/trace.py)",
    "_tf_keras": "the tf.keras 2 compatibility package needs TensorFlow",
    "distillation": "knowledge-distillation models are not implemented",
    "distribution": "JAX-style device meshes and layouts; data parallelism is fit(distribute=)",
    "export": "SavedModel/ONNX export needs TensorFlow or torch",
    "legacy": "the Keras 2 legacy savers need TensorFlow",
    "visualization": "bounding-box drawing helpers are not implemented",
    "wrappers": "scikit-learn wrappers are not implemented",
}

CONFIG_NOT_PROVIDED = {}


@pytest.mark.parametrize("module,file,missing", [
    (keras, "keras.txt", NOT_PROVIDED),
    (keras.random, "random.txt", {}),
    (keras.config, "config.txt", CONFIG_NOT_PROVIDED),
    (keras.backend, "backend.txt", {}),
])
def test_every_keras_name_exists_or_is_listed_with_a_reason(module, file, missing):
    expected = names(file)
    assert set(missing) <= set(expected)  # the lists name real Keras names
    absent = [n for n in expected if n not in missing and not hasattr(module, n)]
    assert absent == [], f"{module.__name__} lacks {absent}"
    # A listed name that now exists must leave the list (it would hide a regression).
    present = [n for n in missing if hasattr(module, n)]
    assert present == [], f"{present} exist now: remove them from the not-provided list"


def test_subpackages_are_modules_and_the_heavy_ones_load_on_first_use():
    code = ("import sys, mlxfunctional as keras\n"
            "lazy = ['applications', 'datasets']\n"
            "print([n for n in lazy if 'mlxfunctional.' + n in sys.modules])\n"
            "keras.applications.VGG19; keras.datasets.mnist.load_data\n"
            "print([n for n in lazy if 'mlxfunctional.' + n in sys.modules])\n")
    root = Path(keras.__file__).parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, timeout=120, check=True).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "['applications', 'datasets']"
    for name in ["applications", "datasets", "ops", "random", "tree", "config", "utils",
                 "saving", "preprocessing", "mixed_precision", "dtype_policies", "backend",
                 "layers", "losses", "metrics", "optimizers", "callbacks", "models"]:
        assert isinstance(getattr(keras, name), types.ModuleType), name
    assert {"applications", "datasets", "ops"} <= set(dir(keras))
    # ops is imported with the package: model files name its op layers.
    assert "mlxfunctional.ops" in sys.modules
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        keras.nonexistent


def test_top_level_classes_are_the_packages_own():
    assert keras.Loss is keras.losses.Loss and issubclass(keras.losses.MeanSquaredError, keras.Loss)
    assert issubclass(keras.metrics.Mean, keras.Metric)
    assert isinstance(keras.optimizers.Adam(), keras.Optimizer)
    assert isinstance(keras.initializers.GlorotUniform(), keras.Initializer)
    assert isinstance(keras.regularizers.L2(0.1), keras.Regularizer)
    assert isinstance(keras.constraints.NonNeg(), keras.Constraint)
    assert keras.InputSpec(ndim=2).ndim == 2
    assert keras.version() == keras.__version__ and isinstance(keras.version(), str)
    assert keras.DTypePolicy is keras.mixed_precision.DTypePolicy


def test_preprocessing_image_is_utils_image_helpers():
    from mlxfunctional.utils import image_utils
    for name in ["load_img", "img_to_array", "array_to_img", "save_img"]:
        assert getattr(keras.preprocessing.image, name) is getattr(image_utils, name)
        assert getattr(keras.preprocessing, name) is getattr(keras.utils, name)


def test_name_scope_nests_records_and_unwinds_on_errors():
    from mlxfunctional.scopes import current_path
    with keras.name_scope("block1"):
        with keras.name_scope("conv"):
            assert current_path() == "block1/conv"
            layer = keras.layers.Dense(2, name="d")  # names are the layers' own
        assert current_path() == "block1"
    with pytest.raises(RuntimeError):
        with keras.name_scope("x"):
            raise RuntimeError
    assert current_path() == "" and global_state.name_scopes == []
    assert layer.name == "d"
    with pytest.raises(ValueError, match="non-empty string"):
        keras.name_scope("")


def test_device_runs_the_block_on_the_named_device():
    with keras.device("cpu:0"):
        y = mx.ones((2,)) * 3
        assert mx.default_device() == mx.Device(mx.cpu)
    assert y.tolist() == [3.0, 3.0]
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        with keras.device("tpu"):
            pass
    if not mx.is_available(mx.gpu):
        with pytest.raises(ValueError, match="not available"):
            with keras.device("gpu"):
                pass
    else:
        with keras.device("gpu"):
            assert (mx.ones((2,)) + 1).tolist() == [2.0, 2.0]
