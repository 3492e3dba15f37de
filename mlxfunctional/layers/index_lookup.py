"""Vocabulary lookups: StringLookup and IntegerLookup (and their shared base).

The vocabulary is ordered as in Keras: for ``output_mode="int"`` index 0 is
the mask token (when there is one), then ``num_oov_indices`` out-of-vocabulary
slots, then the tokens; ``adapt`` orders tokens by decreasing frequency (ties:
the larger token first, as Keras' reversed lexsort). An unknown token goes to
the OOV slot (``num_oov_indices > 1``: integers by ``floormod``, strings by
FarmHash ``Fingerprint64``, or SipHash with a ``salt``).

The lookups run with numpy on the host (``PipelineLayer``). ``IntegerLookup``
also runs inside a model: on MLX arrays it finds ids by a binary search over
the sorted vocabulary (``mx.searchsorted``, no host sync), so it can sit in a
compiled training step.

The vocabulary (and TF-IDF weights) are plain lists in ``get_config``: a saved
model file holds them as JSON data.
"""

import collections

import mlx.core as mx
import numpy as np

from .. import backend, registry
from ..engine import argument_validation as check
from ..engine import trace
from ..engine.layer import Layer
from . import adapt_data, categorical, fingerprint, fingerprint_mx, index_bounds
from .pipeline_layer import PipelineLayer, as_numpy

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def checked_max_tokens(owner, max_tokens):
    """None, or an integer > 1 (room for a token beside the OOV slot)."""
    if max_tokens is None:
        return None
    max_tokens = check.positive_int(owner, "max_tokens", max_tokens)
    if max_tokens <= 1:
        raise ValueError(f"{type(owner).__name__}: max_tokens must be greater than 1; "
                         f"received max_tokens={max_tokens}")
    return max_tokens


