"""Datasets, as ``keras.datasets``: ``mnist.load_data()`` and ``cifar10.load_data()``.

Files are downloaded once, SHA-256 verified, into ``$MLXF_HOME/datasets/``
(``~/.mlxfunctional/datasets/``); see ``download``. The real MNIST test set
(10,000 images) ships with the package and is used when MNIST cannot be downloaded.
"""

from . import cifar10, download, mnist
from .download import ChecksumError, DownloadError, get_file

__all__ = ["cifar10", "mnist", "download", "get_file", "ChecksumError", "DownloadError"]
