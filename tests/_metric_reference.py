"""Helpers shared by test_metrics.py and test_metrics_state_config.py: read a metric's
result back as numpy, draw rows of class probabilities.

The tests draw their data from the one generator ``RNG`` below, in order: run in
file-name order the two files see the same data as when they were one file.
"""

import mlx.core as mx
import numpy as np

RNG = np.random.default_rng(1)


def A(x):
    mx.eval(x)
    return np.array(x)


def np_probs(n, c=3):
    return RNG.dirichlet(np.ones(c), n).astype(np.float32)
