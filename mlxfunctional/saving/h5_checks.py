"""Reading HDF5 weights without leaving the file.

HDF5 can point outside the file: external links, external raw storage and
virtual datasets read other files (how Keras' h5 loading was made to read
arbitrary files). Here every step to a weight must be a hard link and every
dataset must be a plain one stored in the file, of a float dtype and a
bounded size. Shared by the Keras 2 weights files that ``applications``
downloads and the tf.keras 2 model files ``saving`` reads. A leaf: imports
nothing from the package. ``h5py`` is an optional dependency.
"""

import contextlib

import numpy as np

MAX_WEIGHT_BYTES = 4 << 30  # one array; VGG19's largest (fc1) is 411 MB


def h5py_module():
    try:
        import h5py
    except ImportError:
        raise ImportError("Reading Keras .h5/.keras files needs h5py: pip install h5py "
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


def read_group(group, where, layer_names=None):
    """``{layer name: [float32 arrays]}`` of a group laid out as a Keras 2 weights
    file (its root, or a whole-model file's ``model_weights``), in file order."""
    h5py = h5py_module()
    out = {}
    for layer in _names(group.attrs, "layer_names", where):
        if layer_names is not None and layer not in layer_names:
            continue
        sub = group.get(layer)
        if sub is None or not isinstance(sub, h5py.Group):
            raise ValueError(f"{where}: layer {layer!r} is listed but has no group.")
        weights = [_dataset(h5py, sub, weight, f"{where} layer {layer!r}")
                   for weight in _names(sub.attrs, "weight_names", f"{where} layer {layer!r}")]
        if weights:
            out[layer] = weights
    return out


@contextlib.contextmanager
def corrupt_as(error_type, path, what):
    """Turns what HDF5 raises on a damaged file (``OSError``, ``RuntimeError``,
    ``KeyError``... from its C library) into one ``error_type(path, [message])``;
    ``error_type`` itself passes through."""
    try:
        yield
    except error_type:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError) as e:
        raise error_type(path, [f"{what} is corrupt ({type(e).__name__}: {e})."]) from None
