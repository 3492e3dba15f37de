"""Keras 3's weight store (``model.weights.h5``), mapped onto our weights.

Keras 3 writes each object's own variables as ``<path>/vars/0, 1, ...``
(trainable first, then non-trainable, in creation order) and walks into
children: a Functional or Sequential model's layers are ``layers/<key>``,
where ``<key>`` is the snake-cased class name made unique among siblings
(``dense``, ``dense_1``...; not the layer's name, which the ``vars`` group
keeps as its ``name`` attribute); other children are the attributes that
hold them (``cell``, ``forward_layer``...), visited in sorted order with
private names last.

A layer's weights here are Keras' ``layer.weights`` in Keras' order, so most
layers read ``vars`` then their children's, in the walk's order. Wrappers
whose walk order differs from their weight order list their children in
``_CHILD_ORDER``. Seed generators' state (Keras' RNG counters) is not a
weight here and is skipped on reading, never written.

HDF5 can point outside the file (external links, external storage, virtual
datasets): only hard links and plain datasets stored in the file are read.
"""

import re
import warnings

import numpy as np

from .errors import ModelFileError
from .h5_checks import h5py_module

MAX_ARRAY_BYTES = 4 << 30
_CHILD_ORDER = {
    "Bidirectional": ("forward_layer", "backward_layer"),
    # (Keras 3.15 reaches the projections through public properties first; older
    # files may name the private attributes.)
    "MultiHeadAttention": ("query_dense", "key_dense", "value_dense", "output_dense",
                           "_query_dense", "_key_dense", "_value_dense", "_output_dense"),
    "GroupQueryAttention": ("query_dense", "key_dense", "value_dense", "output_dense",
                            "_query_dense", "_key_dense", "_value_dense", "_output_dense"),
}
_SKIPPED_CHILDREN = re.compile(r"(^|_)seed_generator(_\d+)?$")


def _error(where, message):
    return ModelFileError(where, [message])


def snake_case(name):
    """Keras' ``naming.to_snake_case`` (the store's keys for layers)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def child_keys(objects):
    """Unique store keys of sibling objects, as Keras makes them."""
    used, keys = {}, []
    for obj in objects:
        name = snake_case(type(obj).__name__)
        if name in used:
            used[name] += 1
            keys.append(f"{name}_{used[name]}")
        else:
            used[name] = 0
            keys.append(name)
    return keys


def _is_container(layer):
    from ..engine.functional import Functional
    from ..engine.sequential import Sequential

    return isinstance(layer, (Functional, Sequential))


def layer_slots(model, prefix=""):
    """``[(store path, layer)]`` of the leaf layers of ``model``, in Keras' walk."""
    slots = []
    for key, layer in zip(child_keys(model.layers), model.layers):
        path = f"{prefix}layers/{key}"
        if _is_container(layer):
            slots.extend(layer_slots(layer, path + "/"))
        else:
            slots.append((path, layer))
    return slots


# -- reading -----------------------------------------------------------------
class StoredArray:
    """A checked dataset whose data is read only when asked for (``np.asarray``), so
    shapes are compared with the model's before a byte of data is read or inflated."""

    def __init__(self, dataset):
        self.dataset, self.shape, self.dtype = dataset, tuple(dataset.shape), dataset.dtype

    def __array__(self, dtype=None, copy=None):
        data = np.asarray(self.dataset[()])
        return data if dtype is None else data.astype(dtype)


class StoreReader:
    """Reads arrays from an open ``h5py.File`` with every link and dataset checked."""

    def __init__(self, h5file, where):
        self.h5py = h5py_module()
        self.file = h5file
        self.where = where

    def group(self, path):
        """The group at ``path`` or None; every step must be a hard link."""
        node = self.file
        for part in [p for p in path.split("/") if p]:
            link = node.get(part, getlink=True)
            if link is None:
                return None
            if not isinstance(link, self.h5py.HardLink):
                raise _error(self.where, f"{path!r} goes through a "
                                     f"{type(link).__name__}, which may point outside the "
                                     "file; refused.")
            node = node[part]
            if not isinstance(node, self.h5py.Group):
                raise _error(self.where, f"{path!r} is not a group.")
        return node

    def vars(self, path):
        """The ``StoredArray``s ``<path>/vars/0, 1, ...`` (none: an empty list)."""
        group = self.group(f"{path}/vars")
        if group is None:
            return []
        names = list(group.keys())
        if sorted(names, key=lambda n: (len(n), n)) != [str(i) for i in range(len(names))]:
            raise _error(self.where, f"{path}/vars holds {sorted(names)!r}, not 0..n-1.")
        return [self._array(group, str(i), f"{path}/vars/{i}") for i in range(len(names))]

    def _array(self, group, name, path):
        link = group.get(name, getlink=True)
        if not isinstance(link, self.h5py.HardLink):
            raise _error(self.where, f"{path!r} is a {type(link).__name__}; refused.")
        dset = group[name]
        if not isinstance(dset, self.h5py.Dataset):
            raise _error(self.where, f"{path!r} is not a dataset.")
        if dset.external or dset.is_virtual:
            raise _error(self.where, f"{path!r} stores its data in another file "
                                 "(external or virtual dataset); refused.")
        if dset.dtype.kind not in "fiub":
            raise _error(self.where, f"{path!r} has dtype {dset.dtype}, not a number.")
        if dset.size * dset.dtype.itemsize > MAX_ARRAY_BYTES:
            raise _error(self.where, f"{path!r} declares shape {dset.shape}, over "
                                 f"{MAX_ARRAY_BYTES:,} bytes.")
        return StoredArray(dset)

    def layer_arrays(self, path, layer):
        """A layer's arrays in our weight order: its vars, then its children's."""
        arrays = self.vars(path)
        group = self.group(path)
        if group is None:
            return arrays
        children = [c for c in group.keys() if c != "vars" and not _SKIPPED_CHILDREN.search(c)]
        if isinstance(layer, (list, tuple)):
            # A list attribute (StackedRNNCells' cells): Keras keys its items by class
            # name in list order (lstm_cell, gru_cell, lstm_cell_1...), which sorting
            # would scramble.
            order = child_keys(layer)
        else:
            order = _CHILD_ORDER.get(type(layer).__name__) if layer is not None else None
        if order is not None:
            children = [c for c in order if c in children] + [c for c in children
                                                              if c not in order]
        else:
            children.sort(key=lambda c: "~" + c if c.startswith("_") else c)
        for child in children:
            arrays.extend(self.layer_arrays(f"{path}/{child}", _child(layer, child)))
        return arrays


