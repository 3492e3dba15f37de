"""Keras 2's legacy weights files (``vgg19_weights_tf_dim_ordering_tf_kernels.h5``).

Layout: the root attribute ``layer_names`` lists the layers in order; each
layer's group has an attribute ``weight_names`` and holds each weight at that
path inside the group. The names vary with the Keras that wrote the file
(``b"fc1/kernel:0"`` in Keras 2, ``b"fc1_W_1:0"`` in the 2016 files Keras
still downloads), so, as Keras does, weights are matched by their order in
``weight_names``, never by name. Arrays are already in Keras' layout (kernels
``(kh, kw, in, out)`` / ``(in, out)``, ``fc1`` rows in channels-last order).

HDF5 can point outside the file: external links, external raw storage and
virtual datasets read other files (how Keras' h5 loading was made to read
arbitrary files). Such entries are refused; only plain datasets stored in the
file itself are read. ``h5py`` is an optional dependency.
"""

import os

import numpy as np

MAX_WEIGHT_BYTES = 4 << 30  # one array; VGG19's largest (fc1) is 411 MB


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("Reading Keras .h5 weights needs h5py: pip install h5py "
                          "(or pip install 'mlxfunctional[h5]').") from None
    return h5py


def _names(attrs, key, where):
    if key not in attrs:
        raise ValueError(f"{where} has no '{key}' attribute: not a Keras 2 weights file.")
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in attrs[key]]


def _dataset(h5py, group, name, path):
    node = group
    for part in name.split("/"):  # every step a hard link: no soft or external links
        link = node.get(part, getlink=True) if isinstance(node, h5py.Group) else None
        if link is None:
            raise ValueError(f"{path}: weight {name!r} is listed but absent.")
        if not isinstance(link, h5py.HardLink):
            raise ValueError(f"{path}: weight {name!r} goes through a {type(link).__name__}, "
                             "which may point outside the file; refused.")
        node = node[part]
    dset = node
    if not isinstance(dset, h5py.Dataset):
        raise ValueError(f"{path}: weight {name!r} is not a dataset.")
    if dset.external or dset.is_virtual:
        raise ValueError(f"{path}: weight {name!r} stores its data in another file "
                         "(external or virtual dataset); refused.")
    if dset.dtype.kind != "f":
        raise ValueError(f"{path}: weight {name!r} has dtype {dset.dtype}, not a float.")
    if dset.size * dset.dtype.itemsize > MAX_WEIGHT_BYTES:
        raise ValueError(f"{path}: weight {name!r} declares {dset.shape}, over "
                         f"{MAX_WEIGHT_BYTES:,} bytes.")
    return np.asarray(dset[()], dtype=np.float32)


def read_keras_h5(filepath, layer_names=None):
    """``{layer name: [float32 arrays in weight_names order]}`` from a legacy Keras
    weights file (layers without weights are left out).

    Args:
        filepath: the ``.h5`` file.
        layer_names: read only these layers (others are skipped unread).

    Raises ``ValueError`` naming the file and the entry that is wrong.
    """
    h5py = _h5py()
    path = os.fspath(filepath)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Keras weights file {path!r} does not exist.")
    out = {}
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"{path!r} is not a readable HDF5 file: {e}") from None
    with f:
        where = f"{path!r}"
        if "model_weights" in f:
            raise ValueError(f"{where} is a whole Keras model (.h5 with 'model_weights'); "
                             "pass the weights-only file (model.save_weights) instead.")
        for layer in _names(f.attrs, "layer_names", where):
            if layer_names is not None and layer not in layer_names:
                continue
            group = f.get(layer)
            if group is None or not isinstance(group, h5py.Group):
                raise ValueError(f"{where}: layer {layer!r} is listed but has no group.")
            weights = [_dataset(h5py, group, weight, f"{where} layer {layer!r}")
                       for weight in _names(group.attrs, "weight_names",
                                            f"{where} layer {layer!r}")]
            if weights:
                out[layer] = weights
    return out
