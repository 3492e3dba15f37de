"""TextVectorization: strings to token ids (or multi-hot, count, TF-IDF
vectors), on the host with numpy and Python strings (a ``PipelineLayer``).

The steps follow Keras: standardize (``lower`` lowercases ASCII letters only,
as ``tf.strings.lower``; ``strip_punctuation`` removes the ASCII punctuation
characters Keras' regex lists), split (on runs of ASCII whitespace, or into
Unicode characters), n-grams (joined by a space, all widths in order), then a
``StringLookup`` whose mask token is ``""`` (id 0 pads ``int`` outputs).
"""

import collections
import re

import mlx.core as mx
import numpy as np

from .. import registry
from ..engine import argument_validation as check
from . import adapt_data, categorical
from .index_lookup import StringLookup, checked_max_tokens
from .pipeline_layer import PipelineLayer, as_numpy

_PUNCTUATION = re.compile("[" + re.escape("!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'") + "]")
_WHITESPACE = re.compile("[ \t\n\r\v\f]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")


def _option(owner, name, value, allowed):
    """A named option, None, or a callable (used in memory only: not saved)."""
    if value is None or callable(value):
        return value
    return categorical.choice(owner, name, value, allowed)


@registry.builtin
class TextVectorization(PipelineLayer):
    """Turns strings into sequences of token ids or into per-sample vectors.

    Args:
        max_tokens: the largest vocabulary (the pad and OOV tokens included).
        standardize: ``"lower_and_strip_punctuation"``, ``"lower"``,
            ``"strip_punctuation"``, None, or a function of a numpy string array.
        split: ``"whitespace"``, ``"character"``, None (no split) or a function
            from a string to a list of tokens.
        ngrams: None, an int ``n`` (widths 1..n) or a tuple of widths.
        output_mode: ``"int"``, ``"multi_hot"``, ``"count"`` or ``"tf_idf"``
            (``"one_hot"`` too, with ``split=None``).
        output_sequence_length: ``int`` mode: pad with 0 or truncate to this length
            (otherwise pad to the longest sequence of the batch).
        pad_to_max_tokens: vector outputs have ``max_tokens`` columns.
        vocabulary / idf_weights: a fixed vocabulary (list) and its TF-IDF weights.
        sparse / ragged: only False.
        encoding: of bytes inputs (``"utf-8"``).

    Inputs: a 1-D array of strings, or ``(batch, 1)``. Outputs: ``mx.array``,
    int64 ids for ``int``, float32 vectors otherwise.
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 vocabulary_size=None, **kwargs):
        super().__init__(name=name, **kwargs)
        max_tokens = checked_max_tokens(self, max_tokens)
        self.standardize = _option(self, "standardize", standardize, _STANDARDIZE)
        self.split = _option(self, "split", split, _SPLIT)
        if output_mode == "binary":
            output_mode = "multi_hot"
        self.output_mode = categorical.choice(self, "output_mode", output_mode,
                                              ("int", "one_hot", "multi_hot", "count",
                                               "tf_idf"))
        if ngrams is None:
            self._ngrams = None
        elif check.is_integer(ngrams):
            self._ngrams = tuple(range(1, check.positive_int(self, "ngrams", ngrams) + 1))
        elif isinstance(ngrams, (list, tuple)) and ngrams and all(
                check.is_integer(n) and n > 0 for n in ngrams):
            self._ngrams = tuple(int(n) for n in ngrams)
        else:
            raise ValueError("TextVectorization: ngrams must be None, a positive integer or a "
                             f"tuple of positive integers; received ngrams={ngrams!r}")
        self.ngrams = None if ngrams is None else (
            int(ngrams) if check.is_integer(ngrams) else list(self._ngrams))
        if output_sequence_length is not None:
            if output_mode != "int":
                raise ValueError("TextVectorization: output_sequence_length is only used with "
                                 f"output_mode='int'; received output_mode={output_mode!r}")
            output_sequence_length = check.positive_int(self, "output_sequence_length",
                                                        output_sequence_length)
        self.output_sequence_length = output_sequence_length
        if sparse or ragged:
            raise ValueError("TextVectorization: sparse=True and ragged=True are not supported "
                             "(MLX arrays are dense).")
        self.sparse = self.ragged = False
        self.encoding = encoding
        self._lookup = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=self.output_mode,
            encoding=encoding, vocabulary_size=vocabulary_size, name=f"{self.name}_lookup")

    # -- the vocabulary ---------------------------------------------------------
    def get_vocabulary(self, include_special_tokens=True):
        return self._lookup.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self._lookup.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        self._lookup.set_vocabulary(vocabulary, idf_weights)

    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary from strings: an array/list, or an iterable of batches
        (each string is one document for TF-IDF)."""
        lookup = self._lookup
        if lookup._has_input_vocabulary:
            raise ValueError(f'Layer "{self.name}" has a fixed vocabulary; it cannot adapt.')
        counts, document_counts, documents = collections.Counter(), collections.Counter(), 0
        for batch in adapt_data.batches(data, steps, list_is_one_batch=True):
            for row in self._token_rows(batch):
                counts.update(row)
                if self.output_mode == "tf_idf":
                    document_counts.update(set(row))
                documents += 1
        lookup._learn(counts, document_counts, documents)

    # -- the steps --------------------------------------------------------------
    def _standardized(self, inputs):
        values = as_numpy(inputs)
        if values.dtype.kind in "SO":
            values = np.vectorize(lambda v: v.decode(self.encoding) if isinstance(v, bytes)
                                  else str(v), otypes=[object])(values)
        values = values.astype(object)
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            values = np.vectorize(lambda s: s.translate(_ASCII_LOWER), otypes=[object])(values)
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            values = np.vectorize(lambda s: _PUNCTUATION.sub("", s), otypes=[object])(values)
        if callable(self.standardize):
            values = np.asarray(self.standardize(values)).astype(object)
        return values

    def _tokens(self, text):
        if self.split == "whitespace":
            tokens = [t for t in _WHITESPACE.split(text) if t]
        elif self.split == "character":
            tokens = list(text)
        else:
            tokens = list(self.split(text))
        if self._ngrams is None:
            return tokens
        grams = []
        for width in self._ngrams:
            grams += [" ".join(tokens[i:i + width]) for i in range(len(tokens) - width + 1)]
        return grams

    def _token_rows(self, inputs):
        """The token list of each input string (split) or each row of tokens (no split)."""
        values = self._standardized(inputs)
        if self.split is None:
            rows = values.reshape(len(values), -1) if values.ndim else values.reshape(1, 1)
            return [list(r) for r in rows]
        if values.ndim == 2 and values.shape[-1] == 1:
            values = values[:, 0]
        if values.ndim != 1:
            raise ValueError(f'Layer "{self.name}": to split strings the inputs must be 1-D or '
                             f"(batch, 1); received shape {values.shape}.")
        return [self._tokens(s) for s in values]

    def call(self, inputs):
        rows = self._token_rows(inputs)
        if self.split is None and self.output_mode in ("int", "one_hot"):
            ids, keep = self._lookup.lookup_numpy(self._standardized(inputs))
            return self._lookup._encode_ids(mx.array(ids), mx.array(keep))
        length = max((len(r) for r in rows), default=0)
        if self.output_sequence_length is not None:
            length = self.output_sequence_length
        padded = np.full((len(rows), length), "", dtype=object)
        for i, row in enumerate(rows):
            row = row[:length]
            padded[i, :len(row)] = row
        ids, keep = self._lookup.lookup_numpy(padded)
        return self._lookup._encode_ids(mx.array(ids), mx.array(keep))

    def get_config(self):
        for name in ("standardize", "split"):
            if callable(getattr(self, name)):
                raise ValueError(f'Layer "{self.name}": a function given as {name} cannot be '
                                 "saved as data; save the layer with a named option.")
        config = super().get_config()
        lookup = self._lookup._lookup_config()
        config.update(max_tokens=lookup["max_tokens"], standardize=self.standardize,
                      split=self.split, ngrams=self.ngrams, output_mode=self.output_mode,
                      output_sequence_length=self.output_sequence_length,
                      pad_to_max_tokens=lookup["pad_to_max_tokens"], sparse=False, ragged=False,
                      vocabulary=lookup["vocabulary"], idf_weights=lookup["idf_weights"],
                      encoding=self.encoding, vocabulary_size=lookup["vocabulary_size"])
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)
