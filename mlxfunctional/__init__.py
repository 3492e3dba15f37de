"""mlxfunctional: the Keras functional API on Apple's MLX."""

__version__ = "0.1.0"

from . import activations, backend, constraints, initializers, layers, regularizers
from .engine.functional import Functional
from .engine.input_layer import Input, InputLayer
from .engine.keras_tensor import KerasTensor
from .engine.layer import Layer
from .engine.model import Model
