"""mlxfunctional: the Keras functional API on Apple's MLX.

``import mlxfunctional as keras`` and write Keras functional-API code.
"""

from . import _blas

_blas.preload()  # must precede the first `import mlx.core` (see _blas.py)

from . import activations, backend, constraints, initializers, optimizers, regularizers
from . import callbacks, layers, models, saving, utils
from .backend import clear_session
from .engine.functional import Functional
from .engine.input_layer import Input, InputLayer
from .engine.keras_tensor import KerasTensor
from .engine.layer import Layer
from .engine.model import Model
from .engine.sequential import Sequential
from .version import __version__
