"""Where Xception's pretrained weights come from, and how they find their layers.

- ``"imagenet"``: Keras' own weights files (tf.keras 2 ``.h5``), fetched once from
  the URLs ``keras.applications.Xception`` uses, checked against the MD5 digests
  Keras publishes, and kept in ``$MLXF_HOME/models/`` under Keras' file names;
  the download is the datasets' one (``datasets/download.py``: resumed, bounded in
  size, time and rate, never left half-written).
- a path to such a ``.h5`` (e.g. a copy fetched on another machine).
- any other file ``model.load_weights`` reads (``.weights.h5``, ``.npz``,
  ``.safetensors``, ``.mlxf``), handed to it as it is.

In a ``.h5`` file, layers are matched by name where Keras gives them one
(``block1_conv1``, ``block5_sepconv2_bn``, ``predictions``) and, for the shortcut
convolutions and BatchNormalizations Keras leaves unnamed (their counter names
depend on the session that wrote the file: ``conv2d_1`` in a 2017 file,
``conv2d`` today), by their order. Every layer's arrays are checked against its
weights' shapes before any is assigned; one error lists every problem.
"""

import os

from ..datasets import download
from ..saving.keras_legacy import is_legacy_file, is_legacy_path
from .keras_h5 import read_keras_h5
from .xception_graph import NAMED

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/xception/"
# include_top -> (file name, URL, MD5), as keras.applications.Xception downloads them.
WEIGHTS = {
    True: ("xception_weights_tf_dim_ordering_tf_kernels.h5",
           _BASE + "xception_weights_tf_dim_ordering_tf_kernels.h5",
           "0a58e3b7378bc2990ea3b43d5981f1f6"),
    False: ("xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
            _BASE + "xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "b0042744bf5b25fce3cb969f33bebb97"),
}
# Both files are about 85 MiB; a server sending more is stopped here, well before
# the downloader's default bound of several GiB for files of unknown size.
MAX_BYTES = 128 << 20
CACHE_SUBDIR = "models"

_NAMED = frozenset(NAMED + ("predictions",))


def load_pretrained(model, weights, include_top):
    """Fills ``model`` (an ``xception_graph``) from ``weights`` ("imagenet" or a path)."""
    if weights == "imagenet":
        path = imagenet_path(include_top)
    else:
        path = os.fspath(weights)
        if not os.path.exists(path):
            raise ValueError(
                "The `weights` argument should be either `None` (random initialization), "
                "'imagenet' (pre-training on ImageNet), or the path to the weights file to "
                f"be loaded; {path!r} does not exist.")
    if is_legacy_path(path) and is_legacy_file(path):
        load_h5(model, path)
    else:
        model.load_weights(path)


def imagenet_path(include_top, verbose=None):
    """The local path of Keras' ImageNet weights file (downloaded and checked once)."""
    fname, url, md5 = WEIGHTS[bool(include_top)]
    try:
        return str(download.get_file(fname, url, file_hash=md5, hash_algorithm="md5",
                                     cache_subdir=CACHE_SUBDIR, verbose=verbose,
                                     max_bytes=MAX_BYTES))
    except download.DownloadError as e:
        where = download.mlxf_home() / CACHE_SUBDIR / fname
        raise download.DownloadError(
            f"{e}\nTo use Xception's ImageNet weights without network access, download "
            f"{url} (md5 {md5}) on another machine and put it at {where} (set MLXF_HOME "
            "to move the cache), or pass its path as weights=PATH.") from e


def load_h5(model, path):
    """Assigns a tf.keras 2 ``.h5`` weights file to ``model``'s layers (see the module
    docstring); raises ``ValueError`` listing every problem, with nothing assigned."""
    stored = read_keras_h5(path)
    ours = [layer for layer in model.layers if layer.weights]
    named = {layer.name: layer for layer in ours if layer.name in _NAMED}
    unnamed = [layer for layer in ours if layer.name not in _NAMED]
    file_unnamed = [(name, arrays) for name, arrays in stored.items() if name not in _NAMED]

    problems, pairs = [], []
    missing = [name for name in named if name not in stored]
    if missing:
        problems.append(f"the file has no weights for layer(s) {', '.join(missing)}"
                        + (" (include_top=False loads Keras' _notop file)"
                           if missing == ["predictions"] else "") + ".")
    # A file with the classifier top fits a model without it: ``predictions`` is left over.
    extra = [name for name in stored if name in _NAMED and name not in named
             and name != "predictions"]
    if extra:
        problems.append(f"the file has weights for layer(s) the model lacks: "
                        f"{', '.join(extra)}.")
    if len(file_unnamed) != len(unnamed):
        problems.append(
            f"the file has {len(file_unnamed)} layer(s) with weights outside Xception's "
            f"named layers ({', '.join(n for n, _ in file_unnamed) or 'none'}); the model "
            f"has {len(unnamed)} (its shortcut convolutions and their BatchNormalizations).")
    else:
        pairs += [(layer, name, arrays) for layer, (name, arrays) in zip(unnamed, file_unnamed)]
    pairs += [(layer, name, stored[name]) for name, layer in named.items() if name in stored]

    for layer, name, arrays in pairs:
        expected = [tuple(w.shape) for w in layer.weights]
        got = [tuple(a.shape) for a in arrays]
        if expected != got:
            problems.append(f"layer {layer.name!r} needs weights of shapes {expected}; the "
                            f"file's {name!r} holds {got}.")
    if problems:
        raise ValueError(f"Cannot load Xception weights from {path!r}:\n  - "
                         + "\n  - ".join(problems))
    for layer, _, arrays in pairs:
        layer.set_weights(arrays)
