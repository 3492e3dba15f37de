"""MNIST: ``load_data()`` with Keras' structure, and the bundled offline sample.

The real 10,000-image test set is bundled (Yann LeCun and Corinna Cortes,
CC BY-SA 3.0) so that examples run offline. ``load_data()`` downloads Keras'
canonical ``mnist.npz`` (60,000 + 10,000 images) once into ``$MLXF_HOME/datasets/``;
when that cannot happen it falls back to the bundled sample, with a warning.
"""

import warnings
from pathlib import Path

import numpy as np

from . import download
from .idx import read_idx

_DATA = Path(__file__).parent / "data"
FILE_NAME = "mnist.npz"
SAMPLE_TRAIN = 8000   # the sample's split: first 8,000 train, last 2,000 test


def load_sample():
    """The bundled real MNIST test set: ``(x, y)``, uint8 ``(10000, 28, 28)`` and ``(10000,)``."""
    x = read_idx(_DATA / "t10k-images-idx3-ubyte.gz")
    y = read_idx(_DATA / "t10k-labels-idx1-ubyte.gz")
    return x, y


def load_data(path=FILE_NAME, sample=False, verbose=None):
    """Loads MNIST, as ``keras.datasets.mnist.load_data``.

    Args:
        path: file name of the ``.npz`` in the cache ``$MLXF_HOME/datasets/``
            (``~/.mlxfunctional/datasets/``); an absolute path is used as is.
        sample: ``True`` returns the bundled sample without trying the network.
        verbose: download progress bar on stderr: 0 off, 1 on, ``None`` when
            stderr is a terminal.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 ``(60000, 28, 28)``,
        uint8 ``(60000,)``, uint8 ``(10000, 28, 28)``, uint8 ``(10000,)``.

        The bundled sample (``sample=True``, or when the download fails) is MNIST's
        real 10,000-image *test* set split in order: ``x_train`` its first 8,000
        images, ``x_test`` its last 2,000. It is not MNIST's training set, so
        accuracies are not comparable with published MNIST results.

    Raises:
        download.ChecksumError: the downloaded file was corrupt (it has been
            deleted); no fallback, because a mismatch needs a person to look.
    """
    if sample:
        return _split_sample()
    try:
        file = download.get_file(path, origin=download.origin_for(FILE_NAME),
                                 file_hash=download.KNOWN_FILES[FILE_NAME][1],
                                 verbose=verbose)
    except download.DownloadError as e:
        warnings.warn(
            f"MNIST could not be downloaded ({e}). Using the bundled MNIST sample "
            "instead: the real 10,000-image MNIST test set, split into x_train = its "
            "first 8,000 images and x_test = its last 2,000 (not the 60,000-image "
            "training set; accuracies are not comparable with published MNIST "
            f"results). To use the full set offline, put mnist.npz at "
            f"{download.datasets_dir() / path}; load_data(sample=True) selects the "
            "sample without this warning.", UserWarning, stacklevel=2)
        return _split_sample()
    return _read_npz(file)


def _split_sample():
    x, y = load_sample()
    return (x[:SAMPLE_TRAIN], y[:SAMPLE_TRAIN]), (x[SAMPLE_TRAIN:], y[SAMPLE_TRAIN:])


def _read_npz(file):
    # allow_pickle=False: an .npz may hold object arrays, whose loading runs code.
    with np.load(file, allow_pickle=False) as f:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
        if missing:
            raise ValueError(f"{file} is not Keras' mnist.npz: missing {sorted(missing)}.")
        x_train, y_train = f["x_train"], f["y_train"]
        x_test, y_test = f["x_test"], f["y_test"]
    for x, y, part in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if (x.dtype != np.uint8 or y.dtype != np.uint8 or x.ndim != 3
                or x.shape[1:] != (28, 28) or y.shape != (x.shape[0],)):
            raise ValueError(f"{file}: {part} arrays {x.dtype}{x.shape} / {y.dtype}{y.shape} "
                             "are not uint8 (n, 28, 28) images with (n,) labels.")
    return (x_train, y_train), (x_test, y_test)
