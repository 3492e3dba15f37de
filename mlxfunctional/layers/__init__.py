"""The layer catalogue, one module per family."""

from ..engine.input_layer import Input, InputLayer
from ..engine.input_spec import InputSpec
from ..engine.layer import Layer
from .core import Dense
