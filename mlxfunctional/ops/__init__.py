"""``keras.ops`` on MLX: Keras 3's op names, arguments, defaults and dtype rules.

Each op runs eagerly on MLX (or numpy) arrays, traces inside compiled training
steps like any MLX code, and on symbolic tensors adds a serializable node to
the layer graph (``operation.py``). The sub-namespaces are Keras' own:
``ops.numpy``, ``ops.nn``, ``ops.linalg``, ``ops.image`` (plus ``ops.math``
and ``ops.core``, whose names ``keras.ops`` exports at top level too).
"""

from .core import *  # noqa: F401,F403
from .einops import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .math import *  # noqa: F401,F403
from .nn import *  # noqa: F401,F403
from .numpy import *  # noqa: F401,F403
from . import core, einops, image, linalg, math, nn, numpy
from .dtypes import convert_to_tensor, result_type  # noqa: F401
from .operation import OPS, OpLayer, keras_op  # noqa: F401
