"""The numpy-style ops on whole arrays, gathered from the files that define them:

- ``numpy_creation.py``: new arrays (``zeros``, ``full``, ``arange``, ``linspace``, ``eye``...);
- ``numpy_windows.py``: signal windows (``hanning``, ``kaiser``...);
- ``numpy_shape.py``: reshaping, permuting, joining and splitting;
- ``numpy_pad.py``: ``pad`` and its modes;
- ``numpy_products.py``: ``matmul``, ``dot``, ``tensordot``, ``einsum``, ``kron``...;
- ``numpy_matrices.py``: diagonals, triangles, ``trace``, ``vander``, ``slogdet``;
- ``numpy_vectorize.py``: ``vectorize`` on ``mx.vmap``.
"""

from . import (numpy_creation, numpy_matrices, numpy_pad, numpy_products, numpy_shape,
               numpy_vectorize, numpy_windows)
from .numpy_creation import *  # noqa: F401,F403
from .numpy_matrices import *  # noqa: F401,F403
from .numpy_pad import *  # noqa: F401,F403
from .numpy_products import *  # noqa: F401,F403
from .numpy_shape import *  # noqa: F401,F403
from .numpy_vectorize import *  # noqa: F401,F403
from .numpy_windows import *  # noqa: F401,F403

__all__ = sorted(
    numpy_creation.__all__ + numpy_matrices.__all__ + numpy_pad.__all__
    + numpy_products.__all__ + numpy_shape.__all__ + numpy_vectorize.__all__
    + numpy_windows.__all__)
