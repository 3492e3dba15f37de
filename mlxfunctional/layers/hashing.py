"""Hashing and HashedCrossing: values to bins by the same string hashes
TensorFlow uses (``layers/fingerprint.py``), so bins match Keras' bit for bit.

What is matched exactly (tested against the values in Keras' own tests):
- ``Hashing`` without salt: FarmHash ``Fingerprint64`` of each value's string
  form modulo the bins (``tf.strings.to_hash_bucket_fast``); integers hash as
  their decimal text and floats are first truncated to integers, as in Keras;
- ``Hashing`` with a salt: SipHash-2-4 keyed by the salt
  (``tf.strings.to_hash_bucket_strong``);
- ``HashedCrossing``: ``tf.sparse.cross_hashed``'s chain of
  ``FingerprintCat64`` from the key ``0xDECAFCAFFE`` over each feature (a
  string's Fingerprint64, an integer's own 64-bit value), modulo the bins.

Strings are hashed on the host with numpy (once per distinct value). Integer
(and float, truncated) inputs given as MLX arrays, or symbolic tensors in a
model, take the same hashes written as MLX uint64 ops (``fingerprint_mx.py``),
so the layers also run inside a compiled step; numpy inputs always take the
host path. Both paths give the same bins.
"""

import mlx.core as mx
import numpy as np

from .. import registry
from ..engine import argument_validation as check
from ..engine.layer import Layer
from . import categorical, fingerprint, fingerprint_mx
from .pipeline_layer import as_numpy

_CROSS_KEY = 0xDECAFCAFFE


def _on_host(inputs):
    """Whether a call's inputs are host data (numpy, lists, Python values)."""
    return isinstance(inputs, (np.ndarray, list, str, bytes, int, float, np.generic))


def _graph_integers(layer, x):
    """An MLX input as int64 (floats truncated toward zero, as Keras casts them)."""
    if not (mx.issubdtype(x.dtype, mx.integer) or mx.issubdtype(x.dtype, mx.floating)):
        raise TypeError(f'Layer "{layer.name}": in the graph only numbers can be hashed; '
                        f"received dtype {x.dtype}. Hash strings with numpy inputs.")
    return x.astype(mx.int64)


