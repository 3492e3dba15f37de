"""One seed for every random source a training run uses."""

import random

import mlx.core as mx
import numpy as np


def set_random_seed(seed):
    """Seeds Python's ``random``, numpy and MLX (weight init, shuffling, Dropout)."""
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    mx.random.seed(seed)