def _child(obj, key):
    """The object a store key names under ``obj`` (None when unknown), so that the
    walk can order its children as Keras wrote them."""
    if obj is None:
        return None
    if isinstance(obj, (list, tuple)):
        return dict(zip(child_keys(obj), obj)).get(key)
    return getattr(obj, key, None)


def load_weights(reader, model, skip_mismatch=False):
    """Sets every layer's weights from the store; all problems in one ModelFileError
    (with ``skip_mismatch``, layers whose arrays don't fit keep their weights and a
    warning names them)."""
    updates, problems = [], []
    for path, layer in layer_slots(model):
        expected = layer.get_weights()
        arrays = reader.layer_arrays(path, layer) if expected else []
        if len(arrays) != len(expected):
            problems.append(f"layer {layer.name!r} ({path}): expected {len(expected)} arrays, "
                            f"the file holds {len(arrays)}.")
            continue
        bad = [f"layer {layer.name!r}: weight {i} expects shape {tuple(e.shape)}, the file "
               f"holds {tuple(a.shape)}." for i, (e, a) in enumerate(zip(expected, arrays))
               if tuple(e.shape) != tuple(a.shape)]
        problems.extend(bad)
        if not bad and arrays:
            updates.append((layer, arrays))
    if problems and skip_mismatch:
        warnings.warn(f"{reader.where}: skipped {len(problems)} layer(s): " + " ".join(problems),
                      stacklevel=3)
    elif problems:
        raise ModelFileError(reader.where, problems)
    for layer, arrays in updates:
        layer.set_weights([np.asarray(a) for a in arrays])


# -- writing -----------------------------------------------------------------
def write_weights(h5file, model, prefix=""):
    """Writes ``model``'s weights as Keras 3 does (each object's ``vars`` group)."""
    h5file.require_group(f"{prefix}vars").attrs["name"] = model.name
    for key, layer in zip(child_keys(model.layers), model.layers):
        path = f"{prefix}layers/{key}"
        if _is_container(layer):
            write_weights(h5file, layer, path + "/")
            continue
        children = _keras_children(layer)
        arrays = layer.get_weights()
        if children is None:
            write_vars(h5file, path, arrays, layer.name)
            continue
        write_vars(h5file, path, [], layer.name)
        start = 0
        for child, count in children:
            write_vars(h5file, f"{path}/{child}", arrays[start:start + count], None)
            start += count


def _keras_children(layer):
    """``[(child path, number of weights)]`` for layers whose weights Keras keeps in
    sub-objects; None for a leaf layer (all in its own ``vars``)."""
    # By class name (saving must not import the layers package, which imports saving).
    kinds = {cls.__name__ for cls in type(layer).__mro__}
    if "Bidirectional" in kinds:
        return _cell_children("forward_layer/", layer.forward_layer) + \
            _cell_children("backward_layer/", layer.backward_layer)
    if "RNN" in kinds:
        return _cell_children("", layer)
    if "TimeDistributed" in kinds:
        return [("layer", len(layer.weights))]
    if type(layer).__name__ in ("MultiHeadAttention", "GroupQueryAttention"):
        n = len(layer.weights) // 4  # kernel (and bias) of each projection
        return [(child, n) for child in _CHILD_ORDER[type(layer).__name__][:4]]
    if type(layer).__name__ in _CHILD_ORDER:
        raise NotImplementedError(f"Writing {type(layer).__name__} to a Keras file is not "
                                  "supported yet.")
    return None


def _cell_children(prefix, rnn):
    """An RNN's cell path(s): a stack of cells keeps each cell's variables under
    ``cell/cells/<class key>`` (Keras' list container), the stack itself none."""
    cells = getattr(rnn.cell, "cells", None)
    if not isinstance(cells, (list, tuple)):
        return [(f"{prefix}cell", len(rnn.weights))]
    return [(f"{prefix}cell", 0)] + [(f"{prefix}cell/cells/{key}", len(cell.weights))
                                     for key, cell in zip(child_keys(cells), cells)]


def write_vars(h5file, path, arrays, name):
    group = h5file.require_group(f"{path}/vars")
    if name is not None:
        group.attrs["name"] = name
    for i, array in enumerate(arrays):
        group.create_dataset(str(i), data=np.asarray(array))