def _text(value):
    """A value's bytes as TensorFlow's ``as_string`` writes it (UTF-8 for str)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return str(int(value)).encode("ascii")


def _per_distinct(values, fn):
    """``fn`` applied to each distinct value of ``values``; an int64 array of its shape."""
    flat = values.reshape(-1)
    if flat.dtype.kind == "f":
        flat = flat.astype(np.int64)  # Keras truncates floats before hashing
    distinct, inverse = np.unique(flat, return_inverse=True)
    hashes = np.array([fn(v) for v in distinct.tolist()], dtype=np.uint64)
    return hashes[inverse].reshape(values.shape)


def _salt(owner, salt):
    if salt is None:
        return None
    if check.is_integer(salt):
        return [int(salt), int(salt)]
    if isinstance(salt, (list, tuple)) and len(salt) == 2 and all(check.is_integer(s)
                                                                  for s in salt):
        return [int(s) for s in salt]
    raise ValueError(f"{type(owner).__name__}: salt must be an integer or a tuple of 2 "
                     f"integers; received salt={salt!r}")


@registry.builtin
class Hashing(Layer):
    """Maps values (strings or integers) to ``num_bins`` bins by hashing.

    Args:
        num_bins: the number of bins (mask bin included).
        mask_value: a value that goes to bin 0; the others then hash into
            ``[1, num_bins)``.
        salt: an int or a pair of ints: use SipHash keyed by it instead of FarmHash.
        output_mode: ``"int"`` (bin ids, int64 by default), ``"one_hot"``,
            ``"multi_hot"`` or ``"count"``.
        sparse: only False.
    """

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False,
                 **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else "float32"
        super().__init__(**kwargs)
        self.num_bins = check.positive_int(self, "num_bins", num_bins)
        self.output_mode = categorical.choice(self, "output_mode", output_mode,
                                              ("int", "one_hot", "multi_hot", "count"))
        if sparse:
            raise ValueError("Hashing: sparse=True is not supported (MLX has no sparse arrays).")
        self.sparse = False
        self.mask_value = mask_value
        self.salt = _salt(self, salt)

    def hash_values(self, values):
        """Bin ids (int64 numpy) of ``values``."""
        values = as_numpy(values)
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = values == self.mask_value
        if self.salt is None:
            hashes = _per_distinct(values, lambda v: fingerprint.fingerprint64(_text(v)))
        else:
            hashes = _per_distinct(values, lambda v: fingerprint.siphash24(self.salt, _text(v)))
        ids = (hashes % np.uint64(bins)).astype(np.int64)
        if mask is not None:
            ids = np.where(mask, 0, ids + 1)
        return ids

    def __call__(self, inputs, *args, **kwargs):
        if _on_host(inputs):
            self.built = True
            ids = mx.array(self.hash_values(inputs))
            return categorical.encode(self, ids, self.output_mode, self.num_bins, self.dtype)
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs):
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1 and not isinstance(self.mask_value,
                                                                        (str, bytes)):
            bins -= 1
            mask = inputs == self.mask_value
        elif self.mask_value is not None and bins > 1:
            bins -= 1  # a string mask value never equals a number
        x = _graph_integers(self, inputs)
        if self.salt is None:
            hashes = fingerprint_mx.fingerprint64_of_integers(x)
        else:
            hashes = fingerprint_mx.siphash24_of_integers(self.salt, x)
        ids = (hashes % bins).astype(mx.int64)
        if self.mask_value is not None and self.num_bins > 1:
            ids = ids + 1 if mask is None else mx.where(mask, 0, ids + 1)
        return categorical.encode(self, ids, self.output_mode, self.num_bins, self.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(num_bins=self.num_bins, salt=self.salt, mask_value=self.mask_value,
                      output_mode=self.output_mode, sparse=self.sparse)
        return config


@registry.builtin
class HashedCrossing(Layer):
    """Crosses two or more categorical features (strings or integers) into
    ``num_bins`` bins: ``call((feature_a, feature_b, ...))``.

    Args:
        num_bins: the number of bins.
        output_mode: ``"int"`` (int64 ids) or ``"one_hot"``.
        sparse: only False.

    Each feature has shape ``()``, ``(batch,)`` or ``(batch, 1)``, all the same.
    """

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None,
                 **kwargs):
        if dtype is None:
            dtype = "int64" if output_mode == "int" else "float32"
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.num_bins = check.positive_int(self, "num_bins", num_bins)
        self.output_mode = categorical.choice(self, "output_mode", output_mode,
                                              ("int", "one_hot"))
        if sparse:
            raise ValueError("HashedCrossing: sparse=True is not supported (MLX has no sparse "
                             "arrays).")
        self.sparse = False

    def cross_values(self, inputs):
        """The crossed bin ids (int64 numpy) of a tuple of features."""
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f'Layer "{self.name}" (HashedCrossing) takes a list or tuple of at '
                             f"least two features; received {type(inputs).__name__}.")
        features = [as_numpy(x) for x in inputs]
        shape = features[0].shape
        self._check_shapes([f.shape for f in features])
        if not all(f.dtype.kind in "iuSU" for f in features):
            raise ValueError(f'Layer "{self.name}": HashedCrossing inputs must be integers or '
                             f"strings; received dtypes {[str(f.dtype) for f in features]}.")
        parts = []
        for f in features:
            if f.dtype.kind in "SU":
                parts.append(_per_distinct(f, lambda v: fingerprint.fingerprint64(_text(v))))
            else:  # an integer feature enters the chain as its own 64-bit value
                parts.append(f.astype(np.int64).view(np.uint64))
        flat = [p.reshape(-1).tolist() for p in parts]
        out = []
        for values in zip(*flat):
            h = _CROSS_KEY
            for v in values:
                h = fingerprint.fingerprint_cat64(h, int(v))
            out.append(h % self.num_bins)
        return np.array(out, dtype=np.int64).reshape(shape)

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, (list, tuple)) and any(_on_host(x) for x in inputs) or \
                not isinstance(inputs, (list, tuple)):
            self.built = True
            ids = mx.array(self.cross_values(inputs))
            return categorical.encode(self, ids, self.output_mode, self.num_bins, self.dtype)
        return super().__call__(tuple(inputs), *args, **kwargs)

    def call(self, inputs):
        features = [_graph_integers(self, x) for x in inputs]
        shape = tuple(features[0].shape)
        self._check_shapes([tuple(f.shape) for f in features])
        crossed = mx.full(shape, np.uint64(_CROSS_KEY), dtype=mx.uint64)
        for f in features:  # an integer enters the chain as its own 64-bit value
            crossed = fingerprint_mx.fingerprint_cat64(crossed, f.astype(mx.uint64))
        ids = (crossed % self.num_bins).astype(mx.int64)
        return categorical.encode(self, ids, self.output_mode, self.num_bins, self.dtype)

    def _check_shapes(self, shapes):
        shape = shapes[0]
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError(f'Layer "{self.name}": all HashedCrossing inputs should have shape '
                             f"(), (batch_size) or (batch_size, 1); received {shape}.")
        if any(s != shape for s in shapes[1:]):
            raise ValueError(f'Layer "{self.name}": all HashedCrossing inputs should have equal '
                             f"shape; received {shapes}.")

    def get_config(self):
        config = super().get_config()
        config.update(num_bins=self.num_bins, output_mode=self.output_mode, sparse=self.sparse)
        return config
