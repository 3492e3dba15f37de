"""``text_dataset_from_directory``: a folder of class subfolders as batches of texts."""

import numpy as np

from . import directory_dataset as dd

TEXT_FORMATS = (".txt",)


class TextBatches(dd.FileBatches):
    """Batches of texts: a numpy object array of Python strings ``(batch,)``."""

    def __init__(self, file_paths, labels, class_names, batch_size, max_length, encoding,
                 shuffle, seed):
        super().__init__(file_paths, labels, class_names, batch_size, shuffle, seed)
        self.max_length = max_length
        self.encoding = encoding

    def load(self, path):
        with open(path, encoding=self.encoding) as f:
            text = f.read()
        return text if self.max_length is None else text[:self.max_length]

    def stack(self, items):
        out = np.empty(len(items), dtype=object)  # strings of any length, unpadded
        out[:] = items
        return out


def text_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                class_names=None, batch_size=32, max_length=None, shuffle=True,
                                seed=None, validation_split=None, subset=None,
                                follow_links=False, format=None, verbose=True,
                                encoding="utf-8"):
    """``.txt`` files in ``directory/<class>/`` as a ``PyDataset`` of ``(texts, labels)``.

    Keras returns a ``tf.data.Dataset`` of ``tf.string``; this returns a
    :class:`~mlxfunctional.utils.PyDataset` whose texts are Python ``str`` in a
    numpy object array, with Keras' ``class_names`` and ``file_paths``.

    Args:
        directory: the folder; with ``labels="inferred"`` one subfolder per class.
        labels: ``"inferred"``, None, or one integer label per file (files in
            alphanumeric order).
        label_mode: ``"int"``, ``"categorical"``, ``"binary"`` or None, as in
            ``image_dataset_from_directory``.
        class_names: the subfolders to use, in label order (only with "inferred").
        batch_size: texts per batch; None gives single texts.
        max_length: keep at most this many characters of each text (Keras
            counts bytes of the UTF-8 text; the two agree on ASCII).
        shuffle, seed, validation_split, subset, follow_links, verbose: as in
            ``image_dataset_from_directory``.
        format: accepted for Keras' signature; ignored.
        encoding: the files' text encoding.
    """
    dd.check_arguments(labels, label_mode, class_names, validation_split, subset, shuffle, seed)
    if max_length is not None and int(max_length) < 1:
        raise ValueError(f"`max_length` must be a positive int or None. Received: {max_length}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if seed is None:
        seed = np.random.randint(1e6)
    paths, found, names = dd.index_directory(directory, labels, TEXT_FORMATS, class_names,
                                             shuffle, seed, follow_links, verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"label_mode='binary' needs exactly 2 classes. Found {len(names)}: "
                         f"{names}")

    def build(subset_name, shuffle_batches):
        subset_paths, subset_labels = dd.training_or_validation(
            paths, found, validation_split, subset_name, verbose)
        if not subset_paths:
            raise ValueError(f"No text files found in directory {directory!r} (for subset "
                             f"{subset_name!r}). Allowed format: {TEXT_FORMATS}")
        if subset_labels is not None:
            subset_labels = dd.encode_labels(subset_labels, label_mode, len(names))
        return TextBatches(subset_paths, subset_labels, names, batch_size, max_length,
                           encoding, shuffle_batches, seed)

    if subset == "both":
        return [build("training", shuffle), build("validation", False)]
    return build(subset, shuffle)
