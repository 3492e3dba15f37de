"""mlxfunctional: the Keras functional API on Apple's MLX.

``import mlxfunctional as keras`` and write Keras code: every public subpackage
of Keras that exists here is an attribute of the package. ``ops`` is imported at
once: its op layers must be known to the loader before any model file that uses
them is read. The heavy ones that few programs need at once (``applications``,
``datasets``) load on first use, so importing the package stays fast.
"""

import importlib

import numpy  # noqa: F401  (before the block below: numpy's own BLAS threads keep their modes)

from . import _blas, _denormals

# OpenBLAS must be loaded before the first `import mlx.core` (see _blas.py); MLX's CPU
# threads, started here, flush denormal floats to zero (see _denormals.py).
with _denormals.while_threads_start():
    _blas.preload()
    _denormals.start_cpu_stream()

from . import activations, backend, constraints, initializers, optimizers, regularizers
from . import callbacks, layers, losses, metrics, models, saving, utils
from . import config, dtype_policies, mixed_precision, ops, preprocessing, random, tree
from .backend import clear_session
from .constraints import Constraint
from .dtype_policies import DTypePolicy, FloatDTypePolicy
from .engine.functional import Functional
from .engine.input_layer import Input, InputLayer
from .engine.input_spec import InputSpec
from .engine.keras_tensor import KerasTensor
from .engine.layer import Layer
from .engine.model import Model
from .engine.sequential import Sequential
from .engine.variables import Variable
from .engine import tensor_ops  # noqa: F401  (registers the operators' op layers for loading)
from .initializers import Initializer
from .losses import Loss
from .metrics_base import Metric
from .optimizer_base import Optimizer
from .regularizers import Regularizer
from .scopes import device, name_scope
from .version import __version__, version

_LAZY = ("applications", "datasets")


def __getattr__(name):
    # Called only for a name the package does not have yet. Each name is written out
    # (scripts/import_graph.py follows constant names); `from . import x` here would
    # ask this function again and recurse.
    if name == "applications":
        return importlib.import_module("mlxfunctional.applications")
    if name == "datasets":
        return importlib.import_module("mlxfunctional.datasets")
    raise AttributeError(f"module 'mlxfunctional' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
