"""Elementwise ops of ``keras.ops.numpy``, gathered from the files that define them.

- ``numpy_elementwise_arithmetic.py``: the four operations, remainders, signs,
  rounding, extrema, integer and float helpers, complex parts;
- ``numpy_elementwise_math.py``: exponentials, logarithms, roots, trigonometry,
  special functions;
- ``numpy_elementwise_logic.py``: comparisons, value tests, logic, bit
  operations, ``where``/``select`` and ``view``;
- ``numpy_elementwise_operands.py``: conversion and Keras' promotion rules they share.
"""

from .numpy_elementwise_arithmetic import *  # noqa: F401,F403
from .numpy_elementwise_logic import *  # noqa: F401,F403
from .numpy_elementwise_math import *  # noqa: F401,F403
from . import (numpy_elementwise_arithmetic, numpy_elementwise_logic,
               numpy_elementwise_math)

__all__ = (numpy_elementwise_arithmetic.__all__ + numpy_elementwise_logic.__all__
           + numpy_elementwise_math.__all__)
