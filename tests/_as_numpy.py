"""``np_``: an mlx array read back as a numpy array (float32 for other float dtypes),
shared by test_initializers.py, test_activations.py and
test_regularizers_constraints.py."""

import mlx.core as mx
import numpy as np


def np_(x):
    return np.array(x.astype(mx.float32) if x.dtype != mx.float32 else x)