class _Lookup:
    """The vocabulary logic shared by the lookup layers (a mixin; numpy only)."""

    def _init_lookup(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                     idf_weights, invert, output_mode, sparse, pad_to_max_tokens, salt,
                     vocabulary_size=None):
        max_tokens = checked_max_tokens(self, max_tokens)
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{type(self).__name__}: pad_to_max_tokens=True needs max_tokens.")
        self.num_oov_indices = check.non_negative_int(self, "num_oov_indices", num_oov_indices)
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        self.output_mode = categorical.choice(self, "output_mode", output_mode, _MODES)
        if invert and output_mode != "int":
            raise ValueError(f"{type(self).__name__}: invert=True needs output_mode='int'; "
                             f"received output_mode={output_mode!r}")
        if sparse:
            raise ValueError(f"{type(self).__name__}: sparse=True is not supported (MLX has no "
                             "sparse arrays).")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{type(self).__name__}: idf_weights are only used with "
                             f"output_mode='tf_idf'; received output_mode={output_mode!r}")
        if isinstance(vocabulary, str):
            raise ValueError(f"{type(self).__name__}: a vocabulary file path is not read (a "
                             "model file must not name files to open); pass the list of tokens.")
        self.max_tokens = max_tokens
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.invert = bool(invert)
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.salt = None if salt is None else (
            [int(salt)] * 2 if check.is_integer(salt) else [int(s) for s in salt])
        self._tokens = []
        self._index = {}
        self._idf = None
        self._frozen_vocab_size = vocabulary_size
        self._has_input_vocabulary = vocabulary is not None
        if output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
            raise ValueError(f"{type(self).__name__}: with a vocabulary, output_mode='tf_idf' "
                             "needs idf_weights too.")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # -- the layout of the vocabulary --------------------------------------
    def _oov_start(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self):
        return self._oov_start() + self.num_oov_indices

    def vocabulary_size(self):
        """The number of ids: special tokens plus the vocabulary."""
        return self._token_start() + len(self._tokens)

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary in id order (with the mask and OOV tokens unless told not to)."""
        specials = ([self.mask_token] * self._oov_start()
                    + [self.oov_token] * self.num_oov_indices)
        vocab = specials + list(self._tokens)
        return vocab if include_special_tokens else vocab[self._token_start():]

    def _depth(self):
        if self.pad_to_max_tokens:
            return self.max_tokens
        return self.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (special tokens at its start are recognized and skipped)."""
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f'Layer "{self.name}": output_mode="tf_idf" needs idf_weights.')
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f'Layer "{self.name}": idf_weights are only used with '
                             'output_mode="tf_idf".')
        tokens = [self._token(t) for t in as_numpy(vocabulary).reshape(-1).tolist()]
        if not tokens:
            raise ValueError(f'Layer "{self.name}": cannot set an empty vocabulary.')
        specials = [self.get_vocabulary()[i] for i in range(self._token_start())]
        found_specials = tokens[:len(specials)] == specials
        if found_specials:
            tokens = tokens[len(specials):]
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError(f'Layer "{self.name}": the vocabulary repeats {repeated}.')
        for reserved, name in ((self.mask_token, "mask_token"),
                               (self.oov_token if self.invert else None, "oov_token")):
            if reserved is not None and reserved in tokens:
                raise ValueError(f'Layer "{self.name}": the {name} {reserved!r} is in the '
                                 "vocabulary; reserved tokens may only come first, in the order "
                                 f"{specials}.")
        if self.max_tokens is not None and self._token_start() + len(tokens) > self.max_tokens:
            raise ValueError(f'Layer "{self.name}": a vocabulary of size '
                             f"{self._token_start() + len(tokens)} is larger than "
                             f"max_tokens={self.max_tokens}.")
        self._set_tokens(tokens)
        if idf_weights is not None:
            idf = np.asarray(idf_weights, dtype=np.float64).reshape(-1)
            if len(idf) != len(tokens) + (len(specials) if found_specials else 0):
                raise ValueError(f'Layer "{self.name}": idf_weights must have one weight per '
                                 f"vocabulary entry; received {len(idf)} for "
                                 f"{len(tokens)} tokens.")
            if not found_specials:  # Keras pads the special tokens' slots with the mean
                idf = np.concatenate([np.full(self._token_start(), idf.mean()), idf])
            self._set_idf(idf)
        self._frozen_vocab_size = self.vocabulary_size()
        self._has_input_vocabulary = True

    def _set_tokens(self, tokens):
        self._tokens = list(tokens)
        start = self._token_start()
        self._index = {t: start + i for i, t in enumerate(self._tokens)}
        self._vocabulary_changed()

    def _set_idf(self, idf):
        if self.pad_to_max_tokens:
            idf = np.pad(idf, (0, self.max_tokens - len(idf)))
        self._idf = idf.astype(np.float32)

    def _vocabulary_changed(self):
        """Hook: the in-graph IntegerLookup rebuilds its arrays."""

    # -- adapt ----------------------------------------------------------------
    def adapt(self, data, steps=None):
        """Learns the vocabulary (and TF-IDF weights) from ``data``: an array or list of
        tokens, or an iterable of batches."""
        if self._has_input_vocabulary:
            raise ValueError(f'Layer "{self.name}" has a fixed vocabulary; it cannot adapt.')
        if isinstance(data, (np.ndarray, mx.array, list, tuple)):
            data = as_numpy(data)
            if data.ndim == 1:  # as Keras: a 1-D array given whole is a column
                data = data[:, None]
        counts = collections.Counter()
        document_counts = collections.Counter()
        documents = 0
        for batch in adapt_data.batches(data, steps, list_is_one_batch=True):
            rows = self._adapt_rows(batch)
            for row in rows:
                counts.update(row)
                if self.output_mode == "tf_idf":
                    document_counts.update(set(row))
            documents += len(rows)
        self._learn(counts, document_counts, documents)

    def _adapt_rows(self, batch):
        """A batch as rows of tokens (a row is one document for TF-IDF)."""
        if batch.ndim < 2:
            batch = batch.reshape(1, -1)
        return [[self._token(t) for t in row] for row in batch.reshape(len(batch), -1).tolist()]

    def _learn(self, counts, document_counts, documents):
        for reserved in (self.mask_token, self.oov_token):
            counts.pop(reserved, None)
        # By decreasing count, ties by decreasing token (Keras' reversed lexsort).
        tokens = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        if self.max_tokens:
            tokens = tokens[:self.max_tokens - self._token_start()]
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            idf = np.log(1 + documents / (1 + np.array([document_counts[t] for t in tokens],
                                                         dtype=np.float64)))
            mean = idf.mean() if len(idf) else 0.0
            self._set_idf(np.concatenate([np.full(self._token_start(), mean), idf]))
        self._frozen_vocab_size = self.vocabulary_size()

    # -- lookup ---------------------------------------------------------------
    def _oov_ids(self, values):
        """OOV slot ids of unknown ``values`` (a flat list)."""
        start = self._oov_start()
        if self.num_oov_indices == 1:
            return [start] * len(values)
        if self._integer_tokens() and getattr(self, "oov_method", "floormod") == "floormod":
            return [start + v % self.num_oov_indices for v in values]
        def hashed(v):
            text = (str(v) if self._integer_tokens() else v).encode("utf-8")
            h = (fingerprint.siphash24(self.salt, text) if self.salt is not None
                 else fingerprint.fingerprint64(text))
            return start + h % self.num_oov_indices
        return [hashed(v) for v in values]

    def lookup_numpy(self, values):
        """``(ids, keep)``: int64 ids of ``values`` and where they are not the mask token."""
        values = as_numpy(values)
        flat = [self._token(v) for v in values.reshape(-1).tolist()]
        ids = [self._index.get(v, -1) for v in flat]
        unknown = [i for i, idx in enumerate(ids) if idx == -1 and flat[i] != self.mask_token]
        if unknown:
            if self.num_oov_indices == 0:
                bad = sorted({flat[i] for i in unknown}, key=str)[:5]
                raise ValueError(f'Layer "{self.name}": with num_oov_indices=0 every input must be '
                                 f"in the vocabulary; found {bad}. Set num_oov_indices=1.")
            for i, oov in zip(unknown, self._oov_ids([flat[i] for i in unknown])):
                ids[i] = oov
        keep = [v != self.mask_token for v in flat] if self.mask_token is not None \
            else [True] * len(flat)
        ids = [idx if k else 0 for idx, k in zip(ids, keep)]
        shape = values.shape
        return (np.array(ids, dtype=np.int64).reshape(shape),
                np.array(keep, dtype=bool).reshape(shape))

    def invert_numpy(self, ids):
        """Tokens of ``ids`` (ids outside the vocabulary give the OOV token)."""
        vocab = self.get_vocabulary()
        ids = as_numpy(ids).astype(np.int64)
        flat = [vocab[i] if 0 <= i < len(vocab) else self.oov_token
                for i in ids.reshape(-1).tolist()]
        return np.array(flat, dtype=object if not self._integer_tokens() else np.int64
                        ).reshape(ids.shape)

    def _encode_ids(self, ids, keep):
        """Ids (mx) as the layer's output_mode."""
        if self.output_mode == "int":
            return ids.astype(mx.int64)
        if self._frozen_vocab_size is None and not self.pad_to_max_tokens:
            raise RuntimeError(f'Layer "{self.name}": output_mode={self.output_mode!r} needs a '
                               "vocabulary: pass one or call adapt() first.")
        mode = "tf_idf" if self.output_mode == "tf_idf" else self.output_mode
        idf = None if self._idf is None else mx.array(self._idf)
        return categorical.encode(self, ids, mode, self._depth(), backend.floatx(),
                                  idf_weights=idf, keep=keep)

    def _lookup_config(self):
        return {"invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode,
                "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
                # The vocabulary, learned or given, saved as data (no assets file),
                # special tokens first so that idf_weights line up with it entry by entry.
                "vocabulary": self.get_vocabulary() if self._tokens else None,
                "idf_weights": (None if self._idf is None else
                                self._idf[:self.vocabulary_size()].tolist()),
                "vocabulary_size": self._frozen_vocab_size, "salt": self.salt}


