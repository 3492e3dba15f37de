"""``keras.ops.numpy``: the numpy-style ops, gathered from the files that define them.

- ``numpy_elementwise.py``: elementwise math, comparisons, logic and bit ops;
- ``numpy_reductions.py``: reductions, statistics, sorting, searching, indexing, sets;
- ``numpy_arrays.py``: creating arrays, changing their shape, and products.
"""

from .numpy_arrays import *  # noqa: F401,F403
from .numpy_elementwise import *  # noqa: F401,F403
from .numpy_reductions import *  # noqa: F401,F403
from . import numpy_arrays, numpy_elementwise, numpy_reductions

__all__ = numpy_arrays.__all__ + numpy_elementwise.__all__ + numpy_reductions.__all__
