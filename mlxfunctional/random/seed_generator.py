"""``keras.random.SeedGenerator``: a stream of random keys whose state is an MLX array.

Where the state lives decides whether a compiled step advances it. ``mx.compile``
turns every array it does not capture into a constant, so a key held in a plain
Python object would freeze (the same "random" numbers at every step) and, worse,
leave a tracer behind. A ``SeedGenerator`` is therefore an ``nn.Module`` holding
its key as the private entry ``_state``:

- assigned to a layer (``self.seed_generator = SeedGenerator(1337)``, under any
  attribute name, private ones included, see ``Layer.__setattr__``) it is an entry
  of the layer's module dict, so ``model.state``, which the training step
  captures, holds its key and every compiled step reads and advances it;
- the leading underscore keeps the key out of ``parameters()``: it is never
  trained, counted as a weight, nor written to weight files (as in Keras, where
  a seed generator's state is a variable but not a weight).

A generator that belongs to no layer advances only in eager code; inside a
compiled function write ``mx.compile(f, inputs=[gen.state_tree], outputs=...)``
yourself, or pass ``seed=None`` to draw from ``mx.random.state``.
"""

import random as _py_random

import mlx.core as mx
import mlx.nn as nn

from .. import backend, registry


@registry.builtin
class SeedGenerator(nn.Module):
    """A stateful source of random keys (``keras.random.SeedGenerator``).

    Pass it as the ``seed`` of any ``keras.random`` function: each call takes the
    next key, so successive calls give new numbers, reproducibly from the seed.

    Args:
        seed: int seed of the stream; ``None`` draws one from Python's ``random``
            (seeded by ``keras.utils.set_random_seed``).
        name: a name for the generator (``seed_generator``, ``seed_generator_1``...).
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"Unrecognized keyword argument(s) passed to SeedGenerator: "
                            f"{sorted(kwargs)}")
        super().__init__()
        if seed is None:
            seed = _py_random.randint(1, 2**31 - 1)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"SeedGenerator: `seed` must be an int or None. Received: "
                             f"seed={seed!r}")
        self._initial_seed = seed
        self.name = name or backend.unique_name("seed_generator")
        self._state = mx.random.key(seed)

    @property
    def state(self):
        """The current key (a ``uint32`` array of shape ``(2,)``)."""
        return self["_state"]

    @property
    def state_tree(self):
        """The container to capture in a hand-written ``mx.compile`` (``inputs``/``outputs``)."""
        return self

    def next(self, ordered=True):
        """Returns a fresh key and advances the state (``ordered`` is accepted for Keras)."""
        key, self["_state"] = mx.random.split(self["_state"])
        return key

    def get_config(self):
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<SeedGenerator name={self.name}, seed={self._initial_seed}>"


def draw_key(seed):
    """The key for a ``seed`` argument: a fixed key for an int (the same numbers at
    every call), the next key of a ``SeedGenerator``, ``None`` (MLX's global
    ``mx.random.state``, which compiled steps capture) for ``None``."""
    if seed is None:
        return None
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, int) and not isinstance(seed, bool):
        return mx.random.key(seed)
    raise ValueError(f"`seed` must be an int, a keras.random.SeedGenerator or None. "
                     f"Received: seed={seed!r} of type {type(seed).__name__}")


def split_key(key, num):
    """``num`` independent keys from one (``None`` stays ``None``: the global state)."""
    if key is None:
        return [None] * num
    return list(mx.random.split(key, num))
