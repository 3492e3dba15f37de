"""Keras 2's legacy weights files (``vgg19_weights_tf_dim_ordering_tf_kernels.h5``).

Layout: the root attribute ``layer_names`` lists the layers in order; each
layer's group has an attribute ``weight_names`` and holds each weight at that
path inside the group. The names vary with the Keras that wrote the file
(``b"fc1/kernel:0"`` in Keras 2, ``b"fc1_W_1:0"`` in the 2016 files Keras
still downloads), so, as Keras does, weights are matched by their order in
``weight_names``, never by name. Arrays are already in Keras' layout (kernels
``(kh, kw, in, out)`` / ``(in, out)``, ``fc1`` rows in channels-last order).

Entries that point outside the file are refused (``saving/h5_checks.py``).
"""

import os

from ..saving.h5_checks import h5py_module, read_group


def read_keras_h5(filepath, layer_names=None):
    """``{layer name: [float32 arrays in weight_names order]}`` from a legacy Keras
    weights file (layers without weights are left out).

    Args:
        filepath: the ``.h5`` file.
        layer_names: read only these layers (others are skipped unread).

    Raises ``ValueError`` naming the file and the entry that is wrong.
    """
    h5py = h5py_module()
    path = os.fspath(filepath)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Keras weights file {path!r} does not exist.")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"{path!r} is not a readable HDF5 file: {e}") from None
    with f:
        where = f"{path!r}"
        if "model_weights" in f:
            raise ValueError(f"{where} is a whole Keras model (.h5 with 'model_weights'); "
                             "pass the weights-only file (model.save_weights) instead.")
        out = read_group(f, where, layer_names)
    return out
