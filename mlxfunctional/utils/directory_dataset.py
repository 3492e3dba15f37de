"""What ``image_dataset_from_directory`` and ``text_dataset_from_directory`` share:
listing the files and their labels, the validation split, and batches of files.

One class per subdirectory (``directory/cat/*.png`` -> class ``"cat"``), classes
in alphanumeric order unless ``class_names`` gives the order; files sorted, then
shuffled once with ``seed`` so the training and validation subsets taken from
the same seed never overlap.
"""

import os

import numpy as np

from .py_dataset import PyDataset

LABEL_MODES = ("int", "categorical", "binary", None)


def check_arguments(labels, label_mode, class_names, validation_split, subset, shuffle, seed):
    """The argument errors Keras raises before touching the disk."""
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(
                "`labels` must be 'inferred' (from the subdirectory names), None (no labels) "
                f"or a list/tuple with one integer label per file. Received: labels={labels!r}")
        if class_names:
            raise ValueError("`class_names` can only be given with labels='inferred'. "
                             f"Received: labels={labels!r}, class_names={class_names!r}")
    if label_mode not in LABEL_MODES:
        raise ValueError("`label_mode` must be 'int', 'categorical', 'binary' or None. "
                         f"Received: label_mode={label_mode!r}")
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be in (0, 1). "
                         f"Received: validation_split={validation_split}")
    if bool(validation_split) != bool(subset):
        raise ValueError("`validation_split` and `subset` go together: give both or neither. "
                         f"Received: validation_split={validation_split!r}, subset={subset!r}")
    if subset not in ("training", "validation", "both", None):
        raise ValueError("`subset` must be 'training', 'validation' or 'both'. "
                         f"Received: subset={subset!r}")
    if validation_split and shuffle and seed is None:
        raise ValueError("With `validation_split` and shuffle=True a `seed` is needed, so that "
                         "the training and validation subsets do not overlap.")


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None,
                    follow_links=False, verbose=True):
    """Lists the files of ``directory`` with ``formats`` extensions, and their labels.

    Returns:
        ``(file_paths, labels, class_names)``: labels an int32 array (None when
        ``labels`` is None), already shuffled alongside the paths.
    """
    if not os.path.isdir(directory):
        raise ValueError(f"`directory` {directory!r} is not a directory.")
    if labels == "inferred":
        subdirs = sorted(d for d in os.listdir(directory)
                         if os.path.isdir(os.path.join(directory, d)) and not d.startswith("."))
        if class_names is not None:
            missing = [c for c in class_names if c not in subdirs]
            if missing:
                raise ValueError(f"`class_names` {list(class_names)} name subdirectories that do "
                                 f"not exist: {missing}. The subdirectories are {subdirs}.")
            subdirs = list(class_names)
    else:
        subdirs = [""]
    paths, found_labels = [], []
    for index, subdir in enumerate(subdirs):
        files = _files(os.path.join(directory, subdir), formats, follow_links)
        paths += files
        found_labels += [index] * len(files)
    if labels == "inferred":
        class_names = list(subdirs)
        labels = np.array(found_labels, dtype="int32")
    elif labels is None:
        class_names = None
    else:
        if len(labels) != len(paths):
            raise ValueError(f"`labels` has {len(labels)} entries but {len(paths)} files were "
                             f"found in {directory!r}: give one label per file, in the files' "
                             "alphanumeric order.")
        class_names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels, dtype="int32")
    if verbose:
        if labels is None:
            print(f"Found {len(paths)} files.")
        else:
            print(f"Found {len(paths)} files belonging to {len(class_names)} classes.")
    if shuffle:
        # One permutation for both, so each path keeps its label.
        order = np.random.RandomState(np.random.randint(1e6) if seed is None else seed
                                      ).permutation(len(paths))
        paths = [paths[i] for i in order]
        labels = None if labels is None else labels[order]
    return paths, labels, class_names


def _files(folder, formats, follow_links):
    """Files under ``folder`` (recursively) with one of ``formats``, in sorted order."""
    found = []
    for root, _, names in sorted(os.walk(folder, followlinks=follow_links), key=lambda w: w[0]):
        found += [os.path.join(root, n) for n in sorted(names) if n.lower().endswith(formats)]
    return found


def training_or_validation(paths, labels, validation_split, subset, verbose=True):
    """The last ``int(validation_split * n)`` files are the validation subset."""
    if not validation_split:
        return paths, labels
    n_val = int(validation_split * len(paths))
    cut = len(paths) - n_val
    if subset == "training":
        if verbose:
            print(f"Using {cut} files for training.")
        return paths[:cut], None if labels is None else labels[:cut]
    if verbose:
        print(f"Using {n_val} files for validation.")
    return paths[cut:], None if labels is None else labels[cut:]


def encode_labels(labels, label_mode, num_classes):
    """int32 ``(n,)`` for "int"; float32 one-hot ``(n, classes)`` for "categorical";
    float32 ``(n, 1)`` for "binary"."""
    if label_mode == "int":
        return labels.astype("int32")
    if label_mode == "binary":
        return labels.astype("float32")[:, None]
    return np.eye(num_classes, dtype="float32")[labels]


class FileBatches(PyDataset):
    """Batches of files, read when asked for: ``(inputs, labels)`` or ``inputs``.

    Attributes:
        class_names: the class of each label index (None without labels).
        file_paths: the files, in the dataset's (first epoch's) order.

    Subclasses implement ``load(path)`` and ``stack(items)``.
    """

    def __init__(self, file_paths, labels, class_names, batch_size, shuffle=False, seed=None):
        super().__init__()
        self.file_paths = list(file_paths)
        self.labels = labels
        self.class_names = class_names
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._order = np.arange(len(self.file_paths))
        self._rng = np.random.RandomState(seed) if shuffle else None

    def __len__(self):
        if self.batch_size is None:
            return len(self.file_paths)
        return -(-len(self.file_paths) // self.batch_size)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"Batch index {index} is out of range for {len(self)} batches.")
        index %= len(self)
        size = self.batch_size or 1
        rows = self._order[index * size:(index + 1) * size]
        inputs = self.stack([self.load(self.file_paths[i]) for i in rows])
        labels = None if self.labels is None else self.labels[rows]
        if self.batch_size is None:  # single samples, as Keras' batch_size=None
            inputs = inputs[0]
            labels = None if labels is None else labels[0]
        return inputs if labels is None else (inputs, labels)

    def on_epoch_end(self):
        # Keras' dataset reshuffles every epoch; the subset split stays fixed.
        if self.shuffle:
            self._rng.shuffle(self._order)

    def load(self, path):
        raise NotImplementedError

    def stack(self, items):
        return np.stack(items)
