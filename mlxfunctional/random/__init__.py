"""``keras.random``: random numbers on MLX, reproducible from a seed.

``seed`` is an int (the same numbers at every call), a ``SeedGenerator`` (new
numbers at every call, and at every step of a compiled training step when the
generator is an attribute of a layer: its key is then part of the model's state)
or ``None`` (MLX's global ``mx.random.state``, which the training steps capture).
"""

from .composed import beta, binomial, gamma
from .distributions import (categorical, dropout, normal, randint, shuffle,
                            truncated_normal, uniform)
from .seed_generator import SeedGenerator
