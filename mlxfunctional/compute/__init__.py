"""The convolution and pooling math the layers and ``keras.ops`` share.

A leaf of the package: it imports MLX, numpy and the argument checks
(``engine/argument_validation.py``), never a layer or an op, so ``layers`` and
``ops`` both build on it without importing each other.
"""