@registry.builtin
class StringLookup(_Lookup, PipelineLayer):
    """Maps strings to integer ids through a vocabulary (``invert``: ids to strings).

    Args:
        max_tokens: the largest vocabulary, special tokens included (None: no limit).
        num_oov_indices: slots for unknown tokens (``1``; 0 makes unknowns an error).
        mask_token: a token that maps to 0 (``int`` mode) or counts nowhere (None).
        oov_token: the token ``invert`` returns for unknown ids (``"[UNK]"``).
        vocabulary: a list of strings (or an array); else ``adapt`` learns one.
        idf_weights: TF-IDF weights, one per vocabulary entry (``tf_idf`` mode).
        invert: map ids back to strings.
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"``, ``"count"``, ``"tf_idf"``.
        pad_to_max_tokens: non-``int`` outputs have ``max_tokens`` columns.
        sparse: only False.
        encoding: of bytes inputs (``"utf-8"``).
        salt: SipHash key for hashing unknowns into several OOV slots.

    Runs on numpy on the host (see ``pipeline_layer``): strings in, ``mx.array`` out.
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", name=None, salt=None,
                 vocabulary_size=None, **kwargs):
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(name=name, **kwargs)
        self.encoding = encoding
        self._init_lookup(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                          idf_weights, invert, output_mode, sparse, pad_to_max_tokens, salt,
                          vocabulary_size)

    def _integer_tokens(self):
        return False

    def _token(self, value):
        return value.decode(self.encoding) if isinstance(value, bytes) else value

    def call(self, inputs):
        if self.invert:
            return self.invert_numpy(inputs)
        ids, keep = self.lookup_numpy(inputs)
        return self._encode_ids(mx.array(ids), mx.array(keep))

    def get_config(self):
        config = super().get_config()
        config.update(self._lookup_config())
        config["encoding"] = self.encoding
        return config


@registry.builtin
class IntegerLookup(_Lookup, Layer):
    """Maps integers to contiguous ids through a vocabulary (``invert``: back).

    Args:
        max_tokens, num_oov_indices, vocabulary, idf_weights, invert, output_mode,
            pad_to_max_tokens, sparse, salt: as ``StringLookup``.
        mask_token: an integer mapped to 0 (None).
        oov_token: what ``invert`` returns for unknown ids (``-1``).
        vocabulary_dtype: only ``"int64"``.
        oov_method: ``"floormod"`` (unknown ``x`` goes to OOV slot ``x % num_oov_indices``)
            or ``"farmhash"`` (by the hash of its decimal text).

    Works on numpy arrays and, as an ordinary layer, on MLX arrays inside a
    model and its compiled steps. Inside a compiled step an unknown value with
    ``num_oov_indices=0`` cannot raise: it gives id -1 (``int`` mode) or an
    all-zero row.
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", salt=None, name=None, vocabulary_size=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if vocabulary_dtype != "int64":
            raise ValueError("IntegerLookup: only vocabulary_dtype='int64' is supported; "
                             f"received vocabulary_dtype={vocabulary_dtype!r}")
        self.vocabulary_dtype = "int64"
        self.oov_method = categorical.choice(self, "oov_method", oov_method,
                                             ("floormod", "farmhash"))
        if salt is not None and oov_method != "farmhash":
            raise ValueError("IntegerLookup: salt is only used with oov_method='farmhash'.")
        self._init_lookup(max_tokens, num_oov_indices,
                          None if mask_token is None else int(mask_token),
                          None if oov_token is None else int(oov_token), vocabulary,
                          idf_weights, invert, output_mode, sparse, pad_to_max_tokens, salt,
                          vocabulary_size)

    def _integer_tokens(self):
        return True

    def _token(self, value):
        return int(value)

    def _vocabulary_changed(self):
        # Sorted keys and their ids for the in-graph binary search. Private arrays:
        # module state (captured by compiled steps), never weights.
        keys = np.array(self._tokens, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        self._sorted_keys = mx.array(keys[order])
        self._sorted_ids = mx.array((order + self._token_start()).astype(np.int64))
        self._vocab_table = mx.array(np.array(
            [v if v is not None else -1 for v in self.get_vocabulary()], dtype=np.int64))

    def __call__(self, inputs, *args, **kwargs):
        # Host data takes the exact numpy path (int64 kept: the dtype rule would make
        # numpy int64 an MLX int32); MLX arrays and symbolic tensors the graph path.
        if isinstance(inputs, (np.ndarray, list, tuple, int, np.integer)):
            self.built = True
            return self.call_numpy(inputs)
        return super().__call__(inputs, *args, **kwargs)

    def call_numpy(self, inputs):
        if self.invert:
            return self.invert_numpy(inputs)
        ids, keep = self.lookup_numpy(inputs)
        return self._encode_ids(mx.array(ids), mx.array(keep))

    def call(self, inputs):
        x = inputs.astype(mx.int64)
        if self.invert:
            size = self.vocabulary_size()
            clamped, valid = index_bounds.checked_ids(self, x, size, strict=False)
            oov = -1 if self.oov_token is None else self.oov_token
            return mx.where(valid, self._vocab_table[clamped], oov)
        ids = self._lookup_mx(x)
        keep = None if self.mask_token is None else x != self.mask_token
        if keep is not None:
            ids = mx.where(keep, ids, 0)
        if self.output_mode == "int":
            return ids
        return self._encode_ids(ids, keep)

    def _lookup_mx(self, x):
        """Ids of ``x`` by a binary search over the sorted vocabulary (``mx.searchsorted``)."""
        n = len(self._tokens)
        if self.num_oov_indices == 0:
            unknown = mx.full(x.shape, -1, dtype=mx.int64)
        elif self.num_oov_indices == 1:
            unknown = mx.full(x.shape, self._oov_start(), dtype=mx.int64)
        elif self.oov_method == "floormod":
            unknown = (x % self.num_oov_indices) + self._oov_start()
        else:  # the hash of the decimal text, as on the host
            hashes = (fingerprint_mx.fingerprint64_of_integers(x) if self.salt is None else
                      fingerprint_mx.siphash24_of_integers(self.salt, x))
            unknown = (hashes % self.num_oov_indices).astype(mx.int64) + self._oov_start()
        if n == 0:
            return unknown
        # The first sorted key >= x; a key equal to x is x's entry.
        pos = mx.minimum(mx.searchsorted(self._sorted_keys, x).astype(mx.int32), n - 1)
        found = self._sorted_keys[pos] == x
        if self.num_oov_indices == 0 and not _tracing_or_compiled(found):
            bad = np.array(x)[~np.array(found)]
            if self.mask_token is not None:
                bad = bad[bad != self.mask_token]
            if bad.size:
                raise ValueError(f'Layer "{self.name}": with num_oov_indices=0 every input must '
                                 f"be in the vocabulary; found {sorted(set(bad.tolist()))[:5]}.")
        return mx.where(found, self._sorted_ids[pos], unknown)

    def get_config(self):
        config = super().get_config()
        config.update(self._lookup_config())
        config.update(vocabulary_dtype="int64", oov_method=self.oov_method)
        return config


def _tracing_or_compiled(array):
    """True when ``array``'s values cannot be read now (a shape trace or mx.compile)."""
    if trace.in_trace():
        return True
    try:
        mx.eval(array)
    except ValueError as e:
        if "function transformations" in str(e):
            return True
        raise
    return False
